//! Active-speaker detection from RFC 6464 audio levels: a smoothed level
//! per participant, a hold time before the speaker changes, and at most a
//! few change events per second. Plain type driven by `Instant`s.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Levels at or above this many -dBov count as silence.
const SILENCE_DBOV: f32 = 70.0;
/// Weight of a new sample in the moving average.
const ALPHA: f32 = 0.2;
/// A challenger must be louder for this long before taking over.
const HOLD: Duration = Duration::from_millis(500);
/// Without voice for this long, nobody is speaking.
const QUIET: Duration = Duration::from_millis(1200);

/// The speaker changed (`None`: nobody is speaking).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpeakerChange {
    pub speaker: Option<u64>,
}

#[derive(Debug)]
struct Level {
    /// Smoothed loudness: 127 - dBov (higher is louder).
    loudness: f32,
    last_voice: Option<Instant>,
}

#[derive(Debug, Default)]
pub struct ActiveSpeaker {
    levels: HashMap<u64, Level>,
    current: Option<u64>,
    challenger: Option<(u64, Instant)>,
    last_poll: Option<Instant>,
}

impl ActiveSpeaker {
    pub fn new() -> Self {
        Self::default()
    }

    /// One packet's level from `participant` (0 = loudest, 127 = silence).
    pub fn observe(&mut self, participant: u64, dbov: u8, voice: bool, now: Instant) {
        let loud = 127.0 - f32::from(dbov.min(127));
        let speaking = voice && f32::from(dbov) < SILENCE_DBOV;
        let e = self.levels.entry(participant).or_insert(Level {
            loudness: 0.0,
            last_voice: None,
        });
        e.loudness = e.loudness * (1.0 - ALPHA) + loud * ALPHA;
        if speaking {
            e.last_voice = Some(now);
        }
    }

    pub fn remove(&mut self, participant: u64) {
        self.levels.remove(&participant);
    }

    fn active(&self, now: Instant) -> impl Iterator<Item = (u64, f32)> + '_ {
        self.levels
            .iter()
            .filter(move |(_, l)| l.last_voice.is_some_and(|t| now.duration_since(t) < QUIET))
            .map(|(id, l)| (*id, l.loudness))
    }

    /// Evaluate at most every 200 ms; returns a change when the speaker changes.
    pub fn poll(&mut self, now: Instant) -> Option<SpeakerChange> {
        if self
            .last_poll
            .is_some_and(|t| now.duration_since(t) < Duration::from_millis(200))
        {
            return None;
        }
        self.last_poll = Some(now);
        let loudest = self
            .active(now)
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
        let current_active = self
            .current
            .and_then(|c| self.active(now).find(|(id, _)| *id == c));
        let next = match (loudest, current_active) {
            (None, _) => None,
            (Some((id, _)), None) => Some(id),
            (Some((id, loud)), Some((cur, cur_loud))) if id != cur && loud > cur_loud => {
                match self.challenger {
                    Some((c, since)) if c == id && now.duration_since(since) >= HOLD => Some(id),
                    Some((c, _)) if c == id => Some(cur),
                    _ => {
                        self.challenger = Some((id, now));
                        Some(cur)
                    }
                }
            }
            (Some(_), Some((cur, _))) => {
                self.challenger = None;
                Some(cur)
            }
        };
        if next != self.current {
            self.current = next;
            self.challenger = None;
            return Some(SpeakerChange { speaker: next });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(s: &mut ActiveSpeaker, id: u64, dbov: u8, from: Instant, ms: u64) {
        for i in 0..ms / 20 {
            s.observe(id, dbov, true, from + Duration::from_millis(i * 20));
        }
    }

    #[test]
    fn loudest_speaker_with_hold_and_silence() {
        let t0 = Instant::now();
        let mut s = ActiveSpeaker::new();
        feed(&mut s, 1, 30, t0, 400);
        assert_eq!(
            s.poll(t0 + Duration::from_millis(400)),
            Some(SpeakerChange { speaker: Some(1) })
        );
        // 2 gets louder: not immediately, only after the hold time.
        feed(&mut s, 2, 5, t0 + Duration::from_millis(400), 1000);
        feed(&mut s, 1, 30, t0 + Duration::from_millis(400), 1000);
        assert_eq!(s.poll(t0 + Duration::from_millis(700)), None);
        assert_eq!(
            s.poll(t0 + Duration::from_millis(1300)),
            Some(SpeakerChange { speaker: Some(2) })
        );
        // Polls are rate-limited.
        assert_eq!(s.poll(t0 + Duration::from_millis(1350)), None);
        // Everyone silent long enough: nobody.
        assert_eq!(
            s.poll(t0 + Duration::from_millis(4000)),
            Some(SpeakerChange { speaker: None })
        );
    }

    #[test]
    fn silence_flag_or_level_is_not_speech() {
        let t0 = Instant::now();
        let mut s = ActiveSpeaker::new();
        for i in 0..20 {
            s.observe(1, 127, true, t0 + Duration::from_millis(i * 20));
            s.observe(2, 20, false, t0 + Duration::from_millis(i * 20));
        }
        assert_eq!(s.poll(t0 + Duration::from_millis(400)), None);
    }
}
