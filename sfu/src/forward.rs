//! Who receives whose audio, and the sequence rewriting that keeps each
//! outgoing stream gap-free when packets are deliberately not forwarded
//! (mute). Plain types driven by packet headers; no I/O.

use std::collections::{BTreeMap, BTreeSet};

/// Late packets at most this many sequence numbers behind the newest can
/// still be forwarded (if their outgoing slot is free).
pub const REORDER_WINDOW: u16 = 64;
/// A jump forward by this much or more is a suspected stream restart
/// (RFC 3550 A.1 `MAX_DROPOUT`).
pub const MAX_DROPOUT: u16 = 3000;
/// A packet this far behind or more is a suspected stream restart
/// (RFC 3550 A.1 `MAX_MISORDER`).
pub const MAX_MISORDER: u16 = 100;
/// After a stream restart the outgoing timestamp continues this far after
/// the last one sent: one 20 ms Opus frame at 48 kHz.
pub const RESYNC_TS_STEP: u32 = 960;

/// Where an incoming sequence number lies relative to the newest one seen.
enum Position {
    /// `n` ahead of the newest (1..MAX_DROPOUT).
    Newer(u16),
    /// `n` behind the newest (0 = the newest itself).
    Late(u16),
    /// Too far either way: another stream, or a restart.
    Jump,
}

fn position(newest: u16, seq: u16) -> Position {
    let ahead = seq.wrapping_sub(newest);
    let back = newest.wrapping_sub(seq);
    if ahead != 0 && ahead < MAX_DROPOUT {
        Position::Newer(ahead)
    } else if back < MAX_MISORDER {
        Position::Late(back)
    } else {
        Position::Jump
    }
}

/// Maps one source's RTP sequence numbers and timestamps onto one outgoing
/// stream. Each skipped packet (not forwarded on purpose) shifts the
/// outgoing sequence by one so the subscriber sees no hole; packets lost
/// upstream still show as holes. Late packets within [`REORDER_WINDOW`]
/// keep their mapping; duplicates, and late packets whose slot was closed by
/// a skip, are dropped. A sequence jump confirmed by two consecutive packets
/// (RFC 3550 A.1) is a restart: the outgoing stream continues seamlessly.
///
/// Timestamps pass through unchanged (a mute shows as a timestamp gap, which
/// receivers treat like DTX silence) except after a restart, when they
/// continue [`RESYNC_TS_STEP`] after the last one sent.
#[derive(Debug, Clone, Default)]
pub struct SeqRewriter {
    /// outgoing = incoming - seq_offset (mod 2^16)
    seq_offset: u16,
    /// outgoing = incoming - ts_offset (mod 2^32)
    ts_offset: u32,
    /// Newest incoming sequence number handled (forwarded or skipped).
    newest: Option<u16>,
    /// Bit `i`: the slot of `newest - i` is taken (sent, skipped, or behind a skip).
    closed: u64,
    /// Outgoing timestamp of the newest packet sent in order.
    last_out_ts: Option<u32>,
    /// Set after a restart: the next packet sent re-anchors the timestamps.
    ts_resync: bool,
    /// After a jump: the sequence number that would confirm a restart.
    restart_next: Option<u16>,
}

impl SeqRewriter {
    /// A rewriter with nothing sent yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The outgoing sequence number and timestamp for a packet to forward,
    /// or `None` to drop it (duplicate, too late, or an unconfirmed jump).
    pub fn forward(&mut self, seq: u16, ts: u32) -> Option<(u16, u32)> {
        let Some(newest) = self.newest else {
            self.newest = Some(seq);
            self.closed = u64::MAX;
            return Some(self.emit_in_order(seq, ts));
        };
        match position(newest, seq) {
            Position::Newer(ahead) => {
                self.advance(seq, ahead);
                Some(self.emit_in_order(seq, ts))
            }
            Position::Late(back) => {
                let bit = 1u64.checked_shl(u32::from(back)).unwrap_or(0);
                if bit == 0 || self.closed & bit != 0 {
                    return None;
                }
                self.closed |= bit;
                Some((
                    seq.wrapping_sub(self.seq_offset),
                    ts.wrapping_sub(self.ts_offset),
                ))
            }
            Position::Jump if self.restart_next == Some(seq) => {
                self.restart(seq);
                Some(self.emit_in_order(seq, ts))
            }
            Position::Jump => {
                self.restart_next = Some(seq.wrapping_add(1));
                None
            }
        }
    }

    /// A packet intentionally not forwarded: the next forwarded packet takes
    /// its outgoing sequence number.
    pub fn skip(&mut self, seq: u16) {
        let Some(newest) = self.newest else {
            return; // nothing sent yet: the stream starts at the first forwarded packet
        };
        match position(newest, seq) {
            Position::Newer(ahead) => {
                self.advance(seq, ahead);
                // Older slots now map onto outgoing numbers already used.
                self.closed = u64::MAX;
                self.seq_offset = self.seq_offset.wrapping_add(1);
            }
            Position::Late(back) => {
                // Its slot stays a hole: later packets were already sent.
                self.closed |= 1u64.checked_shl(u32::from(back)).unwrap_or(0);
            }
            Position::Jump if self.restart_next == Some(seq) => {
                self.restart(seq);
                self.seq_offset = self.seq_offset.wrapping_add(1);
            }
            Position::Jump => self.restart_next = Some(seq.wrapping_add(1)),
        }
    }

    /// `seq` is `ahead` past the newest: shift the window.
    fn advance(&mut self, seq: u16, ahead: u16) {
        self.closed = self.closed.checked_shl(u32::from(ahead)).unwrap_or(0) | 1;
        self.newest = Some(seq);
        self.restart_next = None;
    }

    /// The source restarted at `seq`: map it to the next outgoing number.
    fn restart(&mut self, seq: u16) {
        let newest = self.newest.unwrap_or(seq);
        let next_out = newest.wrapping_sub(self.seq_offset).wrapping_add(1);
        self.seq_offset = seq.wrapping_sub(next_out);
        self.newest = Some(seq);
        self.closed = u64::MAX;
        self.restart_next = None;
        self.ts_resync = self.last_out_ts.is_some();
    }

    fn emit_in_order(&mut self, seq: u16, ts: u32) -> (u16, u32) {
        if self.ts_resync {
            self.ts_resync = false;
            let anchor = self.last_out_ts.unwrap_or(ts).wrapping_add(RESYNC_TS_STEP);
            self.ts_offset = ts.wrapping_sub(anchor);
        }
        let out_ts = ts.wrapping_sub(self.ts_offset);
        self.last_out_ts = Some(out_ts);
        (seq.wrapping_sub(self.seq_offset), out_ts)
    }
}

/// A participant's mute flags; either one silences their audio.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MuteState {
    /// Muted by the participant.
    pub self_muted: bool,
    /// Muted server-side by a moderator.
    pub moderator_muted: bool,
}

impl MuteState {
    /// Whether the participant's audio is withheld.
    pub fn is_muted(&self) -> bool {
        self.self_muted || self.moderator_muted
    }
}

#[derive(Debug, Default)]
struct Source {
    mute: MuteState,
    /// Subscriber -> rewriter of the (this source -> subscriber) stream.
    subscribers: BTreeMap<u64, SeqRewriter>,
}

/// The routing table of one call: participants, their mute flags, and one
/// [`SeqRewriter`] per (publisher, subscriber) stream.
#[derive(Debug, Default)]
pub struct Forwarder {
    sources: BTreeMap<u64, Source>,
    members: BTreeSet<u64>,
}

impl Forwarder {
    /// An empty call.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a participant (no-op if present); routes come with [`Self::subscribe`].
    pub fn add_participant(&mut self, id: u64) {
        self.members.insert(id);
        self.sources.entry(id).or_default();
    }

    /// Remove a participant and every stream from or to them.
    pub fn remove_participant(&mut self, id: u64) {
        self.members.remove(&id);
        self.sources.remove(&id);
        for s in self.sources.values_mut() {
            s.subscribers.remove(&id);
        }
    }

    /// Number of participants.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the call has no participants.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// `subscriber` now has a track for `publisher`'s audio. Never self;
    /// both must be participants. Subscribing again keeps the stream state.
    pub fn subscribe(&mut self, publisher: u64, subscriber: u64) {
        if publisher == subscriber || !self.members.contains(&subscriber) {
            return;
        }
        if let Some(s) = self.sources.get_mut(&publisher) {
            s.subscribers.entry(subscriber).or_default();
        }
    }

    /// `subscriber` no longer receives `publisher`.
    pub fn unsubscribe(&mut self, publisher: u64, subscriber: u64) {
        if let Some(s) = self.sources.get_mut(&publisher) {
            s.subscribers.remove(&subscriber);
        }
    }

    /// The participant's own mute toggle.
    pub fn set_self_muted(&mut self, id: u64, muted: bool) {
        if let Some(s) = self.sources.get_mut(&id) {
            s.mute.self_muted = muted;
        }
    }

    /// A moderator's server-side mute, independent of the self-mute.
    pub fn set_moderator_muted(&mut self, id: u64, muted: bool) {
        if let Some(s) = self.sources.get_mut(&id) {
            s.mute.moderator_muted = muted;
        }
    }

    /// Both mute flags, or `None` for an unknown participant.
    pub fn mute_state(&self, id: u64) -> Option<MuteState> {
        self.sources.get(&id).map(|s| s.mute)
    }

    /// Whether the participant's audio is withheld (either flag).
    pub fn is_muted(&self, id: u64) -> bool {
        self.mute_state(id).is_some_and(|m| m.is_muted())
    }

    /// Route one packet from `from`: fills `out` with (subscriber, seq, ts)
    /// for every subscriber that should receive it (cleared first, so one
    /// buffer can be reused without allocating). Never routes to `from`.
    pub fn route(&mut self, from: u64, seq: u16, ts: u32, out: &mut Vec<(u64, u16, u32)>) {
        out.clear();
        let Some(source) = self.sources.get_mut(&from) else {
            return;
        };
        let muted = source.mute.is_muted();
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
#[path = "forward_tests.rs"]
mod tests;
