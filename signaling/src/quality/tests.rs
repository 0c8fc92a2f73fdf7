use std::collections::HashMap;
use std::time::{Duration, Instant};

use earshot_sfu::quality::{EModel, QualityLevel};
use earshot_sfu::{DownstreamSnapshot, LinkSnapshot, UpstreamSnapshot};

use super::*;
use crate::protocol::{CallStatsReport, InboundStats};

fn up(expected: u64, lost: u64, jitter_ms: f64) -> UpstreamSnapshot {
    UpstreamSnapshot {
        packets: expected - lost,
        bytes: (expected - lost) * 80,
        expected,
        lost,
        loss_pct: lost as f64 / expected as f64 * 100.0,
        jitter_ms,
        bitrate_bps: 32_000.0,
        audio_level_dbov: Some(40.0),
        voice_activity: Some(0.5),
    }
}

fn down(loss_pct: f64, link_loss_pct: f64, rtt_ms: Option<f64>) -> DownstreamSnapshot {
    DownstreamSnapshot {
        reports: 5,
        expected: 250,
        lost: (loss_pct * 2.5) as u64,
        loss_pct,
        link_loss_pct,
        jitter_ms: 1.0,
        link_jitter_ms: 1.0,
        rtt_ms,
    }
}

fn tracker(ids: &[u64]) -> QualityTracker {
    let mut t = QualityTracker::new(EModel::OPUS, 2);
    for id in ids {
        t.add(*id);
    }
    t
}

fn inbound(from: u64, received: u64, lost: i64) -> InboundStats {
    InboundStats {
        participant_id: from.to_string(),
        packets_received: Some(received),
        packets_lost: Some(lost),
        jitter_ms: Some(3.0),
        ..Default::default()
    }
}

fn report(streams: Vec<InboundStats>) -> CallStatsReport {
    CallStatsReport {
        call_id: "c".into(),
        rtt_ms: Some(30.0),
        inbound: streams,
        ..Default::default()
    }
}

#[test]
fn a_bad_uplink_marks_only_its_owner() {
    let mut t = tracker(&[1, 2]);
    // 1 loses 10 % on its uplink; 2 hears those holes but its own leg is clean.
    let server = HashMap::from([
        (
            1,
            LinkSnapshot {
                up: Some(up(250, 25, 2.0)),
                down: Some(down(0.0, 0.0, Some(20.0))),
                sent: Some((250, 20_000)),
                ..Default::default()
            },
        ),
        (
            2,
            LinkSnapshot {
                up: Some(up(250, 0, 2.0)),
                down: Some(down(10.0, 0.0, Some(20.0))),
                sent: Some((250, 20_000)),
                ..Default::default()
            },
        ),
    ]);
    let round = t.sample(&server, Instant::now(), 1000);
    let by_id: HashMap<u64, &QualityView> = round.samples.iter().map(|(i, v)| (*i, v)).collect();
    assert!((by_id[&1].loss_pct - 10.0).abs() < 0.01, "{:?}", by_id[&1]);
    assert_eq!(by_id[&1].up_loss_pct, Some(10.0));
    assert_eq!(by_id[&1].level, QualityLevel::Poor);
    assert_eq!(by_id[&2].loss_pct, 0.0);
    assert_eq!(by_id[&2].level, QualityLevel::Excellent);
    assert_eq!(by_id[&2].rtt_ms, Some(20.0));
    assert_eq!(by_id[&2].source, "sfu");
    // Both levels are new: two announcements, without a previous level.
    assert_eq!(round.changes.len(), 2);
    assert!(round.changes.iter().all(|c| c.previous.is_none()));
}

#[test]
fn p2p_quality_comes_from_both_clients() {
    let mut t = tracker(&[1, 2]);
    let t0 = Instant::now();
    t.client_report(1, &report(vec![inbound(2, 0, 0)]));
    t.client_report(2, &report(vec![inbound(1, 0, 0)]));
    t.sample(&HashMap::new(), t0, 0);
    // Over the next interval 2 hears 5 % of 1's packets lost; 1 hears all of 2's.
    t.client_report(1, &report(vec![inbound(2, 250, 0)]));
    t.client_report(2, &report(vec![inbound(1, 238, 12)]));
    let round = t.sample(&HashMap::new(), t0 + Duration::from_secs(5), 5000);
    let by_id: HashMap<u64, &QualityView> = round.samples.iter().map(|(i, v)| (*i, v)).collect();
    let one = by_id[&1];
    let two = by_id[&2];
    assert!((one.up_loss_pct.unwrap() - 4.8).abs() < 0.01, "{one:?}");
    assert_eq!(one.down_loss_pct, Some(0.0));
    assert!((two.down_loss_pct.unwrap() - 4.8).abs() < 0.01, "{two:?}");
    assert_eq!(one.source, "client");
    assert_eq!(one.rtt_ms, Some(30.0));
    assert!(one.mos < 3.6, "{}", one.mos);
}

#[test]
fn client_loss_in_an_sfu_call_is_net_of_the_publishers_uplink() {
    let mut t = tracker(&[1, 2]);
    let t0 = Instant::now();
    t.client_report(2, &report(vec![inbound(1, 0, 0)]));
    t.sample(&HashMap::new(), t0, 0);
    // 2's client lost 30 of 250 packets from 1; 1's uplink lost 10 %.
    t.client_report(2, &report(vec![inbound(1, 220, 30)]));
    let server = HashMap::from([(
        1,
        LinkSnapshot {
            up: Some(up(250, 25, 1.0)),
            down: None,
            sent: Some((250, 20_000)),
            ..Default::default()
        },
    )]);
    let round = t.sample(&server, t0 + Duration::from_secs(5), 5000);
    let two = &round.samples.iter().find(|(i, _)| *i == 2).unwrap().1;
    assert!((two.down_loss_pct.unwrap() - 2.0).abs() < 0.01, "{two:?}");
}

#[test]
fn hysteresis_needs_consecutive_samples() {
    let mut t = tracker(&[1]);
    let clean = HashMap::from([(
        1,
        LinkSnapshot {
            up: Some(up(250, 0, 1.0)),
            down: None,
            sent: Some((250, 20_000)),
            ..Default::default()
        },
    )]);
    let lossy = HashMap::from([(
        1,
        LinkSnapshot {
            up: Some(up(250, 50, 1.0)),
            down: None,
            sent: Some((250, 20_000)),
            ..Default::default()
        },
    )]);
    let now = Instant::now();
    assert_eq!(t.sample(&clean, now, 0).changes.len(), 1);
    let one_bad = t.sample(&lossy, now, 1);
    assert!(one_bad.changes.is_empty(), "one bad sample is not a change");
    assert_eq!(one_bad.samples[0].1.level, QualityLevel::Excellent);
    let two_bad = t.sample(&lossy, now, 2);
    assert_eq!(
        two_bad.changes,
        vec![LevelChange {
            participant: 1,
            level: QualityLevel::Poor,
            previous: Some(QualityLevel::Excellent)
        }]
    );
    assert_eq!(t.latest(1).unwrap().level, QualityLevel::Poor);
}

#[test]
fn client_counters_give_volumes_and_concealment() {
    let mut t = tracker(&[1, 2]);
    let now = Instant::now();
    let mut r = report(vec![InboundStats {
        bytes_received: Some(0),
        concealed_samples: Some(0),
        total_samples_received: Some(0),
        jitter_buffer_delay_ms: Some(40.0),
        ..inbound(2, 0, 0)
    }]);
    t.client_report(1, &r);
    t.sample(&HashMap::new(), now, 0);
    r.inbound[0] = InboundStats {
        bytes_received: Some(20_000),
        concealed_samples: Some(4_800),
        total_samples_received: Some(240_000),
        jitter_buffer_delay_ms: Some(60.0),
        ..inbound(2, 250, 0)
    };
    t.client_report(1, &r);
    let round = t.sample(&HashMap::new(), now + Duration::from_secs(5), 1);
    let q = &round.samples.iter().find(|(i, _)| *i == 1).unwrap().1;
    assert_eq!((q.down_packets, q.down_bytes), (Some(250), Some(20_000)));
    assert_eq!(q.concealed_pct, Some(2.0));
    assert_eq!(q.jitter_buffer_ms, Some(60.0));
}

#[test]
fn nothing_measured_means_no_sample() {
    let mut t = tracker(&[1, 2]);
    let idle = HashMap::from([(1, LinkSnapshot::default())]);
    assert!(t.sample(&idle, Instant::now(), 0).samples.is_empty());
}

#[test]
fn counters_going_backwards_start_a_new_stream() {
    let mut t = tracker(&[1, 2]);
    let now = Instant::now();
    t.client_report(1, &report(vec![inbound(2, 1000, 10)]));
    t.sample(&HashMap::new(), now, 0);
    // A renegotiated stream restarts its counters.
    t.client_report(1, &report(vec![inbound(2, 100, 0)]));
    let round = t.sample(&HashMap::new(), now, 1);
    assert_eq!(round.samples[0].1.down_loss_pct, Some(0.0));
}

#[test]
fn unknown_and_self_sources_are_ignored() {
    let mut t = tracker(&[1, 2]);
    t.client_report(1, &report(vec![inbound(1, 100, 50), inbound(99, 100, 50)]));
    let round = t.sample(&HashMap::new(), Instant::now(), 0);
    let one = &round.samples[0].1;
    assert_eq!(one.down_loss_pct, None);
    // A report from someone not in the call is dropped.
    t.client_report(7, &report(vec![inbound(1, 100, 50)]));
}

#[test]
fn a_recent_rtt_stands_in_for_samples_without_one() {
    let mut t = tracker(&[1]);
    let t0 = Instant::now();
    let with_rtt = HashMap::from([(
        1,
        LinkSnapshot {
            up: Some(up(50, 0, 1.0)),
            down: Some(down(0.0, 0.0, Some(80.0))),
            sent: None,
            ..Default::default()
        },
    )]);
    let without = HashMap::from([(
        1,
        LinkSnapshot {
            up: Some(up(50, 0, 1.0)),
            down: None,
            sent: None,
            ..Default::default()
        },
    )]);
    t.sample(&with_rtt, t0, 0);
    let next = t.sample(&without, t0 + Duration::from_secs(1), 1);
    assert_eq!(next.samples[0].1.rtt_ms, Some(80.0));
    let stale = t.sample(&without, t0 + Duration::from_secs(12), 2);
    assert_eq!(stale.samples[0].1.rtt_ms, None, "too old to stand in");
}

#[test]
fn a_track_that_carries_nothing_is_total_loss() {
    let mut t = tracker(&[1, 2]);
    // 2 publishes; the SFU should send 1 its audio but the track carries none.
    let server = HashMap::from([
        (
            1,
            LinkSnapshot {
                up: Some(up(50, 0, 1.0)),
                tracks: 1,
                stalled: 1,
                ..Default::default()
            },
        ),
        (
            2,
            LinkSnapshot {
                up: Some(up(50, 0, 1.0)),
                ..Default::default()
            },
        ),
    ]);
    let round = t.sample(&server, Instant::now(), 0);
    let one = &round.samples.iter().find(|(i, _)| *i == 1).unwrap().1;
    assert_eq!(one.down_loss_pct, Some(100.0));
    assert_eq!(one.level, QualityLevel::Poor);
}
