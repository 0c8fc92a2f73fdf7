//! Which leg hurt a call: for each listener and each sample interval, the
//! loss they heard split into each speaker's uplink (speaker → server), the
//! SFU's own drops, and their own downlink (server → listener); then one
//! sentence per participant for the report ("omar heard 8 % loss: 7 % from
//! amira's uplink, 1 % on omar's downlink"). Plain functions of stored
//! samples, tested without a server.
//!
//! A listener hears each speaker's stream through three legs in a row, so
//! for small losses the loss on one stream is about the sum of the legs'.
//! What they heard overall is the mean over the speakers' streams: each
//! speaker's uplink counts for its share (`uplink / speakers`), the SFU's
//! and the downlink's count whole.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::store::{ParticipantQuality, StoredSample};

/// One speaker's share of what a listener heard.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UplinkShare {
    pub participant_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Loss on the speaker's uplink, as a share of what the listener heard, percent.
    pub loss_pct: f64,
    /// Jitter on the speaker's uplink, ms.
    pub jitter_ms: f64,
}

/// One listener's interval.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Leg {
    pub participant_id: String,
    pub at: i64,
    pub heard_loss_pct: f64,
    pub uplinks: Vec<UplinkShare>,
    pub sfu_loss_pct: f64,
    pub downlink_loss_pct: f64,
    pub downlink_jitter_ms: f64,
}

/// One participant's call, summed up.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Diagnosis {
    pub participant_id: String,
    pub user_id: String,
    pub heard_loss_pct: f64,
    pub uplinks: Vec<UplinkShare>,
    pub sfu_loss_pct: f64,
    pub downlink_loss_pct: f64,
    pub downlink_jitter_ms: f64,
    pub sentence: String,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Each listener's legs per interval (samples of one round share `at`).
pub fn legs(samples: &[StoredSample]) -> Vec<Leg> {
    let mut rounds: BTreeMap<i64, Vec<&StoredSample>> = BTreeMap::new();
    for s in samples {
        rounds.entry(s.quality.at).or_default().push(s);
    }
    let mut out = vec![];
    for (at, round) in rounds {
        for listener in &round {
            let speakers: Vec<&&StoredSample> = round
                .iter()
                .filter(|s| s.participant_id != listener.participant_id)
                .collect();
            let n = speakers.len().max(1) as f64;
            let uplinks: Vec<UplinkShare> = speakers
                .iter()
                .map(|s| UplinkShare {
                    participant_id: s.participant_id.clone(),
                    user_id: None,
                    loss_pct: round2(s.quality.up_loss_pct.unwrap_or(0.0) / n),
                    jitter_ms: round2(s.quality.up_jitter_ms.unwrap_or(0.0)),
                })
                .collect();
            let q = &listener.quality;
            let sfu = q.sfu_loss_pct.unwrap_or(0.0);
            let down = q.down_loss_pct.unwrap_or(0.0);
            let heard = uplinks.iter().map(|u| u.loss_pct).sum::<f64>() + sfu + down;
            out.push(Leg {
                participant_id: listener.participant_id.clone(),
                at,
                heard_loss_pct: round2(heard.min(100.0)),
                uplinks,
                sfu_loss_pct: round2(sfu),
                downlink_loss_pct: round2(down),
                downlink_jitter_ms: round2(q.down_jitter_ms.unwrap_or(0.0)),
            });
        }
    }
    out
}

/// A percentage as people say it: whole numbers from 10, one decimal below.
fn pct(x: f64) -> String {
    if x >= 9.95 {
        format!("{x:.0} %")
    } else {
        let s = format!("{x:.1}");
        format!("{} %", s.strip_suffix(".0").unwrap_or(&s))
    }
}

/// Losses under this (percent) are not worth a word.
const NEGLIGIBLE: f64 = 0.05;

/// Each participant's legs averaged over the intervals they were sampled
/// in, with the sentence that says what hurt their call.
pub fn diagnose(participants: &[ParticipantQuality], legs: &[Leg]) -> Vec<Diagnosis> {
    let user_of = |pid: &str| {
        participants
            .iter()
            .find(|p| p.participant_id == pid)
            .map_or_else(|| pid.to_string(), |p| p.user_id.clone())
    };
    let mut out = vec![];
    for p in participants {
        let mine: Vec<&Leg> = legs
            .iter()
            .filter(|l| l.participant_id == p.participant_id)
            .collect();
        if mine.is_empty() {
            continue;
        }
        let n = mine.len() as f64;
        let mean = |f: &dyn Fn(&Leg) -> f64| mine.iter().map(|l| f(l)).sum::<f64>() / n;
        // Each speaker's share, over every interval (0 where they were absent).
        let mut shares: BTreeMap<String, (f64, f64, u32)> = BTreeMap::new();
        for leg in &mine {
            for u in &leg.uplinks {
                let e = shares.entry(u.participant_id.clone()).or_default();
                e.0 += u.loss_pct;
                e.1 += u.jitter_ms;
                e.2 += 1;
            }
        }
        let uplinks: Vec<UplinkShare> = shares
            .into_iter()
            .map(|(pid, (loss, jitter, k))| UplinkShare {
                user_id: Some(user_of(&pid)),
                participant_id: pid,
                loss_pct: round2(loss / n),
                jitter_ms: round2(jitter / f64::from(k.max(1))),
            })
            .collect();
        let heard = mean(&|l| l.heard_loss_pct);
        let sfu = mean(&|l| l.sfu_loss_pct);
        let down = mean(&|l| l.downlink_loss_pct);
        let jitter = mean(&|l| l.downlink_jitter_ms);
        let name = &p.user_id;
        let mut parts: Vec<String> = uplinks
            .iter()
            .filter(|u| u.loss_pct >= NEGLIGIBLE)
            .map(|u| {
                format!(
                    "{} from {}'s uplink",
                    pct(u.loss_pct),
                    u.user_id.as_deref().unwrap_or(&u.participant_id)
                )
            })
            .collect();
        if sfu >= NEGLIGIBLE {
            parts.push(format!("{} in the server", pct(sfu)));
        }
        if down >= NEGLIGIBLE {
            parts.push(format!("{} on {name}'s downlink", pct(down)));
        }
        let sentence = if heard < NEGLIGIBLE || parts.is_empty() {
            format!("{name} heard no loss")
        } else {
            format!("{name} heard {} loss: {}", pct(heard), parts.join(", "))
        };
        out.push(Diagnosis {
            participant_id: p.participant_id.clone(),
            user_id: p.user_id.clone(),
            heard_loss_pct: round2(heard),
            uplinks,
            sfu_loss_pct: round2(sfu),
            downlink_loss_pct: round2(down),
            downlink_jitter_ms: round2(jitter),
            sentence,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{QualityLevel, QualityTotals, QualityView};

    fn sample(pid: &str, at: i64, up: f64, sfu: f64, down: f64) -> StoredSample {
        StoredSample {
            participant_id: pid.into(),
            quality: QualityView {
                level: QualityLevel::Good,
                mos: 4.0,
                loss_pct: 0.0,
                up_loss_pct: Some(up),
                down_loss_pct: Some(down),
                sfu_loss_pct: Some(sfu),
                up_jitter_ms: Some(2.0),
                down_jitter_ms: Some(3.0),
                jitter_ms: 3.0,
                rtt_ms: None,
                bitrate_kbps: None,
                up_packets: None,
                up_bytes: None,
                down_packets: None,
                down_bytes: None,
                audio_level_dbov: None,
                voice_activity: None,
                concealed_pct: None,
                jitter_buffer_ms: None,
                source: "sfu".into(),
                at,
            },
        }
    }

    fn part(pid: &str, user: &str) -> ParticipantQuality {
        ParticipantQuality {
            participant_id: pid.into(),
            user_id: user.into(),
            joined_at: 0,
            left_at: None,
            quality: QualityTotals::default(),
        }
    }

    #[test]
    fn the_speakers_uplink_and_the_listeners_downlink_are_named_in_the_sentence() {
        // Alice's uplink loses 7 %, Pat's downlink 1 %, two intervals.
        let samples = vec![
            sample("1", 1000, 7.0, 0.0, 0.0),
            sample("2", 1000, 0.0, 0.0, 1.0),
            sample("1", 2000, 7.0, 0.0, 0.0),
            sample("2", 2000, 0.0, 0.0, 1.0),
        ];
        let legs = legs(&samples);
        assert_eq!(legs.len(), 4);
        let pat = &legs[1];
        assert_eq!(
            (
                pat.participant_id.as_str(),
                pat.heard_loss_pct,
                pat.downlink_loss_pct
            ),
            ("2", 8.0, 1.0)
        );
        assert_eq!(pat.uplinks[0].loss_pct, 7.0);
        let d = diagnose(&[part("1", "alice"), part("2", "pat")], &legs);
        assert_eq!(
            d[1].sentence,
            "pat heard 8 % loss: 7 % from alice's uplink, 1 % on pat's downlink"
        );
        assert_eq!(d[0].sentence, "alice heard no loss");
    }

    #[test]
    fn in_a_bigger_call_a_bad_uplink_counts_for_its_share_and_the_sfu_for_its_own() {
        let samples = vec![
            sample("1", 1000, 12.0, 0.0, 0.0),
            sample("2", 1000, 0.0, 0.5, 0.0),
            sample("3", 1000, 0.0, 0.0, 0.0),
        ];
        let d = diagnose(
            &[part("1", "amira"), part("2", "omar"), part("3", "lina")],
            &legs(&samples),
        );
        assert_eq!(
            d[1].sentence,
            "omar heard 6.5 % loss: 6 % from amira's uplink, 0.5 % in the server"
        );
        assert_eq!(
            d[2].sentence,
            "lina heard 6 % loss: 6 % from amira's uplink"
        );
    }
}
