use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;

fn feed(meter: &mut UpstreamMeter, start: Instant, seqs: impl Iterator<Item = u16>) {
    for (i, seq) in seqs.enumerate() {
        let at = start + Duration::from_millis(20 * i as u64);
        meter.record(seq, u32::from(seq) * 960, 60, Some((30, true)), at);
    }
}

#[test]
fn upstream_loss_matches_dropped_packets() {
    let mut m = UpstreamMeter::new();
    let t0 = Instant::now();
    // Every 10th packet never arrives: 10 % loss.
    feed(&mut m, t0, (0u16..500).filter(|s| s % 10 != 3));
    let snap = m.snapshot(t0 + Duration::from_secs(10));
    assert_eq!(snap.expected, 500);
    assert_eq!(snap.lost, 50);
    assert!((snap.loss_pct - 10.0).abs() < 1e-9, "{}", snap.loss_pct);
    assert_eq!(snap.packets, 450);
    assert_eq!(snap.bytes, 450 * 60);
    assert_eq!(snap.audio_level_dbov, Some(30.0));
    assert_eq!(snap.voice_activity, Some(1.0));
    // The next interval starts empty.
    let next = m.snapshot(t0 + Duration::from_secs(11));
    assert_eq!((next.expected, next.lost, next.packets), (0, 0, 0));
    assert_eq!(next.audio_level_dbov, None);
}

#[test]
fn silence_counts_no_voice() {
    let mut m = UpstreamMeter::new();
    let t0 = Instant::now();
    for i in 0..50u16 {
        m.record(i, u32::from(i) * 960, 3, Some((127, false)), t0);
    }
    let snap = m.snapshot(t0);
    assert_eq!(snap.voice_activity, Some(0.0));
    assert_eq!(snap.audio_level_dbov, Some(127.0));
}

fn block(total_lost: u32, highest_seq: u32, fraction_lost: u8) -> ReportBlock {
    ReportBlock {
        fraction_lost,
        total_lost,
        highest_seq,
        jitter: 96, // 2 ms at 48 kHz
        last_sr: 0,
        delay_since_sr: 0,
    }
}

#[test]
fn downstream_loss_from_cumulative_fields() {
    let mut t = DownstreamMeter::default();
    t.record(&block(0, 1000, 0), 0);
    t.record(&block(5, 1050, 25), 0);
    t.record(&block(10, 1100, 25), 0);
    let snap = downstream_snapshot([(1, &mut t)], |_| Uplink::default()).unwrap();
    assert_eq!(snap.expected, 100);
    assert_eq!(snap.lost, 10);
    assert!((snap.loss_pct - 10.0).abs() < 1e-9);
    assert!((snap.jitter_ms - 2.0).abs() < 1e-9);
    assert_eq!(snap.rtt_ms, None);
    assert!(
        downstream_snapshot([(1, &mut t)], |_| Uplink::default()).is_none(),
        "interval restarts"
    );
}

#[test]
fn downstream_falls_back_to_fraction_lost() {
    let mut t = DownstreamMeter::default();
    t.record(&block(3, 10, 64), 0); // first block: no span yet
    let snap = downstream_snapshot([(1, &mut t)], |_| Uplink::default()).unwrap();
    assert!((snap.loss_pct - 25.0).abs() < 1e-9, "{}", snap.loss_pct);
}

#[test]
fn negative_cumulative_lost_is_sign_extended() {
    let mut t = DownstreamMeter::default();
    t.record(&block(0x00ff_fffe, 100, 0), 0); // -2 (duplicates)
    t.record(&block(0, 200, 0), 0); // +2 over 100 packets
    let snap = downstream_snapshot([(1, &mut t)], |_| Uplink::default()).unwrap();
    assert_eq!(snap.lost, 2);
}

#[test]
fn round_trip_time_from_lsr_and_dlsr() {
    let mut t = DownstreamMeter::default();
    // SR sent at NTP-middle 0x10000 (1 s); the receiver held it 0.5 s; the
    // report arrives at 1.75 s: RTT 0.25 s.
    let b = ReportBlock {
        last_sr: 0x0001_0000,
        delay_since_sr: 0x8000,
        ..block(0, 1, 0)
    };
    t.record(&b, 0x0001_c000);
    let snap = downstream_snapshot([(1, &mut t)], |_| Uplink::default()).unwrap();
    assert!(
        (snap.rtt_ms.unwrap() - 250.0).abs() < 0.1,
        "{:?}",
        snap.rtt_ms
    );
}

#[test]
fn uplink_loss_is_not_blamed_on_the_subscriber() {
    let mut t = DownstreamMeter::default();
    t.record(&block(0, 0, 0), 0);
    t.record(&block(12, 100, 0), 0); // 12 % heard lost ...
    let snap = downstream_snapshot([(7, &mut t)], |p| Uplink {
        loss: if p == 7 { 0.10 } else { 0.0 },
        jitter_ms: 0.0,
    })
    .unwrap();
    assert!((snap.loss_pct - 12.0).abs() < 1e-9);
    // ... of which 10 % never reached the SFU.
    assert!(
        (snap.link_loss_pct - 2.0).abs() < 1e-9,
        "{}",
        snap.link_loss_pct
    );
}

#[test]
fn uplink_jitter_is_taken_out_in_quadrature() {
    let mut t = DownstreamMeter::default();
    t.record(
        &ReportBlock {
            jitter: 240,
            ..block(0, 0, 0)
        },
        0,
    ); // 5 ms
    let snap = downstream_snapshot([(1, &mut t)], |_| Uplink {
        loss: 0.0,
        jitter_ms: 3.0,
    })
    .unwrap();
    assert!((snap.jitter_ms - 5.0).abs() < 1e-9);
    assert!(
        (snap.link_jitter_ms - 4.0).abs() < 1e-9,
        "{}",
        snap.link_jitter_ms
    );
    assert_eq!(added_jitter(2.0, 3.0), 0.0);
}

#[test]
fn several_tracks_add_up() {
    let mut a = DownstreamMeter::default();
    let mut b = DownstreamMeter::default();
    a.record(&block(0, 0, 0), 0);
    a.record(&block(0, 100, 0), 0);
    b.record(&block(0, 0, 0), 0);
    b.record(&block(20, 100, 0), 0);
    let snap = downstream_snapshot([(1, &mut a), (2, &mut b)], |_| Uplink::default()).unwrap();
    assert_eq!((snap.expected, snap.lost), (200, 20));
}

proptest! {
    #[test]
    fn report_blocks_never_panic_and_stay_in_range(
        blocks in prop::collection::vec((any::<u8>(), any::<u32>(), any::<u32>(), any::<u32>(), any::<u32>(), any::<u32>()), 0..40),
        now in any::<u32>(),
    ) {
        let mut t = DownstreamMeter::default();
        for (f, tl, hs, j, lsr, dlsr) in blocks {
            t.record(&ReportBlock { fraction_lost: f, total_lost: tl, highest_seq: hs, jitter: j, last_sr: lsr, delay_since_sr: dlsr }, now);
        }
        if let Some(s) = downstream_snapshot([(1, &mut t)], |_| Uplink::default()) {
            prop_assert!((0.0..=100.0).contains(&s.loss_pct));
            prop_assert!(s.lost <= s.expected || s.expected == 0);
            prop_assert!(s.jitter_ms >= 0.0);
        }
    }
}

#[test]
fn a_first_report_without_a_span_does_not_blame_uplink_loss_on_the_subscriber() {
    let mut t = DownstreamMeter::default();
    t.record(&block(3, 10, 26), 0); // ~10 % by the fraction-lost field
    let snap = downstream_snapshot([(7, &mut t)], |_| Uplink {
        loss: 0.10,
        jitter_ms: 0.0,
    })
    .unwrap();
    assert!(snap.loss_pct > 9.0);
    assert!(snap.link_loss_pct < 0.5, "{}", snap.link_loss_pct);
}

#[test]
fn windows_that_do_not_line_up_even_out_instead_of_adding_loss() {
    // The publisher loses 10 %; the subscriber's report windows catch 4
    // of its holes in one interval and 6 in the next: no loss on its leg.
    let mut t = DownstreamMeter::default();
    let up = |_| Uplink {
        loss: 0.10,
        jitter_ms: 0.0,
    };
    t.record(&block(0, 0, 0), 0);
    t.record(&block(4, 50, 0), 0);
    let first = downstream_snapshot([(7, &mut t)], up).unwrap();
    t.record(&block(10, 100, 0), 0);
    let second = downstream_snapshot([(7, &mut t)], up).unwrap();
    assert_eq!((first.link_loss_pct, second.link_loss_pct), (0.0, 0.0));
    // Real loss on the leg still shows.
    t.record(&block(20, 150, 0), 0);
    let third = downstream_snapshot([(7, &mut t)], up).unwrap();
    assert!(
        (third.link_loss_pct - 10.0).abs() < 1e-9,
        "{}",
        third.link_loss_pct
    );
}

#[test]
fn a_track_is_heard_while_reports_move_on_and_not_heard_when_they_stall_under_sending() {
    let mut t = DownstreamMeter::default();
    t.record(&block(0, 100, 0), 0);
    // First block: nothing to compare with yet.
    assert_eq!(t.heard(50), None);
    downstream_snapshot([(7, &mut t)], |_| Uplink::default());
    t.record(&block(0, 150, 0), 0);
    assert_eq!(t.heard(50), Some(true));
    downstream_snapshot([(7, &mut t)], |_| Uplink::default());
    // Packets keep going out, the reports stop moving: not heard.
    t.record(&block(0, 150, 0), 0);
    assert_eq!(t.heard(50), Some(false));
    downstream_snapshot([(7, &mut t)], |_| Uplink::default());
    // No report this interval: no news.
    assert_eq!(t.heard(50), None);
    // A pause in sending (a mute) is not a stalled track.
    t.record(&block(0, 150, 0), 0);
    assert_eq!(t.heard(0), None);
    downstream_snapshot([(7, &mut t)], |_| Uplink::default());
    t.record(&block(0, 150, 0), 0);
    assert_eq!(t.heard(50), None, "sending only just resumed");
}
