//! Call-quality wire types: the clients' `call_stats` reports, live
//! quality views for participants and monitors, and per-call summaries.

use serde::{Deserialize, Serialize};

use super::types::{CallMode, UserRef};

pub use earshot_sfu::quality::QualityLevel;

/// Most inbound streams one report may describe.
pub const MAX_INBOUND_STREAMS: usize = 32;
/// Largest time value accepted in a report (one minute), ms.
const MAX_MS: f64 = 60_000.0;

/// A client's periodic summary of `RTCPeerConnection.getStats()` for one
/// call. Counters are cumulative, as getStats gives them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CallStatsReport {
    pub call_id: String,
    /// The selected candidate pair's current round-trip time, ms.
    #[serde(default)]
    pub rtt_ms: Option<f64>,
    #[serde(default)]
    pub codec: Option<String>,
    #[serde(default)]
    pub outbound: Option<OutboundStats>,
    #[serde(default)]
    pub inbound: Vec<InboundStats>,
    /// The worst `RTCPeerConnection.connectionState` over the client's
    /// peer connections for the call (p2p calls raise `reconnecting` and
    /// `media_failed` from it).
    #[serde(default)]
    pub connection_state: Option<PeerState>,
}

/// An `RTCPeerConnectionState`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PeerState {
    New,
    Connecting,
    Connected,
    Disconnected,
    Failed,
    Closed,
}

/// The client's own audio: `outbound-rtp` and its `remote-inbound-rtp`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct OutboundStats {
    #[serde(default)]
    pub packets_sent: Option<u64>,
    #[serde(default)]
    pub bytes_sent: Option<u64>,
    /// Cumulative packets the far end lost (signed, as in getStats).
    #[serde(default)]
    pub remote_packets_lost: Option<i64>,
    #[serde(default)]
    pub remote_fraction_lost: Option<f64>,
    #[serde(default)]
    pub remote_jitter_ms: Option<f64>,
    #[serde(default)]
    pub rtt_ms: Option<f64>,
    /// The microphone's level as the client measured it (`media-source`
    /// `audioLevel`, 0..=1; 0 is digital silence).
    #[serde(default)]
    pub audio_level: Option<f64>,
}

/// One `inbound-rtp` audio stream: another participant's audio.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct InboundStats {
    /// Whose audio this is.
    pub participant_id: String,
    #[serde(default)]
    pub packets_received: Option<u64>,
    /// Cumulative (signed, as in getStats: duplicates can make it negative).
    #[serde(default)]
    pub packets_lost: Option<i64>,
    #[serde(default)]
    pub jitter_ms: Option<f64>,
    #[serde(default)]
    pub bytes_received: Option<u64>,
    #[serde(default)]
    pub concealed_samples: Option<u64>,
    #[serde(default)]
    pub total_samples_received: Option<u64>,
    #[serde(default)]
    pub jitter_buffer_delay_ms: Option<f64>,
    #[serde(default)]
    pub audio_level: Option<f64>,
}

fn check_ms(field: &str, v: Option<f64>) -> Result<(), String> {
    match v {
        Some(x) if !x.is_finite() || !(0.0..=MAX_MS).contains(&x) => Err(format!(
            "`{field}` must be a number of ms from 0 to {MAX_MS}"
        )),
        _ => Ok(()),
    }
}

fn check_unit(field: &str, v: Option<f64>) -> Result<(), String> {
    match v {
        Some(x) if !x.is_finite() || !(0.0..=1.0).contains(&x) => {
            Err(format!("`{field}` must be between 0 and 1"))
        }
        _ => Ok(()),
    }
}

impl CallStatsReport {
    /// Reject what no browser would send: non-finite or out-of-range
    /// numbers, too many streams, oversized strings.
    pub fn validate(&self) -> Result<(), String> {
        check_ms("rtt_ms", self.rtt_ms)?;
        if self.codec.as_ref().is_some_and(|c| c.len() > 64) {
            return Err("`codec` must be at most 64 bytes".into());
        }
        if let Some(o) = &self.outbound {
            check_unit("outbound.remote_fraction_lost", o.remote_fraction_lost)?;
            check_ms("outbound.remote_jitter_ms", o.remote_jitter_ms)?;
            check_ms("outbound.rtt_ms", o.rtt_ms)?;
            check_unit("outbound.audio_level", o.audio_level)?;
        }
        if self.inbound.len() > MAX_INBOUND_STREAMS {
            return Err(format!(
                "at most {MAX_INBOUND_STREAMS} inbound streams per report"
            ));
        }
        for i in &self.inbound {
            if i.participant_id.is_empty() || i.participant_id.len() > 128 {
                return Err("`inbound[].participant_id` must be 1 to 128 bytes".into());
            }
            check_ms("inbound[].jitter_ms", i.jitter_ms)?;
            check_ms("inbound[].jitter_buffer_delay_ms", i.jitter_buffer_delay_ms)?;
            check_unit("inbound[].audio_level", i.audio_level)?;
        }
        Ok(())
    }
}

/// A participant's latest quality sample, as shown live.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct QualityView {
    pub level: QualityLevel,
    pub mos: f64,
    /// Loss on the participant's link, both directions combined, percent.
    pub loss_pct: f64,
    pub up_loss_pct: Option<f64>,
    pub down_loss_pct: Option<f64>,
    /// Audio the SFU meant to send them but could not (its own loss), percent.
    #[serde(default)]
    pub sfu_loss_pct: Option<f64>,
    /// Jitter on their uplink, and added on their downlink, ms.
    #[serde(default)]
    pub up_jitter_ms: Option<f64>,
    #[serde(default)]
    pub down_jitter_ms: Option<f64>,
    pub jitter_ms: f64,
    pub rtt_ms: Option<f64>,
    pub bitrate_kbps: Option<f64>,
    /// The participant's audio over the interval: packets and payload bytes
    /// (as the SFU received them, or as their client sent them in p2p).
    pub up_packets: Option<u64>,
    pub up_bytes: Option<u64>,
    /// Audio to the participant: as the SFU sent it, or (p2p) as their
    /// client received it.
    pub down_packets: Option<u64>,
    pub down_bytes: Option<u64>,
    /// Mean RFC 6464 level of their audio, -dBov (127 = silence).
    pub audio_level_dbov: Option<f64>,
    /// Share of their packets with voice, 0..=1 (silence is 0).
    pub voice_activity: Option<f64>,
    /// Audio their client had to conceal (loss concealment), percent.
    pub concealed_pct: Option<f64>,
    /// Their client's mean jitter-buffer delay, ms.
    pub jitter_buffer_ms: Option<f64>,
    /// Where the figures come from: `sfu`, `client` or `sfu+client`.
    pub source: String,
    /// When the sample was taken (ms since the epoch).
    pub at: i64,
}

/// A participant as a monitor sees them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MonitorParticipant {
    pub participant_id: String,
    pub user: UserRef,
    pub muted: bool,
    pub joined_at: i64,
    pub quality: Option<QualityView>,
}

/// An ongoing call as a monitor sees it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MonitorCallView {
    pub id: String,
    #[serde(serialize_with = "crate::room_key::serialize_local")]
    pub room_id: String,
    pub mode: CallMode,
    pub started_at: i64,
    pub initiator: UserRef,
    pub participants: Vec<MonitorParticipant>,
    /// Live issues raised now, so a monitor that subscribes mid-issue sees
    /// them (later changes come as `call_issue` / `call_issue_cleared`).
    #[serde(default)]
    pub issues: Vec<ActiveIssue>,
}

/// A live issue still raised.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ActiveIssue {
    pub participant_id: String,
    pub issue: crate::quality::issues::IssueKind,
    pub since: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_participant_id: Option<String>,
}

/// Quality over a set of samples (a call's, or one participant's).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct QualityTotals {
    /// Quality samples taken.
    pub samples: i64,
    pub avg_mos: Option<f64>,
    pub worst_mos: Option<f64>,
    pub worst_level: Option<QualityLevel>,
    pub avg_loss_pct: Option<f64>,
    pub max_loss_pct: Option<f64>,
    pub avg_jitter_ms: Option<f64>,
    pub avg_rtt_ms: Option<f64>,
}

/// A call's quality at a glance: the list entry and the report's head.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CallSummary {
    pub id: String,
    #[serde(serialize_with = "crate::room_key::serialize_local")]
    pub room_id: String,
    pub mode: String,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub duration_ms: Option<i64>,
    /// Devices that took part.
    pub participants: i64,
    #[serde(flatten)]
    pub quality: QualityTotals,
}
