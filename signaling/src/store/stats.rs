//! Figures for the server API: user profiles and counts.

use sqlx::Row;

use super::Store;
use crate::error::Result;

impl Store {
    /// Profiles (name, role) of the given users, where known.
    pub async fn user_profiles(
        &self,
        user_ids: &[String],
    ) -> Result<std::collections::HashMap<String, (Option<String>, Option<String>)>> {
        let mut out = std::collections::HashMap::new();
        for id in user_ids {
            if let Some(row) = sqlx::query("SELECT name, role FROM users WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
            {
                out.insert(id.clone(), (row.get("name"), row.get("role")));
            }
        }
        Ok(out)
    }

    /// Number of stored rooms.
    pub async fn room_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM rooms")
            .fetch_one(&self.pool)
            .await?)
    }
}
