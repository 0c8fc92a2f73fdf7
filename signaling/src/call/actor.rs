//! The call task.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use earshot_sfu::{SfuEvent, SfuRoom};

use crate::config::Identity;
use crate::conn::ConnHandle;
use crate::error::{Result, SignalError};
use crate::protocol::{CallInfo, CallMode, Frame, ParticipantView, ServerMessage};
use crate::room::may_access;
use crate::store::now_ms;
use crate::Signaling;

/// Everything a call task can be asked to do. Participants are addressed
/// by their connection (one participant per device).
#[derive(Debug)]
pub enum CallCmd {
    Join {
        identity: Identity,
        conn: ConnHandle,
        request_id: Option<String>,
        reply: oneshot::Sender<Result<()>>,
    },
    Leave {
        conn: ConnHandle,
        request_id: Option<String>,
    },
    End {
        identity: Identity,
        conn: ConnHandle,
        request_id: Option<String>,
    },
    Signal {
        conn: ConnHandle,
        to: String,
        signal: Value,
        request_id: Option<String>,
    },
    SfuOffer {
        conn: ConnHandle,
        sdp: String,
        request_id: Option<String>,
    },
    SfuAnswer {
        conn: ConnHandle,
        sdp: String,
        request_id: Option<String>,
    },
    Candidate {
        conn: ConnHandle,
        candidate: Value,
        request_id: Option<String>,
    },
    SetMute {
        conn: ConnHandle,
        muted: bool,
        request_id: Option<String>,
    },
    MuteParticipant {
        identity: Identity,
        conn: ConnHandle,
        participant_id: String,
        muted: bool,
        request_id: Option<String>,
    },
    /// The server is stopping.
    Shutdown,
}

struct Participant {
    conn: ConnHandle,
    view: ParticipantView,
    /// Muted by themselves / by a moderator; `view.muted` is either.
    self_muted: bool,
    moderator_muted: bool,
}

impl Participant {
    fn set_muted(&mut self, muted: bool, moderator: bool) {
        if moderator {
            self.moderator_muted = muted;
        } else {
            self.self_muted = muted;
        }
        self.view.muted = self.self_muted || self.moderator_muted;
    }
}

pub(super) struct Call {
    sig: Arc<Signaling>,
    info: CallInfo,
    rx: mpsc::Receiver<CallCmd>,
    participants: BTreeMap<u64, Participant>,
    media: Option<SfuRoom>,
    media_events: mpsc::UnboundedReceiver<SfuEvent>,
    /// When the call became empty (or started).
    empty_since: Option<Instant>,
}

fn pid(conn: &ConnHandle) -> String {
    conn.id().to_string()
}

impl Call {
    pub(super) fn new(sig: Arc<Signaling>, info: CallInfo, rx: mpsc::Receiver<CallCmd>) -> Call {
        let (events, media_events) = mpsc::unbounded_channel();
        let media = match (info.mode, &sig.sfu) {
            (CallMode::Sfu, Some(sfu)) => Some(sfu.room(events)),
            _ => None,
        };
        Call {
            sig,
            info,
            rx,
            participants: BTreeMap::new(),
            media,
            media_events,
            empty_since: Some(Instant::now()),
        }
    }

    pub(super) async fn run(mut self) {
        let timeout = self.sig.config.call_empty_timeout;
        let (reason, ended_by) = loop {
            let empty_deadline = self.empty_since.map(|t| t + timeout);
            tokio::select! {
                cmd = self.rx.recv() => match cmd {
                    Some(CallCmd::Shutdown) | None => break ("shutdown", None),
                    Some(CallCmd::End { identity, conn, request_id }) => {
                        if identity.user_id == self.info.initiator.id || self.moderates(&identity).await {
                            conn.send(ServerMessage::Ok { request_id }.to_frame());
                            break ("ended", Some(identity.user_id));
                        }
                        let err = SignalError::AccessDenied;
                        conn.send(ServerMessage::error(err.code(), "only the initiator or staff can end the call", request_id).to_frame());
                    }
                    Some(cmd) => self.handle(cmd).await,
                },
                Some(event) = self.media_events.recv() => self.media_event(event).await,
                _ = sleep_until_opt(empty_deadline), if empty_deadline.is_some() => break ("empty", None),
            }
        };
        self.end(reason, ended_by).await;
    }

    async fn end(mut self, reason: &str, ended_by: Option<String>) {
        self.sig.calls.remove(&self.info.id, &self.info.room_id);
        // Refuse whatever is still queued.
        self.rx.close();
        while let Ok(cmd) = self.rx.try_recv() {
            if let CallCmd::Join { reply, .. } = cmd {
                let _ = reply.send(Err(SignalError::NotFound("call")));
            }
        }
        if let Some(media) = self.media.as_mut() {
            media.close().await;
        }
        if let Err(err) = self
            .sig
            .store
            .end_call(&self.info.id, reason, ended_by.as_deref())
            .await
        {
            tracing::warn!(%err, call = %self.info.id, "cannot record call end");
        }
        let frame = ServerMessage::CallEnded {
            call_id: self.info.id.clone(),
            room_id: self.info.room_id.clone(),
            reason: reason.to_string(),
            ended_by,
        }
        .to_frame();
        let mut told = std::collections::HashSet::new();
        if let Ok(members) = self.sig.store.members(&self.info.room_id).await {
            for (user, _) in members {
                for c in self.sig.hub.connections(&user.id) {
                    told.insert(c.id());
                    c.send(frame.clone());
                }
            }
        }
        for p in self.participants.values() {
            if !told.contains(&p.conn.id()) {
                p.conn.send(frame.clone());
            }
        }
        tracing::info!(call = %self.info.id, reason, "call ended");
    }

    fn broadcast(&self, frame: &Frame, except: Option<u64>) {
        for (id, p) in &self.participants {
            if Some(*id) != except {
                p.conn.send(frame.clone());
            }
        }
    }

    fn refuse(conn: &ConnHandle, err: SignalError, request_id: Option<String>) {
        conn.send(ServerMessage::error(err.code(), err.public_message(), request_id).to_frame());
    }

    async fn handle(&mut self, cmd: CallCmd) {
        match cmd {
            CallCmd::Join {
                identity,
                conn,
                request_id,
                reply,
            } => {
                let result = self.join(identity, conn, request_id).await;
                let _ = reply.send(result);
            }
            CallCmd::Leave { conn, request_id } => {
                if self.participants.contains_key(&conn.id()) {
                    self.leave(conn.id()).await;
                }
                conn.send(
                    ServerMessage::CallLeft {
                        request_id,
                        call_id: self.info.id.clone(),
                    }
                    .to_frame(),
                );
            }
            CallCmd::Signal {
                conn,
                to,
                signal,
                request_id,
            } => {
                if !self.participants.contains_key(&conn.id()) {
                    return Self::refuse(&conn, SignalError::AccessDenied, request_id);
                }
                if self.info.mode != CallMode::P2p {
                    return Self::refuse(
                        &conn,
                        SignalError::BadRequest(
                            "call_signal is for p2p calls; use sfu_offer".into(),
                        ),
                        request_id,
                    );
                }
                let target = to
                    .parse::<u64>()
                    .ok()
                    .and_then(|id| self.participants.get(&id));
                let Some(target) = target.filter(|t| t.conn.id() != conn.id()) else {
                    return Self::refuse(&conn, SignalError::NotFound("participant"), request_id);
                };
                target.conn.send(
                    ServerMessage::CallSignal {
                        call_id: self.info.id.clone(),
                        from: pid(&conn),
                        from_user: conn.user_id().to_string(),
                        signal,
                    }
                    .to_frame(),
                );
            }
            CallCmd::SfuOffer {
                conn,
                sdp,
                request_id,
            } => {
                let result = async {
                    self.media_for(&conn, "sfu_offer")?
                        .handle_offer(conn.id(), sdp)
                        .await
                        .map_err(media_error)
                }
                .await;
                match result {
                    Ok(Some(sdp)) => conn.send(
                        ServerMessage::SfuAnswer {
                            request_id,
                            call_id: self.info.id.clone(),
                            sdp,
                        }
                        .to_frame(),
                    ),
                    // Glare: our offer stands; the client rolls back and answers it.
                    Ok(None) => conn.send(
                        ServerMessage::error(
                            crate::ErrorCode::Conflict,
                            "offer collision: answer the server's offer",
                            request_id,
                        )
                        .to_frame(),
                    ),
                    Err(err) => return Self::refuse(&conn, err, request_id),
                };
            }
            CallCmd::SfuAnswer {
                conn,
                sdp,
                request_id,
            } => {
                let result = async {
                    self.media_for(&conn, "sfu_answer")?
                        .handle_answer(conn.id(), sdp)
                        .await
                        .map_err(media_error)
                }
                .await;
                if let Err(err) = result {
                    Self::refuse(&conn, err, request_id);
                }
            }
            CallCmd::Candidate {
                conn,
                candidate,
                request_id,
            } => {
                let result = async {
                    self.media_for(&conn, "ice_candidate")?
                        .add_candidate(conn.id(), candidate)
                        .await
                        .map_err(media_error)
                }
                .await;
                if let Err(err) = result {
                    Self::refuse(&conn, err, request_id);
                }
            }
            CallCmd::SetMute {
                conn,
                muted,
                request_id,
            } => {
                let Some(p) = self.participants.get_mut(&conn.id()) else {
                    return Self::refuse(&conn, SignalError::AccessDenied, request_id);
                };
                p.set_muted(muted, false);
                // The announced state is the effective one: a moderator's
                // mute still holds after the participant unmutes.
                let effective = p.view.muted;
                if let Some(media) = self.media.as_mut() {
                    media.set_muted(conn.id(), muted, false);
                }
                let frame = ServerMessage::ParticipantMuted {
                    call_id: self.info.id.clone(),
                    participant_id: pid(&conn),
                    muted: effective,
                    by: None,
                }
                .to_frame();
                self.broadcast(&frame, None);
            }
            CallCmd::MuteParticipant {
                identity,
                conn,
                participant_id,
                muted,
                request_id,
            } => {
                if !self.moderates(&identity).await {
                    return Self::refuse(&conn, SignalError::AccessDenied, request_id);
                }
                let target = participant_id
                    .parse::<u64>()
                    .ok()
                    .filter(|id| self.participants.contains_key(id));
                let Some(id) = target else {
                    return Self::refuse(&conn, SignalError::NotFound("participant"), request_id);
                };
                let effective = match self.participants.get_mut(&id) {
                    Some(p) => {
                        p.set_muted(muted, true);
                        p.view.muted
                    }
                    None => muted,
                };
                if let Some(media) = self.media.as_mut() {
                    media.set_muted(id, muted, true);
                }
                let frame = ServerMessage::ParticipantMuted {
                    call_id: self.info.id.clone(),
                    participant_id,
                    muted: effective,
                    by: Some(identity.user_id),
                }
                .to_frame();
                self.broadcast(&frame, None);
                conn.send(ServerMessage::Ok { request_id }.to_frame());
            }
            CallCmd::End { .. } | CallCmd::Shutdown => {}
        }
    }

    /// Whether `identity` may moderate this call: a staff role with access
    /// to the call's room (so staff of another tenant may not).
    async fn moderates(&self, identity: &Identity) -> bool {
        if !identity.is_staff(&self.sig.config) {
            return false;
        }
        let Ok(Some(room)) = self.sig.store.room(&self.info.room_id).await else {
            return false;
        };
        let member = self
            .sig
            .store
            .is_member(&room.id, &identity.user_id)
            .await
            .unwrap_or(false);
        may_access(identity, &self.sig.config, &room, member)
    }

    /// The call's media room, if `conn` is a participant of an sfu call.
    fn media_for(&mut self, conn: &ConnHandle, what: &str) -> Result<&mut SfuRoom> {
        if !self.participants.contains_key(&conn.id()) {
            return Err(SignalError::AccessDenied);
        }
        self.media.as_mut().ok_or_else(|| {
            SignalError::BadRequest(format!(
                "{what} is for sfu calls; p2p calls use call_signal"
            ))
        })
    }

    async fn join(
        &mut self,
        identity: Identity,
        conn: ConnHandle,
        request_id: Option<String>,
    ) -> Result<()> {
        let room = self
            .sig
            .store
            .room(&self.info.room_id)
            .await?
            .ok_or(SignalError::NotFound("call"))?;
        let member = self
            .sig
            .store
            .is_member(&room.id, &identity.user_id)
            .await?;
        if !may_access(&identity, &self.sig.config, &room, member) {
            return Err(SignalError::AccessDenied);
        }
        let id = conn.id();
        if !self.participants.contains_key(&id) {
            if let Some(media) = self.media.as_mut() {
                media.add_peer(id).await.map_err(media_error)?;
            }
            let view = ParticipantView {
                participant_id: id.to_string(),
                user: identity.user_ref(),
                muted: false,
                joined_at: now_ms(),
            };
            self.sig
                .store
                .call_participant_joined(
                    &self.info.id,
                    &view.participant_id,
                    &identity.user_id,
                    view.joined_at,
                )
                .await?;
            let frame = ServerMessage::CallParticipantJoined {
                call_id: self.info.id.clone(),
                participant: view.clone(),
            }
            .to_frame();
            self.broadcast(&frame, None);
            self.participants.insert(
                id,
                Participant {
                    conn: conn.clone(),
                    view,
                    self_muted: false,
                    moderator_muted: false,
                },
            );
            self.empty_since = None;
        }
        let mut info = self.info.clone();
        info.participants = self.participants.values().map(|p| p.view.clone()).collect();
        let now_unix = (now_ms() / 1000).max(0) as u64;
        conn.send(
            ServerMessage::CallJoined {
                request_id,
                call: info,
                participant_id: id.to_string(),
                ice_servers: super::ice_servers(&self.sig.config, &identity.user_id, now_unix),
            }
            .to_frame(),
        );
        Ok(())
    }

    async fn leave(&mut self, id: u64) {
        let Some(p) = self.participants.remove(&id) else {
            return;
        };
        if let Some(media) = self.media.as_mut() {
            media.remove_peer(id).await;
        }
        if let Err(err) = self
            .sig
            .store
            .call_participant_left(&self.info.id, &p.view.participant_id)
            .await
        {
            tracing::warn!(%err, call = %self.info.id, "cannot record participant leave");
        }
        let frame = ServerMessage::CallParticipantLeft {
            call_id: self.info.id.clone(),
            participant_id: p.view.participant_id,
            user_id: p.view.user.id,
        }
        .to_frame();
        self.broadcast(&frame, None);
        if self.participants.is_empty() {
            self.empty_since = Some(Instant::now());
        }
    }

    async fn media_event(&mut self, event: SfuEvent) {
        let call_id = self.info.id.clone();
        match event {
            SfuEvent::Candidate {
                participant,
                candidate,
            } => {
                if let Some(p) = self.participants.get(&participant) {
                    p.conn
                        .send(ServerMessage::IceCandidate { call_id, candidate }.to_frame());
                }
            }
            SfuEvent::Offer { participant, sdp } => {
                if let Some(p) = self.participants.get(&participant) {
                    p.conn
                        .send(ServerMessage::SfuOffer { call_id, sdp }.to_frame());
                }
            }
            SfuEvent::Connected { participant } => {
                tracing::debug!(call = %call_id, participant, "media connected");
            }
            SfuEvent::Failed { participant } => {
                tracing::info!(call = %call_id, participant, "media failed; removing participant");
                self.leave(participant).await;
            }
            SfuEvent::ActiveSpeaker { participant } => {
                let frame = ServerMessage::ActiveSpeaker {
                    call_id,
                    participant_id: participant.map(|p| p.to_string()),
                }
                .to_frame();
                self.broadcast(&frame, None);
            }
        }
    }
}

fn media_error(err: earshot_sfu::SfuError) -> SignalError {
    match err {
        earshot_sfu::SfuError::BadSdp(m) => SignalError::BadRequest(m),
        earshot_sfu::SfuError::UnknownPeer => SignalError::NotFound("participant"),
        other => {
            tracing::warn!(error = %other, "media error");
            SignalError::BadRequest(format!("media: {other}"))
        }
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
