//! Monitoring subscribers: connections of monitoring roles that receive a
//! live view of every ongoing call in their scope.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::conn::ConnHandle;
use crate::protocol::Frame;

/// Who watches calls. Cheap to share behind the [`crate::Signaling`].
#[derive(Default)]
pub struct Monitors {
    // A std Mutex on purpose: subscribe, unsubscribe and fan-out are a few
    // map operations with no `.await`, a handful of times per call and
    // sample interval.
    subs: Mutex<HashMap<u64, Watcher>>,
}

struct Watcher {
    conn: ConnHandle,
    /// A monitor with a tenant sees only that tenant's rooms.
    tenant: Option<String>,
}

fn sees(watcher: &Option<String>, room_tenant: Option<&str>) -> bool {
    match watcher {
        None => true,
        Some(mine) => room_tenant == Some(mine.as_str()),
    }
}

impl Monitors {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Watcher>> {
        self.subs.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn subscribe(&self, conn: &ConnHandle, tenant: Option<String>) {
        self.lock().insert(
            conn.id(),
            Watcher {
                conn: conn.clone(),
                tenant,
            },
        );
    }

    pub fn unsubscribe(&self, conn_id: u64) {
        self.lock().remove(&conn_id);
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether a monitor scoped to `watcher` may see a room of `room_tenant`.
    pub fn may_see(watcher: &Option<String>, room_tenant: Option<&str>) -> bool {
        sees(watcher, room_tenant)
    }

    /// Send `frame` to every monitor that may see a room of `room_tenant`,
    /// skipping `except` (connections that get it anyway as participants).
    pub fn send(&self, room_tenant: Option<&str>, frame: &Frame, except: &[u64]) {
        let subs = self.lock();
        for (id, w) in subs.iter() {
            if !except.contains(id) && sees(&w.tenant, room_tenant) {
                w.conn.send(frame.clone());
            }
        }
    }
}
