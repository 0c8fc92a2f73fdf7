//! Live call issues, as a plain time-driven type fed one quality round at a
//! time (tested without sockets, like the level classifier).
//!
//! `no_audio_sent`: a participant who is in the call and not muted sends no
//! audio packets, or only silence (RFC 6464 level 127: no voice), for
//! `after` while someone else in the call speaks: a dead or wrong
//! microphone, an OS-level mute, a missing permission. It clears as soon
//! as their voice comes through (or they mute, or leave).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// A kind of live issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    NoAudioSent,
    NoAudioReceived,
}

impl IssueKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IssueKind::NoAudioSent => "no_audio_sent",
            IssueKind::NoAudioReceived => "no_audio_received",
        }
    }
}

/// What one participant did in a round.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoundInput {
    pub participant: u64,
    /// Muted (by themselves or a moderator): silence is expected.
    pub muted: bool,
    /// Whether their voice reached the server this round: `Some(false)` for
    /// no packets or only silence, `None` when there is nothing to go on.
    pub voice: Option<bool>,
    /// Whether any audio reached them this round (`None`: not measured).
    pub received: Option<bool>,
}

/// An issue raised or cleared.
#[derive(Debug, Clone, PartialEq)]
pub struct IssueChange {
    pub participant: u64,
    pub kind: IssueKind,
    pub raised: bool,
    /// When the condition began (ms since the epoch).
    pub since_ms: i64,
    /// On clearing: how long the issue lasted.
    pub duration_ms: Option<i64>,
}

#[derive(Debug, Default)]
struct Watch {
    /// When the condition began while someone else spoke.
    since: Option<(Instant, i64)>,
    /// Raised, since (ms).
    raised: Option<i64>,
}

/// Watches every participant of one call.
#[derive(Debug)]
pub struct IssueDetector {
    after: Duration,
    watches: HashMap<(u64, IssueKind), Watch>,
    /// The previous round: a round's measurements cover the time since.
    last: Option<Instant>,
}

impl IssueDetector {
    /// Raise `no_audio_sent` after `after` of silence while others speak.
    pub fn new(after: Duration) -> IssueDetector {
        IssueDetector {
            after,
            watches: HashMap::new(),
            last: None,
        }
    }

    /// One round; the issues raised and cleared by it.
    pub fn observe(&mut self, now: Instant, now_ms: i64, round: &[RoundInput]) -> Vec<IssueChange> {
        let mut out = vec![];
        // What this round measured began when the previous one ended.
        let began = self.last.replace(now).unwrap_or(now);
        let began_ms = now_ms - now.saturating_duration_since(began).as_millis() as i64;
        for p in round {
            let others_speak = round
                .iter()
                .any(|o| o.participant != p.participant && o.voice == Some(true));
            // Silence is expected from a muted participant.
            let sending = match (p.muted, p.voice) {
                (true, _) => Some(false),
                (false, Some(v)) => Some(!v),
                (false, None) => None,
            };
            let receiving = p.received.map(|r| !r);
            for (kind, bad) in [
                (IssueKind::NoAudioSent, sending),
                (IssueKind::NoAudioReceived, receiving),
            ] {
                let key = (p.participant, kind);
                let watch = self.watches.entry(key).or_default();
                match bad {
                    // Nothing to go on this round: keep what we had.
                    None => {}
                    Some(false) => {
                        watch.since = None;
                        if let Some(since) = watch.raised.take() {
                            out.push(cleared(p.participant, kind, since, now_ms));
                        }
                    }
                    Some(true) => {
                        if watch.since.is_none() && others_speak {
                            watch.since = Some((began, began_ms));
                        }
                        if let Some((at, at_ms)) = watch.since {
                            if watch.raised.is_none()
                                && now.saturating_duration_since(at) >= self.after
                            {
                                watch.raised = Some(at_ms);
                                out.push(IssueChange {
                                    participant: p.participant,
                                    kind,
                                    raised: true,
                                    since_ms: at_ms,
                                    duration_ms: None,
                                });
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// The participant left: their raised issues end with them.
    pub fn remove(&mut self, participant: u64, now_ms: i64) -> Vec<IssueChange> {
        let mut out = vec![];
        for kind in [IssueKind::NoAudioSent, IssueKind::NoAudioReceived] {
            if let Some(since) = self
                .watches
                .remove(&(participant, kind))
                .and_then(|w| w.raised)
            {
                out.push(cleared(participant, kind, since, now_ms));
            }
        }
        out
    }

    /// Issues still raised.
    pub fn raised(&self) -> Vec<(u64, IssueKind, i64)> {
        self.watches
            .iter()
            .filter_map(|((p, kind), w)| w.raised.map(|since| (*p, *kind, since)))
            .collect()
    }
}

fn cleared(participant: u64, kind: IssueKind, since: i64, now_ms: i64) -> IssueChange {
    IssueChange {
        participant,
        kind,
        raised: false,
        since_ms: since,
        duration_ms: Some((now_ms - since).max(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(a: Option<bool>, b: Option<bool>, a_muted: bool) -> Vec<RoundInput> {
        vec![
            RoundInput {
                participant: 1,
                muted: a_muted,
                voice: a,
                received: Some(true),
            },
            RoundInput {
                participant: 2,
                muted: false,
                voice: b,
                received: Some(true),
            },
        ]
    }

    /// Feed `rounds` one second apart from `t0`; every change with its second.
    fn run(
        d: &mut IssueDetector,
        t0: Instant,
        rounds: &[Vec<RoundInput>],
    ) -> Vec<(u64, IssueChange)> {
        let mut out = vec![];
        for (i, r) in rounds.iter().enumerate() {
            let s = i as u64 + 1;
            for c in d.observe(t0 + Duration::from_secs(s), s as i64 * 1000, r) {
                out.push((s, c));
            }
        }
        out
    }

    #[test]
    fn a_silent_microphone_while_the_other_speaks_is_raised_after_the_delay_and_cleared_by_voice() {
        let mut d = IssueDetector::new(Duration::from_secs(5));
        let t0 = Instant::now();
        let mut rounds = vec![round(Some(false), Some(true), false); 7];
        rounds.push(round(Some(true), Some(true), false));
        let changes = run(&mut d, t0, &rounds);
        assert_eq!(changes.len(), 2, "{changes:?}");
        // Silent from the start (the first round's measurement began at it):
        // raised once 5 s of silence are seen.
        let (at, raised) = &changes[0];
        assert_eq!(
            (*at, raised.participant, raised.raised, raised.since_ms),
            (6, 1, true, 1000)
        );
        let (at, cleared) = &changes[1];
        assert_eq!(
            (*at, cleared.raised, cleared.duration_ms),
            (8, false, Some(7000))
        );
    }

    #[test]
    fn nobody_speaking_muted_silence_and_missing_data_raise_nothing() {
        let t0 = Instant::now();
        for rounds in [
            vec![round(Some(false), Some(false), false); 20], // a quiet moment
            vec![round(Some(false), Some(true), true); 20],   // muted
            vec![round(None, Some(true), false); 20],         // no measurement
            vec![round(Some(true), Some(true), false); 20],   // a healthy call
        ] {
            let mut d = IssueDetector::new(Duration::from_secs(5));
            assert_eq!(run(&mut d, t0, &rounds), vec![]);
        }
    }

    #[test]
    fn muting_or_leaving_ends_a_raised_issue() {
        let t0 = Instant::now();
        let mut d = IssueDetector::new(Duration::from_secs(2));
        let mut rounds = vec![round(Some(false), Some(true), false); 3];
        rounds.push(round(Some(false), Some(true), true));
        let changes = run(&mut d, t0, &rounds);
        assert_eq!(
            changes.iter().map(|(_, c)| c.raised).collect::<Vec<_>>(),
            [true, false]
        );
        let mut d = IssueDetector::new(Duration::from_secs(2));
        run(&mut d, t0, &vec![round(Some(false), Some(true), false); 3]);
        assert_eq!(d.raised().len(), 1);
        let gone = d.remove(1, 9000);
        assert_eq!((gone[0].raised, gone[0].duration_ms), (false, Some(8000)));
        assert!(d.raised().is_empty());
    }

    #[test]
    fn hearing_nothing_while_the_other_speaks_is_no_audio_received() {
        let t0 = Instant::now();
        let mut d = IssueDetector::new(Duration::from_secs(3));
        let deaf = |got: bool| {
            vec![
                RoundInput {
                    participant: 1,
                    muted: false,
                    voice: Some(true),
                    received: Some(got),
                },
                RoundInput {
                    participant: 2,
                    muted: false,
                    voice: Some(true),
                    received: Some(true),
                },
            ]
        };
        let mut rounds = vec![deaf(false); 4];
        rounds.push(deaf(true));
        let changes = run(&mut d, t0, &rounds);
        let kinds: Vec<_> = changes
            .iter()
            .map(|(at, c)| (*at, c.participant, c.kind, c.raised))
            .collect();
        assert_eq!(
            kinds,
            [
                (4, 1, IssueKind::NoAudioReceived, true),
                (5, 1, IssueKind::NoAudioReceived, false)
            ]
        );
    }
}
