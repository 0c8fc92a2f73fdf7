//! What a lean peer keeps of each inbound stream: the log the load generator
//! reads, and what its receiver reports say (RFC 3550 §6.4.2): loss and
//! jitter from [`ReceiveStats`], and the server's last sender report echoed
//! with the delay since, from which the server measures RTT.

use std::time::Instant;

use webrtc::rtcp::reception_report::ReceptionReport;

use crate::client::{SeqCycles, StreamLog};
use crate::stats::{LossMark, ReceiveStats};

/// Opus's RTP clock.
const CLOCK_RATE: u32 = 48_000;

/// One inbound stream.
#[derive(Debug, Default)]
pub struct Inbound {
    pub log: StreamLog,
    cycles: SeqCycles,
    reception: Reception,
}

impl Inbound {
    /// One packet, arrived `now`.
    pub fn record(&mut self, seq: u16, rtp_ts: u32, payload: &[u8], now: Instant) {
        self.log.record(&mut self.cycles, seq, payload, false);
        self.reception.record(seq, rtp_ts, payload.len(), now);
    }

    /// A sender report about this stream arrived.
    pub fn sender_report(&mut self, ntp_time: u64, now: Instant) {
        self.reception.sender_report(ntp_time, now);
    }

    /// The report block for this stream, as of `now`; starts the next interval.
    pub fn reception_report(&mut self, ssrc: u32, now: Instant) -> ReceptionReport {
        self.reception.report(ssrc, now)
    }
}

/// One inbound Opus stream's statistics and its receiver-report state.
#[derive(Debug)]
pub struct Reception {
    /// RFC 3550 sequence, loss and jitter tracking.
    stats: ReceiveStats,
    report: ReportState,
}

impl Default for Reception {
    fn default() -> Self {
        Reception {
            stats: ReceiveStats::new(CLOCK_RATE),
            report: ReportState::default(),
        }
    }
}

impl Reception {
    /// One packet, arrived `now`.
    pub fn record(&mut self, seq: u16, rtp_ts: u32, payload_len: usize, now: Instant) {
        self.stats.record(seq, rtp_ts, payload_len, now);
    }

    /// A sender report about this stream arrived.
    pub fn sender_report(&mut self, ntp_time: u64, now: Instant) {
        self.report.sender_report(ntp_time, now);
    }

    /// The report block for the stream `ssrc`, as of `now`; starts the next interval.
    pub fn report(&mut self, ssrc: u32, now: Instant) -> ReceptionReport {
        self.report.report(&self.stats, ssrc, now)
    }
}

/// What a receiver report adds to a stream's statistics: where its loss
/// interval started and the last sender report to echo. Kept apart from
/// the statistics so that a receiver that already tracks the stream (the
/// server's quality meter) reports from that, not from a second copy.
#[derive(Debug, Default)]
pub struct ReportState {
    interval: LossMark,
    /// The middle 32 bits of the last sender report's NTP time, and when it came.
    sender_report: Option<(u32, Instant)>,
}

impl ReportState {
    /// A sender report about this stream arrived.
    pub fn sender_report(&mut self, ntp_time: u64, now: Instant) {
        self.sender_report = Some(((ntp_time >> 16) as u32, now));
    }

    /// The report block for the stream `ssrc` these statistics are of, as
    /// of `now`; starts the next interval.
    pub fn report(&mut self, stats: &ReceiveStats, ssrc: u32, now: Instant) -> ReceptionReport {
        let (last_sender_report, delay) = match self.sender_report {
            Some((lsr, at)) => {
                let since = now.saturating_duration_since(at).as_secs_f64();
                (lsr, (since * 65_536.0) as u32)
            }
            None => (0, 0),
        };
        ReceptionReport {
            ssrc,
            fraction_lost: stats.loss_since(&mut self.interval).fraction_lost,
            total_lost: stats.cumulative_lost().min(0x7F_FFFF) as u32,
            last_sequence_number: stats.extended_highest_seq(),
            jitter: stats.jitter() as u32,
            last_sender_report,
            delay,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_report_counts_the_interval_loss_and_the_total() {
        let (epoch, mut s) = (Instant::now(), Inbound::default());
        // Ten packets sent, the 5th lost.
        for seq in (1000u16..1010).filter(|s| *s != 1004) {
            let ts = u32::from(seq) * 960;
            let at = epoch + Duration::from_millis(20 * u64::from(seq));
            s.record(seq, ts, &[], at);
        }
        let r = s.reception_report(7, epoch);
        assert_eq!((r.ssrc, r.total_lost, r.last_sequence_number), (7, 1, 1009));
        assert_eq!(r.fraction_lost, 25, "1 of 10: 25/256");
        assert_eq!(r.jitter, 0, "packets on time have no jitter");
        // Nothing lost since: the fraction starts over, the total stays.
        s.record(1010, 1010 * 960, &[], epoch + Duration::from_millis(20_200));
        let r = s.reception_report(7, epoch);
        assert_eq!((r.fraction_lost, r.total_lost), (0, 1));
    }

    #[test]
    fn late_packets_show_as_jitter() {
        let (epoch, mut s) = (Instant::now(), Inbound::default());
        for i in 0..100u32 {
            // Every other packet 10 ms late: 480 clock units.
            let late = if i % 2 == 1 { 10 } else { 0 };
            let at = epoch + Duration::from_millis(u64::from(20 * i + late));
            s.record(i as u16, i * 960, &[], at);
        }
        let r = s.reception_report(1, epoch);
        assert!((400..=480).contains(&r.jitter), "jitter {}", r.jitter);
    }

    #[test]
    fn the_last_sender_report_is_echoed_with_the_delay_since() {
        let (now, mut s) = (Instant::now(), Inbound::default());
        assert_eq!(s.reception_report(1, now).last_sender_report, 0);
        s.sender_report(0x1122_3344_5566_7788, now);
        let r = s.reception_report(1, now + Duration::from_millis(500));
        assert_eq!(r.last_sender_report, 0x3344_5566);
        assert_eq!(r.delay, 32_768, "half a second in 1/65536 s");
    }
}
