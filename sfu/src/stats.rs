//! Receive-side statistics of one inbound RTP stream, computed from the
//! packets themselves (webrtc 0.17's inbound stats carry no loss/jitter):
//! RFC 3550 A.1 sequence tracking, A.3 loss, A.8 interarrival jitter, plus
//! duplicates, a sliding-window bitrate and RTT from receiver reports.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::forward::{MAX_DROPOUT, MAX_MISORDER};

/// RTP clock rate of Opus (RFC 7587), whatever the sampling rate.
pub const OPUS_CLOCK_RATE: u32 = 48_000;
/// Width of one bitrate bucket.
const BUCKET: Duration = Duration::from_millis(100);
/// Buckets in the bitrate window (10 x 100 ms = about the last second).
const BUCKETS: usize = 10;
/// Internal extended sequence numbers start one cycle up, so a packet
/// reordered before the first one (across a wrap) does not underflow.
const EXT_BASE: u64 = 1 << 16;
/// Seconds between the NTP era (1900) and the Unix epoch (1970).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// Loss over one report interval (RFC 3550 A.3).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IntervalLoss {
    /// Packets expected in the interval.
    pub expected: u64,
    /// Packets expected but not received (duplicates do not offset losses).
    pub lost: u64,
    /// `lost / expected` as the RR field's 8-bit fixed-point fraction.
    pub fraction_lost: u8,
}

/// Where a report interval started, for [`ReceiveStats::loss_since`]: each
/// reader of a stream's loss (the quality meter, receiver reports) keeps
/// its own, over one set of statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LossMark {
    expected: u64,
    received: u64,
    /// The sequence restart it counts from (a restart zeroes the counts).
    restarts: u64,
}

impl IntervalLoss {
    /// The lost fraction, 0.0..=1.0.
    pub fn fraction(&self) -> f64 {
        if self.expected == 0 {
            0.0
        } else {
            self.lost as f64 / self.expected as f64
        }
    }
}

/// Statistics of one inbound stream, fed every packet as it arrives.
#[derive(Debug, Clone)]
pub struct ReceiveStats {
    clock_rate: u32,
    /// Every packet recorded, including duplicates and discarded ones.
    packets: u64,
    duplicates: u64,
    bytes: u64,
    /// Arrival of the first packet: origin of arrival times and buckets.
    origin: Option<Instant>,
    /// Extended sequence numbers (offset by EXT_BASE) of the sequence start
    /// and of the highest packet.
    base_ext: u64,
    max_ext: u64,
    /// Bit `i`: packet `max_ext - i` was received.
    recent: u128,
    /// Unique packets received since the sequence (re)started.
    received: u64,
    /// After a jump: the sequence number that would confirm a restart.
    bad_seq: Option<u16>,
    /// Sequence (re)starts so far.
    restarts: u64,
    /// Where the interval of [`ReceiveStats::interval_loss`] started.
    mark: LossMark,
    /// RFC 3550 A.8: previous transit time and the jitter, in RTP units.
    last_transit: Option<u32>,
    jitter: f64,
    /// (bucket index, payload bytes) ring for the bitrate.
    buckets: [(u64, u64); BUCKETS],
}

impl ReceiveStats {
    /// Empty statistics for a stream with this RTP clock rate (Hz).
    pub fn new(clock_rate: u32) -> Self {
        Self {
            clock_rate: clock_rate.max(1),
            packets: 0,
            duplicates: 0,
            bytes: 0,
            origin: None,
            base_ext: 0,
            max_ext: 0,
            recent: 0,
            received: 0,
            bad_seq: None,
            restarts: 0,
            mark: LossMark::default(),
            last_transit: None,
            jitter: 0.0,
            buckets: [(u64::MAX, 0); BUCKETS],
        }
    }

    /// Record one arrived packet: sequence number, RTP timestamp, payload
    /// length and arrival time.
    pub fn record(&mut self, seq: u16, rtp_ts: u32, payload_len: usize, arrival: Instant) {
        self.packets += 1;
        self.bytes += payload_len as u64;
        let origin = *self.origin.get_or_insert(arrival);
        let elapsed = arrival.saturating_duration_since(origin);
        self.count_bytes(elapsed, payload_len as u64);
        if self.max_ext == 0 {
            self.restart(seq);
        } else if !self.track_sequence(seq) {
            return; // duplicate, or not (yet) part of the stream
        }
        // RFC 3550 A.8, with the arrival time converted to RTP units.
        let nanos = elapsed
            .as_nanos()
            .saturating_mul(u128::from(self.clock_rate));
        let arrival_rtp = (nanos / 1_000_000_000) as u32; // wraps like RTP time
        let transit = arrival_rtp.wrapping_sub(rtp_ts);
        if let Some(last) = self.last_transit {
            let d = f64::from((transit.wrapping_sub(last) as i32).unsigned_abs());
            self.jitter += (d - self.jitter) / 16.0;
        }
        self.last_transit = Some(transit);
    }

    /// Start (or restart) the sequence at `seq` (RFC 3550 A.1 `init_seq`).
    fn restart(&mut self, seq: u16) {
        self.base_ext = EXT_BASE + u64::from(seq);
        self.max_ext = self.base_ext;
        self.recent = 1;
        self.received = 1;
        self.bad_seq = None;
        self.restarts += 1;
        self.last_transit = None;
    }

    /// RFC 3550 A.1 `update_seq`; false for a packet not counted as received.
    fn track_sequence(&mut self, seq: u16) -> bool {
        let max_seq = self.max_ext as u16;
        let ahead = seq.wrapping_sub(max_seq);
        let back = max_seq.wrapping_sub(seq);
        if ahead != 0 && ahead < MAX_DROPOUT {
            self.max_ext += u64::from(ahead);
            self.recent = self.recent.checked_shl(u32::from(ahead)).unwrap_or(0) | 1;
        } else if back < MAX_MISORDER {
            let bit = 1u128 << back; // back < 100 < 128
            if self.recent & bit != 0 {
                self.duplicates += 1;
                return false;
            }
            self.recent |= bit;
            self.base_ext = self.base_ext.min(self.max_ext - u64::from(back));
        } else if self.bad_seq == Some(seq) {
            self.restart(seq); // two sequential packets: the source restarted
            return true;
        } else {
            self.bad_seq = Some(seq.wrapping_add(1));
            return false;
        }
        self.bad_seq = None;
        self.received += 1;
        true
    }

    fn count_bytes(&mut self, elapsed: Duration, bytes: u64) {
        let idx = (elapsed.as_nanos() / BUCKET.as_nanos()) as u64;
        let Some(slot) = self.buckets.get_mut((idx % BUCKETS as u64) as usize) else {
            return;
        };
        if slot.0 == idx {
            slot.1 += bytes;
        } else if slot.0 == u64::MAX || slot.0 < idx {
            *slot = (idx, bytes);
        } // else: an arrival time older than the window
    }

    /// Every packet recorded, including duplicates.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Payload bytes of every packet recorded, including duplicates.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Packets received more than once (within the last 100 sequence numbers).
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Unique packets received since the sequence (re)started.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The RR "extended highest sequence number received": wraparound
    /// cycles in the high 16 bits, highest sequence number in the low 16.
    pub fn extended_highest_seq(&self) -> u32 {
        self.max_ext.saturating_sub(EXT_BASE) as u32
    }

    /// Packets expected since the sequence (re)started.
    pub fn expected(&self) -> u64 {
        if self.received == 0 {
            0
        } else {
            self.max_ext - self.base_ext + 1
        }
    }

    /// Cumulative number of packets lost.
    pub fn cumulative_lost(&self) -> u64 {
        self.expected().saturating_sub(self.received)
    }

    /// Loss since the previous call (RFC 3550 A.3); starts a new interval.
    pub fn interval_loss(&mut self) -> IntervalLoss {
        let mut mark = self.mark;
        let loss = self.loss_since(&mut mark);
        self.mark = mark;
        loss
    }

    /// Loss since `mark` (RFC 3550 A.3), which then marks now.
    pub fn loss_since(&self, mark: &mut LossMark) -> IntervalLoss {
        let (expected_prior, received_prior) = if mark.restarts == self.restarts {
            (mark.expected, mark.received)
        } else {
            (0, 0)
        };
        let expected = self.expected();
        let expected_interval = expected.saturating_sub(expected_prior);
        let received_interval = self.received.saturating_sub(received_prior);
        *mark = LossMark {
            expected,
            received: self.received,
            restarts: self.restarts,
        };
        let lost = expected_interval.saturating_sub(received_interval);
        let fraction_lost = (lost << 8)
            .checked_div(expected_interval)
            .map_or(0, |f| f.min(255) as u8);
        IntervalLoss {
            expected: expected_interval,
            lost,
            fraction_lost,
        }
    }

    /// Interarrival jitter in RTP timestamp units (RFC 3550 A.8).
    pub fn jitter(&self) -> f64 {
        self.jitter
    }

    /// Interarrival jitter in milliseconds.
    pub fn jitter_ms(&self) -> f64 {
        self.jitter * 1000.0 / f64::from(self.clock_rate)
    }

    /// Payload bitrate over about the last second, in bits per second.
    pub fn bitrate_bps(&self, now: Instant) -> f64 {
        let Some(origin) = self.origin else {
            return 0.0;
        };
        let elapsed = now.saturating_duration_since(origin);
        let current = (elapsed.as_nanos() / BUCKET.as_nanos()) as u64;
        let first = current.saturating_sub(BUCKETS as u64 - 1);
        let bytes: u64 = self
            .buckets
            .iter()
            .filter(|(idx, _)| *idx >= first && *idx <= current)
            .map(|(_, b)| b)
            .sum();
        let window_start = Duration::from_nanos(first.saturating_mul(BUCKET.as_nanos() as u64));
        let span = elapsed.saturating_sub(window_start).max(BUCKET);
        bytes as f64 * 8.0 / span.as_secs_f64()
    }
}

/// Round-trip time from a receiver report block (RFC 3550 §6.4.1): `now`,
/// `lsr` (last SR) and `dlsr` (delay since last SR) in the middle 32 bits of
/// NTP time, units of 1/65536 s. `None` without an SR (`lsr == 0`) or if
/// the values are inconsistent (negative, or more than 9 hours).
pub fn rtt_from_receiver_report(now_ntp_middle32: u32, lsr: u32, dlsr: u32) -> Option<Duration> {
    if lsr == 0 {
        return None;
    }
    let since_sr = now_ntp_middle32.wrapping_sub(lsr);
    if since_sr > i32::MAX as u32 {
        return None; // the SR would be in the future
    }
    let rtt = since_sr.checked_sub(dlsr)?;
    Some(Duration::from_nanos(
        u64::from(rtt) * 1_000_000_000 / 65_536,
    ))
}

/// A 64-bit NTP timestamp: seconds since 1900 (high 32 bits, wrapping) and
/// a binary fraction of a second. Times before 1970 read as 1970.
pub fn ntp_timestamp(t: SystemTime) -> u64 {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs().wrapping_add(NTP_UNIX_OFFSET) & 0xffff_ffff;
    let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

/// The middle 32 bits of the NTP timestamp (as in SR/RR LSR and DLSR).
pub fn ntp_middle32(t: SystemTime) -> u32 {
    (ntp_timestamp(t) >> 16) as u32
}

#[cfg(test)]
#[path = "stats_tests.rs"]
mod tests;
