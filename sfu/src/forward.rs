//! Who receives whose audio, and the sequence rewriting that keeps each
//! outgoing stream gap-free when packets are deliberately not forwarded
//! (mute). Plain types driven by packet headers; no I/O.

use std::collections::{BTreeMap, BTreeSet};

/// Maps one source's RTP sequence numbers and timestamps onto an outgoing
/// stream. Skipped packets (not forwarded on purpose) shift the outgoing
/// sequence so the subscriber sees no hole.
#[derive(Debug, Clone, Default)]
pub struct SeqRewriter {
    /// outgoing = incoming - offset (mod 2^16)
    offset: u16,
    last_in: Option<u16>,
}

impl SeqRewriter {
    /// The outgoing sequence number and timestamp for a forwarded packet, or
    /// `None` for a late packet that would land behind what was sent.
    pub fn forward(&mut self, seq: u16, ts: u32) -> Option<(u16, u32)> {
        if let Some(last) = self.last_in {
            let delta = seq.wrapping_sub(last);
            if delta == 0 || delta > u16::MAX / 2 {
                return None; // duplicate or older than the newest sent
            }
        }
        self.last_in = Some(seq);
        Some((seq.wrapping_sub(self.offset), ts))
    }

    /// A packet intentionally not forwarded: later ones close the gap.
    pub fn skip(&mut self, seq: u16) {
        match self.last_in {
            Some(last) => {
                let delta = seq.wrapping_sub(last);
                if delta == 0 || delta > u16::MAX / 2 {
                    return;
                }
                self.offset = self.offset.wrapping_add(delta);
                self.last_in = Some(seq);
            }
            None => {
                // Nothing sent yet: start the stream at the next forwarded packet.
                self.offset = self.offset.wrapping_add(1);
                self.last_in = Some(seq);
            }
        }
    }
}

#[derive(Debug, Default)]
struct Source {
    self_muted: bool,
    moderator_muted: bool,
    /// Subscriber -> rewriter of the (this source -> subscriber) stream.
    subscribers: BTreeMap<u64, SeqRewriter>,
}

/// The routing table of one call.
#[derive(Debug, Default)]
pub struct Forwarder {
    sources: BTreeMap<u64, Source>,
    members: BTreeSet<u64>,
}

impl Forwarder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add_participant(&mut self, id: u64) {
        self.members.insert(id);
        self.sources.entry(id).or_default();
    }

    pub fn remove_participant(&mut self, id: u64) {
        self.members.remove(&id);
        self.sources.remove(&id);
        for s in self.sources.values_mut() {
            s.subscribers.remove(&id);
        }
    }

    /// `subscriber` now has a track for `publisher`'s audio. Never self.
    pub fn subscribe(&mut self, publisher: u64, subscriber: u64) {
        if publisher == subscriber || !self.members.contains(&subscriber) {
            return;
        }
        if let Some(s) = self.sources.get_mut(&publisher) {
            s.subscribers.entry(subscriber).or_default();
        }
    }

    pub fn set_self_muted(&mut self, id: u64, muted: bool) {
        if let Some(s) = self.sources.get_mut(&id) {
            s.self_muted = muted;
        }
    }

    pub fn set_moderator_muted(&mut self, id: u64, muted: bool) {
        if let Some(s) = self.sources.get_mut(&id) {
            s.moderator_muted = muted;
        }
    }

    pub fn is_muted(&self, id: u64) -> bool {
        self.sources
            .get(&id)
            .is_some_and(|s| s.self_muted || s.moderator_muted)
    }

    /// Route one packet from `from`: fills `out` with (subscriber, seq, ts)
    /// for every subscriber that should receive it (cleared first).
    pub fn route(&mut self, from: u64, seq: u16, ts: u32, out: &mut Vec<(u64, u16, u32)>) {
        out.clear();
        let Some(source) = self.sources.get_mut(&from) else {
            return;
        };
        let muted = source.self_muted || source.moderator_muted;
        for (to, rewriter) in source.subscribers.iter_mut() {
            if muted {
                rewriter.skip(seq);
            } else if let Some((s, t)) = rewriter.forward(seq, ts) {
                out.push((*to, s, t));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn everyone_gets_the_others_never_themselves() {
        let mut f = full_mesh(&[1, 2, 3]);
        let mut out = vec![];
        f.route(1, 10, 960, &mut out);
        let to: Vec<u64> = out.iter().map(|o| o.0).collect();
        assert_eq!(to, vec![2, 3]);
        f.route(3, 5, 0, &mut out);
        assert_eq!(out.iter().map(|o| o.0).collect::<Vec<_>>(), vec![1, 2]);
    }

    #[test]
    fn mute_leaves_no_gap_after_unmute() {
        let mut f = full_mesh(&[1, 2]);
        let mut out = vec![];
        f.route(1, 100, 0, &mut out);
        assert_eq!(out, vec![(2, 100, 0)]);
        f.set_self_muted(1, true);
        for seq in 101..=150 {
            f.route(1, seq, 0, &mut out);
            assert!(out.is_empty());
        }
        f.set_self_muted(1, false);
        f.route(1, 151, 9, &mut out);
        assert_eq!(
            out,
            vec![(2, 101, 9)],
            "continues right after the last sent"
        );
        f.set_moderator_muted(1, true);
        f.route(1, 152, 0, &mut out);
        assert!(out.is_empty());
        assert!(f.is_muted(1));
    }

    #[test]
    fn wraparound_and_late_packets() {
        let mut r = SeqRewriter::default();
        assert_eq!(r.forward(65534, 1), Some((65534, 1)));
        assert_eq!(r.forward(65535, 2), Some((65535, 2)));
        assert_eq!(r.forward(0, 3), Some((0, 3)));
        assert_eq!(r.forward(65535, 2), None, "late duplicate dropped");
        r.skip(1);
        r.skip(2);
        assert_eq!(r.forward(3, 4), Some((1, 4)));
    }

    #[test]
    fn removal_stops_routing_both_ways() {
        let mut f = full_mesh(&[1, 2, 3]);
        f.remove_participant(2);
        let mut out = vec![];
        f.route(1, 1, 0, &mut out);
        assert_eq!(out.iter().map(|o| o.0).collect::<Vec<_>>(), vec![3]);
        f.route(2, 1, 0, &mut out);
        assert!(out.is_empty());
    }
}
