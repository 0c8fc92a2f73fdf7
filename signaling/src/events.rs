//! Call events for the outside world (webhooks): the signaling layer emits
//! them on a bounded channel; the server binary decides where they go.

use serde::Serialize;
use tokio::sync::mpsc;

use crate::protocol::{CallInfo, CallSummary, QualityLevel, QualityView};

/// Something a product backend may want to hear about.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CallEvent {
    CallStarted {
        call: CallInfo,
    },
    CallEnded {
        call_id: String,
        #[serde(serialize_with = "crate::room_key::serialize_local")]
        room_id: String,
        reason: String,
        ended_by: Option<String>,
        summary: CallSummary,
    },
    /// A live issue of a participant was raised (`raised`) or cleared.
    CallIssue {
        call_id: String,
        #[serde(serialize_with = "crate::room_key::serialize_local")]
        room_id: String,
        participant_id: String,
        user_id: String,
        issue: crate::quality::issues::IssueKind,
        raised: bool,
        since: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        duration_ms: Option<i64>,
        /// `one_way_audio`: the speaker whose audio does not reach them.
        #[serde(skip_serializing_if = "Option::is_none")]
        from_participant_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        from_user_id: Option<String>,
    },
    /// A participant's quality level fell to `fair` or `poor`.
    QualityDegraded {
        call_id: String,
        #[serde(serialize_with = "crate::room_key::serialize_local")]
        room_id: String,
        participant_id: String,
        user_id: String,
        level: QualityLevel,
        previous: QualityLevel,
        quality: QualityView,
    },
}

impl CallEvent {
    /// The key of the room the event happened in.
    pub fn room_key(&self) -> &str {
        match self {
            CallEvent::CallStarted { call } => &call.room_id,
            CallEvent::CallEnded { room_id, .. }
            | CallEvent::QualityDegraded { room_id, .. }
            | CallEvent::CallIssue { room_id, .. } => room_id,
        }
    }

    /// The tenant of the room the event happened in (`None`: no tenant).
    pub fn tenant(&self) -> Option<&str> {
        crate::room_key::tenant_of(self.room_key())
    }

    /// The event's name on the wire (`call.started`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            CallEvent::CallStarted { .. } => "call.started",
            CallEvent::CallEnded { .. } => "call.ended",
            CallEvent::QualityDegraded { .. } => "call.quality_degraded",
            CallEvent::CallIssue { .. } => "call.issue",
        }
    }
}

/// Where events go; a full queue drops the event (and says so in the log)
/// rather than slowing a call down.
#[derive(Clone, Debug, Default)]
pub struct EventSink {
    tx: Option<mpsc::Sender<CallEvent>>,
}

impl EventSink {
    /// A sink and its receiving end, holding up to `capacity` events.
    pub fn channel(capacity: usize) -> (EventSink, mpsc::Receiver<CallEvent>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (EventSink { tx: Some(tx) }, rx)
    }

    /// A sink that discards everything.
    pub fn none() -> EventSink {
        EventSink { tx: None }
    }

    pub fn emit(&self, event: CallEvent) {
        if let Some(tx) = &self.tx {
            if let Err(mpsc::error::TrySendError::Full(e)) = tx.try_send(event) {
                tracing::warn!(event = e.name(), "event queue full; event dropped");
            }
        }
    }
}
