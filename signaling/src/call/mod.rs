//! Calls: one task owns each call, found through the [`CallRegistry`].
//!
//! A call belongs to a room; only the room's members (and staff in scope)
//! can see, join or signal into it. In `p2p` mode the task relays offers,
//! answers and candidates between participants; in `sfu` mode it drives
//! the call's [`earshot_sfu::SfuRoom`]. Every call rings the room's members
//! like a phone call: see [`ring`] for its states.
//!
//! # Layout
//! - `actor`: the call task: joins, leaves, its loop and its end.
//! - `cmd`: [`CallCmd`], what the task can be asked.
//! - [`ring`]: who the call rings and where each callee stands (sans-IO).
//! - `outcome`: the task's side of the ring: announcements, declines,
//!   cancels, the ring timeout, the timeline entry and missed-call notices.
//! - `media`, `quality`: SFU signaling and quality rounds.
//! - [`ice`]: ICE servers handed to clients.

mod actor;
mod cmd;
pub mod ice;
mod issues;
mod media;
mod outcome;
mod quality;
pub mod ring;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

pub use cmd::CallCmd;
pub use ice::ice_servers;

use crate::config::Identity;
use crate::conn::ConnHandle;
use crate::error::{Result, SignalError};
use crate::limit::KeyedLimit;
use crate::protocol::{CallInfo, CallMode, ServerMessage};
use crate::store::now_ms;
use crate::Signaling;

/// Active calls by id, and the active call of each room.
#[derive(Clone)]
pub struct CallRegistry {
    // A std Mutex on purpose: plain map operations, never held across `.await`.
    inner: Arc<Mutex<Calls>>,
    /// Call starts per user (each start rings every member's devices).
    starts: Arc<KeyedLimit<String>>,
}

#[derive(Default)]
struct Calls {
    by_id: HashMap<String, mpsc::Sender<CallCmd>>,
    by_room: HashMap<String, String>,
    /// Devices each user has in calls (a user with any is busy).
    in_call: HashMap<String, usize>,
    /// The calls each user is concerned by (their caller or callee).
    by_user: HashMap<String, HashSet<String>>,
    /// Calls that hold their room but whose record is not stored yet: not
    /// shown as a room's active call until `GET /api/calls/{id}` finds them.
    starting: HashSet<String>,
}

impl CallRegistry {
    /// A registry allowing each user `starts_per_minute` call starts (0: any).
    pub fn new(starts_per_minute: u32) -> CallRegistry {
        CallRegistry {
            inner: Arc::default(),
            starts: Arc::new(KeyedLimit::per_minute(starts_per_minute, 0)),
        }
    }

    fn calls(&self) -> std::sync::MutexGuard<'_, Calls> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Deliver a command to the call's task; `NOT_FOUND` if it has ended.
    pub async fn send(&self, call_id: &str, cmd: CallCmd) -> Result<()> {
        let tx = self.calls().by_id.get(call_id).cloned();
        match tx {
            Some(tx) => tx
                .send(cmd)
                .await
                .map_err(|_| SignalError::NotFound("call")),
            None => Err(SignalError::NotFound("call")),
        }
    }

    pub fn active(&self) -> usize {
        self.calls().by_id.len()
    }

    pub fn active_in_room(&self, room_id: &str) -> Option<String> {
        let calls = self.calls();
        calls
            .by_room
            .get(room_id)
            .filter(|id| !calls.starting.contains(*id))
            .cloned()
    }

    fn remove(&self, call_id: &str, room_id: &str, concerned: &[String]) {
        let mut calls = self.calls();
        calls.by_id.remove(call_id);
        calls.starting.remove(call_id);
        if calls.by_room.get(room_id).is_some_and(|c| c == call_id) {
            calls.by_room.remove(room_id);
        }
        for user in concerned {
            if let Some(set) = calls.by_user.get_mut(user) {
                set.remove(call_id);
                if set.is_empty() {
                    calls.by_user.remove(user);
                }
            }
        }
    }

    /// Whether `user` has a device in a call.
    pub fn busy(&self, user: &str) -> bool {
        self.calls().in_call.contains_key(user)
    }

    /// One of `user`'s devices joined (`true`) or left a call.
    fn participating(&self, user: &str, joined: bool) {
        let mut calls = self.calls();
        if joined {
            *calls.in_call.entry(user.to_string()).or_default() += 1;
        } else if let Some(n) = calls.in_call.get_mut(user) {
            *n -= 1;
            if *n == 0 {
                calls.in_call.remove(user);
            }
        }
    }

    /// Every ongoing call `user` is the caller or a callee of, with its
    /// state: what a reconnecting device needs to drop calls that ended.
    pub async fn concerning(&self, user: &str) -> Vec<CallInfo> {
        let senders: Vec<mpsc::Sender<CallCmd>> = {
            let calls = self.calls();
            calls
                .by_user
                .get(user)
                .into_iter()
                .flatten()
                .filter_map(|id| calls.by_id.get(id).cloned())
                .collect()
        };
        let mut out = Vec::with_capacity(senders.len());
        for tx in senders {
            let (reply, rx) = oneshot::channel();
            if tx.send(CallCmd::Info { reply }).await.is_ok() {
                if let Ok(info) = rx.await {
                    out.push(info);
                }
            }
        }
        out.sort_by_key(|c| c.started_at);
        out
    }

    /// Ids of every active call (for shutdown).
    pub fn ids(&self) -> Vec<String> {
        self.calls().by_id.keys().cloned().collect()
    }

    /// Every ongoing call a monitor scoped to `tenant` may see, oldest first.
    pub async fn monitor_views(
        &self,
        tenant: &Option<String>,
    ) -> Vec<crate::protocol::MonitorCallView> {
        let senders: Vec<mpsc::Sender<CallCmd>> = self.calls().by_id.values().cloned().collect();
        let mut out = Vec::with_capacity(senders.len());
        for tx in senders {
            let (reply, rx) = oneshot::channel();
            if tx.send(CallCmd::Monitor { reply }).await.is_ok() {
                if let Ok((room_tenant, view)) = rx.await {
                    if crate::monitor::Monitors::may_see(tenant, room_tenant.as_deref()) {
                        out.push(view);
                    }
                }
            }
        }
        out.sort_by(|a, b| a.started_at.cmp(&b.started_at).then(a.id.cmp(&b.id)));
        out
    }
}

impl Signaling {
    /// Start a call in `room_id` and ring every member's devices.
    pub async fn start_call(
        self: &Arc<Self>,
        identity: &Identity,
        conn: &ConnHandle,
        room_id: &str,
        mode: Option<CallMode>,
        request_id: Option<String>,
    ) -> Result<String> {
        let room = self.authorize(identity, room_id).await?;
        let mode = mode.unwrap_or_default();
        if mode == CallMode::Sfu && self.sfu.is_none() {
            return Err(SignalError::Conflict(
                "this server has no SFU; use mode p2p".into(),
            ));
        }
        if let Err(retry_after) = self.calls.starts.check(&identity.user_id) {
            tracing::info!(user = %identity.user_id, "call start refused: rate limit");
            return Err(SignalError::RateLimited {
                message: "too many calls started; wait before starting another".into(),
                retry_after,
            });
        }
        let call_id = uuid::Uuid::now_v7().to_string();
        let (tx, rx) = mpsc::channel(256);
        let members: Vec<String> = self
            .store
            .members(room_id)
            .await?
            .into_iter()
            .map(|(user, _)| user.id)
            .collect();
        let started_at = now_ms();
        let ring = ring::Ring::new(
            &identity.user_id,
            members
                .iter()
                .map(|m| (m.clone(), self.calls.busy(m)))
                .collect::<Vec<_>>(),
            started_at,
        );
        let mut concerned = members.clone();
        if !concerned.contains(&identity.user_id) {
            concerned.push(identity.user_id.clone());
        }
        {
            let mut calls = self.calls.calls();
            if let Some(existing) = calls.by_room.get(room_id) {
                return Err(SignalError::Conflict(format!(
                    "a call is already active in this room: {existing}"
                )));
            }
            calls.by_room.insert(room_id.to_string(), call_id.clone());
            calls.by_id.insert(call_id.clone(), tx);
            calls.starting.insert(call_id.clone());
            for user in &concerned {
                calls
                    .by_user
                    .entry(user.clone())
                    .or_default()
                    .insert(call_id.clone());
            }
        }
        if let Err(err) = self
            .store
            .insert_call(
                &call_id,
                room_id,
                mode.as_str(),
                &identity.user_id,
                started_at,
            )
            .await
        {
            self.calls.remove(&call_id, room_id, &concerned);
            return Err(err);
        }
        self.calls.calls().starting.remove(&call_id);
        let info = CallInfo {
            id: call_id.clone(),
            room_id: room.id.clone(),
            mode,
            initiator: identity.user_ref(),
            started_at,
            participants: vec![],
            state: ring.state(),
            answered_at: None,
            invitees: ring.invitees(),
        };
        // The caller's other devices show "Calling…"; callees who are not
        // busy ring.
        let mut rung: Vec<&str> = ring.ringing().collect();
        rung.push(&identity.user_id);
        let frame = ServerMessage::CallStarted {
            request_id: None,
            call: info.clone(),
        }
        .to_frame();
        for user in rung {
            for c in self.hub.connections(user) {
                if c.id() != conn.id() {
                    c.send(frame.clone());
                }
            }
        }
        let actor = actor::Call::new(
            self.clone(),
            info.clone(),
            room.tenant.clone(),
            actor::Setup {
                ring,
                concerned,
                rx,
            },
        );
        tokio::spawn(actor.run());
        tracing::info!(call = %call_id, room = %room_id, mode = mode.as_str(), "call started");
        conn.send(
            ServerMessage::CallStarted {
                request_id,
                call: info,
            }
            .to_frame(),
        );
        Ok(call_id)
    }

    /// Calls whose process died under them (found at start): each gets its
    /// entry in its room's timeline ("The call was interrupted").
    pub async fn record_interrupted(&self, calls: Vec<crate::store::CallRecord>) {
        for record in calls {
            let info = CallInfo {
                id: record.id.clone(),
                room_id: record.room_id.clone(),
                mode: if record.mode == "p2p" {
                    CallMode::P2p
                } else {
                    CallMode::Sfu
                },
                initiator: crate::protocol::UserRef {
                    id: record.initiator.clone(),
                    name: None,
                    role: None,
                },
                started_at: record.started_at,
                participants: vec![],
                state: crate::protocol::CallState::Ringing,
                answered_at: None,
                invitees: vec![],
            };
            let entry = outcome::timeline_entry(
                &info,
                Some(crate::protocol::CallOutcome::Interrupted),
                record.started_at,
            );
            // The entry posted when the call started, if any, is rewritten.
            if let Err(err) = self.settle_entry(entry, None).await {
                tracing::warn!(%err, call = %record.id, "cannot record an interrupted call");
            }
        }
    }

    /// Tell a freshly connected device every call going on that concerns
    /// its user (`active_calls`, possibly empty).
    pub async fn send_active_calls(&self, conn: &ConnHandle) {
        let calls = self.calls.concerning(conn.user_id()).await;
        conn.send(ServerMessage::ActiveCalls { calls }.to_frame());
    }

    /// `user_id` is no longer a member of `room_id`: their devices leave the
    /// room's active call at once (others see `call_participant_left`, they
    /// get `call_left` with reason `removed`).
    pub async fn member_removed(&self, room_id: &str, user_id: &str) {
        if let Some(call_id) = self.calls.active_in_room(room_id) {
            let cmd = CallCmd::Remove {
                user_id: user_id.to_string(),
            };
            // The call may have just ended: nothing to do then.
            let _ = self.calls.send(&call_id, cmd).await;
        }
    }

    /// Join a call; resolves once the call task has accepted or refused.
    pub async fn join_call(
        &self,
        identity: &Identity,
        conn: &ConnHandle,
        call_id: &str,
        replaces: Option<String>,
        request_id: Option<String>,
    ) -> Result<()> {
        let (reply, rx) = oneshot::channel();
        let cmd = CallCmd::Join {
            identity: identity.clone(),
            conn: conn.clone(),
            replaces,
            request_id,
            reply,
        };
        self.calls.send(call_id, cmd).await?;
        rx.await.unwrap_or(Err(SignalError::NotFound("call")))
    }
}
