//! [`Routes`]: what a call's packet path shares with the call's task (who
//! hears whom, the outgoing tracks, the speaker detector and the link
//! meters), whichever engine moves the packets, and the per-interval
//! [`LinkSnapshot`]s taken from it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::forward::Forwarder;
use crate::meter::{
    downstream_snapshot, DownstreamMeter, LinkSnapshot, ReportBlock, Uplink, UpstreamMeter,
};
use crate::speaker::ActiveSpeaker;

/// A new track gets this long to be negotiated before carrying no audio
/// counts as stalled.
const STALL_GRACE: Duration = Duration::from_secs(3);

/// What a link snapshot needs of an outgoing track.
pub(crate) trait SentTrack {
    /// When the track was made.
    fn created(&self) -> Instant;
    /// (packets, payload bytes) sent since the previous call.
    fn take_sent(&self) -> (u64, u64);
    /// Packets routed to the track but not sent since the previous call
    /// (the SFU's own loss).
    fn take_dropped(&self) -> u64 {
        0
    }
}

/// State shared with the packet loops.
pub(crate) struct Routes<T> {
    pub(crate) forwarder: Forwarder,
    pub(crate) tracks: HashMap<(u64, u64), Arc<T>>,
    pub(crate) speaker: ActiveSpeaker,
    /// Per publisher: what arrives from them.
    pub(crate) upstream: HashMap<u64, UpstreamMeter>,
    /// Per (publisher, subscriber) track: the subscriber's receiver reports.
    pub(crate) downstream: HashMap<(u64, u64), DownstreamMeter>,
}

impl<T> Default for Routes<T> {
    fn default() -> Self {
        Routes {
            forwarder: Forwarder::new(),
            tracks: HashMap::new(),
            speaker: ActiveSpeaker::new(),
            upstream: HashMap::new(),
            downstream: HashMap::new(),
        }
    }
}

impl<T> Routes<T> {
    /// A participant joins: it can publish (and be metered).
    pub(crate) fn add_participant(&mut self, participant: u64) {
        self.forwarder.add_participant(participant);
        self.upstream.insert(participant, UpstreamMeter::new());
    }

    /// `subscriber` hears `publisher` on `track`.
    pub(crate) fn add_track(&mut self, publisher: u64, subscriber: u64, track: Arc<T>) {
        self.tracks.insert((publisher, subscriber), track);
        self.downstream
            .insert((publisher, subscriber), DownstreamMeter::default());
        self.forwarder.subscribe(publisher, subscriber);
    }

    /// Self-mute (`moderator == false`) or server-side mute.
    pub(crate) fn set_muted(&mut self, participant: u64, muted: bool, moderator: bool) {
        if moderator {
            self.forwarder.set_moderator_muted(participant, muted);
        } else {
            self.forwarder.set_self_muted(participant, muted);
        }
    }

    /// A participant leaves: its tracks both ways, meters and speaker state go.
    pub(crate) fn remove_participant(&mut self, participant: u64) {
        self.forwarder.remove_participant(participant);
        self.tracks
            .retain(|(from, to), _| *from != participant && *to != participant);
        self.downstream
            .retain(|(from, to), _| *from != participant && *to != participant);
        self.upstream.remove(&participant);
        self.speaker.remove(participant);
    }

    /// The call ends: every track and meter goes.
    pub(crate) fn clear(&mut self) {
        self.tracks.clear();
        self.downstream.clear();
        self.upstream.clear();
    }
}

pub(crate) fn lock<T>(routes: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Routes stay consistent between statements; recover from a poisoned lock.
    routes.lock().unwrap_or_else(|p| p.into_inner())
}

/// What the SFU measured on every participant's link since the previous
/// call (each call starts a new interval).
pub(crate) fn link_snapshots<T: SentTrack>(
    r: &mut Routes<T>,
    participants: impl Iterator<Item = u64>,
    now: Instant,
) -> HashMap<u64, LinkSnapshot> {
    let mut out: HashMap<u64, LinkSnapshot> = participants
        .map(|id| (id, LinkSnapshot::default()))
        .collect();
    let mut uplink: HashMap<u64, Uplink> = HashMap::new();
    for (id, meter) in r.upstream.iter_mut() {
        if let Some(snap) = out.get_mut(id) {
            let up = meter.snapshot(now);
            uplink.insert(
                *id,
                Uplink {
                    loss: up.loss_pct / 100.0,
                    jitter_ms: up.jitter_ms,
                },
            );
            snap.up = Some(up);
        }
    }
    // Packets each publisher sent us this interval (to spot tracks that
    // should have carried audio and carried none).
    let published: HashMap<u64, u64> = out
        .iter()
        .map(|(id, snap)| (*id, snap.up.map_or(0, |u| u.packets)))
        .collect();
    for ((from, to), track) in r.tracks.iter() {
        let (p, b) = track.take_sent();
        let dropped = track.take_dropped();
        let expected = published.get(from).copied().unwrap_or(0) > 0
            && !r.forwarder.is_muted(*from)
            && now.saturating_duration_since(track.created()) >= STALL_GRACE;
        let heard = r.downstream.get_mut(&(*from, *to)).and_then(|m| m.heard(p));
        if let Some(snap) = out.get_mut(to) {
            let sent = snap.sent.get_or_insert((0, 0));
            sent.0 += p;
            sent.1 += b;
            snap.dropped += dropped;
            if let Some(heard) = heard {
                snap.heard.push((*from, heard));
            }
            if expected {
                snap.tracks += 1;
                if p == 0 {
                    snap.stalled += 1;
                }
            }
        }
    }
    for (id, snap) in out.iter_mut() {
        snap.heard.sort_unstable();
        snap.down = downstream_snapshot(
            r.downstream
                .iter_mut()
                .filter(|((_, to), _)| to == id)
                .map(|((from, _), m)| (*from, m)),
            |publisher| uplink.get(&publisher).copied().unwrap_or_default(),
        );
    }
    out
}

/// The report blocks about `ssrc` in one RTCP packet (RR or SR).
pub(crate) fn report_blocks(
    packet: &(dyn webrtc::rtcp::packet::Packet + Send + Sync),
    ssrc: u32,
) -> Vec<ReportBlock> {
    use webrtc::rtcp::receiver_report::ReceiverReport;
    use webrtc::rtcp::sender_report::SenderReport;
    let any = packet.as_any();
    let reports = if let Some(rr) = any.downcast_ref::<ReceiverReport>() {
        &rr.reports
    } else if let Some(sr) = any.downcast_ref::<SenderReport>() {
        &sr.reports
    } else {
        return vec![];
    };
    reports
        .iter()
        .filter(|r| r.ssrc == ssrc)
        .map(|r| ReportBlock {
            fraction_lost: r.fraction_lost,
            total_lost: r.total_lost,
            highest_seq: r.last_sequence_number,
            jitter: r.jitter,
            last_sr: r.last_sender_report,
            delay_since_sr: r.delay,
        })
        .collect()
}
