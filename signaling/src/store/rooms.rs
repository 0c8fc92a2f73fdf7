//! Rooms, members and users.

use std::collections::HashMap;

use serde_json::Value;
use sqlx::Row;

use super::{now_ms, Store};
use crate::error::{Result, SignalError};
use crate::protocol::{MessagePreview, MessageType, RoomInfo, UserRef};

/// A room to create.
#[derive(Debug, Clone)]
pub struct NewRoom {
    pub id: String,
    pub room_type: String,
    pub title: String,
    pub tenant: Option<String>,
    pub metadata: Option<Value>,
    pub created_by: String,
    pub members: Vec<String>,
    /// Made by a user who is not staff (see `RoomInfo::user_created`).
    pub user_created: bool,
}

/// One row of a user's room list, before presence is added.
#[derive(Debug, Clone)]
pub struct RoomListRow {
    pub room: RoomInfo,
    pub last_seq: i64,
    pub unread: i64,
    pub last_message: Option<MessagePreview>,
    pub members: Vec<String>,
}

fn room_from_row(row: &sqlx::sqlite::SqliteRow) -> RoomInfo {
    let metadata: Option<String> = row.get("metadata");
    RoomInfo {
        id: row.get("id"),
        room_type: row.get("room_type"),
        title: row.get("title"),
        tenant: row.get("tenant"),
        metadata: metadata.and_then(|m| serde_json::from_str(&m).ok()),
        created_by: row.get("created_by"),
        created_at: row.get("created_at"),
        user_created: row.get("user_created"),
    }
}

impl Store {
    /// Create a room with its members. `CONFLICT` if the id is taken.
    pub async fn create_room(&self, room: NewRoom) -> Result<RoomInfo> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO rooms (id, room_type, title, tenant, metadata, created_by, created_at, user_created)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING",
        )
        .bind(&room.id)
        .bind(&room.room_type)
        .bind(&room.title)
        .bind(&room.tenant)
        .bind(room.metadata.as_ref().map(|m| m.to_string()))
        .bind(&room.created_by)
        .bind(now)
        .bind(room.user_created)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(SignalError::Conflict(format!(
                "room {} already exists",
                room.id
            )));
        }
        for user in &room.members {
            sqlx::query(
                "INSERT INTO room_members (room_id, user_id, joined_at) VALUES (?, ?, ?)
                 ON CONFLICT DO NOTHING",
            )
            .bind(&room.id)
            .bind(user)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(RoomInfo {
            id: room.id,
            room_type: room.room_type,
            title: room.title,
            tenant: room.tenant,
            metadata: room.metadata,
            created_by: room.created_by,
            created_at: now,
            user_created: room.user_created,
        })
    }

    pub async fn room(&self, room_id: &str) -> Result<Option<RoomInfo>> {
        let row = sqlx::query("SELECT * FROM rooms WHERE id = ?")
            .bind(room_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(room_from_row))
    }

    /// The room's last stored sequence number.
    pub async fn last_seq(&self, room_id: &str) -> Result<i64> {
        let seq: Option<i64> = sqlx::query_scalar("SELECT last_seq FROM rooms WHERE id = ?")
            .bind(room_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(seq.unwrap_or(0))
    }

    /// Members with their profile (when the user has ever connected) and read mark.
    pub async fn members(&self, room_id: &str) -> Result<Vec<(UserRef, i64)>> {
        let rows = sqlx::query(
            "SELECT m.user_id, m.last_read_seq, u.name, u.role FROM room_members m
             LEFT JOIN users u ON u.id = m.user_id WHERE m.room_id = ? ORDER BY m.joined_at, m.user_id",
        )
        .bind(room_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    UserRef {
                        id: r.get("user_id"),
                        name: r.get("name"),
                        role: r.get("role"),
                    },
                    r.get("last_read_seq"),
                )
            })
            .collect())
    }

    pub async fn is_member(&self, room_id: &str, user_id: &str) -> Result<bool> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM room_members WHERE room_id = ? AND user_id = ?")
                .bind(room_id)
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
    }

    /// Add a member; true if they were not one already.
    pub async fn add_member(&self, room_id: &str, user_id: &str) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO room_members (room_id, user_id, joined_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(room_id)
        .bind(user_id)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn remove_member(&self, room_id: &str, user_id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM room_members WHERE room_id = ? AND user_id = ?")
            .bind(room_id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Record a user's profile and tenant as their latest token states them.
    pub async fn upsert_user(&self, user: &UserRef, tenant: Option<&str>) -> Result<()> {
        sqlx::query(
            "INSERT INTO users (id, name, role, tenant) VALUES (?, ?, ?, ?)
             ON CONFLICT(id) DO UPDATE SET name = excluded.name, role = excluded.role,
             tenant = excluded.tenant",
        )
        .bind(&user.id)
        .bind(&user.name)
        .bind(&user.role)
        .bind(tenant)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn set_last_seen(&self, user_id: &str, at: i64) -> Result<()> {
        sqlx::query("UPDATE users SET last_seen = ? WHERE id = ?")
            .bind(at)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn last_seen(&self, user_ids: &[String]) -> Result<Vec<(String, Option<i64>)>> {
        let mut out = Vec::with_capacity(user_ids.len());
        for id in user_ids {
            let seen: Option<Option<i64>> =
                sqlx::query_scalar("SELECT last_seen FROM users WHERE id = ?")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
            out.push((id.clone(), seen.flatten()));
        }
        Ok(out)
    }

    /// Every user who shares at least one room with `user_id` (not themselves).
    pub async fn co_members(&self, user_id: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT o.user_id FROM room_members m
             JOIN room_members o ON o.room_id = m.room_id
             WHERE m.user_id = ? AND o.user_id != ?",
        )
        .bind(user_id)
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The user's rooms, most recently active first, with unread counts
    /// (messages after their read mark, from others, not deleted).
    pub async fn rooms_for_user(&self, user_id: &str) -> Result<Vec<RoomListRow>> {
        let rows = sqlx::query(
            "SELECT r.*, m.last_read_seq,
               (SELECT COUNT(*) FROM messages x WHERE x.room_id = r.id AND x.seq > m.last_read_seq
                  AND x.sender_id != m.user_id AND x.deleted_at IS NULL) AS unread
             FROM room_members m JOIN rooms r ON r.id = m.room_id
             WHERE m.user_id = ?",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        // Three queries for the whole list, not two more per room.
        let mut last: HashMap<String, MessagePreview> = sqlx::query(
            "SELECT x.room_id, x.seq, x.sender_id, x.sender_name, x.message_type, x.body, x.created_at, x.deleted_at
             FROM room_members m JOIN rooms r ON r.id = m.room_id
             JOIN messages x ON x.room_id = r.id AND x.seq = r.last_seq
             WHERE m.user_id = ?",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|m| {
            let deleted: Option<i64> = m.get("deleted_at");
            let body: String = m.get("body");
            let preview = MessagePreview {
                seq: m.get("seq"),
                sender_id: m.get("sender_id"),
                sender_name: m.get("sender_name"),
                message_type: MessageType::parse(m.get::<&str, _>("message_type")),
                text: if deleted.is_some() { String::new() } else { preview(&body) },
                created_at: m.get("created_at"),
            };
            (m.get("room_id"), preview)
        })
        .collect();
        let mut members: HashMap<String, Vec<String>> = HashMap::new();
        for row in sqlx::query(
            "SELECT o.room_id, o.user_id FROM room_members m JOIN room_members o ON o.room_id = m.room_id
             WHERE m.user_id = ? ORDER BY o.joined_at, o.user_id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?
        {
            members.entry(row.get("room_id")).or_default().push(row.get("user_id"));
        }
        let mut out: Vec<RoomListRow> = rows
            .iter()
            .map(|row| {
                let room = room_from_row(row);
                RoomListRow {
                    last_seq: row.get("last_seq"),
                    unread: row.get("unread"),
                    last_message: last.remove(&room.id),
                    members: members.remove(&room.id).unwrap_or_default(),
                    room,
                }
            })
            .collect();
        out.sort_by(|a, b| {
            let ka = a
                .last_message
                .as_ref()
                .map_or(a.room.created_at, |m| m.created_at);
            let kb = b
                .last_message
                .as_ref()
                .map_or(b.room.created_at, |m| m.created_at);
            kb.cmp(&ka).then_with(|| a.room.id.cmp(&b.room.id))
        });
        Ok(out)
    }
}

/// The first 120 characters of a message, for room lists.
fn preview(text: &str) -> String {
    match text.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}
