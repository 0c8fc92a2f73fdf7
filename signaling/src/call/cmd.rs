//! What a call task can be asked to do: [`CallCmd`], sent through the
//! registry's channel handle.

use serde_json::Value;
use tokio::sync::oneshot;

use crate::config::Identity;
use crate::conn::ConnHandle;
use crate::error::Result;
use crate::protocol::{CallInfo, CallStatsReport, MonitorCallView};

/// Everything a call task can be asked to do. Participants are addressed
/// by their connection (one participant per device).
#[derive(Debug)]
pub enum CallCmd {
    Join {
        identity: Identity,
        conn: ConnHandle,
        /// The participant id this device had before a reconnect.
        replaces: Option<String>,
        request_id: Option<String>,
        reply: oneshot::Sender<Result<()>>,
    },
    Leave {
        conn: ConnHandle,
        request_id: Option<String>,
    },
    End {
        identity: Identity,
        conn: ConnHandle,
        request_id: Option<String>,
    },
    Signal {
        conn: ConnHandle,
        to: String,
        signal: Value,
        request_id: Option<String>,
    },
    SfuOffer {
        conn: ConnHandle,
        sdp: String,
        request_id: Option<String>,
    },
    SfuAnswer {
        conn: ConnHandle,
        sdp: String,
        request_id: Option<String>,
    },
    Candidate {
        conn: ConnHandle,
        candidate: Value,
        request_id: Option<String>,
    },
    SetMute {
        conn: ConnHandle,
        muted: bool,
        request_id: Option<String>,
    },
    MuteParticipant {
        identity: Identity,
        conn: ConnHandle,
        participant_id: String,
        muted: bool,
        request_id: Option<String>,
    },
    /// A participant's periodic `call_stats`.
    Stats {
        conn: ConnHandle,
        report: Box<CallStatsReport>,
        request_id: Option<String>,
    },
    /// `report_call_issue` from a participant's device.
    Issue {
        conn: ConnHandle,
        issue: crate::quality::issues::IssueKind,
        active: bool,
        request_id: Option<String>,
    },
    /// The user was removed from the call's room: every device of theirs
    /// leaves the call now.
    Remove { user_id: String },
    /// The call as monitors see it.
    Monitor {
        reply: oneshot::Sender<(Option<String>, MonitorCallView)>,
    },
    /// The call's current state (for a reconnecting device).
    Info { reply: oneshot::Sender<CallInfo> },
    /// A callee turns the call down.
    Decline {
        identity: Identity,
        conn: ConnHandle,
        reason: Option<String>,
        request_id: Option<String>,
    },
    /// The caller gives up before anyone answered.
    Cancel {
        identity: Identity,
        conn: ConnHandle,
        request_id: Option<String>,
    },
    /// The server is stopping.
    Shutdown,
}
