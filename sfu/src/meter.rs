//! What the SFU measures on each participant's link, as plain types fed by
//! packet headers, receiver-report blocks and `Instant`s (no I/O).
//!
//! - Upstream (participant → SFU): an [`UpstreamMeter`] per publisher sees
//!   every packet the participant sends: RFC 3550 loss and jitter
//!   ([`ReceiveStats`]), bitrate and the RFC 6464 audio level.
//! - Downstream (SFU → participant): a [`DownstreamMeter`] per outgoing track
//!   reads the receiver reports the participant sends about that track: loss
//!   from the cumulative-lost and highest-sequence fields, interarrival
//!   jitter, and the round-trip time from LSR/DLSR (RFC 3550 §6.4.1).
//!
//! A [`LinkSnapshot`] sums both up for one participant over one interval;
//! taking it starts the next interval.

use std::time::{Duration, Instant};

use crate::stats::{rtt_from_receiver_report, ReceiveStats, OPUS_CLOCK_RATE};

/// RFC 6464 level at or below which a packet counts as silence (-dBov).
pub const SILENCE_DBOV: u8 = 70;

/// Upstream figures over one interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UpstreamSnapshot {
    /// Packets received in the interval (duplicates included).
    pub packets: u64,
    /// Their payload bytes.
    pub bytes: u64,
    /// Packets expected in the interval (from sequence numbers).
    pub expected: u64,
    /// Packets expected but not received in the interval.
    pub lost: u64,
    /// `lost / expected` in percent (0 when nothing was expected).
    pub loss_pct: f64,
    /// RFC 3550 interarrival jitter, ms (a running estimate).
    pub jitter_ms: f64,
    /// Payload bitrate over about the last second, bits/s.
    pub bitrate_bps: f64,
    /// Mean audio level of the interval's packets in -dBov (127 = silence),
    /// when the participant sends the RFC 6464 extension.
    pub audio_level_dbov: Option<f64>,
    /// Share of the interval's packets above [`SILENCE_DBOV`] with the voice
    /// flag set, 0..=1 (`None` without the extension).
    pub voice_activity: Option<f64>,
}

/// Downstream figures over one interval, from the participant's receiver reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DownstreamSnapshot {
    /// Report blocks received in the interval (over every track).
    pub reports: u64,
    /// Packets the participant expected, and lost, in the interval.
    pub expected: u64,
    pub lost: u64,
    /// `lost / expected` in percent; from the reports' fraction-lost field
    /// when their sequence fields give no span. Includes what publishers
    /// lost on their own uplinks (the holes pass through the SFU).
    pub loss_pct: f64,
    /// The part of the loss on the SFU → participant leg: each track's loss
    /// less its publisher's uplink loss over the interval, percent.
    pub link_loss_pct: f64,
    /// Highest interarrival jitter reported for any track, ms.
    pub jitter_ms: f64,
    /// The part of that jitter added on the SFU → participant leg: each
    /// track's jitter less its publisher's uplink jitter (in quadrature:
    /// independent jitters add as variances), highest over the tracks, ms.
    pub link_jitter_ms: f64,
    /// Latest round-trip time SFU ↔ participant, ms (needs an SR echoed back).
    pub rtt_ms: Option<f64>,
}

/// One participant's link over one interval.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LinkSnapshot {
    pub up: Option<UpstreamSnapshot>,
    pub down: Option<DownstreamSnapshot>,
    /// Packets and payload bytes the SFU sent the participant in the interval.
    pub sent: Option<(u64, u64)>,
    /// Tracks that should have carried audio to the participant in the
    /// interval (their publisher sent some and is not muted)...
    pub tracks: u32,
    /// ...and how many of those carried none: the participant is not
    /// hearing someone (a renegotiation that never completed, say).
    pub stalled: u32,
    /// Packets the SFU meant to send the participant but could not (a full
    /// socket buffer): the SFU's own share of what they lose.
    pub dropped: u64,
    /// Per publisher whose audio the SFU kept sending the participant:
    /// whether the participant's receiver reports show it arriving (`true`)
    /// or show none of it arriving while it was sent (`false`: one-way
    /// audio). Publishers with nothing to go on are left out.
    pub heard: Vec<(u64, bool)>,
}

/// Everything measured about one publisher's inbound stream.
#[derive(Debug, Clone)]
pub struct UpstreamMeter {
    stats: ReceiveStats,
    interval_packets: u64,
    interval_bytes: u64,
    level_sum: u64,
    level_count: u64,
    voiced: u64,
}

impl Default for UpstreamMeter {
    fn default() -> Self {
        Self::new()
    }
}

impl UpstreamMeter {
    pub fn new() -> Self {
        UpstreamMeter {
            stats: ReceiveStats::new(OPUS_CLOCK_RATE),
            interval_packets: 0,
            interval_bytes: 0,
            level_sum: 0,
            level_count: 0,
            voiced: 0,
        }
    }

    /// One arrived packet, with its audio level (-dBov, voice flag) if any.
    pub fn record(
        &mut self,
        seq: u16,
        rtp_ts: u32,
        payload_len: usize,
        level: Option<(u8, bool)>,
        arrival: Instant,
    ) {
        self.stats.record(seq, rtp_ts, payload_len, arrival);
        self.interval_packets += 1;
        self.interval_bytes += payload_len as u64;
        if let Some((dbov, voice)) = level {
            self.level_sum += u64::from(dbov.min(127));
            self.level_count += 1;
            if voice && dbov < SILENCE_DBOV {
                self.voiced += 1;
            }
        }
    }

    /// The interval's figures; starts the next interval.
    pub fn snapshot(&mut self, now: Instant) -> UpstreamSnapshot {
        let loss = self.stats.interval_loss();
        let (level, voice) = if self.level_count > 0 {
            let n = self.level_count as f64;
            (
                Some(self.level_sum as f64 / n),
                Some(self.voiced as f64 / n),
            )
        } else {
            (None, None)
        };
        let snap = UpstreamSnapshot {
            packets: self.interval_packets,
            bytes: self.interval_bytes,
            expected: loss.expected,
            lost: loss.lost,
            loss_pct: loss.fraction() * 100.0,
            jitter_ms: self.stats.jitter_ms(),
            bitrate_bps: self.stats.bitrate_bps(now),
            audio_level_dbov: level,
            voice_activity: voice,
        };
        self.interval_packets = 0;
        self.interval_bytes = 0;
        self.level_sum = 0;
        self.level_count = 0;
        self.voiced = 0;
        snap
    }

    /// The stream's RFC 3550 statistics.
    pub fn stats(&self) -> &ReceiveStats {
        &self.stats
    }

    /// Totals since the stream started: (packets received, cumulative lost).
    pub fn totals(&self) -> (u64, u64) {
        (self.stats.packets(), self.stats.cumulative_lost())
    }
}

/// One receiver-report block about a stream we send (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBlock {
    pub fraction_lost: u8,
    /// Cumulative packets lost: a 24-bit signed field.
    pub total_lost: u32,
    /// Extended highest sequence number received.
    pub highest_seq: u32,
    /// Interarrival jitter in RTP timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the last SR's NTP time (0: none yet).
    pub last_sr: u32,
    /// Delay since that SR, 1/65536 s.
    pub delay_since_sr: u32,
}

/// Sign-extend RFC 3550's 24-bit cumulative-lost field.
fn lost_24(v: u32) -> i64 {
    let v = v & 0x00ff_ffff;
    if v & 0x0080_0000 != 0 {
        i64::from(v) - 0x0100_0000
    } else {
        i64::from(v)
    }
}

/// Reads the receiver reports one subscriber sends about one outgoing track.
#[derive(Debug, Clone, Default)]
pub struct DownstreamMeter {
    /// (cumulative lost, extended highest sequence) of the previous block.
    prev: Option<(i64, u32)>,
    reports: u64,
    expected: u64,
    lost: i64,
    /// Sum of fraction-lost fields (1/256 units) of the interval's blocks.
    fraction_sum: u64,
    jitter: u32,
    rtt: Option<Duration>,
    /// Whether a block of this interval showed the highest sequence number
    /// received moving on (`None`: no block comparable with an earlier one).
    advanced: Option<bool>,
    /// Packets sent on the track in the previous interval.
    sent_before: u64,
    /// Link loss owed from earlier intervals (≤ 0, in packets): a report
    /// window that caught fewer of the publisher's holes than its uplink
    /// interval did offsets the next one that catches more, so the two
    /// windows not lining up does not add up to loss on this leg.
    carry: f64,
}

impl DownstreamMeter {
    /// Whether the subscriber is getting the track, judged at the end of an
    /// interval in which `sent` packets were sent on it: `Some(false)` when
    /// the interval's reports show no new packet although packets went out
    /// both in it and in the interval before (so whatever a report covers,
    /// some were due); `None` when there is nothing to go on (no report, a
    /// pause in sending). Call before the interval's snapshot.
    pub fn heard(&mut self, sent: u64) -> Option<bool> {
        let sent_before = std::mem::replace(&mut self.sent_before, sent);
        match self.advanced {
            Some(true) => Some(true),
            Some(false) if sent > 0 && sent_before > 0 => Some(false),
            _ => None,
        }
    }

    /// Take in one report block; `now_ntp_middle32` is the local time of
    /// arrival in the SR/RR NTP format (for the round-trip time).
    pub fn record(&mut self, block: &ReportBlock, now_ntp_middle32: u32) {
        let total = lost_24(block.total_lost);
        if let Some((prev_lost, prev_seq)) = self.prev {
            let span = block.highest_seq.wrapping_sub(prev_seq);
            // A span of more than 2^31 is the sequence going backwards
            // (a reordered report or a reset): skip it.
            if span > 0 && span < 1 << 31 {
                self.expected += u64::from(span);
                self.lost += total - prev_lost;
                self.advanced = Some(true);
            } else if span == 0 {
                self.advanced.get_or_insert(false);
            }
        }
        self.prev = Some((total, block.highest_seq));
        self.reports += 1;
        self.fraction_sum += u64::from(block.fraction_lost);
        self.jitter = block.jitter;
        if let Some(rtt) =
            rtt_from_receiver_report(now_ntp_middle32, block.last_sr, block.delay_since_sr)
        {
            self.rtt = Some(rtt);
        }
    }

    /// Latest round-trip time, if an SR has been echoed.
    pub fn rtt(&self) -> Option<Duration> {
        self.rtt
    }

    fn take(&mut self) -> (u64, u64, i64, u64, u32, Option<Duration>) {
        let out = (
            self.reports,
            self.expected,
            self.lost,
            self.fraction_sum,
            self.jitter,
            self.rtt,
        );
        self.reports = 0;
        self.expected = 0;
        self.lost = 0;
        self.fraction_sum = 0;
        self.advanced = None;
        out
    }
}

/// A publisher's uplink over the interval, for attributing what its
/// subscribers see.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Uplink {
    /// Loss fraction, 0..=1.
    pub loss: f64,
    pub jitter_ms: f64,
}

/// Jitter added after `upstream_ms` already was: `sqrt(total² − upstream²)`.
pub fn added_jitter(total_ms: f64, upstream_ms: f64) -> f64 {
    (total_ms * total_ms - upstream_ms * upstream_ms)
        .max(0.0)
        .sqrt()
}

/// Sum up one subscriber's tracks for the interval (`None` if no track
/// reported); starts the next interval on each of them. Tracks come with
/// their publisher; `uplink` gives a publisher's uplink figures over the
/// same interval.
pub fn downstream_snapshot<'a>(
    tracks: impl IntoIterator<Item = (u64, &'a mut DownstreamMeter)>,
    uplink: impl Fn(u64) -> Uplink,
) -> Option<DownstreamSnapshot> {
    let (mut reports, mut expected, mut lost, mut fractions) = (0u64, 0u64, 0i64, 0u64);
    let mut link_lost = 0f64;
    // Without sequence spans: the fraction-lost fields, less each
    // publisher's uplink loss (sum over blocks, in 0..=1 units).
    let mut link_fractions = 0f64;
    let mut jitter = 0u32;
    let mut link_jitter = 0f64;
    let mut rtt: Option<Duration> = None;
    for (publisher, t) in tracks {
        let (r, e, l, f, j, t_rtt) = t.take();
        reports += r;
        expected += e;
        lost += l;
        fractions += f;
        let up = uplink(publisher);
        if r > 0 {
            let per_block = f as f64 / r as f64 / 256.0;
            link_fractions += (per_block - up.loss.clamp(0.0, 1.0)).max(0.0) * r as f64;
        }
        if e > 0 {
            let net = l.max(0) as f64 - e as f64 * up.loss.clamp(0.0, 1.0) + t.carry;
            t.carry = net.clamp(-(e as f64), 0.0);
            link_lost += net.max(0.0);
        }
        if r > 0 {
            jitter = jitter.max(j);
            let j_ms = f64::from(j) * 1000.0 / f64::from(OPUS_CLOCK_RATE);
            link_jitter = link_jitter.max(added_jitter(j_ms, up.jitter_ms));
        }
        rtt = match (rtt, t_rtt) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
    if reports == 0 {
        return None;
    }
    let lost = lost.max(0) as u64; // duplicates can make the count negative
    let (loss_pct, link_loss_pct) = if expected > 0 {
        (
            (lost.min(expected) as f64 / expected as f64) * 100.0,
            (link_lost / expected as f64 * 100.0).min(100.0),
        )
    } else {
        let f = fractions as f64 / reports as f64 / 256.0 * 100.0;
        (f, link_fractions / reports as f64 * 100.0)
    };
    Some(DownstreamSnapshot {
        reports,
        expected,
        lost: lost.min(expected),
        loss_pct,
        link_loss_pct,
        jitter_ms: f64::from(jitter) * 1000.0 / f64::from(OPUS_CLOCK_RATE),
        link_jitter_ms: link_jitter,
        rtt_ms: rtt.map(|d| d.as_secs_f64() * 1000.0),
    })
}

#[cfg(test)]
#[path = "meter_tests.rs"]
mod tests;
