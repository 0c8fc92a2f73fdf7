//! Reading messages back: history pages and single messages.

use serde_json::Value;
use sqlx::Row;

use super::Store;
use crate::error::Result;
use crate::protocol::{MessageType, MessageView, UserRef};

/// A message to store; the writer assigns its id and sequence number.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub room_id: String,
    pub sender: UserRef,
    pub client_msg_id: String,
    pub message_type: MessageType,
    pub text: String,
    pub reply_to: Option<String>,
    pub refs: Option<Vec<Value>>,
    pub metadata: Option<Value>,
    pub lang: Option<String>,
    /// Upload ids; the writer checks each was uploaded by the sender.
    pub attachments: Vec<String>,
    /// Written by the assistant.
    pub ai: bool,
}

pub(crate) fn view_from_row(row: &sqlx::sqlite::SqliteRow) -> MessageView {
    let deleted_at: Option<i64> = row.get("deleted_at");
    let deleted = deleted_at.is_some();
    let refs: Option<String> = row.get("refs");
    let metadata: Option<String> = row.get("metadata");
    let attachments: Option<String> = row.get("attachments");
    MessageView {
        id: row.get("id"),
        room_id: row.get("room_id"),
        seq: row.get("seq"),
        sender: UserRef {
            id: row.get("sender_id"),
            name: row.get("sender_name"),
            role: row.get("sender_role"),
        },
        client_msg_id: row.get("client_msg_id"),
        message_type: MessageType::parse(row.get::<&str, _>("message_type")),
        // A deleted message keeps its place in history but not its content.
        text: if deleted {
            String::new()
        } else {
            row.get("body")
        },
        reply_to: row.get("reply_to"),
        refs: if deleted {
            None
        } else {
            refs.and_then(|r| serde_json::from_str(&r).ok())
        },
        metadata: if deleted {
            None
        } else {
            metadata.and_then(|m| serde_json::from_str(&m).ok())
        },
        lang: row.get("lang"),
        created_at: row.get("created_at"),
        edited_at: row.get("edited_at"),
        deleted,
        attachments: if deleted {
            Vec::new()
        } else {
            attachments
                .and_then(|a| serde_json::from_str(&a).ok())
                .unwrap_or_default()
        },
        ai: row.get::<i64, _>("ai") != 0,
    }
}

/// Which part of a room's history to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageQuery {
    /// The `limit` newest messages with `seq < before` (or the newest overall).
    Before(Option<i64>),
    /// The `limit` oldest messages with `seq > after`.
    After(i64),
}

impl Store {
    /// A page of history in ascending `seq` order, and whether more exist in
    /// the direction paged.
    pub async fn page(
        &self,
        room_id: &str,
        query: PageQuery,
        limit: u32,
    ) -> Result<(Vec<MessageView>, bool)> {
        let fetch = i64::from(limit) + 1;
        let rows = match query {
            PageQuery::Before(before) => sqlx::query(
                "SELECT * FROM messages WHERE room_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
            )
            .bind(room_id)
            .bind(before.unwrap_or(i64::MAX))
            .bind(fetch)
            .fetch_all(&self.pool)
            .await?,
            PageQuery::After(after) => {
                sqlx::query(
                    "SELECT * FROM messages WHERE room_id = ? AND seq > ? ORDER BY seq ASC LIMIT ?",
                )
                .bind(room_id)
                .bind(after)
                .bind(fetch)
                .fetch_all(&self.pool)
                .await?
            }
        };
        let has_more = rows.len() as i64 > i64::from(limit);
        let mut messages: Vec<MessageView> = rows
            .iter()
            .take(limit as usize)
            .map(view_from_row)
            .collect();
        if matches!(query, PageQuery::Before(_)) {
            messages.reverse();
        }
        Ok((messages, has_more))
    }

    /// Messages with `after < seq <= upto`, ascending, at most `limit`.
    pub async fn range(
        &self,
        room_id: &str,
        after: i64,
        upto: i64,
        limit: u32,
    ) -> Result<(Vec<MessageView>, bool)> {
        let rows = sqlx::query(
            "SELECT * FROM messages WHERE room_id = ? AND seq > ? AND seq <= ? ORDER BY seq ASC LIMIT ?",
        )
        .bind(room_id)
        .bind(after)
        .bind(upto)
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let has_more = rows.len() as i64 > i64::from(limit);
        Ok((
            rows.iter()
                .take(limit as usize)
                .map(view_from_row)
                .collect(),
            has_more,
        ))
    }

    pub async fn message(&self, message_id: &str) -> Result<Option<MessageView>> {
        let row = sqlx::query("SELECT * FROM messages WHERE id = ?")
            .bind(message_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(view_from_row))
    }
}
