//! The call task's media requests: the p2p relay, SFU negotiation, mutes,
//! and the SFU's events.

use serde_json::Value;

use earshot_sfu::{SfuEvent, SfuRoom};

use super::actor::{pid, Call};
use crate::config::Identity;
use crate::conn::ConnHandle;
use crate::error::{Result, SignalError};
use crate::protocol::{CallMode, ServerMessage};
use crate::quality::issues::IssueKind;

impl Call {
    /// p2p: relay `signal` from `conn` to participant `to`.
    pub(super) fn relay_signal(
        &self,
        conn: &ConnHandle,
        to: &str,
        signal: Value,
        request_id: Option<String>,
    ) {
        if !self.participants.contains_key(&conn.id()) {
            return Self::refuse(conn, SignalError::AccessDenied, request_id);
        }
        if self.info.mode != CallMode::P2p {
            let err = SignalError::BadRequest("call_signal is for p2p calls; use sfu_offer".into());
            return Self::refuse(conn, err, request_id);
        }
        let target = to
            .parse::<u64>()
            .ok()
            .and_then(|id| self.participants.get(&id));
        let Some(target) = target.filter(|t| t.conn.id() != conn.id()) else {
            return Self::refuse(conn, SignalError::NotFound("participant"), request_id);
        };
        target.conn.send(
            ServerMessage::CallSignal {
                call_id: self.info.id.clone(),
                from: pid(conn),
                from_user: conn.user_id().to_string(),
                signal,
            }
            .to_frame(),
        );
    }

    /// sfu: the client's offer; answered, or refused in glare.
    pub(super) async fn sfu_offer(
        &mut self,
        conn: &ConnHandle,
        sdp: String,
        request_id: Option<String>,
    ) {
        let result = match self.media_for(conn, "sfu_offer") {
            Ok(media) => media
                .handle_offer(conn.id(), sdp)
                .await
                .map_err(media_error),
            Err(e) => Err(e),
        };
        match result {
            Ok(Some(sdp)) => {
                conn.send(
                    ServerMessage::SfuAnswer {
                        request_id,
                        call_id: self.info.id.clone(),
                        sdp,
                    }
                    .to_frame(),
                );
            }
            // Glare: our offer stands; the client rolls back and answers it.
            Ok(None) => {
                conn.send(
                    ServerMessage::error(
                        crate::ErrorCode::Conflict,
                        "offer collision: answer the server's offer",
                        request_id,
                    )
                    .to_frame(),
                );
            }
            Err(err) => Self::refuse(conn, err, request_id),
        }
    }

    /// sfu: the client's answer to our offer.
    pub(super) async fn sfu_answer(
        &mut self,
        conn: &ConnHandle,
        sdp: String,
        request_id: Option<String>,
    ) {
        let result = match self.media_for(conn, "sfu_answer") {
            Ok(media) => media
                .handle_answer(conn.id(), sdp)
                .await
                .map_err(media_error),
            Err(e) => Err(e),
        };
        if let Err(err) = result {
            Self::refuse(conn, err, request_id);
        }
    }

    /// sfu: one trickled client candidate.
    pub(super) async fn sfu_candidate(
        &mut self,
        conn: &ConnHandle,
        candidate: Value,
        request_id: Option<String>,
    ) {
        let result = match self.media_for(conn, "ice_candidate") {
            Ok(media) => media
                .add_candidate(conn.id(), candidate)
                .await
                .map_err(media_error),
            Err(e) => Err(e),
        };
        if let Err(err) = result {
            Self::refuse(conn, err, request_id);
        }
    }

    /// The participant mutes or unmutes themselves.
    pub(super) fn set_mute(&mut self, conn: &ConnHandle, muted: bool, request_id: Option<String>) {
        let Some(p) = self.participants.get_mut(&conn.id()) else {
            return Self::refuse(conn, SignalError::AccessDenied, request_id);
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
            participant_id: pid(conn),
            muted: effective,
            by: None,
        }
        .to_frame();
        self.broadcast(&frame, None);
        if effective {
            // A new mute: talking on it is news at once, however recently
            // the last one ended.
            self.issues.rearm(conn.id(), IssueKind::TalkingWhileMuted);
        } else {
            // Talking while muted ends with the mute.
            self.mark_issue(conn.id(), IssueKind::TalkingWhileMuted, false, 0);
        }
    }

    /// A moderator mutes or unmutes a participant.
    pub(super) async fn mute_participant(
        &mut self,
        identity: Identity,
        conn: &ConnHandle,
        participant_id: String,
        muted: bool,
        request_id: Option<String>,
    ) {
        if !self.moderates(&identity).await {
            return Self::refuse(conn, SignalError::AccessDenied, request_id);
        }
        let target = participant_id
            .parse::<u64>()
            .ok()
            .filter(|id| self.participants.contains_key(id));
        let Some(id) = target else {
            return Self::refuse(conn, SignalError::NotFound("participant"), request_id);
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

    pub(super) async fn media_event(&mut self, event: SfuEvent) {
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
                self.media_resumed(participant);
            }
            SfuEvent::Disconnected {
                participant,
                silent_ms,
            } => {
                tracing::info!(call = %call_id, participant, silent_ms, "media interrupted");
                self.media_interrupted(participant, silent_ms);
            }
            SfuEvent::Failed { participant } => {
                tracing::info!(call = %call_id, participant, "media failed; removing participant");
                self.media_lost(participant);
                let conn = self.participants.get(&participant).map(|p| p.conn.clone());
                self.leave(participant).await;
                // Tell the device, so it can join again with a fresh connection.
                if let Some(conn) = conn {
                    conn.send(
                        ServerMessage::CallLeft {
                            request_id: None,
                            call_id,
                            reason: Some("media_failed".into()),
                        }
                        .to_frame(),
                    );
                }
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

pub(super) fn media_error(err: earshot_sfu::SfuError) -> SignalError {
    match err {
        earshot_sfu::SfuError::BadSdp(m) => SignalError::BadRequest(m),
        earshot_sfu::SfuError::UnknownPeer => SignalError::NotFound("participant"),
        other => {
            tracing::warn!(error = %other, "media error");
            SignalError::BadRequest(format!("media: {other}"))
        }
    }
}
