//! Tests of [`super`] on synthetic packet trains.

use super::*;
use proptest::prelude::*;

const FRAME_TS: u32 = 960; // 20 ms at 48 kHz

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A 20 ms Opus train of `n` packets from `seq0`, sending packet `i` at
/// `arrival(i)` unless `keep(i)` is false.
fn train(
    s: &mut ReceiveStats,
    t0: Instant,
    seq0: u16,
    n: u32,
    keep: impl Fn(u32) -> bool,
    arrival: impl Fn(u32) -> Duration,
) {
    for i in (0..n).filter(|i| keep(*i)) {
        let seq = seq0.wrapping_add(i as u16);
        s.record(seq, 5_000 + i * FRAME_TS, 80, t0 + arrival(i));
    }
}

fn on_time(i: u32) -> Duration {
    ms(20 * u64::from(i))
}

#[test]
fn each_reader_of_the_loss_keeps_its_own_interval() {
    let (t0, mut s) = (Instant::now(), ReceiveStats::new(48_000));
    let mut report = LossMark::default();
    // 100 packets, every tenth lost: the meter reads it...
    train(&mut s, t0, 100, 100, |i| i % 10 != 9, on_time);
    let m = s.interval_loss();
    assert_eq!((m.expected, m.lost), (99, 9), "up to the highest received");
    // ...and a receiver report, read later, still sees the whole interval.
    let r = s.loss_since(&mut report);
    assert_eq!((r.expected, r.lost), (99, 9));
    // 50 more, none lost: both start over where they last read.
    train(&mut s, t0, 200, 50, |_| true, on_time);
    assert_eq!(
        s.loss_since(&mut report).lost,
        1,
        "the 100th, seen missing now"
    );
    assert_eq!(s.interval_loss().lost, 1, "the meter sees it too");
}

#[test]
fn counts_a_clean_stream() {
    let t0 = Instant::now();
    let mut s = ReceiveStats::new(OPUS_CLOCK_RATE);
    train(&mut s, t0, 1000, 100, |_| true, on_time);
    assert_eq!((s.packets(), s.bytes(), s.received()), (100, 8000, 100));
    assert_eq!(
        (s.expected(), s.cumulative_lost(), s.duplicates()),
        (100, 0, 0)
    );
    assert_eq!(s.extended_highest_seq(), 1099);
    assert_eq!(s.jitter(), 0.0);
}

#[test]
fn every_tenth_packet_missing_is_ten_percent() {
    let t0 = Instant::now();
    let mut s = ReceiveStats::new(OPUS_CLOCK_RATE);
    train(&mut s, t0, 7, 1001, |i| i % 10 != 5, on_time);
    assert_eq!(s.expected(), 1001);
    assert_eq!(s.cumulative_lost(), 100);
    let first = s.interval_loss();
    assert!((first.fraction() - 0.1).abs() < 0.001, "{first:?}");
    assert_eq!(first.fraction_lost, 25, "floor(100 * 256 / 1001)");
    // Next interval: no loss at all.
    train(&mut s, t0, 7 + 1001, 50, |_| true, |i| on_time(i + 1001));
    assert_eq!(
        s.interval_loss(),
        IntervalLoss {
            expected: 50,
            lost: 0,
            fraction_lost: 0
        }
    );
    assert_eq!(s.cumulative_lost(), 100);
}

#[test]
fn wraparound_counts_cycles() {
    let t0 = Instant::now();
    let mut s = ReceiveStats::new(OPUS_CLOCK_RATE);
    train(&mut s, t0, 65_000, 2000, |i| i != 600, on_time);
    assert_eq!(
        s.extended_highest_seq(),
        (1 << 16) | u32::from(65_000u16.wrapping_add(1999))
    );
    assert_eq!((s.expected(), s.cumulative_lost()), (2000, 1));
}

#[test]
fn reordering_and_duplicates() {
    let t0 = Instant::now();
    let mut s = ReceiveStats::new(OPUS_CLOCK_RATE);
    for (i, seq) in [65_534u16, 0, 65_535, 1, 1, 65_535, 2]
        .into_iter()
        .enumerate()
    {
        s.record(seq, 0, 10, t0 + ms(i as u64 * 20));
    }
    assert_eq!(s.packets(), 7);
    assert_eq!(s.duplicates(), 2);
    assert_eq!((s.expected(), s.received(), s.cumulative_lost()), (5, 5, 0));
    // A packet from before the first one extends the sequence back.
    s.record(65_533, 0, 10, t0 + ms(200));
    assert_eq!((s.expected(), s.received()), (6, 6));
    assert_eq!(s.extended_highest_seq(), (1 << 16) | 2);
}

#[test]
fn a_confirmed_jump_restarts_the_sequence() {
    let t0 = Instant::now();
    let mut s = ReceiveStats::new(OPUS_CLOCK_RATE);
    train(&mut s, t0, 100, 10, |i| i != 3, on_time);
    s.record(40_000, 0, 10, t0 + ms(300)); // stray: not counted
    assert_eq!((s.expected(), s.received()), (10, 9));
    s.record(30_000, 0, 10, t0 + ms(320));
    s.record(30_001, 960, 10, t0 + ms(340));
    assert_eq!((s.expected(), s.received(), s.cumulative_lost()), (1, 1, 0));
    s.record(30_002, 1920, 10, t0 + ms(360));
    assert_eq!(s.extended_highest_seq(), 30_002);
    assert_eq!(s.packets(), 13);
}

/// RFC 3550 A.8 computed independently, in seconds.
fn reference_jitter(send: &[f64], arrive: &[f64]) -> f64 {
    let mut j = 0.0;
    for i in 1..send.len() {
        let d = (arrive[i] - arrive[i - 1]) - (send[i] - send[i - 1]);
        j += (d.abs() - j) / 16.0;
    }
    j
}

#[test]
fn jitter_matches_the_rfc_formula() {
    let t0 = Instant::now();
    let mut s = ReceiveStats::new(OPUS_CLOCK_RATE);
    // Known arrival jitter: a repeating pattern of delays 0, 7, 2, 12, 5 ms.
    let delay = |i: u32| ms([0, 7, 2, 12, 5][i as usize % 5]);
    train(&mut s, t0, 0, 500, |_| true, |i| on_time(i) + delay(i));
    let send: Vec<f64> = (0..500).map(|i| f64::from(i) * 0.020).collect();
    let arrive: Vec<f64> = (0..500)
        .map(|i| on_time(i).as_secs_f64() + delay(i).as_secs_f64())
        .collect();
    let expected_ms = reference_jitter(&send, &arrive) * 1000.0;
    assert!(
        (s.jitter_ms() - expected_ms).abs() < 0.01,
        "{} vs {expected_ms}",
        s.jitter_ms()
    );
    assert!((s.jitter() - expected_ms * 48.0).abs() < 0.5);
    // Mean |D| of the pattern is (7 + 5 + 10 + 7 + 5) / 5 = 6.8 ms.
    assert!((s.jitter_ms() - 6.8).abs() < 0.5);
}

#[test]
fn alternating_delay_converges_to_its_step() {
    let t0 = Instant::now();
    let mut s = ReceiveStats::new(OPUS_CLOCK_RATE);
    train(
        &mut s,
        t0,
        0,
        300,
        |_| true,
        |i| on_time(i) + ms(10 * u64::from(i % 2)),
    );
    assert!((s.jitter_ms() - 10.0).abs() < 0.01, "{}", s.jitter_ms());
}

#[test]
fn bitrate_over_the_last_second() {
    let t0 = Instant::now();
    let mut s = ReceiveStats::new(OPUS_CLOCK_RATE);
    assert_eq!(s.bitrate_bps(t0), 0.0);
    // 50 packets/s of 80 bytes: 32 kbit/s.
    train(&mut s, t0, 0, 150, |_| true, on_time);
    let bps = s.bitrate_bps(t0 + ms(3000));
    assert!((bps - 32_000.0).abs() < 2_000.0, "{bps}");
    assert!(s.bitrate_bps(t0 + ms(10_000)) == 0.0, "idle stream");
}

#[test]
fn rtt_from_report_blocks() {
    let lsr = 0x1234_0000;
    let dlsr = 3 * 65_536; // 3 s held by the receiver
    let now = lsr + dlsr + 6_554; // + ~100 ms
    let rtt = rtt_from_receiver_report(now, lsr, dlsr).unwrap();
    assert!((rtt.as_secs_f64() - 0.1).abs() < 0.001, "{rtt:?}");
    assert_eq!(rtt_from_receiver_report(now, 0, dlsr), None, "no SR yet");
    assert_eq!(
        rtt_from_receiver_report(lsr + 10, lsr, 20),
        None,
        "negative"
    );
    assert_eq!(
        rtt_from_receiver_report(lsr - 10, lsr, 0),
        None,
        "future SR"
    );
    let wrapped = rtt_from_receiver_report(100, u32::MAX - 6_553 + 100, 0).unwrap();
    assert!((wrapped.as_secs_f64() - 0.1).abs() < 0.001);
}

#[test]
fn ntp_conversions() {
    let half = UNIX_EPOCH + ms(500);
    assert_eq!(ntp_timestamp(half), (NTP_UNIX_OFFSET << 32) | 0x8000_0000);
    assert_eq!(ntp_middle32(half), 0x7E80_8000);
    let later = half + ms(1500);
    assert_eq!(ntp_middle32(later).wrapping_sub(ntp_middle32(half)), 98_304);
    let before_1970 = UNIX_EPOCH - ms(1);
    assert_eq!(ntp_timestamp(before_1970), NTP_UNIX_OFFSET << 32);
}

proptest! {
    #[test]
    fn never_panics_and_stays_consistent(
        packets in prop::collection::vec((any::<u16>(), any::<u32>(), 0..2000usize, 0..5000u64), 0..200)
    ) {
        let t0 = Instant::now();
        let mut s = ReceiveStats::new(OPUS_CLOCK_RATE);
        for (seq, ts, len, at) in packets {
            s.record(seq, ts, len, t0 + ms(at));
            prop_assert!(s.received() <= s.expected());
            prop_assert!(s.jitter().is_finite() && s.jitter() >= 0.0);
            let _ = s.interval_loss();
            let _ = s.bitrate_bps(t0 + ms(at));
        }
    }
}
