//! The room task.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures_util::stream::{FuturesOrdered, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep, sleep_until, Instant};
use tracing::{debug, warn};

use super::cmd::RoomCmd;
use super::registry::RoomRegistry;
use crate::assistant::RoomAssistant;
use crate::config::{Identity, SignalingConfig};
use crate::conn::{fit_history, ConnHandle, Keep};
use crate::error::{Result, SignalError};
use crate::protocol::MessageView;
use crate::protocol::{Frame, MemberView, RoomInfo, ServerMessage, UserRef};
use crate::store::{NewMessage, PageQuery, StoredMessage, WriteOp};
use crate::typing::TypingTracker;

/// How long a room with no subscribers keeps its task.
const IDLE_RETIRE: Duration = Duration::from_secs(30);
/// Messages sent with `room_joined` when the client gives no `since_seq`.
const JOIN_PAGE: u32 = 50;

/// Whether `identity` may see and join `room`: members, holders of a room
/// grant, and staff roles within their tenant (all rooms without a tenant).
///
/// Tenants are walls: an identity of one tenant never reaches a room of
/// another, member or not. A token's room grant admits only into a room of
/// the token's own tenant that staff or the server API made, never into one
/// a user made (whoever made a room first under an id must not receive the
/// people the product grants that id to).
pub fn may_access(
    identity: &Identity,
    config: &SignalingConfig,
    room: &RoomInfo,
    is_member: bool,
) -> bool {
    if let (Some(mine), Some(theirs)) = (&identity.tenant, &room.tenant) {
        if mine != theirs {
            return false;
        }
    }
    if is_member {
        return true;
    }
    let granted = identity.room_grants.iter().any(|g| g == &room.id)
        && identity.tenant == room.tenant
        && !room.user_created;
    if granted {
        return true;
    }
    identity.is_staff(config)
        && match (&identity.tenant, &room.tenant) {
            (None, _) => true,
            (Some(mine), Some(theirs)) => mine == theirs,
            (Some(_), None) => false,
        }
}

pub(super) type Pending = Pin<Box<dyn Future<Output = Completed> + Send>>;

/// A write that has committed (or failed), in the order it was queued.
pub(super) enum Completed {
    /// A server-API message or an assistant answer (`reply` is `None`).
    Posted {
        reply: Option<oneshot::Sender<Result<MessageView>>>,
        result: Result<StoredMessage>,
    },
    Sent {
        conn: ConnHandle,
        request_id: Option<String>,
        result: Result<StoredMessage>,
    },
    Edited {
        conn: ConnHandle,
        request_id: Option<String>,
        result: Result<crate::protocol::MessageView>,
    },
    /// A server entry rewritten (`RoomCmd::Amend`).
    Amended {
        reply: oneshot::Sender<Result<crate::protocol::MessageView>>,
        result: Result<crate::protocol::MessageView>,
    },
    Read {
        conn: ConnHandle,
        request_id: Option<String>,
        mark: crate::store::Mark,
        result: Result<i64>,
    },
}

pub(super) struct Sub {
    pub(super) conn: ConnHandle,
    pub(super) user: UserRef,
    /// Has a staff role (the assistant is silent while staff are joined).
    pub(super) staff: bool,
}

pub(super) struct Room {
    pub(super) id: String,
    rx: mpsc::Receiver<RoomCmd>,
    pub(super) registry: RoomRegistry,
    pub(super) info: Option<RoomInfo>,
    pub(super) members: HashSet<String>,
    pub(super) subs: HashMap<u64, Sub>,
    /// Subscribed devices per user (who has joined on at least one device).
    pub(super) joined_users: HashMap<String, usize>,
    /// The latest read and delivered marks announced, per user.
    pub(super) marks: HashMap<(String, crate::store::Mark), i64>,
    pub(super) last_seq: i64,
    pub(super) typing: TypingTracker,
    pub(super) pending: FuturesOrdered<Pending>,
    pub(super) assistant: RoomAssistant,
}

impl Room {
    pub(super) fn new(id: String, rx: mpsc::Receiver<RoomCmd>, registry: RoomRegistry) -> Room {
        let typing = TypingTracker::new(registry.deps().config.typing_timeout);
        let assistant = RoomAssistant::new(false, registry.deps().assistant.delay());
        Room {
            assistant,
            id,
            rx,
            registry,
            info: None,
            members: HashSet::new(),
            subs: HashMap::new(),
            joined_users: HashMap::new(),
            marks: HashMap::new(),
            last_seq: 0,
            typing,
            pending: FuturesOrdered::new(),
        }
    }

    async fn load(&mut self) -> Result<()> {
        let store = &self.registry.deps().store;
        let info = store
            .room(&self.id)
            .await?
            .ok_or(SignalError::NotFound("room"))?;
        self.members = store
            .members(&self.id)
            .await?
            .into_iter()
            .map(|(u, _)| u.id)
            .collect();
        self.last_seq = store.last_seq(&self.id).await?;
        let enabled = match store.assistant_setting(&self.id).await? {
            Some(enabled) => enabled,
            None => super::posts::assistant_in_metadata(&info),
        };
        self.assistant.set_enabled(enabled);
        self.info = Some(info);
        Ok(())
    }

    pub(super) async fn run(mut self) {
        if let Err(err) = self.load().await {
            // Unknown room (or storage down): answer everything queued and stop.
            self.registry.forget(&self.id);
            self.rx.close();
            while let Ok(cmd) = self.rx.try_recv() {
                cmd.refuse(match &err {
                    SignalError::NotFound(what) => SignalError::NotFound(what),
                    _ => SignalError::Unavailable,
                });
            }
            return;
        }
        debug!(room = %self.id, "room task started");
        loop {
            let typing_deadline = self.typing.next_deadline().map(Instant::from_std);
            let assistant_deadline = self.assistant.deadline().map(Instant::from_std);
            let idle = self.subs.is_empty() && self.pending.is_empty() && !self.assistant.busy();
            tokio::select! {
                cmd = self.rx.recv() => match cmd {
                    Some(cmd) => self.handle(cmd).await,
                    None => break,
                },
                Some(done) = self.pending.next(), if !self.pending.is_empty() => self.complete(done),
                _ = sleep_until(typing_deadline.unwrap_or_else(Instant::now)), if typing_deadline.is_some() => {
                    self.expire_typing();
                }
                _ = sleep_until(assistant_deadline.unwrap_or_else(Instant::now)), if assistant_deadline.is_some() => {
                    self.assistant_due();
                }
                _ = sleep(IDLE_RETIRE), if idle => {
                    if self.registry.retire(&self.id, &mut self.rx) {
                        break;
                    }
                }
            }
        }
        // Commands that raced with retirement go to this room's successor.
        while let Ok(cmd) = self.rx.try_recv() {
            let registry = self.registry.clone();
            let id = self.id.clone();
            tokio::spawn(async move {
                let _ = registry.send(&id, cmd).await;
            });
        }
        debug!(room = %self.id, "room task stopped");
    }

    pub(super) fn config(&self) -> &SignalingConfig {
        &self.registry.deps().config
    }

    fn info(&self) -> &RoomInfo {
        // Set by `load` before the loop starts.
        self.info.as_ref().expect("room loaded")
    }

    pub(super) fn broadcast(&self, frame: &Frame) {
        for sub in self.subs.values() {
            sub.conn.send(frame.clone());
        }
    }

    fn broadcast_except_user(&self, user_id: &str, frame: &Frame) {
        for sub in self.subs.values().filter(|s| s.user.id != user_id) {
            sub.conn.send(frame.clone());
        }
    }

    fn user_subscriptions(&self, user_id: &str) -> usize {
        self.joined_users.get(user_id).copied().unwrap_or(0)
    }

    fn joined(&self, conn: &ConnHandle, request_id: &Option<String>) -> bool {
        if self.subs.contains_key(&conn.id()) {
            return true;
        }
        let err = SignalError::NotJoined;
        conn.send(
            ServerMessage::error(err.code(), err.public_message(), request_id.clone()).to_frame(),
        );
        false
    }

    async fn handle(&mut self, cmd: RoomCmd) {
        match cmd {
            RoomCmd::Join {
                identity,
                conn,
                since_seq,
                request_id,
                reply,
            } => {
                let result = self.join(identity, conn, since_seq, request_id).await;
                let _ = reply.send(result);
            }
            RoomCmd::Leave {
                conn,
                request_id,
                explicit,
            } => self.leave(&conn, request_id, explicit),
            RoomCmd::Send {
                conn,
                sender,
                msg,
                request_id,
            } => {
                if !self.joined(&conn, &request_id) {
                    return;
                }
                let new = NewMessage {
                    room_id: self.id.clone(),
                    sender,
                    client_msg_id: msg.client_msg_id,
                    message_type: msg.message_type,
                    text: msg.text,
                    reply_to: msg.reply_to,
                    refs: msg.refs,
                    metadata: msg.metadata,
                    lang: msg.lang,
                    attachments: msg.attachments,
                    ai: false,
                };
                let done = self.registry.deps().store.writer().insert(new).await;
                self.pending.push_back(Box::pin(async move {
                    let result = done.await.unwrap_or(Err(SignalError::Unavailable));
                    Completed::Sent {
                        conn,
                        request_id,
                        result,
                    }
                }));
            }
            RoomCmd::Edit {
                conn,
                message_id,
                text,
                request_id,
            } => {
                if !self.joined(&conn, &request_id) {
                    return;
                }
                let (done, rx) = oneshot::channel();
                let by = conn.user_id().to_string();
                let room_id = self.id.clone();
                let op = match text {
                    Some(text) => WriteOp::Edit {
                        room_id,
                        message_id,
                        editor: by,
                        text,
                        done,
                    },
                    None => WriteOp::Delete {
                        room_id,
                        message_id,
                        by,
                        done,
                    },
                };
                self.registry.deps().store.writer().submit(op).await;
                self.pending.push_back(Box::pin(async move {
                    let result = rx.await.unwrap_or(Err(SignalError::Unavailable));
                    Completed::Edited {
                        conn,
                        request_id,
                        result,
                    }
                }));
            }
            RoomCmd::MarkRead {
                conn,
                seq,
                mark,
                request_id,
            } => {
                if !self.joined(&conn, &request_id) {
                    return;
                }
                let (done, rx) = oneshot::channel();
                let op = WriteOp::MarkRead {
                    room_id: self.id.clone(),
                    user_id: conn.user_id().to_string(),
                    seq,
                    mark,
                    done,
                };
                self.registry.deps().store.writer().submit(op).await;
                self.pending.push_back(Box::pin(async move {
                    let result = rx.await.unwrap_or(Err(SignalError::Unavailable));
                    Completed::Read {
                        conn,
                        request_id,
                        mark,
                        result,
                    }
                }));
            }
            RoomCmd::Typing { conn, is_typing } => {
                if !self.subs.contains_key(&conn.id()) {
                    return;
                }
                let user = conn.user_id().to_string();
                let changed = if is_typing {
                    self.typing.start(&user, Instant::now().into_std())
                } else {
                    self.typing.stop(&user)
                };
                if changed {
                    self.announce_typing(&user, is_typing);
                }
            }
            RoomCmd::Post { msg, reply } => self.post(msg, Some(reply)).await,
            RoomCmd::Amend {
                message_id,
                text,
                metadata,
                reply,
            } => self.amend(message_id, text, metadata, reply).await,
            RoomCmd::AssistantReply {
                token,
                question_id,
                answer,
            } => self.assistant_reply(token, question_id, answer).await,
            RoomCmd::AssistantChanged { enabled } => self.assistant.set_enabled(enabled),
            RoomCmd::InfoChanged { info } => self.info = Some(info),
            RoomCmd::MembersChanged { removed } => {
                match self.registry.deps().store.members(&self.id).await {
                    Ok(members) => self.members = members.into_iter().map(|(u, _)| u.id).collect(),
                    Err(err) => warn!(%err, room = %self.id, "cannot reload members"),
                }
                if let Some(user) = removed {
                    let gone: Vec<ConnHandle> = self
                        .subs
                        .values()
                        .filter(|s| s.user.id == user)
                        .map(|s| s.conn.clone())
                        .collect();
                    for conn in gone {
                        self.leave(&conn, None, true);
                    }
                }
            }
        }
    }

    async fn join(
        &mut self,
        identity: Identity,
        conn: ConnHandle,
        since_seq: Option<i64>,
        request_id: Option<String>,
    ) -> Result<()> {
        let is_member = self.members.contains(&identity.user_id);
        if !may_access(&identity, self.config(), self.info(), is_member) {
            // Exactly what an unknown room answers: nothing tells them apart.
            return Err(SignalError::NotFound("room"));
        }
        let store = self.registry.deps().store.clone();
        if !is_member {
            // Staff and granted users who join become members, so the room
            // appears in their list and counts their read position.
            store.add_member(&self.id, &identity.user_id).await?;
            self.members.insert(identity.user_id.clone());
        }
        let max = self.config().max_recovery;
        let (mut missed, mut has_more) = match since_seq {
            Some(since) => {
                store
                    .range(&self.id, since.max(0), self.last_seq, max)
                    .await?
            }
            None => {
                store
                    .page(
                        &self.id,
                        PageQuery::Before(Some(self.last_seq + 1)),
                        JOIN_PAGE,
                    )
                    .await?
            }
        };
        // Bounded in bytes as well as in messages: catching up keeps the
        // oldest missed ones, a fresh join the newest; the rest is paged.
        let keep = if since_seq.is_some() {
            Keep::Oldest
        } else {
            Keep::Newest
        };
        has_more |= fit_history(&mut missed, self.config().history_max_bytes, keep);
        let hub = &self.registry.deps().hub;
        let members = store
            .members_with_marks(&self.id)
            .await?
            .into_iter()
            .map(|(user, last_read_seq, delivered_seq)| {
                let p = hub.presence(&user.id);
                MemberView {
                    user,
                    presence: p.status,
                    last_seen: p.last_seen,
                    last_read_seq,
                    delivered_seq,
                }
            })
            .collect();
        let first_device = self.user_subscriptions(&identity.user_id) == 0;
        let user = identity.user_ref();
        let staff = identity.is_staff(self.config());
        if staff {
            self.assistant.on_staff_present();
        }
        let fresh = self
            .subs
            .insert(
                conn.id(),
                Sub {
                    conn: conn.clone(),
                    user: user.clone(),
                    staff,
                },
            )
            .is_none();
        if fresh {
            *self.joined_users.entry(user.id.clone()).or_default() += 1;
        }
        conn.send(
            ServerMessage::RoomJoined {
                request_id,
                room: self.info().clone(),
                members,
                last_seq: self.last_seq,
                missed,
                has_more,
            }
            .to_frame(),
        );
        if first_device {
            let frame = ServerMessage::MemberJoined {
                room_id: self.id.clone(),
                user,
            }
            .to_frame();
            self.broadcast_except_user(&identity.user_id, &frame);
        }
        Ok(())
    }

    fn leave(&mut self, conn: &ConnHandle, request_id: Option<String>, explicit: bool) {
        let Some(sub) = self.subs.remove(&conn.id()) else {
            if explicit {
                conn.send(
                    ServerMessage::RoomLeft {
                        request_id,
                        room_id: self.id.clone(),
                    }
                    .to_frame(),
                );
            }
            return;
        };
        if explicit {
            conn.send(
                ServerMessage::RoomLeft {
                    request_id,
                    room_id: self.id.clone(),
                }
                .to_frame(),
            );
        }
        if let Some(n) = self.joined_users.get_mut(&sub.user.id) {
            *n -= 1;
            if *n == 0 {
                self.joined_users.remove(&sub.user.id);
            }
        }
        if self.user_subscriptions(&sub.user.id) == 0 {
            if self.typing.stop(&sub.user.id) {
                self.announce_typing(&sub.user.id, false);
            }
            let frame = ServerMessage::MemberLeft {
                room_id: self.id.clone(),
                user_id: sub.user.id.clone(),
            }
            .to_frame();
            self.broadcast(&frame);
        }
    }

    pub(super) fn announce_typing(&self, user_id: &str, is_typing: bool) {
        let name = self
            .subs
            .values()
            .find(|s| s.user.id == user_id)
            .and_then(|s| s.user.name.clone());
        let frame = ServerMessage::Typing {
            room_id: self.id.clone(),
            user_id: user_id.to_string(),
            name,
            is_typing,
        }
        .to_frame();
        self.broadcast_except_user(user_id, &frame);
    }

    fn expire_typing(&mut self) {
        for user in self.typing.expire(Instant::now().into_std()) {
            self.announce_typing(&user, false);
        }
    }
}
