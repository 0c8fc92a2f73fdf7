//! What keeps uploads from exhausting the server: a small pool of
//! thumbnail decoders, a per-user upload rate and byte quota, a free-disk
//! floor, and the sweeper that deletes uploads no message ever carried.
//!
//! Every refusal is a typed [`AppError`]: `RATE_LIMITED` (429, with
//! `Retry-After`), `QUOTA_EXCEEDED` (413), `INSUFFICIENT_STORAGE` (507) and,
//! when every thumbnail worker stays busy, `UNAVAILABLE` (503, with
//! `Retry-After`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use earshot_signaling::limit::KeyedLimit;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::error::AppError;
use crate::Config;
use earshot_signaling::store::{now_ms, Store};

/// Orphans deleted per sweep query.
const SWEEP_BATCH: u32 = 500;

/// Where uploads are stored.
pub fn uploads_dir(config: &Config) -> PathBuf {
    config.data_dir.join("uploads")
}

/// The PNG thumbnail of upload `id`.
pub fn thumbnail_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.thumb.png"))
}

/// The shared limits, one per server.
pub struct UploadLimits {
    thumbnails: Arc<Semaphore>,
    queue_wait: Duration,
    /// Uploads started per user (off at 0).
    rate: KeyedLimit<String>,
    quota: u64,
    min_free: u64,
}

impl UploadLimits {
    pub fn new(config: &Config) -> UploadLimits {
        UploadLimits {
            thumbnails: Arc::new(Semaphore::new(config.thumbnail_workers.max(1))),
            queue_wait: config.thumbnail_queue_wait,
            rate: KeyedLimit::per_minute(config.upload_rate_per_minute, 0),
            quota: config.upload_quota_bytes,
            min_free: config.upload_min_free_bytes,
        }
    }

    /// A thumbnail worker, waiting at most `thumbnail_queue_wait` for one.
    pub async fn thumbnail_worker(&self) -> Result<OwnedSemaphorePermit, AppError> {
        let busy = || AppError::Busy {
            message: "thumbnail workers are busy; retry the upload shortly".into(),
            retry_after: self.queue_wait.max(Duration::from_secs(1)),
        };
        // A zero wait still takes a worker that is free right now.
        match tokio::time::timeout(self.queue_wait, self.thumbnails.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) | Err(_) => Err(busy()),
        }
    }

    /// Count one upload by `user` against `upload_rate_per_minute`.
    pub fn check_rate(&self, user: &str) -> Result<(), AppError> {
        self.rate
            .check(&user.to_owned())
            .map_err(|retry_after| AppError::RateLimited {
                message: "too many uploads; slow down".into(),
                retry_after,
            })
    }

    /// Bytes `user` may still upload under `upload_quota_bytes` (`None`: no
    /// quota); refuses when nothing is left.
    pub async fn quota_left(&self, store: &Store, user: &str) -> Result<Option<u64>, AppError> {
        if self.quota == 0 {
            return Ok(None);
        }
        let used = store.upload_bytes(user).await?;
        match self.quota.checked_sub(used) {
            Some(left) if left > 0 => Ok(Some(left)),
            _ => Err(self.over_quota()),
        }
    }

    /// Refuse `incoming` more bytes for `user` if they would pass the quota.
    pub async fn check_quota(
        &self,
        store: &Store,
        user: &str,
        incoming: u64,
    ) -> Result<(), AppError> {
        if self.quota == 0 {
            return Ok(());
        }
        let used = store.upload_bytes(user).await?;
        if used.saturating_add(incoming) > self.quota {
            return Err(self.over_quota());
        }
        Ok(())
    }

    pub fn over_quota(&self) -> AppError {
        AppError::QuotaExceeded(format!(
            "the upload would exceed your storage quota of {} bytes; delete or share fewer files",
            self.quota
        ))
    }

    /// Refuse uploads while the disk under `dir` has less than
    /// `upload_min_free_bytes` free (plus `incoming` bytes about to land).
    pub fn check_disk(&self, dir: &Path, incoming: u64) -> Result<(), AppError> {
        if self.min_free == 0 {
            return Ok(());
        }
        let free = match free_bytes(dir) {
            Ok(free) => free,
            Err(err) => {
                // Not knowing must not stop uploads; the log says why.
                warn!(%err, dir = %dir.display(), "cannot read free disk space");
                return Ok(());
            }
        };
        if free < self.min_free.saturating_add(incoming) {
            warn!(
                free,
                floor = self.min_free,
                "upload refused: free disk space below upload_min_free_bytes"
            );
            return Err(AppError::InsufficientStorage(
                "the server is low on storage; uploads are paused".into(),
            ));
        }
        Ok(())
    }
}

/// Free bytes available to this process on the file system holding `dir`.
fn free_bytes(dir: &Path) -> std::io::Result<u64> {
    let st = rustix::fs::statvfs(dir)?;
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

/// How often the sweeper looks for orphans: a quarter of the grace period,
/// between 100 ms and an hour.
fn sweep_interval(grace: Duration) -> Duration {
    (grace / 4).clamp(Duration::from_millis(100), Duration::from_secs(3600))
}

/// Delete uploads that no message carried within `upload_orphan_grace`,
/// record first (only if still unattached), then their files; until
/// `shutdown`.
pub async fn sweep_orphans(store: Store, config: Config, shutdown: CancellationToken) {
    let grace = config.upload_orphan_grace;
    let dir = uploads_dir(&config);
    let mut tick = tokio::time::interval(sweep_interval(grace));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let before = now_ms() - grace.as_millis() as i64;
        match sweep_once(&store, &dir, before).await {
            Ok(0) => {}
            Ok(n) => info!(deleted = n, "deleted uploads never attached to a message"),
            Err(err) => warn!(%err, "orphan upload sweep failed"),
        }
    }
}

async fn sweep_once(
    store: &Store,
    dir: &Path,
    before_ms: i64,
) -> Result<usize, earshot_signaling::SignalError> {
    let mut deleted = 0;
    loop {
        let ids = store.orphan_uploads(before_ms, SWEEP_BATCH).await?;
        let last_batch = ids.len() < SWEEP_BATCH as usize;
        for id in ids {
            if !store.delete_orphan_upload(&id).await? {
                continue;
            }
            for path in [dir.join(&id), thumbnail_path(dir, &id)] {
                match tokio::fs::remove_file(&path).await {
                    Ok(()) => {}
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                    Err(err) => warn!(%err, upload = %id, "cannot remove an orphan upload's file"),
                }
            }
            debug!(upload = %id, "orphan upload deleted");
            deleted += 1;
        }
        if last_batch {
            return Ok(deleted);
        }
    }
}
