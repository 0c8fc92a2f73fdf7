//! Finds or starts the task that owns a room.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio_util::task::TaskTracker;

use super::actor::Room;
use super::cmd::RoomCmd;
use crate::config::SignalingConfig;
use crate::error::{Result, SignalError};
use crate::hub::Hub;
use crate::store::Store;

/// What every room task needs from the rest of the server.
#[derive(Clone)]
pub struct RoomDeps {
    pub config: Arc<SignalingConfig>,
    pub store: Store,
    pub hub: Arc<Hub>,
    pub assistant: Arc<crate::assistant::Assistant>,
    pub metrics: crate::metrics::Metrics,
}

/// The map from room id to the channel of the task that owns it.
#[derive(Clone)]
pub struct RoomRegistry {
    inner: Arc<RegistryInner>,
}

pub(super) struct RegistryInner {
    // A std Mutex on purpose: lookups and inserts are plain map operations,
    // never held across `.await`.
    rooms: Mutex<HashMap<String, mpsc::Sender<RoomCmd>>>,
    pub(super) deps: RoomDeps,
    tracker: TaskTracker,
}

impl RoomRegistry {
    pub fn new(deps: RoomDeps, tracker: TaskTracker) -> Self {
        RoomRegistry {
            inner: Arc::new(RegistryInner {
                rooms: Mutex::new(HashMap::new()),
                deps,
                tracker,
            }),
        }
    }

    fn handle(&self, room_id: &str) -> mpsc::Sender<RoomCmd> {
        let mut rooms = self.inner.rooms.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = rooms.get(room_id) {
            return tx.clone();
        }
        let (tx, rx) = mpsc::channel(1024);
        rooms.insert(room_id.to_string(), tx.clone());
        let room = Room::new(room_id.to_string(), rx, self.clone());
        self.inner.tracker.spawn(room.run());
        tx
    }

    /// Deliver a command to the room's task, starting it if needed.
    pub async fn send(&self, room_id: &str, mut cmd: RoomCmd) -> Result<()> {
        // A room that retires closes its channel; the retry reaches its successor.
        for _ in 0..3 {
            match self.handle(room_id).send(cmd).await {
                Ok(()) => return Ok(()),
                Err(mpsc::error::SendError(back)) => cmd = back,
            }
        }
        Err(SignalError::Unavailable)
    }

    /// Deliver a command only if the room's task is running.
    pub async fn send_if_active(&self, room_id: &str, cmd: RoomCmd) {
        let tx = {
            let rooms = self.inner.rooms.lock().unwrap_or_else(|p| p.into_inner());
            rooms.get(room_id).cloned()
        };
        if let Some(tx) = tx {
            let _ = tx.send(cmd).await;
        }
    }

    /// Number of room tasks running.
    pub fn active(&self) -> usize {
        self.inner
            .rooms
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    pub(super) fn deps(&self) -> &RoomDeps {
        &self.inner.deps
    }

    /// Remove the room's entry unconditionally (the room could not load).
    pub(super) fn forget(&self, room_id: &str) {
        self.inner
            .rooms
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(room_id);
    }

    /// Remove the room's entry if it is still `tx` and nothing is queued.
    /// Called by a room that has been idle; true if it may stop.
    pub(super) fn retire(&self, room_id: &str, rx: &mut mpsc::Receiver<RoomCmd>) -> bool {
        let mut rooms = self.inner.rooms.lock().unwrap_or_else(|p| p.into_inner());
        if !rx.is_empty() {
            return false;
        }
        rooms.remove(room_id);
        // Closed under the lock: from here on every send fails and retries.
        rx.close();
        true
    }
}
