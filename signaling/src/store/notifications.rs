//! Stored notifications: one row per recipient, with delivery and read marks.

use serde_json::Value;
use sqlx::{QueryBuilder, Row, Sqlite};

use super::{now_ms, Store};
use crate::error::Result;
use crate::protocol::{NotificationKind, NotificationView};

/// What a notification says; stored once per recipient.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotification {
    pub kind: NotificationKind,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub data: Option<Value>,
    pub room_id: Option<String>,
}

fn view_from_row(row: &sqlx::sqlite::SqliteRow) -> NotificationView {
    let data: Option<String> = row.get("data");
    NotificationView {
        id: row.get("id"),
        kind: NotificationKind::parse(row.get::<&str, _>("kind")),
        title: row.get("title"),
        body: row.get("body"),
        link: row.get("link"),
        data: data.and_then(|d| serde_json::from_str(&d).ok()),
        room_id: row.get("room_id"),
        created_at: row.get("created_at"),
        read_at: row.get("read_at"),
    }
}

/// Rows per INSERT: 10 values each stays far below SQLite's variable limit.
const CHUNK: usize = 1000;

impl Store {
    /// Store `n` for every user in `recipients` in one transaction; returns
    /// each recipient with their own copy (its own id and read mark).
    pub async fn insert_notifications(
        &self,
        n: &NewNotification,
        recipients: &[String],
    ) -> Result<Vec<(String, NotificationView)>> {
        let created_at = now_ms();
        let data = n.data.as_ref().map(|d| d.to_string());
        let out: Vec<(String, NotificationView)> = recipients
            .iter()
            .map(|user| {
                let view = NotificationView {
                    id: uuid::Uuid::now_v7().to_string(),
                    kind: n.kind,
                    title: n.title.clone(),
                    body: n.body.clone(),
                    link: n.link.clone(),
                    data: n.data.clone(),
                    room_id: n.room_id.clone(),
                    created_at,
                    read_at: None,
                };
                (user.clone(), view)
            })
            .collect();
        let mut tx = self.pool.begin().await?;
        for chunk in out.chunks(CHUNK) {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO notifications (id, user_id, kind, title, body, link, data, room_id, created_at, delivered_at) ",
            );
            qb.push_values(chunk, |mut b, (user, v)| {
                b.push_bind(v.id.clone())
                    .push_bind(user.clone())
                    .push_bind(v.kind.as_str())
                    .push_bind(v.title.clone())
                    .push_bind(v.body.clone())
                    .push_bind(v.link.clone())
                    .push_bind(data.clone())
                    .push_bind(v.room_id.clone())
                    .push_bind(v.created_at)
                    .push_bind(None::<i64>);
            });
            qb.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Mark one notification delivered; false if it already was (someone
    /// else delivered it).
    pub async fn claim_notification(&self, id: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE notifications SET delivered_at = ? WHERE id = ? AND delivered_at IS NULL",
        )
        .bind(now_ms())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Take the `limit` oldest notifications of `user_id` not yet delivered,
    /// marking them delivered, oldest first.
    pub async fn claim_pending_notifications(
        &self,
        user_id: &str,
        limit: u32,
    ) -> Result<Vec<NotificationView>> {
        let rows = sqlx::query(
            "UPDATE notifications SET delivered_at = ? WHERE id IN (
               SELECT id FROM notifications WHERE user_id = ? AND delivered_at IS NULL
               ORDER BY created_at, id LIMIT ?)
             RETURNING *",
        )
        .bind(now_ms())
        .bind(user_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<NotificationView> = rows.iter().map(view_from_row).collect();
        out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(out)
    }

    /// The user's notifications, newest first (`unread_only`: not read yet).
    pub async fn notifications(
        &self,
        user_id: &str,
        unread_only: bool,
        limit: u32,
    ) -> Result<Vec<NotificationView>> {
        let sql = if unread_only {
            "SELECT * FROM notifications WHERE user_id = ? AND read_at IS NULL
             ORDER BY created_at DESC, id DESC LIMIT ?"
        } else {
            "SELECT * FROM notifications WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?"
        };
        let rows = sqlx::query(sql)
            .bind(user_id)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(view_from_row).collect())
    }

    /// Mark one of the user's notifications read (the first time counts);
    /// `None` if it is not theirs or does not exist.
    pub async fn mark_notification_read(
        &self,
        user_id: &str,
        id: &str,
    ) -> Result<Option<NotificationView>> {
        let row = sqlx::query(
            "UPDATE notifications SET read_at = COALESCE(read_at, ?) WHERE id = ? AND user_id = ?
             RETURNING *",
        )
        .bind(now_ms())
        .bind(id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(view_from_row))
    }

    /// Mark every unread notification of the user read: how many there
    /// were, and the time they were marked.
    pub async fn mark_all_notifications_read(&self, user_id: &str) -> Result<(u64, i64)> {
        let now = now_ms();
        let done = sqlx::query(
            "UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok((done.rows_affected(), now))
    }

    /// Every user who has ever connected.
    pub async fn known_users(&self) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT id FROM users ORDER BY id")
            .fetch_all(&self.pool)
            .await?)
    }
}
