//! The group-commit writer: one task, one transaction per batch.
//!
//! Writes queue on a bounded channel. The task takes everything waiting (up
//! to `max_batch`), applies it in one transaction, commits (one fsync), and
//! only then answers each write. Answers therefore always mean "durably
//! stored", and they come back in the order the writes were queued, which
//! is what lets a room broadcast messages in sequence order.

use std::collections::HashMap;

use sqlx::pool::PoolConnection;
use sqlx::{Connection, Row, Sqlite, SqlitePool, Transaction};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error, warn};

use super::messages::{view_from_row, NewMessage};
use super::now_ms;
use crate::error::{Result, SignalError};
use crate::protocol::MessageView;

/// The longest pause between two commits (when the batches are full).
const COMMIT_WINDOW: std::time::Duration = std::time::Duration::from_millis(4);
/// The batch size from which the whole window is used.
const FULL_BATCH: f64 = 16.0;

/// Rooms whose `last_seq` one statement moves (each takes two bound values).
const ROOMS_PER_UPDATE: usize = 500;

/// Move each room's `last_seq` and activity time: one statement for many
/// rooms (a batch of 1:1 conversations touches one room per message, and
/// every statement is a round trip to SQLite's thread).
async fn touch_rooms(
    tx: &mut Transaction<'_, Sqlite>,
    rooms: &[(&String, &i64)],
    now: i64,
) -> std::result::Result<(), sqlx::Error> {
    let mut q = sqlx::QueryBuilder::<Sqlite>::new("WITH v(id, seq) AS (VALUES ");
    for (i, (room, seq)) in rooms.iter().enumerate() {
        if i > 0 {
            q.push(", ");
        }
        q.push("(")
            .push_bind(*room)
            .push(", ")
            .push_bind(**seq)
            .push(")");
    }
    q.push(") UPDATE rooms SET last_seq = (SELECT seq FROM v WHERE v.id = rooms.id), last_activity_at = ")
        .push_bind(now)
        .push(" WHERE id IN (SELECT id FROM v)");
    q.build().execute(&mut **tx).await.map(|_| ())
}

/// A stored message and whether it had been stored before (idempotent resend).
#[derive(Debug, Clone)]
pub struct StoredMessage {
    pub view: MessageView,
    pub duplicate: bool,
}

/// The result of an edit or delete: the message as it now stands.
pub type EditOutcome = Result<MessageView>;

/// One write and where to send its result.
#[derive(Debug)]
pub enum WriteOp {
    Insert {
        msg: NewMessage,
        done: oneshot::Sender<Result<StoredMessage>>,
    },
    Edit {
        room_id: String,
        message_id: String,
        editor: String,
        text: String,
        done: oneshot::Sender<EditOutcome>,
    },
    Delete {
        room_id: String,
        message_id: String,
        by: String,
        done: oneshot::Sender<EditOutcome>,
    },
    /// The server rewrites one of its own entries (a call's, as the call
    /// progresses): new text and metadata, no author check, not "edited".
    Amend {
        room_id: String,
        message_id: String,
        text: String,
        metadata: serde_json::Value,
        done: oneshot::Sender<EditOutcome>,
    },
    /// Move a member's read (and so delivered) or delivered mark forward.
    MarkRead {
        room_id: String,
        user_id: String,
        seq: i64,
        mark: Mark,
        done: oneshot::Sender<Result<i64>>,
    },
    /// Record a user's profile as their token states it (at connect):
    /// group-committed with everything else, so a burst of connections
    /// shares fsyncs, and writing nothing when it has not changed.
    Profile {
        user: crate::protocol::UserRef,
        tenant: Option<String>,
        done: oneshot::Sender<Result<()>>,
    },
    /// When a user was last online (their last device went).
    LastSeen {
        user_id: String,
        at: i64,
        done: oneshot::Sender<Result<()>>,
    },
    /// Answered once everything queued before it is committed.
    Flush { done: oneshot::Sender<Result<()>> },
}

impl WriteOp {
    fn fail(self, err: impl Fn() -> SignalError) {
        match self {
            WriteOp::Insert { done, .. } => drop(done.send(Err(err()))),
            WriteOp::Edit { done, .. }
            | WriteOp::Delete { done, .. }
            | WriteOp::Amend { done, .. } => drop(done.send(Err(err()))),
            WriteOp::MarkRead { done, .. } => drop(done.send(Err(err()))),
            WriteOp::Flush { done }
            | WriteOp::Profile { done, .. }
            | WriteOp::LastSeen { done, .. } => drop(done.send(Err(err()))),
        }
    }
}

/// Cheap handle used to queue writes.
#[derive(Clone, Debug)]
pub struct WriterHandle {
    tx: mpsc::Sender<WriteOp>,
}

impl WriterHandle {
    /// Queue a write. Waits only if the queue is full (back-pressure).
    pub async fn submit(&self, op: WriteOp) {
        if let Err(mpsc::error::SendError(op)) = self.tx.send(op).await {
            op.fail(|| SignalError::Unavailable);
        }
    }

    /// Wait until every write queued so far is committed.
    pub async fn flush(&self) -> Result<()> {
        let (done, rx) = oneshot::channel();
        self.submit(WriteOp::Flush { done }).await;
        rx.await.unwrap_or(Err(SignalError::Unavailable))
    }

    /// Queue a message insert; the receiver resolves once it is committed.
    pub async fn insert(&self, msg: NewMessage) -> oneshot::Receiver<Result<StoredMessage>> {
        let (done, rx) = oneshot::channel();
        self.submit(WriteOp::Insert { msg, done }).await;
        rx
    }
}

/// The writer task's state. Run it with [`Writer::run`].
pub struct Writer {
    pool: SqlitePool,
    rx: mpsc::Receiver<WriteOp>,
    max_batch: usize,
    /// Last sequence number per room, valid while no commit has failed.
    pub(super) last_seq: HashMap<String, i64>,
    /// A statement failed in a way that must abort the whole batch (and
    /// may have ended the transaction inside SQLite already).
    pub(super) poisoned: Option<sqlx::Error>,
}

impl Writer {
    pub fn new(pool: SqlitePool, max_batch: usize) -> (Writer, WriterHandle) {
        let (tx, rx) = mpsc::channel(max_batch.max(1) * 8);
        let writer = Writer {
            pool,
            rx,
            max_batch: max_batch.max(1),
            last_seq: HashMap::new(),
            poisoned: None,
        };
        (writer, WriterHandle { tx })
    }

    /// Commit batches until every handle is dropped and the queue is empty.
    pub async fn run(mut self) {
        let mut batch = Vec::with_capacity(self.max_batch);
        // Adaptive batching: the pause after a commit grows with the batch
        // it committed. A lone write (low load) is followed by no pause, so
        // the next one waits for nothing but its own commit; a batch of
        // `FULL_BATCH` or more (high load) by the whole `COMMIT_WINDOW`, so
        // writes arriving meanwhile share one transaction and one fsync
        // instead of each paying for a commit (and its round trips to
        // SQLite's thread) of their own.
        while self.rx.recv_many(&mut batch, self.max_batch).await > 0 {
            let size = batch.len();
            let started = tokio::time::Instant::now();
            self.commit_batch(&mut batch).await;
            let pause = COMMIT_WINDOW.mul_f64(((size - 1) as f64 / FULL_BATCH).min(1.0));
            if !pause.is_zero() {
                tokio::time::sleep_until(started + pause).await;
            }
        }
        debug!("writer drained and stopped");
    }

    async fn commit_batch(&mut self, batch: &mut Vec<WriteOp>) {
        let size = batch.len();
        self.poisoned = None;
        let mut conn = match self.pool.acquire().await {
            Ok(conn) => conn,
            Err(err) => {
                error!(%err, size, "cannot get a connection for a write batch");
                batch
                    .drain(..)
                    .for_each(|op| op.fail(|| SignalError::StorageFailed));
                return;
            }
        };
        match self.apply_batch(&mut conn, batch).await {
            Ok(answers) => answers.into_iter().for_each(Answer::send),
            Err((err, answers)) => {
                error!(%err, size, "write batch failed; nothing of it was stored");
                // Sequence numbers handed out in this batch were never stored.
                self.last_seq.clear();
                answers.into_iter().for_each(Answer::fail);
                // SQLite may have rolled the transaction back by itself (disk
                // full, I/O error), leaving the driver believing one is still
                // open: such a connection would refuse every later BEGIN.
                // Never hand it back to the pool; a fresh one replaces it.
                if let Err(err) = conn.close().await {
                    warn!(%err, "closing the failed write connection");
                }
            }
        }
    }

    /// Begin, apply every write of `batch` and commit. On failure the
    /// transaction is rolled back and every answer must fail.
    async fn apply_batch(
        &mut self,
        conn: &mut PoolConnection<Sqlite>,
        batch: &mut Vec<WriteOp>,
    ) -> std::result::Result<Vec<Answer>, (sqlx::Error, Vec<Answer>)> {
        // IMMEDIATE: take the write lock now, waiting (busy_timeout) for
        // other writers such as profile and last_seen updates. A deferred
        // transaction that reads before it writes fails at once with
        // SQLITE_BUSY when another connection wrote in between.
        let mut tx = match conn.begin_with("BEGIN IMMEDIATE").await {
            Ok(tx) => tx,
            Err(err) => return Err((err, batch.drain(..).map(Answer::skipped).collect())),
        };
        let mut answers = Vec::with_capacity(batch.len());
        let mut dirty: HashMap<String, i64> = HashMap::new();
        // Inserts go first, together: a few statements for the whole batch
        // instead of one round trip per message.
        let mut inserts = Vec::new();
        let mut others = Vec::new();
        for op in batch.drain(..) {
            match op {
                WriteOp::Insert { msg, done } => inserts.push((msg, done)),
                other => others.push(other),
            }
        }
        if !inserts.is_empty() {
            answers.extend(self.insert_many(&mut tx, inserts, &mut dirty).await);
        }
        for op in others {
            // After a storage failure the transaction may be gone: a later
            // statement would run (and commit) on its own. Apply nothing more.
            if self.poisoned.is_some() {
                answers.push(Answer::skipped(op));
            } else {
                answers.push(self.apply(&mut tx, op, &mut dirty).await);
            }
        }
        if let Some(err) = self.poisoned.take() {
            if let Err(rollback) = tx.rollback().await {
                // Expected when SQLite already rolled back by itself.
                debug!(%rollback, "rollback after a failed write");
            }
            return Err((err, answers));
        }
        // The batch's time is each touched room's activity time (the room
        // list's order): one statement per room, no trigger.
        let now = super::now_ms();
        let rooms: Vec<(&String, &i64)> = dirty.iter().collect();
        for chunk in rooms.chunks(ROOMS_PER_UPDATE) {
            if let Err(err) = touch_rooms(&mut tx, chunk, now).await {
                if let Err(rollback) = tx.rollback().await {
                    debug!(%rollback, "rollback after a failed write");
                }
                return Err((err, answers));
            }
        }
        match tx.commit().await {
            Ok(()) => Ok(answers),
            Err(err) => Err((err, answers)),
        }
    }

    /// A storage error in one write fails the whole batch: SQLite may have
    /// rolled back the transaction with it. Other errors stay the write's own.
    pub(super) fn check_storage<T>(&mut self, result: Result<T>) -> Result<T> {
        match result {
            Err(SignalError::Storage(err)) => {
                self.poisoned.get_or_insert(err);
                Err(SignalError::StorageFailed)
            }
            other => other,
        }
    }

    async fn apply(
        &mut self,
        tx: &mut Transaction<'_, Sqlite>,
        op: WriteOp,
        dirty: &mut HashMap<String, i64>,
    ) -> Answer {
        match op {
            WriteOp::Insert { msg, done } => {
                // commit_batch routes inserts to insert_many; this keeps the match total.
                let mut one = self.insert_many(tx, vec![(msg, done)], dirty).await;
                one.remove(0)
            }
            WriteOp::Edit {
                room_id,
                message_id,
                editor,
                text,
                done,
            } => {
                let result = edit(tx, &room_id, &message_id, &editor, Some(&text)).await;
                Answer::Edit(done, self.check_storage(result))
            }
            WriteOp::Delete {
                room_id,
                message_id,
                by,
                done,
            } => {
                let result = edit(tx, &room_id, &message_id, &by, None).await;
                Answer::Edit(done, self.check_storage(result))
            }
            WriteOp::Amend {
                room_id,
                message_id,
                text,
                metadata,
                done,
            } => {
                let result = amend(tx, &room_id, &message_id, &text, &metadata).await;
                Answer::Edit(done, self.check_storage(result))
            }
            WriteOp::MarkRead {
                room_id,
                user_id,
                seq,
                mark,
                done,
            } => {
                let result = self.mark_read(tx, &room_id, &user_id, seq, mark).await;
                Answer::Read(done, self.check_storage(result))
            }
            WriteOp::Profile { user, tenant, done } => {
                let result = super::rooms::upsert_profile(tx, &user, tenant.as_deref()).await;
                Answer::Done(done, self.check_storage(result))
            }
            WriteOp::LastSeen { user_id, at, done } => {
                let result = sqlx::query("UPDATE users SET last_seen = ? WHERE id = ?")
                    .bind(at)
                    .bind(&user_id)
                    .execute(&mut **tx)
                    .await
                    .map(|_| ())
                    .map_err(SignalError::from);
                Answer::Done(done, self.check_storage(result))
            }
            WriteOp::Flush { done } => Answer::Flush(done),
        }
    }

    pub(super) async fn room_last_seq(
        &mut self,
        tx: &mut Transaction<'_, Sqlite>,
        room_id: &str,
    ) -> Result<i64> {
        if let Some(seq) = self.last_seq.get(room_id) {
            return Ok(*seq);
        }
        let seq: Option<i64> = sqlx::query_scalar("SELECT last_seq FROM rooms WHERE id = ?")
            .bind(room_id)
            .fetch_optional(&mut **tx)
            .await?;
        let seq = seq.ok_or(SignalError::NotFound("room"))?;
        self.last_seq.insert(room_id.to_string(), seq);
        Ok(seq)
    }

    async fn mark_read(
        &mut self,
        tx: &mut Transaction<'_, Sqlite>,
        room_id: &str,
        user_id: &str,
        seq: i64,
        mark: Mark,
    ) -> Result<i64> {
        let last = self.room_last_seq(tx, room_id).await?;
        let seq = seq.clamp(0, last);
        // What is read has reached a device.
        let (update, select) = match mark {
            Mark::Read => (
                "UPDATE room_members SET last_read_seq = MAX(last_read_seq, ?1),
                   delivered_seq = MAX(delivered_seq, ?1) WHERE room_id = ?2 AND user_id = ?3",
                "SELECT last_read_seq FROM room_members WHERE room_id = ? AND user_id = ?",
            ),
            Mark::Delivered => (
                "UPDATE room_members SET delivered_seq = MAX(delivered_seq, ?1)
                 WHERE room_id = ?2 AND user_id = ?3",
                "SELECT delivered_seq FROM room_members WHERE room_id = ? AND user_id = ?",
            ),
        };
        let done = sqlx::query(update)
            .bind(seq)
            .bind(room_id)
            .bind(user_id)
            .execute(&mut **tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(SignalError::AccessDenied);
        }
        Ok(sqlx::query_scalar(select)
            .bind(room_id)
            .bind(user_id)
            .fetch_one(&mut **tx)
            .await?)
    }
}

/// Edit (`text` is `Some`) or soft-delete (`None`) a message by its author.
async fn edit(
    tx: &mut Transaction<'_, Sqlite>,
    room_id: &str,
    message_id: &str,
    by: &str,
    text: Option<&str>,
) -> EditOutcome {
    let row =
        sqlx::query("SELECT sender_id, deleted_at FROM messages WHERE id = ? AND room_id = ?")
            .bind(message_id)
            .bind(room_id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(SignalError::NotFound("message"))?;
    let sender: String = row.get("sender_id");
    let deleted: Option<i64> = row.get("deleted_at");
    if sender != by {
        return Err(SignalError::AccessDenied);
    }
    if deleted.is_some() {
        return Err(SignalError::Conflict("the message was deleted".into()));
    }
    let now = now_ms();
    match text {
        Some(text) => sqlx::query("UPDATE messages SET body = ?, edited_at = ? WHERE id = ?")
            .bind(text)
            .bind(now),
        None => sqlx::query("UPDATE messages SET deleted_at = ? WHERE id = ?").bind(now),
    }
    .bind(message_id)
    .execute(&mut **tx)
    .await?;
    let row = sqlx::query("SELECT * FROM messages WHERE id = ?")
        .bind(message_id)
        .fetch_one(&mut **tx)
        .await?;
    Ok(view_from_row(&row))
}

/// Which of a member's marks a `MarkRead` write moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mark {
    Read,
    Delivered,
}

/// Rewrite a server entry's text and metadata (see [`WriteOp::Amend`]).
async fn amend(
    tx: &mut Transaction<'_, Sqlite>,
    room_id: &str,
    message_id: &str,
    text: &str,
    metadata: &serde_json::Value,
) -> EditOutcome {
    let done = sqlx::query(
        "UPDATE messages SET body = ?, metadata = ? WHERE id = ? AND room_id = ? AND deleted_at IS NULL",
    )
    .bind(text)
    .bind(metadata.to_string())
    .bind(message_id)
    .bind(room_id)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(SignalError::NotFound("message"));
    }
    let row = sqlx::query("SELECT * FROM messages WHERE id = ?")
        .bind(message_id)
        .fetch_one(&mut **tx)
        .await?;
    Ok(view_from_row(&row))
}

/// A computed result held until the batch commits.
pub(super) enum Answer {
    Insert(
        oneshot::Sender<Result<StoredMessage>>,
        Result<StoredMessage>,
    ),
    Edit(oneshot::Sender<EditOutcome>, EditOutcome),
    Read(oneshot::Sender<Result<i64>>, Result<i64>),
    Done(oneshot::Sender<Result<()>>, Result<()>),
    Flush(oneshot::Sender<Result<()>>),
}

impl Answer {
    fn send(self) {
        // A dropped receiver means the requester went away; nothing to do.
        match self {
            Answer::Insert(tx, r) => drop(tx.send(r)),
            Answer::Edit(tx, r) => drop(tx.send(r)),
            Answer::Read(tx, r) => drop(tx.send(r)),
            Answer::Done(tx, r) => drop(tx.send(r)),
            Answer::Flush(tx) => drop(tx.send(Ok(()))),
        }
    }

    /// The batch did not commit: nothing of it is stored.
    fn fail(self) {
        match self {
            Answer::Insert(tx, _) => drop(tx.send(Err(SignalError::StorageFailed))),
            Answer::Edit(tx, _) => drop(tx.send(Err(SignalError::StorageFailed))),
            Answer::Read(tx, _) => drop(tx.send(Err(SignalError::StorageFailed))),
            Answer::Done(tx, _) => drop(tx.send(Err(SignalError::StorageFailed))),
            Answer::Flush(tx) => drop(tx.send(Err(SignalError::StorageFailed))),
        }
    }

    /// A write not applied because its batch had already failed.
    fn skipped(op: WriteOp) -> Answer {
        match op {
            WriteOp::Insert { done, .. } => Answer::Insert(done, Err(SignalError::StorageFailed)),
            WriteOp::Edit { done, .. }
            | WriteOp::Delete { done, .. }
            | WriteOp::Amend { done, .. } => Answer::Edit(done, Err(SignalError::StorageFailed)),
            WriteOp::MarkRead { done, .. } => Answer::Read(done, Err(SignalError::StorageFailed)),
            WriteOp::Profile { done, .. } | WriteOp::LastSeen { done, .. } => {
                Answer::Done(done, Err(SignalError::StorageFailed))
            }
            WriteOp::Flush { done } => Answer::Flush(done),
        }
    }
}
