//! Live call issues, as a plain time-driven type fed one quality round at a
//! time (tested without sockets, like the level classifier).
//!
//! Measured over rounds, each raised once its condition has held for
//! `after` while someone else in the call speaks:
//! - `no_audio_sent`: a participant who is in the call and not muted sends
//!   no audio packets, or only digital silence (RFC 6464 level 127), while
//!   someone else speaks: a dead or wrong microphone, an OS-level mute, a
//!   missing permission. It clears as soon as sound comes through (or they
//!   mute, or leave).
//! - `no_audio_received`: nothing reaches a participant while others speak.
//! - `one_way_audio`: one speaker's audio is sent towards a participant
//!   (or, p2p, leaves the speaker's client) but none of it arrives, while
//!   the participant's connection is otherwise up. Keyed by the pair.
//!
//! Reported as events ([`IssueDetector::mark`]), raised at once:
//! `talking_while_muted` (the participant's own client hears voice on the
//! muted microphone), `reconnecting` and `media_failed` (the media path).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// A kind of live issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    NoAudioSent,
    NoAudioReceived,
    OneWayAudio,
    TalkingWhileMuted,
    Reconnecting,
    MediaFailed,
}

impl IssueKind {
    pub const ALL: [IssueKind; 6] = [
        IssueKind::NoAudioSent,
        IssueKind::NoAudioReceived,
        IssueKind::OneWayAudio,
        IssueKind::TalkingWhileMuted,
        IssueKind::Reconnecting,
        IssueKind::MediaFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IssueKind::NoAudioSent => "no_audio_sent",
            IssueKind::NoAudioReceived => "no_audio_received",
            IssueKind::OneWayAudio => "one_way_audio",
            IssueKind::TalkingWhileMuted => "talking_while_muted",
            IssueKind::Reconnecting => "reconnecting",
            IssueKind::MediaFailed => "media_failed",
        }
    }

    /// The kind named `s` (`None` for anything else).
    pub fn parse(s: &str) -> Option<IssueKind> {
        IssueKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What one participant did in a round.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RoundInput {
    pub participant: u64,
    /// Muted (by themselves or a moderator): silence is expected.
    pub muted: bool,
    /// Whether sound (anything but digital silence) from their microphone
    /// reached the server this round: `Some(false)` for no packets or only
    /// silence, `None` when there is nothing to go on.
    pub sound: Option<bool>,
    /// Whether they spoke this round (voice, not just sound).
    pub speaks: Option<bool>,
    /// Whether any audio reached them this round (`None`: not measured).
    pub received: Option<bool>,
    /// Per speaker whose audio was on its way to them: whether it arrived.
    /// Speakers with nothing to go on are left out.
    pub heard: Vec<(u64, bool)>,
}

/// An issue raised or cleared.
#[derive(Debug, Clone, PartialEq)]
pub struct IssueChange {
    pub participant: u64,
    pub kind: IssueKind,
    /// `one_way_audio`: whose audio does not reach `participant`.
    pub from: Option<u64>,
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

type Key = (u64, IssueKind, Option<u64>);

/// A reported issue (`mark`) cleared less than this long ago is not raised
/// again: a device flapping `talking_while_muted` or its connection state
/// costs at most one raise (one stored row, one webhook) per this time.
pub const MARK_REARM_MS: i64 = 3000;

/// Watches every participant of one call.
#[derive(Debug)]
pub struct IssueDetector {
    after: Duration,
    watches: HashMap<Key, Watch>,
    /// When each reported issue was last cleared (ms).
    cleared_at: HashMap<Key, i64>,
    /// The previous round: a round's measurements cover the time since.
    last: Option<Instant>,
}

impl IssueDetector {
    /// Raise a measured issue after `after` of its condition while others speak.
    pub fn new(after: Duration) -> IssueDetector {
        IssueDetector {
            after,
            watches: HashMap::new(),
            cleared_at: HashMap::new(),
            last: None,
        }
    }

    /// One round; the issues raised and cleared by it.
    pub fn observe(&mut self, now: Instant, now_ms: i64, round: &[RoundInput]) -> Vec<IssueChange> {
        let mut out = vec![];
        // What this round measured began when the previous one ended.
        let began = self.last.replace(now).unwrap_or(now);
        let began_ms = now_ms - now.saturating_duration_since(began).as_millis() as i64;
        let speaks = |id: u64| {
            round
                .iter()
                .any(|o| o.participant == id && o.speaks == Some(true))
        };
        for p in round {
            let others_speak = round
                .iter()
                .any(|o| o.participant != p.participant && o.speaks == Some(true));
            // Silence is expected from a muted participant.
            let sending = match (p.muted, p.sound) {
                (true, _) => Some(false),
                (false, Some(v)) => Some(!v),
                (false, None) => None,
            };
            let receiving = p.received.map(|r| !r);
            let mut checks = vec![
                (IssueKind::NoAudioSent, None, sending, others_speak),
                (IssueKind::NoAudioReceived, None, receiving, others_speak),
            ];
            // Hearing nothing at all is `no_audio_received`, not one-way
            // audio from each speaker.
            if p.received != Some(false) {
                for (from, heard) in &p.heard {
                    checks.push((
                        IssueKind::OneWayAudio,
                        Some(*from),
                        Some(!heard),
                        speaks(*from),
                    ));
                }
            }
            for (kind, from, bad, speaking) in checks {
                let watch = self.watches.entry((p.participant, kind, from)).or_default();
                match bad {
                    // Nothing to go on this round: keep what we had.
                    None => {}
                    Some(false) => {
                        watch.since = None;
                        if let Some(since) = watch.raised.take() {
                            out.push(cleared((p.participant, kind, from), since, now_ms));
                        }
                    }
                    Some(true) => {
                        if watch.since.is_none() && speaking {
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
                                    from,
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
        // A pair whose speaker no longer sends towards the participant (a
        // mute, a pause) keeps its state until there is news about it.
        out
    }

    /// An issue seen as it happens on the server (`reconnecting` and
    /// `media_failed` from the SFU): raised (from `since_ms`) or cleared now;
    /// `None` when that changes nothing.
    pub fn mark(
        &mut self,
        participant: u64,
        kind: IssueKind,
        on: bool,
        since_ms: i64,
        now_ms: i64,
    ) -> Option<IssueChange> {
        self.mark_with(participant, kind, on, since_ms, now_ms, false)
    }

    /// An issue a device reports (`talking_while_muted`, a p2p connection
    /// state): like [`IssueDetector::mark`], but one cleared less than
    /// [`MARK_REARM_MS`] ago is not raised again.
    pub fn mark_reported(
        &mut self,
        participant: u64,
        kind: IssueKind,
        on: bool,
        since_ms: i64,
        now_ms: i64,
    ) -> Option<IssueChange> {
        self.mark_with(participant, kind, on, since_ms, now_ms, true)
    }

    fn mark_with(
        &mut self,
        participant: u64,
        kind: IssueKind,
        on: bool,
        since_ms: i64,
        now_ms: i64,
        damped: bool,
    ) -> Option<IssueChange> {
        let key = (participant, kind, None);
        let rearmed = !damped
            || self
                .cleared_at
                .get(&key)
                .is_none_or(|at| now_ms - at >= MARK_REARM_MS);
        let watch = self.watches.entry(key).or_default();
        match (on, watch.raised) {
            (true, None) if !rearmed => None,
            (true, None) => {
                watch.raised = Some(since_ms);
                Some(IssueChange {
                    participant,
                    kind,
                    from: None,
                    raised: true,
                    since_ms,
                    duration_ms: None,
                })
            }
            (false, Some(since)) => {
                watch.raised = None;
                self.cleared_at.insert(key, now_ms);
                Some(cleared(key, since, now_ms))
            }
            _ => None,
        }
    }

    /// A state change of the participant's own doing (a new mute) makes a
    /// reported issue news again at once.
    pub fn rearm(&mut self, participant: u64, kind: IssueKind) {
        self.cleared_at.remove(&(participant, kind, None));
    }

    /// Since when `kind` is raised for `participant` (pairs not included).
    pub fn raised_since(&self, participant: u64, kind: IssueKind) -> Option<i64> {
        self.watches
            .get(&(participant, kind, None))
            .and_then(|w| w.raised)
    }

    /// The participant left: their raised issues end with them, and so do
    /// others' one-way issues about them.
    pub fn remove(&mut self, participant: u64, now_ms: i64) -> Vec<IssueChange> {
        let gone: Vec<Key> = self
            .watches
            .keys()
            .filter(|(p, _, from)| *p == participant || *from == Some(participant))
            .copied()
            .collect();
        self.cleared_at.retain(|(p, _, _), _| *p != participant);
        let mut out = vec![];
        for key in gone {
            if let Some(since) = self.watches.remove(&key).and_then(|w| w.raised) {
                out.push(cleared(key, since, now_ms));
            }
        }
        out.sort_by_key(|c| (c.participant, c.kind.as_str(), c.from));
        out
    }

    /// The call ends: every raised issue ends with it.
    pub fn remove_all(&mut self, now_ms: i64) -> Vec<IssueChange> {
        let mut out: Vec<IssueChange> = self
            .watches
            .drain()
            .filter_map(|(key, w)| w.raised.map(|since| cleared(key, since, now_ms)))
            .collect();
        out.sort_by_key(|c| (c.participant, c.kind.as_str(), c.from));
        out
    }

    /// Issues still raised: (participant, kind, from, since).
    pub fn raised(&self) -> Vec<(u64, IssueKind, Option<u64>, i64)> {
        self.watches
            .iter()
            .filter_map(|((p, kind, from), w)| w.raised.map(|since| (*p, *kind, *from, since)))
            .collect()
    }
}

fn cleared((participant, kind, from): Key, since: i64, now_ms: i64) -> IssueChange {
    IssueChange {
        participant,
        kind,
        from,
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
                sound: a,
                speaks: a,
                received: Some(true),
                heard: vec![],
            },
            RoundInput {
                participant: 2,
                muted: false,
                sound: b,
                speaks: b,
                received: Some(true),
                heard: vec![],
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
                    sound: Some(true),
                    speaks: Some(true),
                    received: Some(got),
                    heard: vec![],
                },
                RoundInput {
                    participant: 2,
                    muted: false,
                    sound: Some(true),
                    speaks: Some(true),
                    received: Some(true),
                    heard: vec![],
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

    fn pair(heard_from_2: Option<bool>, two_speaks: bool) -> Vec<RoundInput> {
        vec![
            RoundInput {
                participant: 1,
                sound: Some(true),
                speaks: Some(false),
                received: Some(true),
                heard: heard_from_2.map(|h| vec![(2, h)]).unwrap_or_default(),
                ..Default::default()
            },
            RoundInput {
                participant: 2,
                sound: Some(true),
                speaks: Some(two_speaks),
                received: Some(true),
                heard: vec![(1, true)],
                ..Default::default()
            },
        ]
    }

    #[test]
    fn a_speaker_whose_audio_does_not_arrive_is_one_way_audio_for_that_pair_only() {
        let t0 = Instant::now();
        let mut d = IssueDetector::new(Duration::from_secs(3));
        // Rounds with no report are no news: the count goes on through them.
        let mut rounds = vec![
            pair(Some(false), true),
            pair(None, true),
            pair(Some(false), true),
            pair(Some(false), true),
        ];
        rounds.push(pair(Some(true), true));
        let changes = run(&mut d, t0, &rounds);
        let got: Vec<_> = changes
            .iter()
            .map(|(at, c)| (*at, c.participant, c.kind, c.from, c.raised))
            .collect();
        assert_eq!(
            got,
            [
                (4, 1, IssueKind::OneWayAudio, Some(2), true),
                (5, 1, IssueKind::OneWayAudio, Some(2), false)
            ]
        );
        // Nothing counts while the speaker is quiet.
        let mut d = IssueDetector::new(Duration::from_secs(3));
        assert_eq!(run(&mut d, t0, &vec![pair(Some(false), false); 10]), vec![]);
    }

    #[test]
    fn hearing_nobody_at_all_is_not_also_one_way_audio() {
        let t0 = Instant::now();
        let mut d = IssueDetector::new(Duration::from_secs(2));
        let mut rounds = vec![pair(Some(false), true); 4];
        for r in &mut rounds {
            r[0].received = Some(false);
        }
        let kinds: Vec<_> = run(&mut d, t0, &rounds)
            .into_iter()
            .map(|(_, c)| c.kind)
            .collect();
        assert_eq!(kinds, [IssueKind::NoAudioReceived]);
    }

    #[test]
    fn marked_issues_rise_and_clear_once_and_leaving_ends_pairs_about_the_leaver() {
        let mut d = IssueDetector::new(Duration::from_secs(2));
        let up = d
            .mark(1, IssueKind::Reconnecting, true, 1000, 6000)
            .unwrap();
        assert_eq!((up.raised, up.since_ms), (true, 1000));
        assert!(d
            .mark(1, IssueKind::Reconnecting, true, 2000, 7000)
            .is_none());
        assert!(d.raised_since(1, IssueKind::Reconnecting).is_some());
        let down = d.mark(1, IssueKind::Reconnecting, false, 0, 9000).unwrap();
        assert_eq!((down.raised, down.duration_ms), (false, Some(8000)));
        assert!(d.mark(1, IssueKind::Reconnecting, false, 0, 9500).is_none());

        let t0 = Instant::now();
        run(&mut d, t0, &vec![pair(Some(false), true); 3]);
        assert_eq!(d.raised().len(), 1);
        // The speaker leaves: the listener's one-way issue about them ends.
        let gone = d.remove(2, 10_000);
        assert_eq!(
            gone.iter()
                .map(|c| (c.participant, c.kind, c.from, c.raised))
                .collect::<Vec<_>>(),
            [(1, IssueKind::OneWayAudio, Some(2), false)]
        );
        assert!(d.raised().is_empty());
    }

    #[test]
    fn a_reported_issue_that_flaps_is_raised_again_only_after_a_pause() {
        let mut d = IssueDetector::new(Duration::from_secs(2));
        let k = IssueKind::TalkingWhileMuted;
        assert!(d.mark_reported(1, k, true, 1000, 1000).is_some());
        assert!(d.mark_reported(1, k, false, 0, 1500).is_some());
        // On and off again at once: nothing new is raised (or stored).
        assert!(d.mark_reported(1, k, true, 1600, 1600).is_none());
        assert!(d.mark_reported(1, k, false, 0, 1700).is_none());
        assert!(
            d.mark_reported(1, k, true, 4600, 4600).is_some(),
            "after the pause"
        );
        // Another participant is not held back by the first one's flapping.
        assert!(d.mark_reported(2, k, true, 4600, 4600).is_some());
        // A new mute makes it news again at once.
        assert!(d.mark_reported(1, k, false, 0, 4700).is_some());
        d.rearm(1, k);
        assert!(d.mark_reported(1, k, true, 4800, 4800).is_some());
        // What the server sees itself is never held back.
        let r = IssueKind::Reconnecting;
        assert!(d.mark(3, r, true, 5000, 5000).is_some());
        assert!(d.mark(3, r, false, 0, 5100).is_some());
        assert!(d.mark(3, r, true, 5200, 5200).is_some());
    }

    #[test]
    fn every_kind_parses_back_from_its_name() {
        for kind in IssueKind::ALL {
            assert_eq!(IssueKind::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        assert_eq!(IssueKind::parse("bogus"), None);
    }
}
