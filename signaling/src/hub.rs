//! Who is connected, on how many devices, with what presence.
//!
//! The [`Hub`] maps users to their live connections. Presence is aggregated
//! across a user's devices; when the aggregate changes, the change goes to
//! the presence task, which pushes it to everyone sharing a room with them,
//! one change at a time so that observers see changes in order.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tracing::warn;

use crate::conn::ConnHandle;
use crate::protocol::{PresenceStatus, PresenceView, ServerMessage};
use crate::store::{now_ms, Store};

#[derive(Default)]
struct UserEntry {
    conns: Vec<(ConnHandle, PresenceStatus)>,
    last_seen: Option<i64>,
}

impl UserEntry {
    fn aggregate(&self) -> PresenceStatus {
        let statuses = || self.conns.iter().map(|(_, s)| *s);
        if self.conns.is_empty() {
            PresenceStatus::Offline
        } else if statuses().any(|s| s == PresenceStatus::Busy) {
            PresenceStatus::Busy
        } else if statuses().any(|s| s == PresenceStatus::Online) {
            PresenceStatus::Online
        } else {
            PresenceStatus::Away
        }
    }

    fn view(&self, user_id: &str) -> PresenceView {
        PresenceView {
            user_id: user_id.to_string(),
            status: self.aggregate(),
            last_seen: self.last_seen,
            devices: self.conns.len(),
        }
    }
}

/// The registry of live connections.
pub struct Hub {
    // A std Mutex on purpose: every critical section is a few map operations
    // with no `.await` inside, and it is taken on connect, disconnect and
    // presence changes, never on the per-message path.
    users: Mutex<HashMap<String, UserEntry>>,
    changes: mpsc::UnboundedSender<PresenceView>,
}

impl Hub {
    /// A hub and the receiver the presence task consumes.
    pub fn new() -> (Hub, mpsc::UnboundedReceiver<PresenceView>) {
        let (changes, rx) = mpsc::unbounded_channel();
        (
            Hub {
                users: Mutex::new(HashMap::new()),
                changes,
            },
            rx,
        )
    }

    fn with_users<R>(&self, f: impl FnOnce(&mut HashMap<String, UserEntry>) -> R) -> R {
        // A panic while holding the lock cannot leave the map half-updated in
        // a way that matters more than losing presence, so recover the guard.
        let mut guard = self.users.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    fn update(&self, user_id: &str, f: impl FnOnce(&mut UserEntry)) {
        let change = self.with_users(|users| {
            let entry = users.entry(user_id.to_string()).or_default();
            let before = (entry.aggregate(), entry.conns.len());
            f(entry);
            let after = (entry.aggregate(), entry.conns.len());
            let view = entry.view(user_id);
            (before != after).then_some(view)
        });
        if let Some(view) = change {
            let _ = self.changes.send(view);
        }
    }

    pub fn register(&self, conn: &ConnHandle) {
        self.update(conn.user_id(), |e| {
            e.conns.push((conn.clone(), PresenceStatus::Online))
        });
    }

    pub fn unregister(&self, conn: &ConnHandle) {
        let id = conn.id();
        self.update(conn.user_id(), |e| {
            e.conns.retain(|(c, _)| c.id() != id);
            if e.conns.is_empty() {
                e.last_seen = Some(now_ms());
            }
        });
    }

    /// Set one device's status; `offline` is not settable (disconnect instead).
    pub fn set_status(&self, conn: &ConnHandle, status: PresenceStatus) {
        let id = conn.id();
        self.update(conn.user_id(), |e| {
            if let Some(slot) = e.conns.iter_mut().find(|(c, _)| c.id() == id) {
                slot.1 = status;
            }
        });
    }

    pub fn presence(&self, user_id: &str) -> PresenceView {
        self.with_users(|users| match users.get(user_id) {
            Some(e) => e.view(user_id),
            None => PresenceView {
                user_id: user_id.to_string(),
                status: PresenceStatus::Offline,
                last_seen: None,
                devices: 0,
            },
        })
    }

    pub fn is_online(&self, user_id: &str) -> bool {
        self.with_users(|users| users.get(user_id).is_some_and(|e| !e.conns.is_empty()))
    }

    pub fn connections(&self, user_id: &str) -> Vec<ConnHandle> {
        self.with_users(|users| {
            users
                .get(user_id)
                .map(|e| e.conns.iter().map(|(c, _)| c.clone()).collect())
                .unwrap_or_default()
        })
    }

    pub fn all_connections(&self) -> Vec<ConnHandle> {
        self.with_users(|users| {
            users
                .values()
                .flat_map(|e| e.conns.iter().map(|(c, _)| c.clone()))
                .collect()
        })
    }

    /// Every online user with their devices and each device's status.
    pub fn snapshot(&self) -> Vec<(String, Vec<(ConnHandle, PresenceStatus)>)> {
        self.with_users(|users| {
            users
                .iter()
                .filter(|(_, e)| !e.conns.is_empty())
                .map(|(u, e)| (u.clone(), e.conns.clone()))
                .collect()
        })
    }

    /// One user's devices and each device's status.
    pub fn devices(&self, user_id: &str) -> Vec<(ConnHandle, PresenceStatus)> {
        self.with_users(|users| {
            users
                .get(user_id)
                .map(|e| e.conns.clone())
                .unwrap_or_default()
        })
    }

    /// (connections, users online)
    pub fn counts(&self) -> (usize, usize) {
        self.with_users(|users| {
            let conns = users.values().map(|e| e.conns.len()).sum();
            let online = users.values().filter(|e| !e.conns.is_empty()).count();
            (conns, online)
        })
    }
}

/// Push presence changes to everyone who shares a room with the user, and
/// record last-seen times. Ends when the hub is dropped.
pub async fn run_presence(
    hub: Arc<Hub>,
    store: Store,
    mut changes: mpsc::UnboundedReceiver<PresenceView>,
) {
    while let Some(view) = changes.recv().await {
        if view.status == PresenceStatus::Offline {
            if let Some(at) = view.last_seen {
                if let Err(err) = store.set_last_seen(&view.user_id, at).await {
                    warn!(%err, user = %view.user_id, "cannot record last_seen");
                }
            }
        }
        let others = match store.co_members(&view.user_id).await {
            Ok(users) => users,
            Err(err) => {
                warn!(%err, user = %view.user_id, "cannot find co-members for presence");
                continue;
            }
        };
        let frame = ServerMessage::Presence(view.clone()).to_frame();
        for user in others.iter().chain(std::iter::once(&view.user_id)) {
            for conn in hub.connections(user) {
                conn.send(frame.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregates_across_devices() {
        let (hub, mut rx) = Hub::new();
        let (a1, _r1) = ConnHandle::new("a".into(), 8);
        let (a2, _r2) = ConnHandle::new("a".into(), 8);
        hub.register(&a1);
        assert_eq!(rx.try_recv().unwrap().status, PresenceStatus::Online);
        hub.register(&a2);
        assert_eq!(rx.try_recv().unwrap().devices, 2);
        hub.set_status(&a1, PresenceStatus::Away);
        assert!(rx.try_recv().is_err(), "one device still online: no change");
        hub.set_status(&a2, PresenceStatus::Away);
        assert_eq!(rx.try_recv().unwrap().status, PresenceStatus::Away);
        hub.set_status(&a2, PresenceStatus::Busy);
        assert_eq!(rx.try_recv().unwrap().status, PresenceStatus::Busy);
        hub.unregister(&a2);
        assert_eq!(rx.try_recv().unwrap().status, PresenceStatus::Away);
        hub.unregister(&a1);
        let last = rx.try_recv().unwrap();
        assert_eq!(last.status, PresenceStatus::Offline);
        assert!(last.last_seen.is_some());
        assert!(!hub.is_online("a"));
    }
}
