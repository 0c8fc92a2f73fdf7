//! Uploaded files and which rooms they were shared in.

use sqlx::{QueryBuilder, Row, Sqlite, Transaction};

use super::Store;
use crate::error::{Result, SignalError};
use crate::protocol::{AttachmentView, MessageType, MessageView};

/// Most attachments one message may carry.
pub const MAX_ATTACHMENTS: usize = 10;

/// An upload's stored record. The file itself is named by `id`.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadRecord {
    pub id: String,
    pub uploader_id: String,
    /// Sanitized display name.
    pub name: String,
    pub mime_type: String,
    pub size: i64,
    pub has_thumbnail: bool,
    pub created_at: i64,
}

impl UploadRecord {
    /// The download path of an upload.
    pub fn url(id: &str) -> String {
        format!("/api/uploads/{id}")
    }

    pub fn thumbnail_url(id: &str) -> String {
        format!("/api/uploads/{id}/thumbnail")
    }

    /// The upload as a message attachment.
    pub fn view(&self) -> AttachmentView {
        AttachmentView {
            id: self.id.clone(),
            name: self.name.clone(),
            mime_type: self.mime_type.clone(),
            size: self.size,
            url: Self::url(&self.id),
            thumbnail_url: self.has_thumbnail.then(|| Self::thumbnail_url(&self.id)),
        }
    }
}

fn record_from_row(row: &sqlx::sqlite::SqliteRow) -> UploadRecord {
    UploadRecord {
        id: row.get("id"),
        uploader_id: row.get("uploader_id"),
        name: row.get("name"),
        mime_type: row.get("mime_type"),
        size: row.get("size"),
        has_thumbnail: row.get::<i64, _>("has_thumbnail") != 0,
        created_at: row.get("created_at"),
    }
}

/// Checks that need no storage: the count, and that a message typed
/// image, file or voice carries at least one file.
pub fn check_attachments(kind: MessageType, ids: &[String]) -> Result<()> {
    if ids.len() > MAX_ATTACHMENTS {
        return Err(SignalError::BadRequest(format!(
            "at most {MAX_ATTACHMENTS} attachments"
        )));
    }
    if ids.iter().any(|id| id.is_empty() || id.len() > 128) {
        return Err(SignalError::BadRequest(
            "attachment ids must be 1 to 128 bytes".into(),
        ));
    }
    if matches!(
        kind,
        MessageType::Image | MessageType::File | MessageType::Voice
    ) && ids.is_empty()
    {
        return Err(SignalError::BadRequest(format!(
            "a {} message needs attachments",
            kind.as_str()
        )));
    }
    Ok(())
}

/// Whether a file of `mime` fits a message of type `kind`.
fn fits(kind: MessageType, mime: &str) -> bool {
    match kind {
        MessageType::Image => mime.starts_with("image/"),
        MessageType::Voice => {
            mime.starts_with("audio/") || mime == "video/webm" || mime == "video/mp4"
        }
        _ => true,
    }
}

/// The type a message with no text and these files gets when the client
/// did not say (`text`): image, voice or file after the first file.
fn inferred(first_mime: &str) -> MessageType {
    if first_mime.starts_with("image/") {
        MessageType::Image
    } else if first_mime.starts_with("audio/") {
        MessageType::Voice
    } else {
        MessageType::File
    }
}

/// Check `ids` inside the writer's transaction: each exists, was uploaded
/// by `sender`, appears once, and fits `kind`. Returns the attachment views
/// in the given order and the message type to store.
pub(super) async fn resolve(
    tx: &mut Transaction<'_, Sqlite>,
    ids: &[String],
    sender: &str,
    kind: MessageType,
    text_empty: bool,
) -> Result<(Vec<AttachmentView>, MessageType)> {
    check_attachments(kind, ids)?;
    let mut views = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        if ids[..i].contains(id) {
            return Err(SignalError::BadRequest(format!(
                "attachment {id} is listed twice"
            )));
        }
        let row = sqlx::query("SELECT * FROM uploads WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(SignalError::NotFound("upload"))?;
        let rec = record_from_row(&row);
        if rec.uploader_id != sender {
            return Err(SignalError::Denied(
                "only the uploader may attach an upload".into(),
            ));
        }
        views.push(rec.view());
    }
    let kind = match views.first() {
        Some(first) if kind == MessageType::Text && text_empty => inferred(&first.mime_type),
        _ => kind,
    };
    if let Some(bad) = views.iter().find(|v| !fits(kind, &v.mime_type)) {
        return Err(SignalError::BadRequest(format!(
            "a {} message cannot carry {}",
            kind.as_str(),
            bad.mime_type
        )));
    }
    Ok((views, kind))
}

/// Record which messages share which uploads (for download checks).
pub(super) async fn link(
    tx: &mut Transaction<'_, Sqlite>,
    messages: &[MessageView],
) -> std::result::Result<(), sqlx::Error> {
    let links: Vec<(&MessageView, usize, &AttachmentView)> = messages
        .iter()
        .flat_map(|m| {
            m.attachments
                .iter()
                .enumerate()
                .map(move |(i, a)| (m, i, a))
        })
        .collect();
    // 4 values per row: 1000 rows stay far below SQLite's variable limit.
    for chunk in links.chunks(1000) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO message_attachments (message_id, upload_id, room_id, position) ",
        );
        qb.push_values(chunk, |mut b, (m, i, a)| {
            b.push_bind(m.id.clone())
                .push_bind(a.id.clone())
                .push_bind(m.room_id.clone())
                .push_bind(*i as i64);
        });
        qb.build().execute(&mut **tx).await?;
    }
    Ok(())
}

impl Store {
    pub async fn insert_upload(&self, rec: &UploadRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO uploads (id, uploader_id, name, mime_type, size, has_thumbnail, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&rec.id)
        .bind(&rec.uploader_id)
        .bind(&rec.name)
        .bind(&rec.mime_type)
        .bind(rec.size)
        .bind(i64::from(rec.has_thumbnail))
        .bind(rec.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn upload(&self, id: &str) -> Result<Option<UploadRecord>> {
        let row = sqlx::query("SELECT * FROM uploads WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(record_from_row))
    }

    /// Bytes of uploads `uploader_id` has stored (for the quota).
    pub async fn upload_bytes(&self, uploader_id: &str) -> Result<u64> {
        let total: i64 =
            sqlx::query_scalar("SELECT COALESCE(SUM(size), 0) FROM uploads WHERE uploader_id = ?")
                .bind(uploader_id)
                .fetch_one(&self.pool)
                .await?;
        Ok(total.max(0) as u64)
    }

    /// Up to `limit` uploads created before `before_ms` that no message
    /// ever carried, oldest first.
    pub async fn orphan_uploads(&self, before_ms: i64, limit: u32) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT u.id FROM uploads u
             WHERE u.created_at < ?
               AND NOT EXISTS (SELECT 1 FROM message_attachments a WHERE a.upload_id = u.id)
             ORDER BY u.created_at LIMIT ?",
        )
        .bind(before_ms)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Delete the record of upload `id` if still no message carries it, in
    /// one statement, so a message attaching it meanwhile keeps it. `true`:
    /// it is gone and its files may be removed.
    pub async fn delete_orphan_upload(&self, id: &str) -> Result<bool> {
        let done = sqlx::query(
            "DELETE FROM uploads WHERE id = ?
               AND NOT EXISTS (SELECT 1 FROM message_attachments a WHERE a.upload_id = uploads.id)",
        )
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Rooms where a message that is not deleted carries the upload.
    pub async fn upload_rooms(&self, upload_id: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT a.room_id FROM message_attachments a
             JOIN messages m ON m.id = a.message_id
             WHERE a.upload_id = ? AND m.deleted_at IS NULL",
        )
        .bind(upload_id)
        .fetch_all(&self.pool)
        .await?)
    }
}
