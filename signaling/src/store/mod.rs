//! Durable storage on SQLite through sqlx.
//!
//! Reads go straight to the connection pool. Every write that a client waits
//! for (messages, edits, deletes, read marks) goes through the single
//! [`Writer`] task, which commits them in batches: one transaction and one
//! fsync for everything that arrived while the previous batch was committing.

mod assistant;
mod calls;
mod insert;
mod issues;
mod messages;
mod notifications;
mod quality;
mod rooms;
mod stats;
mod tenants;
pub use issues::StoredIssue;
pub use tenants::{DirectoryEntry, DirectoryQuery};
mod uploads;
mod writer;

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

pub use calls::{CallParticipantRecord, CallRecord};
pub use messages::{NewMessage, PageQuery};
pub use notifications::NewNotification;
pub use quality::{
    CallFilter, CallReport, CallScope, ParticipantQuality, QualitySampleRow, StoredSample,
};
pub use rooms::{NewRoom, RoomCursor, RoomListRow, UserProfile};
pub use uploads::{check_attachments, UploadRecord, MAX_ATTACHMENTS};
pub use writer::{EditOutcome, Mark, StoredMessage, WriteOp, Writer, WriterHandle};

use crate::error::Result;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The database and its writer.
#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    writer: WriterHandle,
}

/// Whether a connection given back to the pool may be reused. A dropped
/// transaction's rollback is queued on the connection; when SQLite had
/// already ended that transaction itself (disk full, I/O error) the
/// rollback fails and the driver keeps believing a transaction is open, so
/// every later `BEGIN` on it would fail. Such a connection is closed and
/// replaced. The common case (no transaction) costs nothing.
async fn release_if_clean(conn: &mut sqlx::SqliteConnection) -> Result<bool, sqlx::Error> {
    use sqlx::Connection;
    if !conn.is_in_transaction() {
        return Ok(true);
    }
    // Let the queued rollback run, then look again.
    conn.ping().await?;
    Ok(!conn.is_in_transaction())
}

impl Store {
    /// Open (creating if needed) the SQLite database at `path`, apply
    /// migrations and start the group-commit writer on the current runtime.
    pub async fn open_sqlite(path: &Path, group_commit_max: usize) -> Result<(Store, Writer)> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| crate::error::SignalError::BadRequest(format!("data dir: {e}")))?;
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a committed batch survives power loss, not only a crash.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // Checkpoint the WAL less often: each checkpoint rewrites pages
            // into the database file and fsyncs it.
            .pragma("wal_autocheckpoint", "8000");
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            // A local file needs no ping before each use: it would be one
            // more round trip to SQLite's thread for every write batch.
            .test_before_acquire(false)
            .after_release(|conn, _| Box::pin(release_if_clean(conn)))
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        let (writer, handle) = Writer::new(pool.clone(), group_commit_max);
        Ok((
            Store {
                pool,
                writer: handle,
            },
            writer,
        ))
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub fn writer(&self) -> &WriterHandle {
        &self.writer
    }
}
