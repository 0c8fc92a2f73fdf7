//! One authenticated connection's requests, independent of the transport.
//!
//! The WebSocket layer hands every text frame to [`Session::handle_text`];
//! replies and events go out through the connection's queue.

use std::collections::HashSet;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::oneshot;
use tracing::debug;

use crate::call::CallCmd;
use crate::config::Identity;
use crate::conn::ConnHandle;
use crate::error::{ErrorCode, Result, SignalError};
use crate::expiry::{expires_ms, refresh, TokenVerifier};
use crate::protocol::{
    parse_client_frame, ClientMessage, PresenceStatus, SendMessage, ServerMessage,
};
use crate::room::RoomCmd;
use crate::room_key;
use crate::store::PageQuery;
use crate::Signaling;

/// Longest accepted identifier (room id, client message id, ...).
const MAX_ID_LEN: usize = 128;

pub struct Session {
    sig: Arc<Signaling>,
    identity: Identity,
    conn: ConnHandle,
    joined: HashSet<String>,
    calls: HashSet<String>,
    limiter: DefaultDirectRateLimiter,
    clock: DefaultClock,
    /// Closes the connection when the token expires.
    /// Checks a fresh token sent with `authenticate` (none: refused).
    verifier: Option<TokenVerifier>,
    /// Frames received, for status endpoints.
    pub received: u64,
}

impl Session {
    /// Register the connection (it is now online) and greet it.
    pub fn open(
        sig: Arc<Signaling>,
        identity: Identity,
        conn: ConnHandle,
        heartbeat_interval_ms: u64,
    ) -> Session {
        let rate = NonZeroU32::new(sig.config.rate_per_sec.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(sig.config.rate_burst.max(1)).unwrap_or(NonZeroU32::MIN);
        let limiter = RateLimiter::direct_with_clock(
            Quota::per_second(rate).allow_burst(burst),
            crate::limit::shared_clock(),
        );
        conn.send(
            ServerMessage::Welcome {
                user: identity.user_ref(),
                connection_id: conn.id().to_string(),
                server_time: crate::store::now_ms(),
                heartbeat_interval_ms,
                token_expires_at: expires_ms(identity.expires_at),
            }
            .to_frame(),
        );
        sig.hub.register(&conn);
        Session {
            sig,
            identity,
            conn,
            joined: HashSet::new(),
            calls: HashSet::new(),
            limiter,
            clock: crate::limit::shared_clock(),
            verifier: None,
            received: 0,
        }
    }

    /// Let the client extend the connection past its token's expiry by
    /// sending `authenticate` with a fresh token, checked by `verifier`.
    pub fn with_verifier(mut self, verifier: TokenVerifier) -> Session {
        self.verifier = Some(verifier);
        self
    }

    /// `authenticate` on an open connection (see [`crate::expiry::refresh`]).
    fn refresh(&mut self, token: &str, request_id: Option<String>) -> Result<()> {
        let verifier = self.verifier.as_ref();
        let token_expires_at = refresh(verifier, &mut self.identity, token)?;
        self.reply(ServerMessage::TokenRefreshed {
            request_id,
            token_expires_at,
        });
        Ok(())
    }

    /// When the connection's token expires (Unix seconds, leeway included;
    /// `None`: never). A refresh moves it; the transport closes the
    /// connection with [`crate::expiry::TOKEN_EXPIRED`] when it passes.
    pub fn expires_at(&self) -> Option<u64> {
        self.identity.expires_at
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    fn reply(&self, msg: ServerMessage) {
        self.conn.send(msg.to_frame());
    }

    fn count_error(&self, code: ErrorCode) {
        self.sig
            .metrics
            .errors
            .with_label_values(&[code.as_str()])
            .inc();
    }

    fn fail(&self, err: SignalError, request_id: Option<String>) {
        self.count_error(err.code());
        if let SignalError::Storage(e) = &err {
            tracing::warn!(error = %e, user = %self.identity.user_id, "request failed in storage");
        }
        self.reply(ServerMessage::Error {
            code: err.code(),
            message: err.public_message(),
            request_id,
            retry_after_ms: err.retry_after().map(|d| d.as_millis().max(1) as u64),
        });
    }

    /// Handle one text frame. Never panics; every problem becomes an `error`.
    pub async fn handle_text(&mut self, text: &str) {
        self.received += 1;
        self.conn.count_in();
        let frame = match parse_client_frame(text) {
            Ok(frame) => frame,
            Err(e) => {
                self.count_error(e.code);
                self.reply(ServerMessage::error(e.code, e.message, e.request_id));
                return;
            }
        };
        let request_id = frame.request_id;
        if !matches!(frame.message, ClientMessage::Ping { .. }) {
            if let Err(not_until) = self.limiter.check() {
                let wait = not_until.wait_time_from(self.clock.now());
                self.count_error(ErrorCode::RateLimited);
                self.reply(ServerMessage::Error {
                    code: ErrorCode::RateLimited,
                    message: "too many messages; slow down".into(),
                    request_id,
                    retry_after_ms: Some(wait.as_millis().max(1) as u64),
                });
                return;
            }
        }
        debug!(kind = frame.message.kind(), user = %self.identity.user_id, "client request");
        let mut message = frame.message;
        if let Some(room_id) = message.room_id_mut() {
            // Room ids are the caller's tenant's: from here on the request
            // names the room's key, which no other tenant's id can reach.
            if let Err(err) = check_id("room_id", room_id) {
                self.fail(err, request_id);
                return;
            }
            if let Some(tenant) = self.identity.tenant.as_deref() {
                *room_id = room_key::scoped(Some(tenant), room_id);
            }
        }
        if let Err(err) = self.dispatch(message, request_id.clone()).await {
            self.fail(err, request_id);
        }
    }

    async fn dispatch(&mut self, msg: ClientMessage, request_id: Option<String>) -> Result<()> {
        match msg {
            ClientMessage::Authenticate { token } => self.refresh(&token, request_id),
            ClientMessage::Ping { ts } => {
                self.reply(ServerMessage::Pong {
                    request_id,
                    ts,
                    server_time: crate::store::now_ms(),
                });
                Ok(())
            }
            ClientMessage::JoinRoom { room_id, since_seq } => {
                if !self.admit_history(&request_id) {
                    return Ok(());
                }
                let (reply, rx) = oneshot::channel();
                let cmd = RoomCmd::Join {
                    identity: self.identity.clone(),
                    conn: self.conn.clone(),
                    since_seq,
                    request_id,
                    reply,
                };
                self.sig.rooms.send(&room_id, cmd).await?;
                rx.await.unwrap_or(Err(SignalError::Unavailable))?;
                self.joined.insert(room_id);
                Ok(())
            }
            ClientMessage::LeaveRoom { room_id } => {
                if !self.joined.remove(&room_id) {
                    // Not joined on this connection: nothing to leave. Answer
                    // without the room task, and for a room the caller may
                    // not access exactly as for a missing one.
                    self.sig.authorize(&self.identity, &room_id).await?;
                    self.reply(ServerMessage::RoomLeft {
                        request_id,
                        room_id,
                    });
                    return Ok(());
                }
                let cmd = RoomCmd::Leave {
                    conn: self.conn.clone(),
                    request_id,
                    explicit: true,
                };
                self.sig.rooms.send(&room_id, cmd).await
            }
            ClientMessage::ListRooms { limit, cursor } => {
                let page = self
                    .sig
                    .room_page(&self.identity, limit, cursor.as_deref())
                    .await?;
                self.reply(ServerMessage::Rooms {
                    request_id,
                    rooms: page.rooms,
                    has_more: page.next_cursor.is_some(),
                    next_cursor: page.next_cursor,
                });
                Ok(())
            }
            ClientMessage::SendMessage(msg) => {
                self.validate_send(&msg)?;
                self.require_joined(&msg.room_id)?;
                let room_id = msg.room_id.clone();
                let cmd = RoomCmd::Send {
                    conn: self.conn.clone(),
                    sender: self.identity.user_ref(),
                    msg,
                    request_id,
                };
                self.sig.rooms.send(&room_id, cmd).await
            }
            ClientMessage::EditMessage {
                room_id,
                message_id,
                text,
            } => {
                self.check_text(&text)?;
                if text.trim().is_empty() {
                    return Err(SignalError::BadRequest("text must not be empty".into()));
                }
                self.require_joined(&room_id)?;
                let cmd = RoomCmd::Edit {
                    conn: self.conn.clone(),
                    message_id,
                    text: Some(text),
                    request_id,
                };
                self.sig.rooms.send(&room_id, cmd).await
            }
            ClientMessage::DeleteMessage {
                room_id,
                message_id,
            } => {
                self.require_joined(&room_id)?;
                let cmd = RoomCmd::Edit {
                    conn: self.conn.clone(),
                    message_id,
                    text: None,
                    request_id,
                };
                self.sig.rooms.send(&room_id, cmd).await
            }
            ClientMessage::GetMessages {
                room_id,
                before,
                after,
                limit,
            } => {
                if !self.admit_history(&request_id) {
                    return Ok(());
                }
                let query = match (before, after) {
                    (Some(_), Some(_)) => {
                        return Err(SignalError::BadRequest(
                            "give `before` or `after`, not both".into(),
                        ))
                    }
                    (_, Some(after)) => PageQuery::After(after),
                    (before, None) => PageQuery::Before(before),
                };
                let (messages, has_more) = self
                    .sig
                    .history(&self.identity, &room_id, query, limit)
                    .await?;
                self.reply(ServerMessage::Messages {
                    request_id,
                    room_id,
                    messages,
                    has_more,
                });
                Ok(())
            }
            ClientMessage::Typing { room_id, is_typing } => {
                self.require_joined(&room_id)?;
                let cmd = RoomCmd::Typing {
                    conn: self.conn.clone(),
                    is_typing,
                };
                self.sig.rooms.send(&room_id, cmd).await
            }
            ClientMessage::MarkRead { room_id, seq } => {
                self.mark(room_id, seq, crate::store::Mark::Read, request_id)
                    .await
            }
            ClientMessage::MarkDelivered { room_id, seq } => {
                self.mark(room_id, seq, crate::store::Mark::Delivered, request_id)
                    .await
            }
            ClientMessage::SetPresence { status } => {
                if status == PresenceStatus::Offline {
                    return Err(SignalError::BadRequest(
                        "status must be online, away or busy".into(),
                    ));
                }
                self.sig.hub.set_status(&self.conn, status);
                if request_id.is_some() {
                    self.reply(ServerMessage::Ok { request_id });
                }
                Ok(())
            }
            ClientMessage::StartCall { room_id, mode } => {
                self.sig
                    .start_call(&self.identity, &self.conn, &room_id, mode, request_id)
                    .await?;
                Ok(())
            }
            ClientMessage::JoinCall { call_id, replaces } => {
                if let Some(old) = &replaces {
                    check_id("replaces", old)?;
                }
                self.sig
                    .join_call(&self.identity, &self.conn, &call_id, replaces, request_id)
                    .await?;
                self.calls.insert(call_id);
                Ok(())
            }
            ClientMessage::LeaveCall { call_id } => {
                self.calls.remove(&call_id);
                self.call(
                    &call_id,
                    CallCmd::Leave {
                        conn: self.conn.clone(),
                        request_id,
                    },
                )
                .await
            }
            ClientMessage::DeclineCall { call_id, reason } => {
                let cmd = CallCmd::Decline {
                    identity: self.identity.clone(),
                    conn: self.conn.clone(),
                    reason,
                    request_id,
                };
                self.call(&call_id, cmd).await
            }
            ClientMessage::CancelCall { call_id } => {
                let cmd = CallCmd::Cancel {
                    identity: self.identity.clone(),
                    conn: self.conn.clone(),
                    request_id,
                };
                self.call(&call_id, cmd).await
            }
            ClientMessage::EndCall { call_id } => {
                let cmd = CallCmd::End {
                    identity: self.identity.clone(),
                    conn: self.conn.clone(),
                    request_id,
                };
                self.call(&call_id, cmd).await
            }
            ClientMessage::CallSignal {
                call_id,
                to,
                signal,
            } => {
                if signal.to_string().len() > 32 * 1024 {
                    return Err(SignalError::TooLarge("signal exceeds 32 KiB".into()));
                }
                self.call(
                    &call_id,
                    CallCmd::Signal {
                        conn: self.conn.clone(),
                        to,
                        signal,
                        request_id,
                    },
                )
                .await
            }
            ClientMessage::SfuOffer { call_id, sdp } => {
                self.call(
                    &call_id,
                    CallCmd::SfuOffer {
                        conn: self.conn.clone(),
                        sdp,
                        request_id,
                    },
                )
                .await
            }
            ClientMessage::SfuAnswer { call_id, sdp } => {
                self.call(
                    &call_id,
                    CallCmd::SfuAnswer {
                        conn: self.conn.clone(),
                        sdp,
                        request_id,
                    },
                )
                .await
            }
            ClientMessage::IceCandidate { call_id, candidate } => {
                let cmd = CallCmd::Candidate {
                    conn: self.conn.clone(),
                    candidate,
                    request_id,
                };
                self.call(&call_id, cmd).await
            }
            ClientMessage::SetMute { call_id, muted } => {
                self.call(
                    &call_id,
                    CallCmd::SetMute {
                        conn: self.conn.clone(),
                        muted,
                        request_id,
                    },
                )
                .await
            }
            ClientMessage::MuteParticipant {
                call_id,
                participant_id,
                muted,
            } => {
                let cmd = CallCmd::MuteParticipant {
                    identity: self.identity.clone(),
                    conn: self.conn.clone(),
                    participant_id,
                    muted,
                    request_id,
                };
                self.call(&call_id, cmd).await
            }
            ClientMessage::CallStats(report) => {
                report.validate().map_err(SignalError::BadRequest)?;
                let call_id = report.call_id.clone();
                let cmd = CallCmd::Stats {
                    conn: self.conn.clone(),
                    report: Box::new(report),
                    request_id,
                };
                self.call(&call_id, cmd).await
            }
            ClientMessage::ReportCallIssue {
                call_id,
                issue,
                active,
            } => {
                let cmd = CallCmd::Issue {
                    conn: self.conn.clone(),
                    issue,
                    active,
                    request_id,
                };
                self.call(&call_id, cmd).await
            }
            ClientMessage::MonitorSubscribe {} => {
                if !self.identity.is_monitor(&self.sig.config) {
                    return Err(SignalError::Denied(
                        "monitoring is for monitoring roles".into(),
                    ));
                }
                // Subscribe first: a call starting meanwhile shows up in
                // the snapshot, in a push, or both, never in neither.
                self.sig
                    .monitors
                    .subscribe(&self.conn, self.identity.tenant.clone());
                let calls = self.sig.calls.monitor_views(&self.identity.tenant).await;
                self.reply(ServerMessage::MonitorSnapshot { request_id, calls });
                Ok(())
            }
            ClientMessage::MonitorUnsubscribe {} => {
                self.sig.monitors.unsubscribe(self.conn.id());
                if request_id.is_some() {
                    self.reply(ServerMessage::Ok { request_id });
                }
                Ok(())
            }
            ClientMessage::GetPresence { user_ids } => {
                if user_ids.len() > 500 {
                    return Err(SignalError::BadRequest("at most 500 user_ids".into()));
                }
                let users = self.sig.presence_for(&self.identity, &user_ids).await?;
                self.reply(ServerMessage::PresenceList { request_id, users });
                Ok(())
            }
        }
    }

    /// A command for a call this connection may address: one it joined, or
    /// (to join, end or leave) any call; the call task checks the rest.
    async fn call(&self, call_id: &str, cmd: CallCmd) -> Result<()> {
        check_id("call_id", call_id)?;
        self.sig.calls.send(call_id, cmd).await
    }

    /// History (a join sends some too) is refused cheaply, before any
    /// storage query, while the reply would not fit the pending output.
    fn admit_history(&self, request_id: &Option<String>) -> bool {
        let max = self.sig.config.history_max_bytes;
        let admitted = self.conn.admit_history(max, request_id);
        if !admitted {
            self.count_error(ErrorCode::RateLimited);
        }
        admitted
    }

    fn require_joined(&self, room_id: &str) -> Result<()> {
        if self.joined.contains(room_id) {
            Ok(())
        } else {
            Err(SignalError::NotJoined)
        }
    }

    fn check_text(&self, text: &str) -> Result<()> {
        let max = self.sig.config.max_text_chars;
        // Bytes bound chars from above: count only when it could matter.
        if text.len() > max && text.chars().count() > max {
            return Err(SignalError::TooLarge(format!(
                "text is longer than {max} characters"
            )));
        }
        Ok(())
    }

    fn validate_send(&self, msg: &SendMessage) -> Result<()> {
        check_id("client_msg_id", &msg.client_msg_id)?;
        self.check_text(&msg.text)?;
        if msg.text.trim().is_empty()
            && msg.refs.as_ref().is_none_or(|r| r.is_empty())
            && msg.attachments.is_empty()
        {
            return Err(SignalError::BadRequest(
                "a message needs text, refs or attachments".into(),
            ));
        }
        crate::store::check_attachments(msg.message_type, &msg.attachments)?;
        if let Some(lang) = &msg.lang {
            let ok = !lang.is_empty()
                && lang.len() <= 35
                && lang.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            if !ok {
                return Err(SignalError::BadRequest(
                    "lang must be a BCP 47 tag such as `en` or `ar`".into(),
                ));
            }
        }
        if matches!(
            msg.message_type,
            crate::protocol::MessageType::System | crate::protocol::MessageType::Call
        ) {
            return Err(SignalError::BadRequest(format!(
                "clients cannot send {} messages",
                msg.message_type.as_str()
            )));
        }
        let extra = msg
            .refs
            .as_ref()
            .map_or(0, |r| serde_json::Value::from(r.clone()).to_string().len())
            + msg.metadata.as_ref().map_or(0, |m| m.to_string().len());
        if extra > 16 * 1024 {
            return Err(SignalError::TooLarge(
                "refs and metadata exceed 16 KiB".into(),
            ));
        }
        Ok(())
    }

    /// Leave every room and go offline on this device.
    pub async fn close(self) {
        self.sig.monitors.unsubscribe(self.conn.id());
        for call_id in &self.calls {
            let cmd = CallCmd::Leave {
                conn: self.conn.clone(),
                request_id: None,
            };
            let _ = self.sig.calls.send(call_id, cmd).await;
        }
        for room_id in &self.joined {
            let cmd = RoomCmd::Leave {
                conn: self.conn.clone(),
                request_id: None,
                explicit: false,
            };
            let _ = self.sig.rooms.send(room_id, cmd).await;
        }
        self.sig.hub.unregister(&self.conn);
    }
}

impl Session {
    /// `mark_read` / `mark_delivered`: the room's task moves the mark.
    async fn mark(
        &mut self,
        room_id: String,
        seq: i64,
        mark: crate::store::Mark,
        request_id: Option<String>,
    ) -> Result<()> {
        self.require_joined(&room_id)?;
        let cmd = RoomCmd::MarkRead {
            conn: self.conn.clone(),
            seq,
            mark,
            request_id,
        };
        self.sig.rooms.send(&room_id, cmd).await
    }
}

fn check_id(field: &str, value: &str) -> Result<()> {
    if value.is_empty() || value.len() > MAX_ID_LEN {
        return Err(SignalError::BadRequest(format!(
            "`{field}` must be 1 to {MAX_ID_LEN} bytes"
        )));
    }
    Ok(())
}
