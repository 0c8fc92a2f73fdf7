//! The call task's quality monitoring: client reports, periodic samples,
//! level announcements, the monitors' live view and the end-of-call summary.

use tokio::time::Instant;

use crate::conn::ConnHandle;
use crate::error::SignalError;
use crate::events::CallEvent;
use crate::protocol::{
    ActiveIssue, CallStatsReport, CallSummary, MonitorCallView, MonitorParticipant, QualityLevel,
    ServerMessage,
};
use crate::quality::LevelChange;
use crate::store::{now_ms, QualitySampleRow};

use super::actor::Call;

impl Call {
    /// A participant's `call_stats` (already validated by the session).
    pub(super) fn client_stats(
        &mut self,
        conn: &ConnHandle,
        report: &CallStatsReport,
        request_id: Option<String>,
    ) {
        if !self.participants.contains_key(&conn.id()) {
            return Self::refuse(conn, SignalError::AccessDenied, request_id);
        }
        self.quality.client_report(conn.id(), report);
        if let Some(state) = report.connection_state {
            self.client_connection(conn.id(), state);
        }
        if request_id.is_some() {
            conn.send(ServerMessage::Ok { request_id }.to_frame());
        }
    }

    /// Every quality interval: sample each participant, store the samples,
    /// announce level changes, refresh the monitors' view.
    pub(super) async fn quality_round(&mut self) {
        if self.participants.is_empty() {
            return;
        }
        let now = Instant::now().into_std();
        let server = self
            .media
            .as_ref()
            .map(|m| m.link_snapshots(now))
            .unwrap_or_default();
        let round = self.quality.sample(&server, now, now_ms());
        if !round.samples.is_empty() {
            let rows: Vec<QualitySampleRow> = round
                .samples
                .iter()
                .map(|(id, q)| {
                    self.sig.metrics.observe_sample(q);
                    QualitySampleRow {
                        participant_id: id.to_string(),
                        quality: q.clone(),
                    }
                })
                .collect();
            self.store_samples(rows);
        }
        for change in round.changes {
            self.announce(change);
        }
        self.detect_issues(&round.samples, &round.heard);
        self.push_monitor();
    }

    /// Write samples in the background, each batch after the previous one,
    /// so storage never holds up the call's signaling.
    fn store_samples(&mut self, rows: Vec<QualitySampleRow>) {
        let previous = self.sample_writes.take();
        let store = self.sig.store.clone();
        let call_id = self.info.id.clone();
        self.sample_writes = Some(tokio::spawn(async move {
            if let Some(p) = previous {
                let _ = p.await;
            }
            if let Err(err) = store.insert_quality_samples(&call_id, &rows).await {
                tracing::warn!(%err, call = %call_id, "cannot store quality samples");
            }
        }));
    }

    fn announce(&mut self, change: LevelChange) {
        let Some(p) = self.participants.get(&change.participant) else {
            return;
        };
        let Some(q) = self.quality.latest(change.participant).cloned() else {
            return;
        };
        self.sig
            .metrics
            .quality_changes
            .with_label_values(&[change.level.as_str()])
            .inc();
        let user_id = p.view.user.id.clone();
        let frame = ServerMessage::ConnectionQuality {
            call_id: self.info.id.clone(),
            participant_id: change.participant.to_string(),
            user_id: user_id.clone(),
            level: change.level,
            previous: change.previous,
            mos: q.mos,
            loss_pct: q.loss_pct,
            jitter_ms: q.jitter_ms,
            rtt_ms: q.rtt_ms,
        }
        .to_frame();
        self.broadcast(&frame, None);
        let participants: Vec<u64> = self.participants.keys().copied().collect();
        self.sig
            .monitors
            .send(self.tenant.as_deref(), &frame, &participants);
        if let Some(previous) = change.previous {
            if change.level < previous && change.level <= QualityLevel::Fair {
                tracing::info!(call = %self.info.id, participant = change.participant,
                    level = change.level.as_str(), "call quality degraded");
                self.sig.events.emit(CallEvent::QualityDegraded {
                    call_id: self.info.id.clone(),
                    room_id: self.info.room_id.clone(),
                    participant_id: change.participant.to_string(),
                    user_id,
                    level: change.level,
                    previous,
                    quality: q,
                });
            }
        }
    }

    /// Every participant's current level, to one device that just joined.
    pub(super) fn tell_levels(&self, conn: &ConnHandle) {
        for (id, p) in &self.participants {
            let Some(q) = self.quality.latest(*id) else {
                continue;
            };
            conn.send(
                ServerMessage::ConnectionQuality {
                    call_id: self.info.id.clone(),
                    participant_id: id.to_string(),
                    user_id: p.view.user.id.clone(),
                    level: q.level,
                    previous: None,
                    mos: q.mos,
                    loss_pct: q.loss_pct,
                    jitter_ms: q.jitter_ms,
                    rtt_ms: q.rtt_ms,
                }
                .to_frame(),
            );
        }
    }

    /// The call as monitors see it.
    pub(super) fn monitor_view(&self) -> MonitorCallView {
        MonitorCallView {
            id: self.info.id.clone(),
            room_id: self.info.room_id.clone(),
            mode: self.info.mode,
            started_at: self.info.started_at,
            initiator: self.info.initiator.clone(),
            participants: self
                .participants
                .iter()
                .map(|(id, p)| MonitorParticipant {
                    participant_id: p.view.participant_id.clone(),
                    user: p.view.user.clone(),
                    muted: p.view.muted,
                    joined_at: p.view.joined_at,
                    quality: self.quality.latest(*id).cloned(),
                })
                .collect(),
            issues: {
                let mut issues: Vec<ActiveIssue> = self
                    .issues
                    .raised()
                    .into_iter()
                    .map(|(p, issue, from, since)| ActiveIssue {
                        participant_id: p.to_string(),
                        issue,
                        since,
                        from_participant_id: from.map(|f| f.to_string()),
                    })
                    .collect();
                issues.sort_by(|a, b| {
                    (a.since, &a.participant_id).cmp(&(b.since, &b.participant_id))
                });
                issues
            },
        }
    }

    /// Send monitors the current view (call started, joins, leaves, samples).
    pub(super) fn push_monitor(&self) {
        if self.sig.monitors.is_empty() {
            return;
        }
        let frame = ServerMessage::MonitorCall {
            call: self.monitor_view(),
        }
        .to_frame();
        self.sig.monitors.send(self.tenant.as_deref(), &frame, &[]);
    }

    /// After the call ended: wait for the samples, store the summary and
    /// tell monitors and webhooks.
    pub(super) async fn finish_quality(&mut self, reason: &str, ended_by: Option<String>) {
        if let Some(writes) = self.sample_writes.take() {
            let _ = writes.await;
        }
        let summary = match self.sig.store.summarize_call(&self.info.id).await {
            Ok(s) => s,
            Err(err) => {
                tracing::warn!(%err, call = %self.info.id, "cannot summarize call quality");
                CallSummary {
                    id: self.info.id.clone(),
                    room_id: self.info.room_id.clone(),
                    mode: self.info.mode.as_str().to_string(),
                    started_at: self.info.started_at,
                    ended_at: Some(now_ms()),
                    duration_ms: Some(now_ms() - self.info.started_at),
                    participants: 0,
                    quality: Default::default(),
                }
            }
        };
        let frame = ServerMessage::MonitorCallEnded {
            call_id: self.info.id.clone(),
            summary: summary.clone(),
        }
        .to_frame();
        self.sig.monitors.send(self.tenant.as_deref(), &frame, &[]);
        self.sig.events.emit(CallEvent::CallEnded {
            call_id: self.info.id.clone(),
            room_id: self.info.room_id.clone(),
            reason: reason.to_string(),
            ended_by,
            summary,
        });
    }
}
