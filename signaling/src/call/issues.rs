//! The call task's side of live call issues ([`IssueDetector`]): each
//! quality round is fed to the detector, and media events and the
//! participant's own device report the rest; what is raised or cleared goes
//! to the participant concerned (their device shows "Your microphone isn't
//! sending sound", "You can't hear Amira", ...), for `one_way_audio` also
//! to the speaker who is not heard ("Omar can't hear you"), to monitors, to
//! webhooks, and into the call's report.

use std::collections::HashMap;

use tokio::time::Instant;

use super::actor::Call;
use crate::conn::ConnHandle;
use crate::error::SignalError;
use crate::events::CallEvent;
use crate::protocol::{CallMode, PeerState, QualityView, ServerMessage};
use crate::quality::issues::{IssueChange, IssueKind, RoundInput};
use crate::store::{now_ms, StoredIssue};

/// Mean RFC 6464 level at or above which a round's audio is digital silence.
const SILENT_DBOV: f64 = 126.5;
/// Mean level under which (louder than) a client-measured microphone
/// counts as speaking, when no voice-activity share is known (-dBov).
const SPEAKING_DBOV: f64 = 50.0;

/// Whether anything but digital silence from the participant's microphone
/// reached the server: no packets, or packets all at level 127, is none;
/// packets without a level count as sound (nothing says otherwise).
fn sound_of(q: &QualityView) -> Option<bool> {
    match (q.up_packets, q.audio_level_dbov) {
        (Some(0), _) => Some(false),
        (_, Some(level)) => Some(level < SILENT_DBOV),
        (Some(_), None) => Some(true),
        (None, None) => None,
    }
}

/// Whether the participant spoke: some packets flagged as voice (SFU), or
/// a loud enough microphone (client-measured level), or audio without any
/// level to go on.
fn speaks_of(q: &QualityView) -> Option<bool> {
    match (q.up_packets, q.voice_activity, q.audio_level_dbov) {
        (Some(0), _, _) => Some(false),
        (_, Some(v), _) => Some(v > 0.0),
        (_, None, Some(level)) => Some(level < SPEAKING_DBOV),
        (Some(_), None, None) => Some(true),
        (None, None, None) => None,
    }
}

impl Call {
    /// Feed one quality round's samples to the issue detector; `heard`
    /// holds, per listener, whether each speaker's audio reached them.
    pub(super) fn detect_issues(
        &mut self,
        samples: &[(u64, QualityView)],
        heard: &HashMap<u64, Vec<(u64, bool)>>,
    ) {
        let round: Vec<RoundInput> = self
            .participants
            .iter()
            .map(|(id, p)| {
                let sample = samples.iter().find(|(s, _)| s == id).map(|(_, q)| q);
                RoundInput {
                    participant: *id,
                    muted: p.view.muted,
                    sound: sample.and_then(sound_of),
                    speaks: sample.and_then(speaks_of),
                    received: sample.and_then(|q| q.down_packets).map(|n| n > 0),
                    heard: heard.get(id).cloned().unwrap_or_default(),
                }
            })
            .collect();
        let changes = self
            .issues
            .observe(Instant::now().into_std(), now_ms(), &round);
        for change in changes {
            self.report_issue(change);
        }
    }

    /// Raise or clear an issue a device reports (damped against flapping).
    fn mark_reported(&mut self, participant: u64, kind: IssueKind, on: bool, since_ms: i64) {
        let change = self
            .issues
            .mark_reported(participant, kind, on, since_ms, now_ms());
        if let Some(change) = change {
            self.report_issue(change);
        }
    }

    /// Raise or clear an issue the server sees as it happens.
    pub(super) fn mark_issue(
        &mut self,
        participant: u64,
        kind: IssueKind,
        on: bool,
        since_ms: i64,
    ) {
        if let Some(change) = self.issues.mark(participant, kind, on, since_ms, now_ms()) {
            self.report_issue(change);
        }
    }

    /// The SFU stopped hearing from a participant's connection.
    pub(super) fn media_interrupted(&mut self, participant: u64, silent_ms: u64) {
        let since = now_ms() - silent_ms as i64;
        self.mark_issue(participant, IssueKind::Reconnecting, true, since);
    }

    /// A participant's media connection is up (again).
    pub(super) fn media_resumed(&mut self, participant: u64) {
        self.mark_issue(participant, IssueKind::Reconnecting, false, 0);
        self.mark_issue(participant, IssueKind::MediaFailed, false, 0);
    }

    /// A participant's media path is gone: `media_failed`, from when it
    /// was first interrupted.
    pub(super) fn media_lost(&mut self, participant: u64) {
        let since = self
            .issues
            .raised_since(participant, IssueKind::Reconnecting)
            .unwrap_or_else(now_ms);
        self.mark_issue(participant, IssueKind::Reconnecting, false, 0);
        self.mark_issue(participant, IssueKind::MediaFailed, true, since);
    }

    /// A p2p participant's client says how its peer connections stand.
    pub(super) fn client_connection(&mut self, participant: u64, state: PeerState) {
        if self.info.mode != CallMode::P2p {
            // The SFU sees the connection itself.
            return;
        }
        let now = now_ms();
        let (reconnecting, failed) = match state {
            PeerState::Disconnected => (true, false),
            PeerState::Failed => (false, true),
            PeerState::Connected => (false, false),
            PeerState::New | PeerState::Connecting | PeerState::Closed => return,
        };
        let since = self
            .issues
            .raised_since(participant, IssueKind::Reconnecting)
            .unwrap_or(now);
        self.mark_reported(participant, IssueKind::Reconnecting, reconnecting, now);
        self.mark_reported(participant, IssueKind::MediaFailed, failed, since);
    }

    /// `report_call_issue`: an issue only the participant's device sees.
    pub(super) fn client_issue(
        &mut self,
        conn: &ConnHandle,
        issue: IssueKind,
        active: bool,
        request_id: Option<String>,
    ) {
        let Some(p) = self.participants.get(&conn.id()) else {
            return Self::refuse(conn, SignalError::AccessDenied, request_id);
        };
        if issue != IssueKind::TalkingWhileMuted {
            return Self::refuse(
                conn,
                SignalError::BadRequest(format!(
                    "`{}` is detected by the server; devices report only `talking_while_muted`",
                    issue.as_str()
                )),
                request_id,
            );
        }
        // Voice on an open microphone is just talking: nothing to raise
        // (the device may not have seen its unmute land yet).
        let on = active && p.view.muted;
        self.mark_reported(conn.id(), issue, on, now_ms());
        if request_id.is_some() {
            conn.send(ServerMessage::Ok { request_id }.to_frame());
        }
    }

    /// A participant left: their issues end with them, and so do others'
    /// one-way issues about them.
    /// (`user_id`: theirs, as they are no longer among the participants.)
    pub(super) fn participant_gone(&mut self, participant: u64, user_id: &str) {
        for change in self.issues.remove(participant, now_ms()) {
            self.report_issue_as(change, Some((participant, user_id)));
        }
    }

    fn report_issue(&mut self, change: IssueChange) {
        self.report_issue_as(change, None);
    }

    /// Send, emit and store one change; `leaver` names a participant who
    /// just left (no device to tell any more).
    fn report_issue_as(&mut self, change: IssueChange, leaver: Option<(u64, &str)>) {
        let who = |id: u64| match leaver {
            Some((gone, user)) if gone == id => Some((user.to_string(), None)),
            _ => self
                .participants
                .get(&id)
                .map(|p| (p.view.user.id.clone(), Some(p.conn.clone()))),
        };
        let Some((user_id, conn)) = who(change.participant) else {
            return;
        };
        let from = change.from.and_then(|f| who(f).map(|(u, c)| (f, u, c)));
        let participant_id = change.participant.to_string();
        let (from_participant_id, from_user_id, from_conn) = match from {
            Some((f, u, c)) => (Some(f.to_string()), Some(u), c),
            None => (None, None, None),
        };
        tracing::info!(call = %self.info.id, participant = %participant_id, issue = change.kind.as_str(),
            from = ?from_participant_id, raised = change.raised, "call issue");
        let frame = match change.duration_ms {
            None => ServerMessage::CallIssue {
                call_id: self.info.id.clone(),
                participant_id: participant_id.clone(),
                user_id: user_id.clone(),
                issue: change.kind,
                since: change.since_ms,
                from_participant_id: from_participant_id.clone(),
                from_user_id: from_user_id.clone(),
            },
            Some(duration_ms) => ServerMessage::CallIssueCleared {
                call_id: self.info.id.clone(),
                participant_id: participant_id.clone(),
                user_id: user_id.clone(),
                issue: change.kind,
                since: change.since_ms,
                duration_ms,
                from_participant_id: from_participant_id.clone(),
                from_user_id: from_user_id.clone(),
            },
        }
        .to_frame();
        // The participant concerned, and the speaker they cannot hear.
        for conn in [conn, from_conn].into_iter().flatten() {
            conn.send(frame.clone());
        }
        self.sig.monitors.send(self.tenant.as_deref(), &frame, &[]);
        self.sig.events.emit(CallEvent::CallIssue {
            call_id: self.info.id.clone(),
            room_id: self.info.room_id.clone(),
            participant_id: participant_id.clone(),
            user_id: user_id.clone(),
            issue: change.kind,
            raised: change.raised,
            since: change.since_ms,
            duration_ms: change.duration_ms,
            from_participant_id: from_participant_id.clone(),
            from_user_id: from_user_id.clone(),
        });
        let stored = StoredIssue {
            participant_id,
            user_id,
            issue: change.kind.as_str().to_string(),
            started_at: change.since_ms,
            ended_at: change.duration_ms.map(|d| change.since_ms + d),
            from_participant_id,
            from_user_id,
        };
        let (store, call_id) = (self.sig.store.clone(), self.info.id.clone());
        tokio::spawn(async move {
            if let Err(err) = store.record_issue(&call_id, &stored).await {
                tracing::warn!(%err, call = %call_id, "cannot store a call issue");
            }
        });
    }

    /// The call ends: issues still raised end with it.
    pub(super) fn end_issues(&mut self) {
        for change in self.issues.remove_all(now_ms()) {
            self.report_issue_as(change, None);
        }
    }
}
