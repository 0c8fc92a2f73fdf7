//! Tests of [`super`] with synthetic clocks.

use super::*;

const FRAME: Duration = Duration::from_millis(20);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Simulates a call: every participant sends one packet per 20 ms frame
/// and the detector is polled after each frame, as the SFU does.
struct Sim {
    s: ActiveSpeaker,
    t0: Instant,
    now: Instant,
    events: Vec<(Duration, Option<u64>)>,
}

impl Sim {
    fn new(s: ActiveSpeaker) -> Self {
        let t0 = Instant::now();
        Sim {
            s,
            t0,
            now: t0,
            events: vec![],
        }
    }

    /// Run for `dur` with each participant at a fixed (dBov, voice).
    fn run(&mut self, dur: Duration, levels: &[(u64, u8, bool)]) {
        let end = self.now + dur;
        while self.now < end {
            for (id, dbov, voice) in levels {
                self.s.observe(*id, *dbov, *voice, self.now);
            }
            if let Some(c) = self.s.poll(self.now) {
                self.events.push((self.now - self.t0, c.speaker));
            }
            self.now += FRAME;
        }
    }

    fn speakers(&self) -> Vec<Option<u64>> {
        self.events.iter().map(|e| e.1).collect()
    }
}

#[test]
fn picks_the_loudest_speaker() {
    let mut sim = Sim::new(ActiveSpeaker::new());
    sim.run(ms(1000), &[(1, 40, true), (2, 20, true), (3, 127, false)]);
    assert_eq!(sim.speakers(), vec![Some(2)]);
    assert_eq!(sim.s.current(), Some(2));
}

#[test]
fn a_louder_challenger_takes_over_only_after_the_hold_time() {
    let mut sim = Sim::new(ActiveSpeaker::new());
    sim.run(ms(400), &[(1, 30, true)]);
    assert_eq!(sim.speakers(), vec![Some(1)]);
    // 2 is loud for 400 ms, then quieter: louder for less than the hold.
    sim.run(ms(400), &[(1, 30, true), (2, 5, true)]);
    sim.run(ms(600), &[(1, 30, true), (2, 60, true)]);
    assert_eq!(sim.speakers(), vec![Some(1)], "short burst ignored");
    // Louder for good: switches within smoothing + hold + one evaluation.
    let start = sim.now - sim.t0;
    sim.run(ms(2000), &[(1, 30, true), (2, 5, true)]);
    assert_eq!(sim.speakers(), vec![Some(1), Some(2)]);
    let took = sim.events[1].0 - start;
    assert!(took >= ms(500) && took <= ms(1000), "took {took:?}");
}

#[test]
fn silence_means_nobody_after_the_timeout() {
    let mut sim = Sim::new(ActiveSpeaker::new());
    sim.run(ms(500), &[(1, 30, true)]);
    let stop = sim.now - sim.t0;
    // Still sending packets, but digital silence / no voice flag.
    sim.run(ms(3000), &[(1, 127, true), (2, 25, false)]);
    assert_eq!(sim.speakers(), vec![Some(1), None]);
    let after = sim.events[1].0 - stop;
    assert!(after >= ms(1200) && after <= ms(1400), "after {after:?}");
}

#[test]
fn silence_flag_or_level_is_not_speech() {
    let mut sim = Sim::new(ActiveSpeaker::new());
    sim.run(ms(2000), &[(1, 127, true), (2, 20, false), (3, 90, true)]);
    assert!(sim.events.is_empty());
    assert_eq!(sim.s.current(), None);
}

#[test]
fn at_most_two_changes_per_second() {
    let cfg = SpeakerConfig {
        hold: Duration::ZERO,
        smoothing: ms(1),
        ..SpeakerConfig::default()
    };
    let mut sim = Sim::new(ActiveSpeaker::with_config(cfg));
    // The loudest participant alternates every 100 ms for 5 s.
    for i in 0..50 {
        let (a, b) = if i % 2 == 0 { (10, 40) } else { (40, 10) };
        sim.run(ms(100), &[(1, a, true), (2, b, true)]);
    }
    assert!(sim.events.len() <= 11, "{} changes", sim.events.len());
    assert!(sim.events.len() >= 5, "still follows the speakers");
    for pair in sim.events.windows(2) {
        assert!(pair[1].0 - pair[0].0 >= ms(500));
    }
}

#[test]
fn polls_are_rate_limited_but_changes_are_not_lost() {
    let t0 = Instant::now();
    let mut s = ActiveSpeaker::new();
    s.observe(1, 30, true, t0);
    assert_eq!(s.poll(t0), Some(SpeakerChange { speaker: Some(1) }));
    s.remove(1);
    s.observe(2, 30, true, t0 + ms(50));
    assert_eq!(s.poll(t0 + ms(50)), None, "evaluated less than 100 ms ago");
    assert_eq!(s.poll(t0 + ms(150)), None, "changed less than 500 ms ago");
    s.observe(2, 30, true, t0 + ms(520));
    assert_eq!(
        s.poll(t0 + ms(520)),
        Some(SpeakerChange { speaker: Some(2) })
    );
}

#[test]
fn removing_the_speaker_hands_over_immediately() {
    let mut sim = Sim::new(ActiveSpeaker::new());
    sim.run(ms(1000), &[(1, 10, true), (2, 30, true)]);
    sim.s.remove(1);
    sim.run(ms(600), &[(2, 30, true)]);
    assert_eq!(sim.speakers(), vec![Some(1), Some(2)]);
}

#[test]
fn clock_going_backwards_does_not_panic() {
    let t0 = Instant::now() + ms(10_000);
    let mut s = ActiveSpeaker::new();
    s.observe(1, 30, true, t0);
    s.observe(1, 30, true, t0 - ms(5000));
    s.observe(1, 255, true, t0 - ms(6000));
    assert_eq!(s.poll(t0), Some(SpeakerChange { speaker: Some(1) }));
    assert_eq!(s.poll(t0 - ms(9000)), None);
}
