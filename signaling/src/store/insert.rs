//! Batched message inserts for the group-commit writer.
//!
//! One batch of N messages costs a duplicate lookup and one multi-row
//! INSERT per chunk, instead of N round trips to the database thread.

use std::collections::HashMap;

use sqlx::{QueryBuilder, Sqlite, Transaction};
use tokio::sync::oneshot;

use super::messages::{view_from_row, NewMessage};
use super::now_ms;
use super::writer::{Answer, StoredMessage, Writer};
use crate::error::{Result, SignalError};
use crate::protocol::MessageView;

/// Rows per statement: 16 bound values each stays far below SQLite's limit.
const CHUNK: usize = 500;

type Key = (String, String, String);

fn key(m: &NewMessage) -> Key {
    (
        m.room_id.clone(),
        m.sender.id.clone(),
        m.client_msg_id.clone(),
    )
}

impl Writer {
    /// Store `items` in the open transaction, in order, assigning sequence
    /// numbers. A client message id already stored (or repeated within the
    /// batch) answers with the stored message marked duplicate.
    pub(super) async fn insert_many(
        &mut self,
        tx: &mut Transaction<'_, Sqlite>,
        items: Vec<(NewMessage, oneshot::Sender<Result<StoredMessage>>)>,
        dirty: &mut HashMap<String, i64>,
    ) -> Vec<Answer> {
        let existing = match self.find_existing(tx, &items).await {
            Ok(found) => found,
            Err(err) => {
                self.poisoned = Some(err);
                return items
                    .into_iter()
                    .map(|(_, done)| Answer::Insert(done, Err(SignalError::StorageFailed)))
                    .collect();
            }
        };
        let created_at = now_ms();
        let mut results: Vec<Option<Result<StoredMessage>>> = Vec::with_capacity(items.len());
        let mut first_in_batch: HashMap<Key, usize> = HashMap::new();
        let mut repeats: Vec<(usize, usize)> = Vec::new();
        let mut fresh: Vec<MessageView> = Vec::new();
        let mut dones = Vec::with_capacity(items.len());
        for (i, (msg, done)) in items.into_iter().enumerate() {
            dones.push(done);
            let k = key(&msg);
            if let Some(view) = existing.get(&k) {
                results.push(Some(Ok(StoredMessage {
                    view: view.clone(),
                    duplicate: true,
                })));
                continue;
            }
            if let Some(&first) = first_in_batch.get(&k) {
                repeats.push((i, first));
                results.push(None);
                continue;
            }
            first_in_batch.insert(k, i);
            let prepared = self.prepare(tx, msg, created_at).await;
            match self.check_storage(prepared) {
                Ok(view) => {
                    self.last_seq.insert(view.room_id.clone(), view.seq);
                    dirty.insert(view.room_id.clone(), view.seq);
                    results.push(Some(Ok(StoredMessage {
                        view: view.clone(),
                        duplicate: false,
                    })));
                    fresh.push(view);
                }
                Err(err) => results.push(Some(Err(err))),
            }
        }
        // After a storage failure the transaction may be gone: write nothing.
        let chunks = if self.poisoned.is_none() {
            fresh.chunks(CHUNK)
        } else {
            [].chunks(CHUNK)
        };
        for chunk in chunks {
            if let Err(err) = insert_rows(tx, chunk).await {
                self.poisoned = Some(err);
                break;
            }
        }
        if self.poisoned.is_none() && fresh.iter().any(|m| !m.attachments.is_empty()) {
            if let Err(err) = super::uploads::link(tx, &fresh).await {
                self.poisoned = Some(err);
            }
        }
        // A repeat within the batch answers like its first copy.
        for (i, first) in repeats {
            results[i] = Some(match &results[first] {
                Some(Ok(stored)) => Ok(StoredMessage {
                    view: stored.view.clone(),
                    duplicate: true,
                }),
                Some(Err(SignalError::NotFound(what))) => Err(SignalError::NotFound(what)),
                Some(Err(err)) => Err(SignalError::BadRequest(err.public_message())),
                None => Err(SignalError::StorageFailed),
            });
        }
        dones
            .into_iter()
            .zip(results)
            .map(|(done, r)| Answer::Insert(done, r.unwrap_or(Err(SignalError::StorageFailed))))
            .collect()
    }

    /// Validate one message and give it its id and sequence number.
    async fn prepare(
        &mut self,
        tx: &mut Transaction<'_, Sqlite>,
        msg: NewMessage,
        created_at: i64,
    ) -> Result<MessageView> {
        let seq = self.room_last_seq(tx, &msg.room_id).await? + 1;
        if let Some(reply_to) = &msg.reply_to {
            let found: Option<i64> =
                sqlx::query_scalar("SELECT 1 FROM messages WHERE id = ? AND room_id = ?")
                    .bind(reply_to)
                    .bind(&msg.room_id)
                    .fetch_optional(&mut **tx)
                    .await?;
            if found.is_none() {
                return Err(SignalError::NotFound("reply_to message"));
            }
        }
        let (attachments, message_type) = if msg.attachments.is_empty() {
            (Vec::new(), msg.message_type)
        } else {
            super::uploads::resolve(
                tx,
                &msg.attachments,
                &msg.sender.id,
                msg.message_type,
                msg.text.trim().is_empty(),
            )
            .await?
        };
        Ok(MessageView {
            id: uuid::Uuid::now_v7().to_string(),
            room_id: msg.room_id,
            seq,
            sender: msg.sender,
            client_msg_id: msg.client_msg_id,
            message_type,
            text: msg.text,
            reply_to: msg.reply_to,
            refs: msg.refs,
            metadata: msg.metadata,
            lang: msg.lang,
            created_at,
            edited_at: None,
            deleted: false,
            attachments,
            ai: msg.ai,
        })
    }

    /// Messages of this batch whose client message id is already stored.
    async fn find_existing(
        &mut self,
        tx: &mut Transaction<'_, Sqlite>,
        items: &[(NewMessage, oneshot::Sender<Result<StoredMessage>>)],
    ) -> std::result::Result<HashMap<Key, MessageView>, sqlx::Error> {
        let mut found = HashMap::new();
        for chunk in items.chunks(CHUNK) {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "SELECT * FROM messages WHERE (room_id, sender_id, client_msg_id) IN (VALUES ",
            );
            for (i, (m, _)) in chunk.iter().enumerate() {
                if i > 0 {
                    qb.push(", ");
                }
                qb.push("(")
                    .push_bind(m.room_id.clone())
                    .push(", ")
                    .push_bind(m.sender.id.clone());
                qb.push(", ").push_bind(m.client_msg_id.clone()).push(")");
            }
            qb.push(")");
            for row in qb.build().fetch_all(&mut **tx).await? {
                let view = view_from_row(&row);
                found.insert(
                    (
                        view.room_id.clone(),
                        view.sender.id.clone(),
                        view.client_msg_id.clone(),
                    ),
                    view,
                );
            }
        }
        Ok(found)
    }
}

/// One multi-row INSERT for already validated, sequenced messages.
async fn insert_rows(
    tx: &mut Transaction<'_, Sqlite>,
    rows: &[MessageView],
) -> std::result::Result<(), sqlx::Error> {
    let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
        "INSERT INTO messages (id, room_id, seq, sender_id, sender_name, sender_role, client_msg_id, \
         message_type, body, reply_to, refs, metadata, lang, created_at, attachments, ai) ",
    );
    qb.push_values(rows, |mut b, m| {
        b.push_bind(m.id.clone())
            .push_bind(m.room_id.clone())
            .push_bind(m.seq)
            .push_bind(m.sender.id.clone())
            .push_bind(m.sender.name.clone())
            .push_bind(m.sender.role.clone())
            .push_bind(m.client_msg_id.clone())
            .push_bind(m.message_type.as_str())
            .push_bind(m.text.clone())
            .push_bind(m.reply_to.clone())
            .push_bind(
                m.refs
                    .as_ref()
                    .map(|r| serde_json::Value::from(r.clone()).to_string()),
            )
            .push_bind(m.metadata.as_ref().map(|v| v.to_string()))
            .push_bind(m.lang.clone())
            .push_bind(m.created_at)
            .push_bind(
                (!m.attachments.is_empty())
                    .then(|| serde_json::to_string(&m.attachments).unwrap_or_default()),
            )
            .push_bind(i64::from(m.ai));
    });
    qb.build().execute(&mut **tx).await?;
    Ok(())
}
