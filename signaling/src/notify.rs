//! Pushing to users without a socket of one's own: notifications (stored,
//! delivered live or on the recipient's next connection) and custom events
//! (live only), addressed to one user, a room's members, or everyone.

use serde_json::Value;

use crate::conn::ConnHandle;
use crate::error::{Result, SignalError};
use crate::protocol::{NotificationView, ServerMessage};
use crate::store::NewNotification;
use crate::Signaling;

/// Who a notification or event is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Every device of one user.
    User(String),
    /// Every device of every member of a room.
    Room(String),
    /// Every connected device (events) / every known user (notifications).
    All,
    /// Like `All`, limited to the users whose latest token carried this tenant.
    Tenant(String),
}

/// What a notification reached.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifyOutcome {
    /// Each recipient's stored copy.
    pub stored: Vec<(String, NotificationView)>,
    /// Recipients who had a device online and got it live.
    pub delivered_users: usize,
    /// Devices it was sent to.
    pub delivered_devices: usize,
}

impl Signaling {
    async fn target_users(&self, target: &Target, live_only: bool) -> Result<Vec<String>> {
        Ok(match target {
            Target::User(user) => vec![user.clone()],
            Target::Room(room_id) => {
                self.store
                    .room(room_id)
                    .await?
                    .ok_or(SignalError::NotFound("room"))?;
                self.store
                    .members(room_id)
                    .await?
                    .into_iter()
                    .map(|(u, _)| u.id)
                    .collect()
            }
            Target::Tenant(tenant) => {
                let users = self.store.users_in_tenant(tenant).await?;
                if live_only {
                    let online: std::collections::HashSet<String> =
                        self.hub.snapshot().into_iter().map(|(u, _)| u).collect();
                    users.into_iter().filter(|u| online.contains(u)).collect()
                } else {
                    users
                }
            }
            Target::All if live_only => self.hub.snapshot().into_iter().map(|(u, _)| u).collect(),
            Target::All => {
                let mut users = self.store.known_users().await?;
                // Users online right now are known (their profile is stored
                // at connect), but a profile write can fail: count them anyway.
                for (u, _) in self.hub.snapshot() {
                    if !users.contains(&u) {
                        users.push(u);
                    }
                }
                users
            }
        })
    }

    /// Store a notification for every recipient of `target`, then send it
    /// to those with a device online. The rest get it when they connect.
    pub async fn notify(&self, target: &Target, mut n: NewNotification) -> Result<NotifyOutcome> {
        if let (Target::Room(room_id), None) = (target, &n.room_id) {
            n.room_id = Some(room_id.clone());
        }
        let users = self.target_users(target, false).await?;
        let stored = self.store.insert_notifications(&n, &users).await?;
        let mut delivered_users = 0;
        let mut delivered_devices = 0;
        for (user, view) in &stored {
            let conns = self.hub.connections(user);
            // Claim before sending: a device connecting meanwhile delivers
            // pending notifications itself, and exactly one of us may.
            if conns.is_empty() || !self.store.claim_notification(&view.id).await? {
                continue;
            }
            delivered_users += 1;
            delivered_devices += self.send_notification(user, view);
        }
        Ok(NotifyOutcome {
            stored,
            delivered_users,
            delivered_devices,
        })
    }

    fn send_notification(&self, user: &str, view: &NotificationView) -> usize {
        self.send_to_user(
            user,
            ServerMessage::Notification {
                notification: view.clone(),
            },
        )
    }

    /// Send `msg` to every connected device of `user`; how many took it.
    fn send_to_user(&self, user: &str, msg: ServerMessage) -> usize {
        let frame = msg.to_frame();
        self.hub
            .connections(user)
            .iter()
            .filter(|c| c.send(frame.clone()))
            .count()
    }

    /// Tell every device of `user` that notifications were marked read
    /// (`ids`, or `all` of them) at `read_at`; returns the devices told.
    pub fn notifications_read(
        &self,
        user: &str,
        ids: Vec<String>,
        all: bool,
        read_at: i64,
    ) -> usize {
        self.send_to_user(user, ServerMessage::NotificationsRead { ids, all, read_at })
    }

    /// Deliver what was stored for this user while no device was online.
    /// Called once the connection is registered (so nothing falls between).
    /// At most a quarter of the outbound queue (up to 100) goes out at once,
    /// so a long backlog cannot overflow it; the rest waits for the next
    /// connection (and is in the REST list meanwhile).
    pub async fn deliver_pending_notifications(&self, conn: &ConnHandle) -> Result<usize> {
        let limit = (self.config.outbound_queue / 4).clamp(1, 100) as u32;
        let pending = self
            .store
            .claim_pending_notifications(conn.user_id(), limit)
            .await?;
        for view in &pending {
            self.send_notification(conn.user_id(), view);
        }
        Ok(pending.len())
    }

    /// Send a custom event to the target's connected devices; returns how
    /// many devices it was sent to. Events are not stored.
    pub async fn publish_event(
        &self,
        target: &Target,
        name: &str,
        payload: Value,
    ) -> Result<usize> {
        let room_id = match target {
            Target::Room(id) => Some(id.clone()),
            _ => None,
        };
        let frame = ServerMessage::Event {
            name: name.to_string(),
            payload,
            room_id,
        }
        .to_frame();
        let conns: Vec<ConnHandle> = match target {
            Target::All => self.hub.all_connections(),
            other => self
                .target_users(other, true)
                .await?
                .iter()
                .flat_map(|u| self.hub.connections(u))
                .collect(),
        };
        Ok(conns.iter().filter(|c| c.send(frame.clone())).count())
    }
}
