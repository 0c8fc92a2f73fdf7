//! Tenants: which tenant a user belongs to (as their latest token states it)
//! and per-tenant counts, so tenant-scoped callers see only their own.

use super::Store;
use crate::error::Result;

impl Store {
    /// The tenant of a user: `None` if the user never connected,
    /// `Some(None)` if their token carried no tenant.
    pub async fn user_tenant(&self, user_id: &str) -> Result<Option<Option<String>>> {
        Ok(sqlx::query_scalar("SELECT tenant FROM users WHERE id = ?")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Every user whose latest token carried `tenant`.
    pub async fn users_in_tenant(&self, tenant: &str) -> Result<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM users WHERE tenant = ? ORDER BY id")
                .bind(tenant)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Number of stored rooms of `tenant`.
    pub async fn room_count_in_tenant(&self, tenant: &str) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM rooms WHERE tenant = ?")
                .bind(tenant)
                .fetch_one(&self.pool)
                .await?,
        )
    }
}
