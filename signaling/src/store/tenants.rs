//! Tenants: which tenant a user belongs to (as their latest token states it)
//! and per-tenant counts, so tenant-scoped callers see only their own.

use sqlx::Row;

use super::Store;
use crate::error::Result;

/// Who a directory search may return.
#[derive(Debug, Clone)]
pub struct DirectoryQuery<'a> {
    /// `None`: users of every tenant; `Some(t)`: users whose latest token
    /// carried tenant `t` (`Some(None)`: no tenant).
    pub tenant: Option<Option<&'a str>>,
    /// Only users whose latest role is one of these (`None`: any role).
    pub roles: Option<&'a [String]>,
    /// Case-insensitive part of the id or the name (empty: everyone).
    pub search: &'a str,
    /// Left out (the caller).
    pub exclude: &'a str,
    pub limit: u32,
}

/// One user found in the directory.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectoryEntry {
    pub id: String,
    pub name: Option<String>,
    pub role: Option<String>,
    pub last_seen: Option<i64>,
}

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

    /// Users matching `q`, by name (or id), at most `q.limit`.
    pub async fn directory(&self, q: &DirectoryQuery<'_>) -> Result<Vec<DirectoryEntry>> {
        let pattern = format!(
            "%{}%",
            q.search
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let roles = q
            .roles
            .map(|r| serde_json::Value::from(r.to_vec()).to_string());
        let rows = sqlx::query(
            "SELECT id, name, role, last_seen FROM users
             WHERE id != ?1
               AND (?2 OR tenant IS ?3)
               AND (?4 IS NULL OR role IN (SELECT value FROM json_each(?4)))
               AND (lower(id) LIKE ?5 ESCAPE '\\' OR lower(COALESCE(name, '')) LIKE ?5 ESCAPE '\\')
             ORDER BY lower(COALESCE(name, id)), id
             LIMIT ?6",
        )
        .bind(q.exclude)
        .bind(q.tenant.is_none())
        .bind(q.tenant.flatten())
        .bind(roles)
        .bind(pattern)
        .bind(i64::from(q.limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| DirectoryEntry {
                id: r.get("id"),
                name: r.get("name"),
                role: r.get("role"),
                last_seen: r.get("last_seen"),
            })
            .collect())
    }
}
