//! The call task's side of live call issues ([`IssueDetector`]): each
//! quality round is fed to the detector; what it raises or clears goes to
//! the participant concerned (their device shows "Your microphone isn't
//! sending sound" or "You can't hear the others"), to monitors, to
//! webhooks, and into the call's report.

use tokio::time::Instant;

use super::actor::Call;
use crate::events::CallEvent;
use crate::protocol::{QualityView, ServerMessage};
use crate::quality::issues::{IssueChange, RoundInput};
use crate::store::{now_ms, StoredIssue};

/// Whether a round's sample shows the participant's voice reaching the
/// server: no packets, or packets marked silent, is no voice; packets
/// without a level extension count as voice (nothing says otherwise).
fn voice_of(q: &QualityView) -> Option<bool> {
    match (q.up_packets, q.voice_activity) {
        (Some(0), _) => Some(false),
        (_, Some(v)) => Some(v > 0.0),
        (Some(_), None) => Some(true),
        (None, None) => None,
    }
}

impl Call {
    /// Feed one quality round's samples to the issue detector.
    pub(super) fn detect_issues(&mut self, samples: &[(u64, QualityView)]) {
        let round: Vec<RoundInput> = self
            .participants
            .iter()
            .map(|(id, p)| {
                let sample = samples.iter().find(|(s, _)| s == id).map(|(_, q)| q);
                RoundInput {
                    participant: *id,
                    muted: p.view.muted,
                    voice: sample.and_then(voice_of),
                    received: sample.and_then(|q| q.down_packets).map(|n| n > 0),
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

    /// A participant left: an issue of theirs ends with them.
    pub(super) fn participant_gone(&mut self, participant: u64, user_id: &str) {
        for change in self.issues.remove(participant, now_ms()) {
            self.report_issue_of(change, user_id.to_string(), None);
        }
    }

    fn report_issue(&mut self, change: IssueChange) {
        let Some(p) = self.participants.get(&change.participant) else {
            return;
        };
        let (user_id, conn) = (p.view.user.id.clone(), p.conn.clone());
        self.report_issue_of(change, user_id, Some(conn));
    }

    fn report_issue_of(
        &mut self,
        change: IssueChange,
        user_id: String,
        conn: Option<crate::conn::ConnHandle>,
    ) {
        let participant_id = change.participant.to_string();
        tracing::info!(call = %self.info.id, participant = %participant_id, issue = change.kind.as_str(),
            raised = change.raised, "call issue");
        let frame = match change.duration_ms {
            None => ServerMessage::CallIssue {
                call_id: self.info.id.clone(),
                participant_id: participant_id.clone(),
                user_id: user_id.clone(),
                issue: change.kind,
                since: change.since_ms,
            },
            Some(duration_ms) => ServerMessage::CallIssueCleared {
                call_id: self.info.id.clone(),
                participant_id: participant_id.clone(),
                user_id: user_id.clone(),
                issue: change.kind,
                since: change.since_ms,
                duration_ms,
            },
        }
        .to_frame();
        if let Some(conn) = conn {
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
        });
        let stored = StoredIssue {
            participant_id,
            user_id,
            issue: change.kind.as_str().to_string(),
            started_at: change.since_ms,
            ended_at: change.duration_ms.map(|d| change.since_ms + d),
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
        let at = now_ms();
        let ids: Vec<(u64, String)> = self
            .participants
            .iter()
            .map(|(id, p)| (*id, p.view.user.id.clone()))
            .collect();
        for (id, user) in ids {
            for change in self.issues.remove(id, at) {
                self.report_issue_of(change, user.clone(), None);
            }
        }
    }
}
