//! Call quality as a MOS estimate from loss, jitter and RTT, using a
//! simplified ITU-T G.107 E-model, and a [`QualityLevel`] classifier with
//! hysteresis for display.
//!
//! # Model
//! `R = 93.2 − Id − Ie_eff`, with every other G.107 parameter at its default
//! (no echo, noise or advantage factor; 93.2 is R for the default values,
//! G.107 §7):
//! - `Id`, delay impairment, with Cole & Rosenbluth's approximation of
//!   G.107's `Idd` ("Voice over IP performance monitoring", ACM SIGCOMM
//!   CCR 31(2), 2001): `Id = 0.024·d + 0.11·(d − 177.3)·H(d − 177.3)`, where
//!   `d` is the one-way mouth-to-ear delay in ms, estimated here as
//!   `RTT/2 + 2·jitter (jitter buffer) + 26.5 ms (Opus frame and look-ahead)`.
//! - `Ie_eff`, equipment impairment under random loss (G.107 §7.4):
//!   `Ie_eff = Ie + (95 − Ie) · Ppl / (Ppl/BurstR + Bpl)` with `Ppl` the loss
//!   in percent and `BurstR = 1` (random loss).
//!
//! `R` maps to MOS by G.107 Annex B: `1 + 0.035R + R(R − 60)(100 − R)·7·10⁻⁶`
//! for `0 < R < 100` (1 below, 4.5 above).
//!
//! ITU-T G.113 lists no `Ie`/`Bpl` for Opus. We take `Ie = 0` (wideband Opus
//! at VoIP bitrates is transparent to narrowband-scale listeners) and a
//! conservative `Bpl = 10` (packet-loss concealment, no credit for in-band
//! FEC; G.113 gives 25.1 for G.711 with its PLC). Scores are a relative
//! indicator, not a calibrated measurement.

/// R for G.107's default parameters with no delay, codec or loss impairment.
pub const R_DEFAULT: f64 = 93.2;

/// Parameters of the simplified E-model; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EModel {
    /// Equipment impairment factor of the codec without loss.
    pub ie: f64,
    /// Packet-loss robustness factor of the codec.
    pub bpl: f64,
    /// Burst ratio: 1 for random loss, above 1 for bursty loss.
    pub burst_r: f64,
    /// Codec delay in ms: frame length plus look-ahead.
    pub codec_delay_ms: f64,
    /// Jitter-buffer delay as a multiple of the measured jitter.
    pub jitter_buffer_factor: f64,
}

impl EModel {
    /// Opus, 20 ms frames: `Ie = 0`, `Bpl = 10`, 26.5 ms codec delay
    /// (RFC 6716 §2: 20 ms frame + 6.5 ms look-ahead), 2 x jitter buffering.
    pub const OPUS: EModel = EModel {
        ie: 0.0,
        bpl: 10.0,
        burst_r: 1.0,
        codec_delay_ms: 26.5,
        jitter_buffer_factor: 2.0,
    };

    /// Estimated one-way mouth-to-ear delay in ms.
    pub fn one_way_delay_ms(&self, jitter_ms: f64, rtt_ms: f64) -> f64 {
        rtt_ms / 2.0 + self.jitter_buffer_factor * jitter_ms + self.codec_delay_ms
    }

    /// The transmission rating R (may fall below 0 for hopeless calls).
    /// NaN inputs count as 0; loss is clamped to 0..=100 %.
    pub fn r_factor(&self, loss_percent: f64, jitter_ms: f64, rtt_ms: f64) -> f64 {
        let loss = sane(loss_percent).min(100.0);
        let d = self.one_way_delay_ms(sane(jitter_ms), sane(rtt_ms));
        let id = 0.024 * d + if d > 177.3 { 0.11 * (d - 177.3) } else { 0.0 };
        let denom = loss / self.burst_r.max(f64::EPSILON) + self.bpl;
        let ie_eff = if denom > 0.0 {
            self.ie + (95.0 - self.ie) * loss / denom
        } else {
            self.ie
        };
        R_DEFAULT - id - ie_eff
    }

    /// MOS (1.0..=4.5) for this loss (%), jitter (ms) and RTT (ms).
    pub fn mos(&self, loss_percent: f64, jitter_ms: f64, rtt_ms: f64) -> f64 {
        mos_from_r(self.r_factor(loss_percent, jitter_ms, rtt_ms))
    }
}

/// NaN and negative values count as 0; +inf stays (and scores worst).
fn sane(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        x.max(0.0)
    }
}

/// G.107 Annex B: the MOS (1.0..=4.5) for a rating R.
pub fn mos_from_r(r: f64) -> f64 {
    if r.is_nan() || r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        (1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6).max(1.0)
    }
}

/// MOS of an Opus call with [`EModel::OPUS`]: loss in percent, jitter and
/// RTT in milliseconds.
pub fn estimate_mos(loss_percent: f64, jitter_ms: f64, rtt_ms: f64) -> f64 {
    EModel::OPUS.mos(loss_percent, jitter_ms, rtt_ms)
}

/// A coarse quality for display, from the G.107 Table B.1 user-satisfaction
/// bands: R ≥ 90 "very satisfied", ≥ 80 "satisfied", ≥ 70 "some users
/// dissatisfied", below that many or all dissatisfied.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum QualityLevel {
    /// MOS below 3.60 (R < 70).
    Poor,
    /// MOS 3.60..4.03 (R 70..80).
    Fair,
    /// MOS 4.03..4.34 (R 80..90).
    Good,
    /// MOS 4.34 and above (R ≥ 90).
    Excellent,
}

impl QualityLevel {
    /// The name used on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Poor => "poor",
            Self::Fair => "fair",
            Self::Good => "good",
            Self::Excellent => "excellent",
        }
    }

    /// The inverse of [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "poor" => Some(Self::Poor),
            "fair" => Some(Self::Fair),
            "good" => Some(Self::Good),
            "excellent" => Some(Self::Excellent),
            _ => None,
        }
    }

    /// 0 (poor) to 3 (excellent), for storage and ordering in SQL.
    pub fn rank(self) -> i64 {
        self as i64
    }

    /// The band a MOS falls in (NaN is poor).
    pub fn from_mos(mos: f64) -> Self {
        if mos >= 4.34 {
            Self::Excellent
        } else if mos >= 4.03 {
            Self::Good
        } else if mos >= 3.60 {
            Self::Fair
        } else {
            Self::Poor
        }
    }
}

/// Classifies a series of MOS samples into a [`QualityLevel`] that only
/// changes once a new level has persisted for `required` consecutive samples
/// (the first sample sets the level directly).
#[derive(Debug, Clone)]
pub struct QualityClassifier {
    required: u32,
    level: Option<QualityLevel>,
    /// A different level and how many consecutive samples had it.
    candidate: Option<(QualityLevel, u32)>,
}

impl QualityClassifier {
    /// A classifier switching after `required` (at least 1) consecutive samples.
    pub fn new(required: u32) -> Self {
        Self {
            required: required.max(1),
            level: None,
            candidate: None,
        }
    }

    /// The current level, `None` before the first sample.
    pub fn level(&self) -> Option<QualityLevel> {
        self.level
    }

    /// Add one MOS sample; returns the (possibly unchanged) level.
    pub fn observe(&mut self, mos: f64) -> QualityLevel {
        let sample = QualityLevel::from_mos(mos);
        let Some(current) = self.level else {
            self.level = Some(sample);
            return sample;
        };
        if sample == current {
            self.candidate = None;
            return current;
        }
        let count = match self.candidate {
            Some((level, n)) if level == sample => n.saturating_add(1),
            _ => 1,
        };
        if count >= self.required {
            self.level = Some(sample);
            self.candidate = None;
            sample
        } else {
            self.candidate = Some((sample, count));
            current
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_call_scores_about_4_4() {
        for (jitter, rtt) in [(0.0, 0.0), (2.0, 20.0), (5.0, 40.0), (10.0, 100.0)] {
            let mos = estimate_mos(0.0, jitter, rtt);
            assert!((4.3..=4.42).contains(&mos), "{jitter} ms, {rtt} ms: {mos}");
            assert_eq!(QualityLevel::from_mos(mos), QualityLevel::Excellent);
        }
    }

    #[test]
    fn loss_lowers_the_score() {
        let clean = estimate_mos(0.0, 5.0, 40.0);
        let five = estimate_mos(5.0, 5.0, 40.0);
        let twenty = estimate_mos(20.0, 5.0, 40.0);
        assert!(clean - five > 1.0, "5 %: {five}");
        assert!(twenty < 2.0, "20 %: {twenty}");
        assert_eq!(QualityLevel::from_mos(twenty), QualityLevel::Poor);
        assert_eq!(
            QualityLevel::from_mos(estimate_mos(1.0, 5.0, 40.0)),
            QualityLevel::Good
        );
        let mut last = clean;
        for loss in 1..=100 {
            let mos = estimate_mos(f64::from(loss), 5.0, 40.0);
            assert!(mos <= last && mos >= 1.0, "monotonic at {loss} %");
            last = mos;
        }
    }

    #[test]
    fn delay_lowers_the_score_past_the_knee() {
        let near = estimate_mos(0.0, 5.0, 50.0);
        let far = estimate_mos(0.0, 5.0, 600.0);
        assert!(far < 3.6 && near - far > 0.7, "{near} vs {far}");
        assert_eq!(EModel::OPUS.one_way_delay_ms(5.0, 100.0), 86.5);
    }

    #[test]
    fn r_to_mos_mapping_and_bounds() {
        assert_eq!(mos_from_r(-5.0), 1.0);
        assert_eq!(mos_from_r(100.0), 4.5);
        assert!((mos_from_r(R_DEFAULT) - 4.41).abs() < 0.01);
        assert!((mos_from_r(50.0) - 2.58).abs() < 0.01);
        assert!((1..100).all(|r| mos_from_r(f64::from(r)) >= 1.0));
    }

    #[test]
    fn garbage_inputs_are_safe() {
        assert_eq!(
            estimate_mos(f64::NAN, f64::NAN, f64::NAN),
            estimate_mos(0.0, 0.0, 0.0)
        );
        assert_eq!(
            estimate_mos(f64::INFINITY, 0.0, 0.0),
            estimate_mos(100.0, 0.0, 0.0)
        );
        assert_eq!(estimate_mos(0.0, f64::INFINITY, 0.0), 1.0);
        assert_eq!(estimate_mos(-3.0, -1.0, -9.0), estimate_mos(0.0, 0.0, 0.0));
        assert_eq!(mos_from_r(f64::NAN), 1.0);
        assert_eq!(QualityLevel::from_mos(f64::NAN), QualityLevel::Poor);
    }

    #[test]
    fn classifier_switches_only_after_persisting() {
        let (excellent, fair, poor) = (4.4, 3.8, 2.0);
        let mut c = QualityClassifier::new(3);
        assert_eq!(c.level(), None);
        assert_eq!(c.observe(excellent), QualityLevel::Excellent);
        assert_eq!(c.observe(poor), QualityLevel::Excellent);
        assert_eq!(c.observe(poor), QualityLevel::Excellent);
        assert_eq!(
            c.observe(excellent),
            QualityLevel::Excellent,
            "streak broken"
        );
        assert_eq!(c.observe(poor), QualityLevel::Excellent);
        assert_eq!(
            c.observe(fair),
            QualityLevel::Excellent,
            "a different level restarts"
        );
        assert_eq!(c.observe(poor), QualityLevel::Excellent);
        assert_eq!(c.observe(poor), QualityLevel::Excellent);
        assert_eq!(c.observe(poor), QualityLevel::Poor);
        assert_eq!(c.level(), Some(QualityLevel::Poor));
        let mut once = QualityClassifier::new(0);
        once.observe(excellent);
        assert_eq!(
            once.observe(poor),
            QualityLevel::Poor,
            "required is at least 1"
        );
    }
}
