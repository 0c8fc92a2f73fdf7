//! The assistant's per-room setting.

use super::{now_ms, Store};
use crate::error::Result;

impl Store {
    /// The assistant setting of a room, if one was ever set over REST.
    pub async fn assistant_setting(&self, room_id: &str) -> Result<Option<bool>> {
        let v: Option<i64> =
            sqlx::query_scalar("SELECT enabled FROM room_assistant WHERE room_id = ?")
                .bind(room_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(v.map(|e| e != 0))
    }

    pub async fn set_assistant(&self, room_id: &str, enabled: bool, by: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO room_assistant (room_id, enabled, updated_by, updated_at) VALUES (?, ?, ?, ?)
             ON CONFLICT(room_id) DO UPDATE SET enabled = excluded.enabled,
               updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        )
        .bind(room_id)
        .bind(i64::from(enabled))
        .bind(by)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
