//! The call task's side of the ring ([`super::ring::Ring`]): telling every
//! device of the people concerned about each transition, declines, cancels,
//! the ring timeout, and what a call leaves behind when it ends (its entry
//! in the room's timeline, missed-call notifications, its stored outcome).

use serde_json::json;
use tokio::sync::oneshot;

use super::actor::Call;
use crate::config::Identity;
use crate::conn::ConnHandle;
use crate::error::{ErrorCode, Result, SignalError};
use crate::notify::Target;
use crate::protocol::{
    CallInfo, CallOutcome, Frame, InviteState, MessageType, MessageView, NotificationKind,
    ServerMessage,
};
use crate::room::RoomCmd;
use crate::store::{now_ms, NewMessage, NewNotification};

impl Call {
    /// The call as clients see it now.
    pub(super) fn snapshot(&self) -> CallInfo {
        let mut info = self.info.clone();
        info.participants = self.participants.values().map(|p| p.view.clone()).collect();
        info.state = self.ring.state();
        info.answered_at = self.ring.answered_at();
        info.invitees = self.ring.invitees();
        info
    }

    /// Send `frame` to every device of everyone the call concerns (its
    /// caller and the room's members when it started) and to every
    /// participant (staff who joined without being rung).
    pub(super) fn tell_everyone(&self, frame: &Frame) {
        let mut told = std::collections::HashSet::new();
        for user in &self.concerned {
            for c in self.sig.hub.connections(user) {
                told.insert(c.id());
                c.send(frame.clone());
            }
        }
        for p in self.participants.values() {
            if told.insert(p.conn.id()) {
                p.conn.send(frame.clone());
            }
        }
    }

    /// Every device concerned learns the call's new state.
    pub(super) fn announce_state(&self) {
        let frame = ServerMessage::CallUpdated {
            call: self.snapshot(),
        }
        .to_frame();
        self.tell_everyone(&frame);
    }

    /// The last participant (of `user`) left.
    pub(super) fn emptied(&mut self, user: &str) {
        if self.ring.answered_at().is_some() {
            // Over at once, unless others of a group call are still rung:
            // they may still join.
            if !self.ring.anyone_ringing() {
                self.finish_with("empty", CallOutcome::Completed, None);
            }
        } else if user == self.info.initiator.id {
            // The caller hung up before anyone answered.
            self.finish_with("cancelled", CallOutcome::Cancelled, Some(user.to_string()));
        }
    }

    /// `ring_timeout` passed: whoever still rings missed the call.
    pub(super) fn ring_timed_out(&mut self) {
        let missed = self.ring.timed_out(now_ms());
        if missed.is_empty() {
            return;
        }
        tracing::info!(call = %self.info.id, missed = missed.len(), "ring timed out");
        self.announce_state();
        if let Some(outcome) = self.ring.verdict() {
            self.finish_with(outcome.as_str(), outcome, None);
        } else if self.participants.is_empty() && self.ring.answered_at().is_some() {
            self.finish_with("empty", CallOutcome::Completed, None);
        }
    }

    pub(super) fn decline(
        &mut self,
        identity: &Identity,
        conn: &ConnHandle,
        reason: Option<String>,
        request_id: Option<String>,
    ) {
        match self.ring.decline(&identity.user_id, reason, now_ms()) {
            Ok(()) => {
                conn.send(ServerMessage::Ok { request_id }.to_frame());
                tracing::info!(call = %self.info.id, user = %identity.user_id, "call declined");
                // Everyone hears of the decline (and its reason), also when
                // it ends the call.
                self.announce_state();
                if let Some(outcome) = self.ring.verdict() {
                    self.finish_with(outcome.as_str(), outcome, None);
                }
            }
            Err(SignalError::AccessDenied) => {
                conn.send(
                    ServerMessage::error(
                        ErrorCode::AccessDenied,
                        "you were not invited to this call",
                        request_id,
                    )
                    .to_frame(),
                );
            }
            Err(err) => Call::refuse(conn, err, request_id),
        }
    }

    pub(super) fn cancel(
        &mut self,
        identity: &Identity,
        conn: &ConnHandle,
        request_id: Option<String>,
    ) {
        let refusal = if identity.user_id != self.info.initiator.id {
            Some((
                ErrorCode::AccessDenied,
                "only the caller can cancel the call",
            ))
        } else if self.ring.answered_at().is_some() {
            Some((
                ErrorCode::Conflict,
                "the call was answered: leave it with `leave_call` or end it with `end_call`",
            ))
        } else {
            None
        };
        match refusal {
            Some((code, message)) => {
                conn.send(ServerMessage::error(code, message, request_id).to_frame());
            }
            None => {
                conn.send(ServerMessage::Ok { request_id }.to_frame());
                let by = Some(identity.user_id.clone());
                self.finish_with("cancelled", CallOutcome::Cancelled, by);
            }
        }
    }

    /// What the ended call leaves behind: its outcome in the store, a
    /// missed-call notification for every callee who was rung in vain, and
    /// one entry in the room's timeline.
    pub(super) async fn record_outcome(&self, outcome: CallOutcome, ended_at: i64) {
        let invitees = self.ring.invitees();
        let answered_at = self.ring.answered_at();
        if let Err(err) = self
            .sig
            .store
            .set_call_outcome(&self.info.id, outcome, answered_at, &invitees)
            .await
        {
            tracing::warn!(%err, call = %self.info.id, "cannot record the call's outcome");
        }
        let caller = self
            .info
            .initiator
            .name
            .clone()
            .unwrap_or_else(|| self.info.initiator.id.clone());
        let missed = invitees
            .iter()
            .filter(|i| matches!(i.state, InviteState::Missed | InviteState::Cancelled));
        for invitee in missed {
            let n = NewNotification {
                kind: NotificationKind::Warning,
                title: format!("Missed {} from {caller}", CALL_NOUN),
                body: String::new(),
                link: None,
                data: Some(json!({"call_id": self.info.id, "caller": self.info.initiator.id})),
                room_id: Some(self.info.room_id.clone()),
            };
            if let Err(err) = self
                .sig
                .notify(&Target::User(invitee.user_id.clone()), n)
                .await
            {
                tracing::warn!(%err, call = %self.info.id, "cannot store a missed-call notification");
            }
        }
        let entry = timeline_entry(&self.snapshot(), Some(outcome), ended_at);
        if let Err(err) = self.sig.settle_entry(entry, self.entry.clone()).await {
            tracing::warn!(%err, call = %self.info.id, "cannot store the call's timeline entry");
        }
    }

    /// The call's entry in its room's timeline, posted as it starts
    /// (`Voice call`, no outcome yet); its id is kept to settle it at the end.
    pub(super) async fn post_entry(&mut self) {
        let entry = timeline_entry(&self.snapshot(), None, self.info.started_at);
        match self.sig.post(&self.info.room_id, entry).await {
            Ok(view) => self.entry = Some(view.id),
            Err(err) => {
                tracing::warn!(%err, call = %self.info.id, "cannot store the call's timeline entry")
            }
        }
    }
}

impl crate::Signaling {
    /// Store a server message in a room through its task, like any message
    /// (its own `seq`, broadcast once committed); the stored view.
    pub async fn post(&self, room_id: &str, msg: NewMessage) -> Result<MessageView> {
        let (reply, rx) = oneshot::channel();
        self.rooms
            .send(room_id, RoomCmd::Post { msg, reply })
            .await?;
        rx.await.unwrap_or(Err(SignalError::Unavailable))
    }

    /// Give a call's timeline entry its final text and metadata: rewrite the
    /// entry posted at the start (`id`), or the one stored under the call's
    /// id (posting it if there is none, e.g. a start that could not store it).
    pub(super) async fn settle_entry(&self, entry: NewMessage, id: Option<String>) -> Result<()> {
        let room_id = entry.room_id.clone();
        let text = entry.text.clone();
        let metadata = entry.metadata.clone().unwrap_or_default();
        let id = match id {
            Some(id) => id,
            None => {
                let view = self.post(&room_id, entry).await?;
                if view.text == text && view.metadata.as_ref() == Some(&metadata) {
                    return Ok(());
                }
                view.id
            }
        };
        let (reply, rx) = oneshot::channel();
        let cmd = RoomCmd::Amend {
            message_id: id,
            text,
            metadata,
            reply,
        };
        self.rooms.send(&room_id, cmd).await?;
        rx.await
            .unwrap_or(Err(SignalError::Unavailable))
            .map(|_| ())
    }
}

/// Every call carries audio only.
const CALL_NOUN: &str = "voice call";

/// How long a call lasted, as people say it.
pub fn spoken_duration(ms: i64) -> String {
    let secs = (ms.max(0) + 500) / 1000;
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3599 => format!("{} min", (secs + 30) / 60),
        _ => format!("{} h {} min", secs / 3600, (secs % 3600) / 60),
    }
}

/// The call's one entry in its room's history: sent in the caller's name,
/// with the call's facts in `metadata`; `outcome` is `None` while the call
/// goes on (the entry is rewritten when it ends). The id it is stored under
/// (from the call's id) makes a second post return the first.
pub fn timeline_entry(call: &CallInfo, outcome: Option<CallOutcome>, ended_at: i64) -> NewMessage {
    let Some(outcome) = outcome else {
        let metadata = json!({
            "call_id": call.id,
            "mode": call.mode,
            "outcome": null,
            "state": call.state,
            "started_at": call.started_at,
            "invitees": call.invitees,
        });
        return entry_message(call, "Voice call".into(), metadata);
    };
    let duration_ms = call.answered_at.map(|t| (ended_at - t).max(0));
    let noun = CALL_NOUN;
    let text = match (outcome, duration_ms) {
        (CallOutcome::Completed, Some(ms)) => {
            format!("Voice call · {}", spoken_duration(ms))
        }
        (CallOutcome::Completed, None) => "Voice call".to_string(),
        (CallOutcome::Missed, _) => format!("Missed {noun}"),
        (CallOutcome::Declined, _) => format!("Declined {noun}"),
        // To its callees a call cancelled before an answer is a missed one.
        (CallOutcome::Cancelled, _) => format!("Missed {noun}"),
        (CallOutcome::Busy, _) => format!("Missed {noun} (busy)"),
        (CallOutcome::Interrupted, _) => "The call was interrupted".to_string(),
    };
    // Who talked: the caller and every callee who accepted.
    let accepted = call
        .invitees
        .iter()
        .filter(|i| i.state == InviteState::Accepted)
        .map(|i| i.user_id.as_str());
    let talked: Vec<&str> = match call.answered_at {
        Some(_) => std::iter::once(call.initiator.id.as_str())
            .chain(accepted)
            .collect(),
        None => vec![],
    };
    let metadata = json!({
        "call_id": call.id,
        "mode": call.mode,
        "outcome": outcome,
        "started_at": call.started_at,
        "answered_at": call.answered_at,
        "ended_at": ended_at,
        "duration_ms": duration_ms,
        "invitees": call.invitees,
        "participants": talked,
    });
    entry_message(call, text, metadata)
}

fn entry_message(call: &CallInfo, text: String, metadata: serde_json::Value) -> NewMessage {
    NewMessage {
        room_id: call.room_id.clone(),
        sender: call.initiator.clone(),
        client_msg_id: format!("call-{}", call.id),
        message_type: MessageType::Call,
        text,
        reply_to: None,
        refs: None,
        metadata: Some(metadata),
        lang: None,
        attachments: vec![],
        ai: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_phone_log() {
        assert_eq!(spoken_duration(0), "0 s");
        assert_eq!(spoken_duration(42_400), "42 s");
        assert_eq!(spoken_duration(12 * 60_000 + 10_000), "12 min");
        assert_eq!(spoken_duration(3_600_000 + 5 * 60_000), "1 h 5 min");
    }
}
