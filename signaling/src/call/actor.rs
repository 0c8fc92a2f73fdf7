//! The call task.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use earshot_sfu::quality::EModel;
use earshot_sfu::{SfuEvent, SfuRoom};

use super::cmd::CallCmd;
use super::media::media_error;
use super::ring::Ring;
use crate::config::Identity;
use crate::conn::ConnHandle;
use crate::error::{Result, SignalError};
use crate::events::CallEvent;
use crate::protocol::{CallInfo, CallMode, CallOutcome, Frame, ParticipantView, ServerMessage};
use crate::quality::QualityTracker;
use crate::room::may_access;
use crate::store::now_ms;
use crate::Signaling;

pub(super) struct Participant {
    pub(super) conn: ConnHandle,
    pub(super) view: ParticipantView,
    /// Muted by themselves / by a moderator; `view.muted` is either.
    self_muted: bool,
    moderator_muted: bool,
}

impl Participant {
    pub(super) fn set_muted(&mut self, muted: bool, moderator: bool) {
        if moderator {
            self.moderator_muted = muted;
        } else {
            self.self_muted = muted;
        }
        self.view.muted = self.self_muted || self.moderator_muted;
    }
}

/// What a call task starts with besides its info.
pub(super) struct Setup {
    pub(super) ring: Ring,
    /// The caller and the room's members when the call started: whose
    /// devices hear about every change.
    pub(super) concerned: Vec<String>,
    pub(super) rx: mpsc::Receiver<CallCmd>,
}

/// Why the call ends, once decided: `reason` as `call_ended` says it.
pub(super) struct Finish {
    pub(super) reason: &'static str,
    pub(super) outcome: CallOutcome,
    pub(super) ended_by: Option<String>,
}

pub(super) struct Call {
    pub(super) sig: Arc<Signaling>,
    pub(super) info: CallInfo,
    pub(super) ring: Ring,
    pub(super) concerned: Vec<String>,
    /// When whoever still rings has missed the call.
    ring_deadline: Option<Instant>,
    /// Set by a handler when the call must end.
    pub(super) finish: Option<Finish>,
    /// The id of the call's entry in its room's timeline, once stored.
    pub(super) entry: Option<String>,
    /// The room's tenant: which monitors may see this call.
    pub(super) tenant: Option<String>,
    rx: mpsc::Receiver<CallCmd>,
    pub(super) participants: BTreeMap<u64, Participant>,
    pub(super) media: Option<SfuRoom>,
    media_events: mpsc::UnboundedReceiver<SfuEvent>,
    /// When the call became empty (or started).
    empty_since: Option<Instant>,
    pub(super) quality: QualityTracker,
    /// Live call issues (`no_audio_sent`, `one_way_audio`, ...).
    pub(super) issues: crate::quality::issues::IssueDetector,
    /// The latest background write of quality samples.
    pub(super) sample_writes: Option<JoinHandle<()>>,
}

pub(super) fn pid(conn: &ConnHandle) -> String {
    conn.id().to_string()
}

impl Call {
    pub(super) fn new(
        sig: Arc<Signaling>,
        info: CallInfo,
        tenant: Option<String>,
        setup: Setup,
    ) -> Call {
        let Setup {
            ring,
            concerned,
            rx,
        } = setup;
        let ring_deadline = Some(Instant::now() + sig.config.ring_timeout);
        let issues = crate::quality::issues::IssueDetector::new(sig.config.issue_no_audio_after);
        let (events, media_events) = mpsc::unbounded_channel();
        let media = match (info.mode, &sig.sfu) {
            (CallMode::Sfu, Some(sfu)) => Some(sfu.room(events)),
            _ => None,
        };
        let quality = QualityTracker::new(EModel::OPUS, sig.config.quality_hysteresis);
        Call {
            sig,
            info,
            ring,
            concerned,
            ring_deadline,
            finish: None,
            entry: None,
            tenant,
            rx,
            participants: BTreeMap::new(),
            media,
            media_events,
            empty_since: Some(Instant::now()),
            quality,
            issues,
            sample_writes: None,
        }
    }

    pub(super) async fn run(mut self) {
        let timeout = self.sig.config.call_empty_timeout;
        let period = self
            .sig
            .config
            .quality_interval
            .max(std::time::Duration::from_millis(100));
        let mut tick = tokio::time::interval_at(Instant::now() + period, period);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        self.sig
            .metrics
            .calls_started
            .with_label_values(&[self.info.mode.as_str()])
            .inc();
        self.sig.events.emit(CallEvent::CallStarted {
            call: self.info.clone(),
        });
        self.push_monitor();
        self.post_entry().await;
        // Everyone it rang was busy: over before it began.
        if let Some(outcome) = self.ring.verdict() {
            self.finish_with(outcome.as_str(), outcome, None);
        }
        while self.finish.is_none() {
            // An empty call waits while someone is still being rung.
            let empty_deadline = self
                .empty_since
                .filter(|_| !self.ring.anyone_ringing())
                .map(|t| t + timeout);
            let ring_deadline = self.ring_deadline.filter(|_| self.ring.anyone_ringing());
            tokio::select! {
                _ = tick.tick() => self.quality_round().await,
                cmd = self.rx.recv() => match cmd {
                    Some(CallCmd::Shutdown) | None => {
                        self.finish_with("shutdown", CallOutcome::Interrupted, None)
                    }
                    Some(CallCmd::End { identity, conn, request_id }) => {
                        if identity.user_id == self.info.initiator.id || self.moderates(&identity).await {
                            conn.send(ServerMessage::Ok { request_id }.to_frame());
                            let outcome = self.ring.outcome_at_end();
                            self.finish_with("ended", outcome, Some(identity.user_id));
                        } else {
                            let err = SignalError::AccessDenied;
                            conn.send(ServerMessage::error(err.code(), "only the initiator or staff can end the call", request_id).to_frame());
                        }
                    }
                    Some(cmd) => self.handle(cmd).await,
                },
                Some(event) = self.media_events.recv() => self.media_event(event).await,
                _ = sleep_until_opt(ring_deadline), if ring_deadline.is_some() => self.ring_timed_out(),
                _ = sleep_until_opt(empty_deadline), if empty_deadline.is_some() => {
                    let outcome = self.ring.outcome_at_end();
                    self.finish_with("empty", outcome, None);
                }
            }
        }
        self.end().await;
    }

    pub(super) fn finish_with(
        &mut self,
        reason: &'static str,
        outcome: CallOutcome,
        ended_by: Option<String>,
    ) {
        self.finish.get_or_insert(Finish {
            reason,
            outcome,
            ended_by,
        });
    }

    async fn end(mut self) {
        let Finish {
            reason,
            outcome,
            ended_by,
        } = self.finish.take().unwrap_or(Finish {
            reason: "shutdown",
            outcome: CallOutcome::Interrupted,
            ended_by: None,
        });
        let ended_at = now_ms();
        // Whoever still rings stops: the call is over.
        self.ring.ended(ended_at);
        self.sig
            .calls
            .remove(&self.info.id, &self.info.room_id, &self.concerned);
        for p in self.participants.values() {
            self.sig.calls.participating(&p.view.user.id, false);
        }
        // Refuse whatever is still queued.
        self.rx.close();
        while let Ok(cmd) = self.rx.try_recv() {
            if let CallCmd::Join { reply, .. } = cmd {
                let _ = reply.send(Err(SignalError::NotFound("call")));
            }
        }
        // The last, partial interval still counts.
        self.quality_round().await;
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
        let ended_by_for_hooks = ended_by.clone();
        let duration_ms = self.ring.answered_at().map(|t| (ended_at - t).max(0));
        let frame = ServerMessage::CallEnded {
            call_id: self.info.id.clone(),
            room_id: self.info.room_id.clone(),
            reason: reason.to_string(),
            outcome,
            duration_ms,
            ended_by,
        }
        .to_frame();
        // Stored first: a device told the call ended finds its entry in the
        // room's history.
        self.record_outcome(outcome, ended_at).await;
        self.tell_everyone(&frame);
        self.sig
            .metrics
            .calls_ended
            .with_label_values(&[reason])
            .inc();
        self.sig
            .metrics
            .call_participants
            .sub(self.participants.len() as i64);
        self.end_issues();
        self.finish_quality(reason, ended_by_for_hooks).await;
        tracing::info!(call = %self.info.id, reason, outcome = outcome.as_str(), "call ended");
    }

    pub(super) fn broadcast(&self, frame: &Frame, except: Option<u64>) {
        for (id, p) in &self.participants {
            if Some(*id) != except {
                p.conn.send(frame.clone());
            }
        }
    }

    pub(super) fn refuse(conn: &ConnHandle, err: SignalError, request_id: Option<String>) {
        conn.send(ServerMessage::error(err.code(), err.public_message(), request_id).to_frame());
    }

    async fn handle(&mut self, cmd: CallCmd) {
        match cmd {
            CallCmd::Join {
                identity,
                conn,
                replaces,
                request_id,
                reply,
            } => {
                let result = self.join(identity, conn, replaces, request_id).await;
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
                        reason: None,
                    }
                    .to_frame(),
                );
            }
            CallCmd::Signal {
                conn,
                to,
                signal,
                request_id,
            } => self.relay_signal(&conn, &to, signal, request_id),
            CallCmd::SfuOffer {
                conn,
                sdp,
                request_id,
            } => self.sfu_offer(&conn, sdp, request_id).await,
            CallCmd::SfuAnswer {
                conn,
                sdp,
                request_id,
            } => self.sfu_answer(&conn, sdp, request_id).await,
            CallCmd::Candidate {
                conn,
                candidate,
                request_id,
            } => self.sfu_candidate(&conn, candidate, request_id).await,
            CallCmd::SetMute {
                conn,
                muted,
                request_id,
            } => self.set_mute(&conn, muted, request_id),
            CallCmd::MuteParticipant {
                identity,
                conn,
                participant_id,
                muted,
                request_id,
            } => {
                self.mute_participant(identity, &conn, participant_id, muted, request_id)
                    .await
            }
            CallCmd::Stats {
                conn,
                report,
                request_id,
            } => self.client_stats(&conn, &report, request_id),
            CallCmd::Issue {
                conn,
                issue,
                active,
                request_id,
            } => self.client_issue(&conn, issue, active, request_id),
            CallCmd::Monitor { reply } => {
                let _ = reply.send((self.tenant.clone(), self.monitor_view()));
            }
            CallCmd::Info { reply } => {
                let _ = reply.send(self.snapshot());
            }
            CallCmd::Decline {
                identity,
                conn,
                reason,
                request_id,
            } => self.decline(&identity, &conn, reason, request_id),
            CallCmd::Cancel {
                identity,
                conn,
                request_id,
            } => self.cancel(&identity, &conn, request_id),
            CallCmd::Remove { user_id } => self.remove_user(&user_id).await,
            CallCmd::End { .. } | CallCmd::Shutdown => {}
        }
    }

    /// Whether `identity` may moderate this call: a staff role with access
    /// to the call's room (so staff of another tenant may not).
    pub(super) async fn moderates(&self, identity: &Identity) -> bool {
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

    async fn join(
        &mut self,
        identity: Identity,
        conn: ConnHandle,
        replaces: Option<String>,
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
        // A device back from a reconnect: its old participant goes now
        // rather than when its dead socket is noticed. One that already
        // left is fine; someone else's is refused.
        let old = replaces
            .and_then(|p| p.parse::<u64>().ok())
            .filter(|old| *old != id)
            .and_then(|old| self.participants.get(&old));
        if let Some(p) = old {
            if p.view.user.id != identity.user_id {
                return Err(SignalError::AccessDenied);
            }
            let gone = p.conn.clone();
            self.leave(gone.id()).await;
            gone.send(
                ServerMessage::CallLeft {
                    request_id: None,
                    call_id: self.info.id.clone(),
                    reason: Some("replaced".into()),
                }
                .to_frame(),
            );
        }
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
            self.quality.add(id);
            self.sig.metrics.call_participants.inc();
            self.sig.calls.participating(&identity.user_id, true);
            self.empty_since = None;
            self.push_monitor();
            if self.ring.joined(&identity.user_id, now_ms()) {
                self.announce_state();
            }
        }
        let info = self.snapshot();
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
        // Levels are announced when they change: a newcomer learns the
        // current ones now (as first levels, `previous` null), and the
        // issues raised on it (a rejoin after a media failure, say).
        self.tell_levels(&conn);
        Ok(())
    }

    /// Every device of `user_id` leaves, told why; their signals are refused
    /// from now on (they are no participant).
    async fn remove_user(&mut self, user_id: &str) {
        let gone: Vec<ConnHandle> = self
            .participants
            .values()
            .filter(|p| p.view.user.id == user_id)
            .map(|p| p.conn.clone())
            .collect();
        for conn in gone {
            self.leave(conn.id()).await;
            conn.send(
                ServerMessage::CallLeft {
                    request_id: None,
                    call_id: self.info.id.clone(),
                    reason: Some("removed".into()),
                }
                .to_frame(),
            );
        }
        tracing::info!(call = %self.info.id, user = %user_id, "removed member is out of the call");
    }

    pub(super) async fn leave(&mut self, id: u64) {
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
            participant_id: p.view.participant_id.clone(),
            user_id: p.view.user.id.clone(),
        }
        .to_frame();
        self.broadcast(&frame, None);
        self.quality.remove(id);
        self.participant_gone(id, &p.view.user.id);
        self.sig.metrics.call_participants.dec();
        self.sig.calls.participating(&p.view.user.id, false);
        if self.participants.is_empty() {
            self.empty_since = Some(Instant::now());
            self.emptied(&p.view.user.id);
        }
        self.push_monitor();
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
