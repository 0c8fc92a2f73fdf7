//! Tests of [`super`]: sequence rewriting and the routing table.

use super::*;
use proptest::prelude::*;

fn full_mesh(ids: &[u64]) -> Forwarder {
    let mut f = Forwarder::new();
    for id in ids {
        f.add_participant(*id);
    }
    for a in ids {
        for b in ids {
            f.subscribe(*a, *b);
        }
    }
    f
}

fn receivers(out: &[(u64, u16, u32)]) -> Vec<u64> {
    out.iter().map(|o| o.0).collect()
}

#[test]
fn everyone_gets_the_others_never_themselves() {
    let mut f = full_mesh(&[1, 2, 3]);
    let mut out = vec![];
    f.route(1, 10, 960, &mut out);
    assert_eq!(out, vec![(2, 10, 960), (3, 10, 960)]);
    f.route(2, 7, 0, &mut out);
    assert_eq!(receivers(&out), vec![1, 3]);
    f.route(3, 5, 0, &mut out);
    assert_eq!(receivers(&out), vec![1, 2]);
    f.subscribe(1, 1);
    f.route(1, 11, 1920, &mut out);
    assert_eq!(receivers(&out), vec![2, 3], "self-subscription is ignored");
    f.route(99, 1, 0, &mut out);
    assert!(out.is_empty(), "unknown sender");
}

#[test]
fn mute_leaves_no_gap_after_unmute() {
    let mut f = full_mesh(&[1, 2, 3]);
    let mut out = vec![];
    f.route(1, 100, 0, &mut out);
    assert_eq!(out, vec![(2, 100, 0), (3, 100, 0)]);
    f.set_self_muted(1, true);
    for seq in 101..=150 {
        f.route(1, seq, 0, &mut out);
        assert!(out.is_empty());
        f.route(2, seq, 0, &mut out);
        assert_eq!(receivers(&out), vec![1, 3], "others still heard");
    }
    f.set_self_muted(1, false);
    f.route(1, 151, 9, &mut out);
    assert_eq!(
        out,
        vec![(2, 101, 9), (3, 101, 9)],
        "continues after the last sent"
    );
    f.route(1, 152, 10, &mut out);
    assert_eq!(out, vec![(2, 102, 10), (3, 102, 10)]);
}

#[test]
fn self_and_moderator_mute_are_independent() {
    let mut f = full_mesh(&[1, 2]);
    let mut out = vec![];
    f.set_moderator_muted(1, true);
    f.set_self_muted(1, true);
    f.set_self_muted(1, false);
    assert_eq!(
        f.mute_state(1),
        Some(MuteState {
            self_muted: false,
            moderator_muted: true
        })
    );
    assert!(f.is_muted(1));
    f.route(1, 1, 0, &mut out);
    assert!(out.is_empty(), "self-unmute does not lift a moderator mute");
    f.set_moderator_muted(1, false);
    f.route(1, 2, 0, &mut out);
    assert_eq!(receivers(&out), vec![2]);
    assert_eq!(f.mute_state(7), None);
    assert!(!f.is_muted(7));
}

#[test]
fn removal_stops_routing_both_ways() {
    let mut f = full_mesh(&[1, 2, 3]);
    f.remove_participant(2);
    assert_eq!(f.len(), 2);
    let mut out = vec![];
    f.route(1, 1, 0, &mut out);
    assert_eq!(receivers(&out), vec![3]);
    f.route(2, 1, 0, &mut out);
    assert!(out.is_empty());
    f.subscribe(1, 2);
    f.route(1, 2, 0, &mut out);
    assert_eq!(receivers(&out), vec![3], "cannot subscribe a non-member");
    f.unsubscribe(1, 3);
    f.route(1, 3, 0, &mut out);
    assert!(out.is_empty());
}

#[test]
fn mute_across_the_wraparound_at_65535() {
    let mut f = full_mesh(&[1, 2]);
    let mut out = vec![];
    f.route(1, 65533, 7, &mut out);
    assert_eq!(out, vec![(2, 65533, 7)]);
    f.set_self_muted(1, true);
    for seq in [65534, 65535, 0, 1] {
        f.route(1, seq, 0, &mut out);
    }
    f.set_self_muted(1, false);
    let mut got = vec![];
    for seq in 2..6 {
        f.route(1, seq, 0, &mut out);
        got.push(out[0].1);
    }
    assert_eq!(got, vec![65534, 65535, 0, 1]);
}

#[test]
fn wraparound_duplicates_and_skips() {
    let mut r = SeqRewriter::new();
    assert_eq!(r.forward(65534, 1), Some((65534, 1)));
    assert_eq!(r.forward(65535, 2), Some((65535, 2)));
    assert_eq!(r.forward(0, 3), Some((0, 3)));
    assert_eq!(r.forward(0, 3), None, "duplicate of the newest");
    assert_eq!(r.forward(65535, 2), None, "late duplicate");
    r.skip(1);
    r.skip(2);
    assert_eq!(r.forward(3, 4), Some((1, 4)));
}

#[test]
fn reordered_packets_keep_their_mapping() {
    let mut r = SeqRewriter::new();
    assert_eq!(r.forward(10, 100), Some((10, 100)));
    assert_eq!(r.forward(12, 120), Some((12, 120)));
    assert_eq!(
        r.forward(11, 110),
        Some((11, 110)),
        "late but its slot is free"
    );
    assert_eq!(r.forward(11, 110), None, "then a duplicate");
    assert_eq!(r.forward(9, 90), None, "before the stream began");
    r.skip(13);
    assert_eq!(
        r.forward(15, 150),
        Some((14, 150)),
        "14 lost upstream: a hole"
    );
    assert_eq!(
        r.forward(14, 140),
        Some((13, 140)),
        "late, fills its own hole"
    );
    r.skip(17); // 16 not arrived yet
    assert_eq!(r.forward(18, 180), Some((16, 180)));
    assert_eq!(r.forward(16, 160), None, "behind the skip: would reuse 14");
    for s in 16..100 {
        r.forward(s, 0);
    }
    assert_eq!(r.forward(30, 0), None, "outside the reorder window");
}

#[test]
fn late_skip_keeps_later_mapping() {
    let mut r = SeqRewriter::new();
    r.forward(1, 0);
    r.forward(3, 0);
    r.skip(2); // late and withheld: its slot stays a hole
    assert_eq!(r.forward(4, 0), Some((4, 0)));
    assert_eq!(r.forward(2, 0), None);
}

#[test]
fn skips_before_the_first_packet_are_ignored() {
    let mut r = SeqRewriter::new();
    r.skip(500);
    r.skip(501);
    assert_eq!(r.forward(502, 5), Some((502, 5)));
}

#[test]
fn restart_continues_the_outgoing_stream() {
    let mut r = SeqRewriter::new();
    assert_eq!(r.forward(100, 48_000), Some((100, 48_000)));
    assert_eq!(
        r.forward(40_000, 7),
        None,
        "one far packet is not a restart"
    );
    assert_eq!(r.forward(101, 48_960), Some((101, 48_960)));
    assert_eq!(r.forward(20_000, 1_000_000), None);
    assert_eq!(r.forward(20_001, 1_000_960), Some((102, 49_920)));
    assert_eq!(r.forward(20_002, 1_001_920), Some((103, 50_880)));
    // A restart while muted: the skipped packets still take no numbers.
    r.skip(5000 + 30_000);
    r.skip(5001 + 30_000);
    assert_eq!(r.forward(5002 + 30_000, 0), Some((104, 51_840)));
}

#[derive(Debug, Clone)]
enum Op {
    Forward(u16),
    Skip(u16),
}

/// A stream starting at `start` with some reordering, duplicates and skips.
fn ops() -> impl Strategy<Value = Vec<Op>> {
    (
        any::<u16>(),
        prop::collection::vec((0..3u16, -3i16..4, any::<bool>()), 1..400),
    )
        .prop_map(|(start, steps)| {
            let mut seq = start;
            steps
                .into_iter()
                .map(|(step, jitter, skip)| {
                    seq = seq.wrapping_add(step);
                    let s = seq.wrapping_add_signed(jitter);
                    if skip {
                        Op::Skip(s)
                    } else {
                        Op::Forward(s)
                    }
                })
                .collect()
        })
}

proptest! {
    #[test]
    fn outgoing_numbers_are_never_reused(ops in ops()) {
        let mut r = SeqRewriter::new();
        let mut seen = std::collections::HashSet::new();
        for op in ops {
            match op {
                Op::Forward(s) => if let Some((out, _)) = r.forward(s, 0) {
                    prop_assert!(seen.insert(out), "{out} sent twice");
                },
                Op::Skip(s) => r.skip(s),
            }
        }
    }

    #[test]
    fn in_order_stream_with_skips_has_no_gaps(start in any::<u16>(), skips in prop::collection::vec(any::<bool>(), 1..300)) {
        let mut r = SeqRewriter::new();
        let mut sent = vec![];
        for (i, skip) in skips.iter().enumerate() {
            let seq = start.wrapping_add(i as u16);
            if *skip { r.skip(seq) } else { sent.extend(r.forward(seq, 0).map(|o| o.0)) }
        }
        for pair in sent.windows(2) {
            prop_assert_eq!(pair[1], pair[0].wrapping_add(1));
        }
    }
}
