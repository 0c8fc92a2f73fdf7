//! Per-participant call quality from what the SFU measures and what the
//! clients report (`call_stats`), as a plain type driven by snapshots and
//! `Instant`s: the call task feeds it and acts on what it returns.
//!
//! # What a participant's quality means
//! It describes that participant's own connection, in both directions:
//! - **up**: their audio on its way in. In sfu calls the SFU measures it
//!   from sequence numbers; in p2p calls it is what the other participants'
//!   clients report about this participant's stream.
//! - **down**: audio on its way to them. In sfu calls, from their receiver
//!   reports (or their own `call_stats`), minus what the publishers lost on
//!   their own uplinks, so one bad uplink does not mark everyone as bad;
//!   in p2p calls, their client's inbound loss.
//!
//! `loss_pct` combines both (`1 − (1 − up)(1 − down)`), jitter is the worse
//! of the two, RTT is SFU ↔ participant (sfu) or the candidate pair's (p2p).
//! MOS comes from [`EModel::OPUS`]; the level has hysteresis
//! ([`QualityClassifier`]).
//!
//! [`issues`] turns the same rounds into live call issues
//! (`no_audio_sent`, `one_way_audio`, ...); [`legs`] attributes what each
//! participant heard to the legs it went through, for the call report.

pub mod issues;
pub mod legs;

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use earshot_sfu::meter::added_jitter;
use earshot_sfu::quality::{EModel, QualityClassifier, QualityLevel};
use earshot_sfu::{LinkSnapshot, Uplink};

use crate::protocol::{CallStatsReport, QualityView};

/// One client's cumulative counters for one inbound stream, as last reported.
#[derive(Debug, Clone, Copy, Default)]
struct Counters {
    received: u64,
    lost: i64,
    bytes: u64,
    concealed: u64,
    samples: u64,
}

/// The growth of a cumulative counter; one that went backwards restarted
/// (a renegotiated stream), so all of it is new.
fn grown(now: u64, prev: u64) -> u64 {
    now.checked_sub(prev).unwrap_or(now)
}

/// What one participant's client reported over the current interval.
#[derive(Debug, Clone, Default)]
struct ClientInterval {
    reports: u32,
    /// Per source participant: (expected, lost) in the interval.
    inbound: HashMap<u64, (u64, u64)>,
    /// Per source participant: the latest inbound jitter, ms.
    inbound_jitter: HashMap<u64, f64>,
    /// Inbound packets and payload bytes received, over every source.
    received: (u64, u64),
    /// Concealed and total audio samples, over every source.
    concealed: (u64, u64),
    /// Latest mean jitter-buffer delay over the inbound streams, ms.
    jitter_buffer_ms: Option<f64>,
    remote_fraction_lost: Option<f64>,
    rtt_ms: Option<f64>,
    /// Outbound packets and bytes sent.
    sent: (u64, u64),
    /// The microphone's latest level (0..=1) as the client measured it.
    audio_level: Option<f64>,
    /// Per source participant: packets received in the interval.
    received_from: HashMap<u64, u64>,
}

#[derive(Debug)]
struct Part {
    classifier: QualityClassifier,
    /// Previous cumulative counters per inbound source.
    seen: HashMap<u64, Counters>,
    /// Previous cumulative outbound (packets, bytes).
    prev_sent: (Option<u64>, Option<u64>),
    interval: ClientInterval,
    latest: Option<QualityView>,
    /// The last round-trip time measured, and when: reports that carry it
    /// (RTCP RRs, client reports) come less often than short sample
    /// intervals, so a recent one stands in.
    last_rtt: Option<(f64, Instant)>,
}

/// How long a measured round-trip time stands in for samples without one.
const RTT_FRESH: std::time::Duration = std::time::Duration::from_secs(10);

/// A level change to announce.
#[derive(Debug, Clone, PartialEq)]
pub struct LevelChange {
    pub participant: u64,
    pub level: QualityLevel,
    /// `None` for the first level of the participant.
    pub previous: Option<QualityLevel>,
}

/// One round of samples: every participant with data, and level changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SampleRound {
    pub samples: Vec<(u64, QualityView)>,
    pub changes: Vec<LevelChange>,
    /// Per listener: each speaker whose audio was on its way to them this
    /// round, and whether it arrived (their client's report when it names
    /// the speaker, else the SFU's reading of their receiver reports).
    pub heard: HashMap<u64, Vec<(u64, bool)>>,
}

/// RFC 6464 -dBov of a linear level 0..=1 (0 is 127, digital silence).
fn dbov(level: f64) -> f64 {
    if level <= 0.0 {
        127.0
    } else {
        (-20.0 * level.log10()).clamp(0.0, 127.0)
    }
}

/// The quality state of one call.
#[derive(Debug)]
pub struct QualityTracker {
    model: EModel,
    hysteresis: u32,
    parts: BTreeMap<u64, Part>,
    last_round: Option<Instant>,
}

fn pct(lost: u64, expected: u64) -> Option<f64> {
    (expected > 0).then(|| lost.min(expected) as f64 / expected as f64 * 100.0)
}

fn max_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    }
}

impl QualityTracker {
    /// `hysteresis`: consecutive samples a new level needs to take over.
    pub fn new(model: EModel, hysteresis: u32) -> Self {
        QualityTracker {
            model,
            hysteresis,
            parts: BTreeMap::new(),
            last_round: None,
        }
    }

    pub fn add(&mut self, participant: u64) {
        self.parts.entry(participant).or_insert_with(|| Part {
            classifier: QualityClassifier::new(self.hysteresis),
            seen: HashMap::new(),
            prev_sent: (None, None),
            interval: ClientInterval::default(),
            latest: None,
            last_rtt: None,
        });
    }

    pub fn remove(&mut self, participant: u64) {
        self.parts.remove(&participant);
    }

    /// The participant's latest sample.
    pub fn latest(&self, participant: u64) -> Option<&QualityView> {
        self.parts.get(&participant).and_then(|p| p.latest.as_ref())
    }

    /// Take in a validated `call_stats` report from `participant`'s client.
    /// Inbound streams name their source by participant id; unknown ids are
    /// ignored (the source may have just left).
    pub fn client_report(&mut self, participant: u64, report: &CallStatsReport) {
        let known: Vec<u64> = self.parts.keys().copied().collect();
        let Some(part) = self.parts.get_mut(&participant) else {
            return;
        };
        let iv = &mut part.interval;
        iv.reports += 1;
        iv.rtt_ms = report
            .rtt_ms
            .or(report.outbound.as_ref().and_then(|o| o.rtt_ms))
            .or(iv.rtt_ms);
        if let Some(out) = &report.outbound {
            if out.remote_fraction_lost.is_some() {
                iv.remote_fraction_lost = out.remote_fraction_lost;
            }
            if let Some(n) = out.packets_sent {
                iv.sent.0 += grown(n, part.prev_sent.0.replace(n).unwrap_or(n));
            }
            if let Some(n) = out.bytes_sent {
                iv.sent.1 += grown(n, part.prev_sent.1.replace(n).unwrap_or(n));
            }
            if out.audio_level.is_some() {
                iv.audio_level = out.audio_level;
            }
        }
        let buffers: Vec<f64> = report
            .inbound
            .iter()
            .filter_map(|i| i.jitter_buffer_delay_ms)
            .collect();
        if !buffers.is_empty() {
            iv.jitter_buffer_ms = Some(buffers.iter().sum::<f64>() / buffers.len() as f64);
        }
        for stream in &report.inbound {
            let Some(source) = stream
                .participant_id
                .parse::<u64>()
                .ok()
                .filter(|s| *s != participant && known.contains(s))
            else {
                continue;
            };
            if let Some(j) = stream.jitter_ms {
                iv.inbound_jitter.insert(source, j);
            }
            let Some(received) = stream.packets_received else {
                continue;
            };
            let now = Counters {
                received,
                lost: stream.packets_lost.unwrap_or(0),
                bytes: stream.bytes_received.unwrap_or(0),
                concealed: stream.concealed_samples.unwrap_or(0),
                samples: stream.total_samples_received.unwrap_or(0),
            };
            let prev = part.seen.insert(source, now).unwrap_or_default();
            // A packet counter going backwards is a new stream (a
            // renegotiation): every counter starts from zero.
            let prev = if now.received < prev.received {
                Counters::default()
            } else {
                prev
            };
            let d_received = now.received - prev.received;
            let d_lost = (now.lost - prev.lost).max(0) as u64;
            *iv.received_from.entry(source).or_default() += d_received;
            let entry = iv.inbound.entry(source).or_default();
            entry.0 += d_received + d_lost;
            entry.1 += d_lost;
            iv.received.0 += d_received;
            iv.received.1 += grown(now.bytes, prev.bytes);
            iv.concealed.0 += grown(now.concealed, prev.concealed);
            iv.concealed.1 += grown(now.samples, prev.samples);
        }
    }

    /// Take a sample for every participant with something measured since
    /// the last round. `server` holds the SFU's link snapshots (empty for
    /// p2p calls); `at_ms` stamps the samples.
    pub fn sample(
        &mut self,
        server: &HashMap<u64, LinkSnapshot>,
        now: Instant,
        at_ms: i64,
    ) -> SampleRound {
        let elapsed = self
            .last_round
            .replace(now)
            .map(|t| now.saturating_duration_since(t).as_secs_f64())
            .filter(|s| *s > 0.0);
        // Each publisher's uplink this interval (sfu calls).
        let uplink: HashMap<u64, Uplink> = server
            .iter()
            .filter_map(|(id, s)| {
                let up = s.up?;
                (up.expected > 0).then_some((
                    *id,
                    Uplink {
                        loss: up.loss_pct / 100.0,
                        jitter_ms: up.jitter_ms,
                    },
                ))
            })
            .collect();
        // p2p: what others heard of each participant.
        let mut heard: HashMap<u64, (u64, u64)> = HashMap::new();
        for part in self.parts.values() {
            for (source, (e, l)) in &part.interval.inbound {
                let h = heard.entry(*source).or_default();
                h.0 += e;
                h.1 += l;
            }
        }
        // What each participant sent this round (SFU or their own client).
        let sent_by: HashMap<u64, u64> = self
            .parts
            .iter()
            .map(|(id, part)| {
                let up = server.get(id).and_then(|s| s.up).map_or(0, |u| u.packets);
                (*id, up.max(part.interval.sent.0))
            })
            .collect();
        let mut round = SampleRound::default();
        for (id, part) in self.parts.iter_mut() {
            let iv = std::mem::take(&mut part.interval);
            let snap = server.get(id).cloned().unwrap_or_default();
            let mut arrived: Vec<(u64, bool)> = iv
                .received_from
                .iter()
                .filter(|(source, _)| sent_by.get(source).copied().unwrap_or(0) > 0)
                .map(|(source, n)| (*source, *n > 0))
                .collect();
            for (source, h) in &snap.heard {
                if !arrived.iter().any(|(s, _)| s == source) {
                    arrived.push((*source, *h));
                }
            }
            if !arrived.is_empty() {
                arrived.sort_unstable();
                round.heard.insert(*id, arrived);
            }
            let up = snap.up.filter(|u| u.expected > 0);
            let down = snap.down;
            let sfu = up.is_some() || down.is_some() || snap.stalled > 0;
            if !sfu && iv.reports == 0 {
                continue;
            }
            let up_loss = up.map(|u| u.loss_pct).or_else(|| {
                heard
                    .get(id)
                    .and_then(|(e, l)| pct(*l, *e))
                    .or(iv.remote_fraction_lost.map(|f| f * 100.0))
            });
            // The client's inbound loss, less what each source lost upstream.
            let client_down = {
                let (mut e, mut l) = (0u64, 0f64);
                for (source, (exp, lost)) in &iv.inbound {
                    let upstream = uplink.get(source).map_or(0.0, |u| u.loss);
                    e += exp;
                    l += (*lost as f64 - *exp as f64 * upstream).max(0.0);
                }
                (e > 0).then(|| (l / e as f64 * 100.0).min(100.0))
            };
            // The SFU's own loss: what it could not send them.
            let sfu_loss = snap.sent.and_then(|(sent, _)| {
                let routed = sent + snap.dropped;
                (routed > 0).then(|| snap.dropped as f64 / routed as f64 * 100.0)
            });
            let mut down_loss = down
                .map(|d| (d.link_loss_pct - sfu_loss.unwrap_or(0.0)).max(0.0))
                .or(client_down);
            // A track that carried nothing is total loss for that stream,
            // whatever the reports say (there may be none).
            if snap.stalled > 0 && snap.tracks > 0 {
                let stalled = f64::from(snap.stalled) / f64::from(snap.tracks) * 100.0;
                down_loss = max_opt(down_loss, Some(stalled));
            }
            let client_jitter = iv
                .inbound_jitter
                .iter()
                .map(|(source, j)| {
                    added_jitter(*j, uplink.get(source).map_or(0.0, |u| u.jitter_ms))
                })
                .fold(None, |acc, j| max_opt(acc, Some(j)));
            let up_jitter = up.map(|u| u.jitter_ms);
            let down_jitter = max_opt(down.map(|d| d.link_jitter_ms), client_jitter);
            let jitter = max_opt(up_jitter, down_jitter).unwrap_or(0.0);
            let rtt = match down.and_then(|d| d.rtt_ms).or(iv.rtt_ms) {
                Some(r) => {
                    part.last_rtt = Some((r, now));
                    Some(r)
                }
                None => part
                    .last_rtt
                    .filter(|(_, at)| now.saturating_duration_since(*at) <= RTT_FRESH)
                    .map(|(r, _)| r),
            };
            let bitrate_kbps = up.map(|u| u.bitrate_bps / 1000.0).or_else(|| {
                let secs = elapsed?;
                (iv.sent.1 > 0).then(|| iv.sent.1 as f64 * 8.0 / secs / 1000.0)
            });
            let client = iv.reports > 0;
            // What reached the SFU, even when nothing did (no packets to
            // expect from: a client that stopped sending).
            let (up_packets, up_bytes) = match snap.up {
                Some(u) => (Some(u.packets), Some(u.bytes)),
                None if client => (Some(iv.sent.0), Some(iv.sent.1)),
                None => (None, None),
            };
            let (down_packets, down_bytes) = match snap.sent {
                Some((p, b)) => (Some(p), Some(b)),
                None if client => (Some(iv.received.0), Some(iv.received.1)),
                None => (None, None),
            };
            let concealed_pct = (iv.concealed.1 > 0)
                .then(|| iv.concealed.0.min(iv.concealed.1) as f64 / iv.concealed.1 as f64 * 100.0);
            let keep = |x: f64| 1.0 - x.clamp(0.0, 100.0) / 100.0;
            let loss_pct = (1.0
                - keep(up_loss.unwrap_or(0.0))
                    * keep(sfu_loss.unwrap_or(0.0))
                    * keep(down_loss.unwrap_or(0.0)))
                * 100.0;
            let mos = self.model.mos(loss_pct, jitter, rtt.unwrap_or(0.0));
            let before = part.classifier.level();
            let level = part.classifier.observe(mos);
            if before != Some(level) {
                round.changes.push(LevelChange {
                    participant: *id,
                    level,
                    previous: before,
                });
            }
            let source = match (sfu, iv.reports > 0) {
                (true, true) => "sfu+client",
                (true, false) => "sfu",
                _ => "client",
            };
            let view = QualityView {
                level,
                mos: round2(mos),
                loss_pct: round2(loss_pct),
                up_loss_pct: up_loss.map(round2),
                down_loss_pct: down_loss.map(round2),
                sfu_loss_pct: sfu_loss.map(round2),
                up_jitter_ms: up_jitter.map(round2),
                down_jitter_ms: down_jitter.map(round2),
                jitter_ms: round2(jitter),
                rtt_ms: rtt.map(round2),
                bitrate_kbps: bitrate_kbps.map(round2),
                up_packets,
                up_bytes,
                down_packets,
                down_bytes,
                audio_level_dbov: up
                    .and_then(|u| u.audio_level_dbov)
                    .or(iv.audio_level.map(dbov))
                    .map(round2),
                voice_activity: up.and_then(|u| u.voice_activity).map(round2),
                concealed_pct: concealed_pct.map(round2),
                jitter_buffer_ms: iv.jitter_buffer_ms.map(round2),
                source: source.to_string(),
                at: at_ms,
            };
            part.latest = Some(view.clone());
            round.samples.push((*id, view));
        }
        round
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests;
