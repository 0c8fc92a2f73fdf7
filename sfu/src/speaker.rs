//! Active-speaker detection from RFC 6464 audio levels: a time-smoothed
//! level per participant, a hold time before the speaker changes, and at
//! most a few change events per second. Plain type driven by `Instant`s.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Tuning of [`ActiveSpeaker`]; [`Default`] suits 20 ms Opus packets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpeakerConfig {
    /// Time constant of the exponential moving average of each level.
    pub smoothing: Duration,
    /// A louder challenger must stay louder this long to take over.
    pub hold: Duration,
    /// Without voice for this long, a participant is not speaking.
    pub silence_timeout: Duration,
    /// Minimum time between two change events.
    pub min_change_interval: Duration,
    /// Minimum time between two evaluations in [`ActiveSpeaker::poll`].
    pub eval_interval: Duration,
    /// Levels at or above this many -dBov count as silence even with the
    /// voice flag set (127 is digital silence).
    pub silence_dbov: u8,
}

impl Default for SpeakerConfig {
    fn default() -> Self {
        Self {
            smoothing: Duration::from_millis(300),
            hold: Duration::from_millis(500),
            silence_timeout: Duration::from_millis(1200),
            min_change_interval: Duration::from_millis(500),
            eval_interval: Duration::from_millis(100),
            silence_dbov: 70,
        }
    }
}

/// Assumed gap before a participant's first packet (one Opus frame).
const FIRST_FRAME: Duration = Duration::from_millis(20);

/// The speaker changed (`None`: nobody is speaking).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpeakerChange {
    /// The new active speaker.
    pub speaker: Option<u64>,
}

#[derive(Debug)]
struct Level {
    /// Smoothed loudness: 127 - dBov while speaking, 0 otherwise (higher is louder).
    loudness: f32,
    last_sample: Option<Instant>,
    last_voice: Option<Instant>,
}

/// Picks the loudest speaking participant of one call.
#[derive(Debug, Default)]
pub struct ActiveSpeaker {
    config: SpeakerConfig,
    levels: HashMap<u64, Level>,
    current: Option<u64>,
    /// A louder participant and since when it has been louder.
    challenger: Option<(u64, Instant)>,
    last_eval: Option<Instant>,
    last_change: Option<Instant>,
}

impl ActiveSpeaker {
    /// A detector with the default tuning.
    pub fn new() -> Self {
        Self::default()
    }

    /// A detector with custom tuning.
    pub fn with_config(config: SpeakerConfig) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    /// The current speaker, as last reported by [`Self::poll`].
    pub fn current(&self) -> Option<u64> {
        self.current
    }

    /// One packet's level from `participant` (0 = loudest, 127 = silence).
    pub fn observe(&mut self, participant: u64, dbov: u8, voice: bool, now: Instant) {
        let dbov = dbov.min(127);
        let speaking = voice && dbov < self.config.silence_dbov;
        let sample = if speaking {
            127.0 - f32::from(dbov)
        } else {
            0.0
        };
        let tau = self.config.smoothing.as_secs_f32().max(f32::EPSILON);
        let e = self.levels.entry(participant).or_insert(Level {
            loudness: 0.0,
            last_sample: None,
            last_voice: None,
        });
        let dt = e
            .last_sample
            .map_or(FIRST_FRAME, |t| now.saturating_duration_since(t));
        let alpha = 1.0 - (-dt.as_secs_f32() / tau).exp();
        e.loudness += (sample - e.loudness) * alpha;
        e.last_sample = Some(e.last_sample.map_or(now, |t| t.max(now)));
        if speaking {
            e.last_voice = Some(e.last_voice.map_or(now, |t| t.max(now)));
        }
    }

    /// Forget a participant (left the call).
    pub fn remove(&mut self, participant: u64) {
        self.levels.remove(&participant);
        if self.challenger.is_some_and(|(c, _)| c == participant) {
            self.challenger = None;
        }
    }

    /// Smoothed loudness of each participant who spoke recently.
    fn speaking(&self, now: Instant) -> impl Iterator<Item = (u64, f32)> + '_ {
        let timeout = self.config.silence_timeout;
        self.levels
            .iter()
            .filter(move |(_, l)| {
                l.last_voice
                    .is_some_and(|t| now.saturating_duration_since(t) < timeout)
            })
            .map(|(id, l)| (*id, l.loudness))
    }

    /// Who should be the speaker now, updating the challenger's hold.
    fn decide(&mut self, now: Instant) -> Option<u64> {
        // Loudest first; on a tie the lower id, so the result is deterministic.
        let loudest = self
            .speaking(now)
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
        let current = self
            .current
            .and_then(|c| self.speaking(now).find(|(id, _)| *id == c));
        match (loudest, current) {
            (None, _) => None,
            (Some((id, _)), None) => Some(id),
            (Some((id, loud)), Some((cur, cur_loud))) if id != cur && loud > cur_loud => {
                let since = match self.challenger {
                    Some((c, since)) if c == id => since,
                    _ => {
                        self.challenger = Some((id, now));
                        now
                    }
                };
                let held = now.saturating_duration_since(since) >= self.config.hold;
                Some(if held { id } else { cur })
            }
            (Some(_), Some((cur, _))) => {
                self.challenger = None;
                Some(cur)
            }
        }
    }

    /// Re-evaluate (at most every `eval_interval`); returns the change when
    /// the speaker changes, at most once per `min_change_interval`. A change
    /// held back by that limit is reported by a later poll.
    pub fn poll(&mut self, now: Instant) -> Option<SpeakerChange> {
        let cfg = self.config;
        if self
            .last_eval
            .is_some_and(|t| now.saturating_duration_since(t) < cfg.eval_interval)
        {
            return None;
        }
        self.last_eval = Some(now);
        let next = self.decide(now);
        let too_soon = self
            .last_change
            .is_some_and(|t| now.saturating_duration_since(t) < cfg.min_change_interval);
        if next == self.current || too_soon {
            return None;
        }
        self.current = next;
        self.challenger = None;
        self.last_change = Some(now);
        Some(SpeakerChange { speaker: next })
    }
}

#[cfg(test)]
#[path = "speaker_tests.rs"]
mod tests;
