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
            "INSERT INTO rooms (id, room_type, title, tenant, metadata, created_by, created_at, last_activity_at, user_created)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING",
        )
        .bind(&room.id)
        .bind(&room.room_type)
        .bind(&room.title)
        .bind(&room.tenant)
        .bind(room.metadata.as_ref().map(|m| m.to_string()))
        .bind(&room.created_by)
        .bind(now)
        .bind(now)
        .bind(room.user_created)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(SignalError::Conflict(format!(
                "room {} already exists",
                crate::room_key::local(&room.id)
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

    /// Change a room's title and/or metadata; the room as it is now.
    pub async fn update_room(
        &self,
        room_id: &str,
        title: Option<&str>,
        metadata: Option<&serde_json::Value>,
    ) -> Result<Option<RoomInfo>> {
        sqlx::query(
            "UPDATE rooms SET title = COALESCE(?, title), metadata = COALESCE(?, metadata) WHERE id = ?",
        )
        .bind(title)
        .bind(metadata.map(|m| m.to_string()))
        .bind(room_id)
        .execute(&self.pool)
        .await?;
        self.room(room_id).await
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
    /// The members with their read and delivered marks.
    pub async fn members_with_marks(&self, room_id: &str) -> Result<Vec<(UserRef, i64, i64)>> {
        let rows = sqlx::query(
            "SELECT m.user_id, m.last_read_seq, m.delivered_seq, u.name, u.role FROM room_members m
             LEFT JOIN users u ON u.id = m.user_id WHERE m.room_id = ? ORDER BY m.joined_at, m.user_id",
        )
        .bind(room_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let user = UserRef {
                    id: r.get("user_id"),
                    name: r.get("name"),
                    role: r.get("role"),
                };
                (user, r.get("last_read_seq"), r.get("delivered_seq"))
            })
            .collect())
    }

    /// The members with their read marks.
    pub async fn members(&self, room_id: &str) -> Result<Vec<(UserRef, i64)>> {
        Ok(self
            .members_with_marks(room_id)
            .await?
            .into_iter()
            .map(|(user, read, _)| (user, read))
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

    /// Record a user's profile (and tenant) as their latest token states
    /// it: through the group-commit writer, durable when this returns.
    pub async fn upsert_user(&self, user: &UserRef, tenant: Option<&str>) -> Result<()> {
        let (done, rx) = tokio::sync::oneshot::channel();
        self.writer()
            .submit(super::writer::WriteOp::Profile {
                user: user.clone(),
                tenant: tenant.map(str::to_string),
                done,
            })
            .await;
        rx.await
            .unwrap_or(Err(crate::error::SignalError::Unavailable))
    }

    /// When a user was last online: group-committed, like every write.
    pub async fn set_last_seen(&self, user_id: &str, at: i64) -> Result<()> {
        let (done, rx) = tokio::sync::oneshot::channel();
        self.writer()
            .submit(super::writer::WriteOp::LastSeen {
                user_id: user_id.to_string(),
                at,
                done,
            })
            .await;
        rx.await
            .unwrap_or(Err(crate::error::SignalError::Unavailable))
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

    /// One page of the user's rooms, most recently active first (the last
    /// message's time, else the room's creation; ties by id, descending), with unread counts
    /// (messages after their read mark, from others, not deleted). Rooms
    /// after `after`, at most `limit`; the cursor of the next page if any.
    pub async fn rooms_for_user(
        &self,
        user_id: &str,
        after: Option<&RoomCursor>,
        limit: u32,
    ) -> Result<(Vec<RoomListRow>, Option<RoomCursor>)> {
        let limit = limit.max(1);
        // The page is chosen first from the user's memberships and their
        // rooms' activity times (two columns each, sorted); only then are
        // unread counts, previews and members read, for the page's rooms
        // alone.
        const FIRST: &str = "m.user_id = ?1";
        const AFTER: &str = "m.user_id = ?1 AND a.last_activity_at <= ?2
                            AND (a.last_activity_at < ?2 OR m.room_id < ?3)";
        let sql = format!(
            "SELECT r.*, p.last_read_seq, p.activity_at AS page_activity,
               (SELECT COUNT(*) FROM messages x WHERE x.room_id = r.id AND x.seq > p.last_read_seq
                  AND x.sender_id != ?1 AND x.deleted_at IS NULL) AS unread
             FROM (SELECT m.room_id, m.last_read_seq, a.last_activity_at AS activity_at
                   FROM room_members m JOIN rooms a ON a.id = m.room_id
                   WHERE {}
                   ORDER BY a.last_activity_at DESC, m.room_id DESC
                   LIMIT ?4) p
             JOIN rooms r ON r.id = p.room_id
             ORDER BY p.activity_at DESC, p.room_id DESC",
            if after.is_some() { AFTER } else { FIRST }
        );
        let mut rows = sqlx::query(&sql)
            .bind(user_id)
            .bind(after.map(|c| c.activity))
            .bind(after.map(|c| c.room_id.as_str()))
            .bind(i64::from(limit) + 1)
            .fetch_all(&self.pool)
            .await?;
        let has_more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let ids: Vec<String> = rows.iter().map(|r| r.get::<String, _>("id")).collect();
        let ids_json = serde_json::Value::from(ids.clone()).to_string();
        // Two more queries for the page, not two more per room.
        let mut last: HashMap<String, MessagePreview> = sqlx::query(
            "SELECT x.room_id, x.seq, x.sender_id, x.sender_name, x.message_type, x.body, x.created_at, x.deleted_at
             FROM rooms r JOIN messages x ON x.room_id = r.id AND x.seq = r.last_seq
             WHERE r.id IN (SELECT value FROM json_each(?))",
        )
        .bind(&ids_json)
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
            "SELECT o.room_id, o.user_id FROM room_members o
             WHERE o.room_id IN (SELECT value FROM json_each(?)) ORDER BY o.joined_at, o.user_id",
        )
        .bind(&ids_json)
        .fetch_all(&self.pool)
        .await?
        {
            members
                .entry(row.get("room_id"))
                .or_default()
                .push(row.get("user_id"));
        }
        let next = if has_more {
            rows.last().map(|r| RoomCursor {
                activity: r.get("page_activity"),
                room_id: r.get("id"),
            })
        } else {
            None
        };
        let out = rows
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
        Ok((out, next))
    }

    /// Messages of others after `user_id`'s read mark in `room_id` (not deleted).
    pub async fn unread_for(&self, room_id: &str, user_id: &str) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM messages x JOIN room_members m
               ON m.room_id = x.room_id AND m.user_id = ?2
             WHERE x.room_id = ?1 AND x.seq > m.last_read_seq
               AND x.sender_id != ?2 AND x.deleted_at IS NULL",
        )
        .bind(room_id)
        .bind(user_id)
        .fetch_one(&self.pool)
        .await?)
    }

    /// How many rooms `user_id` has created.
    pub async fn rooms_created_by(&self, user_id: &str) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM rooms WHERE created_by = ?")
                .bind(user_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// The role and tenant each of `user_ids` last connected with; users
    /// who never connected are absent.
    pub async fn tenant_profiles(
        &self,
        user_ids: &[String],
    ) -> Result<HashMap<String, UserProfile>> {
        let ids = serde_json::Value::from(user_ids.to_vec()).to_string();
        let rows = sqlx::query(
            "SELECT id, role, tenant FROM users WHERE id IN (SELECT value FROM json_each(?))",
        )
        .bind(ids)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r.get("id"),
                    UserProfile {
                        role: r.get("role"),
                        tenant: r.get("tenant"),
                    },
                )
            })
            .collect())
    }
}

/// Where a page of a user's room list ends: the last room's activity time
/// and id. On the wire it is an opaque string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomCursor {
    pub activity: i64,
    pub room_id: String,
}

impl RoomCursor {
    pub fn encode(&self) -> String {
        format!("{}:{}", self.activity, self.room_id)
    }

    /// `None` for anything [`RoomCursor::encode`] did not produce.
    pub fn decode(s: &str) -> Option<RoomCursor> {
        let (activity, room_id) = s.split_once(':')?;
        if room_id.is_empty() || room_id.len() > 128 {
            return None;
        }
        Some(RoomCursor {
            activity: activity.parse().ok()?,
            room_id: room_id.to_string(),
        })
    }
}

/// What the users table knows of someone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserProfile {
    pub role: Option<String>,
    pub tenant: Option<String>,
}

/// The first 120 characters of a message, for room lists.
fn preview(text: &str) -> String {
    MessagePreview::cut(text)
}

/// The profile upsert, inside the writer's transaction. A profile that has
/// not changed (every reconnect of a known user) writes no page at all.
pub(super) async fn upsert_profile(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    user: &UserRef,
    tenant: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO users (id, name, role, tenant) VALUES (?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, role = excluded.role,
           tenant = excluded.tenant
         WHERE users.name IS NOT excluded.name OR users.role IS NOT excluded.role
            OR users.tenant IS NOT excluded.tenant",
    )
    .bind(&user.id)
    .bind(&user.name)
    .bind(&user.role)
    .bind(tenant)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
