//! Messages a client sends to the server.

use serde::Deserialize;
use serde_json::Value;

use super::quality::CallStatsReport;
use super::types::{CallMode, MessageType, PresenceStatus};

/// One frame from a client: an optional `request_id` echoed back on the reply
/// or error, and the request itself.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ClientFrame {
    #[serde(default)]
    pub request_id: Option<String>,
    #[serde(flatten)]
    pub message: ClientMessage,
}

/// Every request a client can make, tagged by `type`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// First message when the token was not given in the URL or a header.
    /// On an authenticated connection: a fresh token for the same user,
    /// answered with `token_refreshed`, keeps the connection open past the
    /// first token's expiry.
    Authenticate {
        token: String,
    },
    /// Application-level heartbeat; answered with `pong`.
    Ping {
        #[serde(default)]
        ts: Option<i64>,
    },
    /// Subscribe this connection to a room. `since_seq` asks for every message
    /// after that sequence (reconnect recovery).
    JoinRoom {
        room_id: String,
        #[serde(default)]
        since_seq: Option<i64>,
    },
    LeaveRoom {
        room_id: String,
    },
    /// List the rooms this user belongs to, a page at a time: `limit` rooms
    /// (default and maximum set by the server) after `cursor` (a previous
    /// reply's `next_cursor`; absent: the first page).
    ListRooms {
        #[serde(default)]
        limit: Option<u32>,
        #[serde(default)]
        cursor: Option<String>,
    },
    SendMessage(SendMessage),
    EditMessage {
        room_id: String,
        message_id: String,
        text: String,
    },
    DeleteMessage {
        room_id: String,
        message_id: String,
    },
    /// A page of history: newest page first when neither bound is given.
    GetMessages {
        room_id: String,
        #[serde(default)]
        before: Option<i64>,
        #[serde(default)]
        after: Option<i64>,
        #[serde(default)]
        limit: Option<u32>,
    },
    Typing {
        room_id: String,
        is_typing: bool,
    },
    MarkRead {
        room_id: String,
        seq: i64,
    },
    /// Messages up to `seq` reached this device (sent debounced, a batch at
    /// a time, not per message).
    MarkDelivered {
        room_id: String,
        seq: i64,
    },
    SetPresence {
        status: PresenceStatus,
    },
    GetPresence {
        user_ids: Vec<String>,
    },
    /// Start a call in a room; every member's devices get `call_started`.
    StartCall {
        room_id: String,
        #[serde(default)]
        mode: Option<CallMode>,
    },
    JoinCall {
        call_id: String,
        /// This device's participant id from before a reconnect: that
        /// participant (the same user's, its socket maybe not yet found dead)
        /// leaves as this one joins.
        #[serde(default)]
        replaces: Option<String>,
    },
    LeaveCall {
        call_id: String,
    },
    /// End the call for everyone (its initiator, or a staff role).
    EndCall {
        call_id: String,
    },
    /// A callee turns down a ringing call: every device of theirs stops
    /// ringing; in a 1:1 call the call ends (`declined`).
    DeclineCall {
        call_id: String,
        /// `busy`, or a short text for the caller (at most 200 characters).
        #[serde(default)]
        reason: Option<String>,
    },
    /// The caller gives up before anyone answered: the call ends
    /// (`cancelled`) and every callee's devices stop ringing.
    CancelCall {
        call_id: String,
    },
    /// p2p: relay an offer, answer or ICE candidate to one participant.
    CallSignal {
        call_id: String,
        to: String,
        signal: Value,
    },
    /// sfu: the client's offer (answered with `sfu_answer`).
    SfuOffer {
        call_id: String,
        sdp: String,
    },
    /// sfu: the client's answer to a server-initiated `sfu_offer`.
    SfuAnswer {
        call_id: String,
        sdp: String,
    },
    /// sfu: a trickled ICE candidate (`RTCIceCandidateInit`).
    IceCandidate {
        call_id: String,
        candidate: Value,
    },
    /// Mute or unmute your own audio in the call.
    SetMute {
        call_id: String,
        muted: bool,
    },
    /// Server-side mute of another participant (staff roles only).
    MuteParticipant {
        call_id: String,
        participant_id: String,
        muted: bool,
    },
    /// A periodic getStats() summary from a call participant.
    CallStats(CallStatsReport),
    /// An issue only the participant's own device can see: today
    /// `talking_while_muted` (voice on the muted microphone). `active:
    /// false` ends it.
    ReportCallIssue {
        call_id: String,
        issue: crate::quality::issues::IssueKind,
        active: bool,
    },
    /// Monitoring roles: live view of every ongoing call.
    MonitorSubscribe {},
    MonitorUnsubscribe {},
}

/// A chat message to store and deliver.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct SendMessage {
    pub room_id: String,
    /// Chosen by the client; a resend with the same id never duplicates.
    pub client_msg_id: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub message_type: MessageType,
    /// Server id of the message this one answers.
    #[serde(default)]
    pub reply_to: Option<String>,
    /// Entity references (an appointment, a product, ...), free-form objects.
    #[serde(default)]
    pub refs: Option<Vec<Value>>,
    #[serde(default)]
    pub metadata: Option<Value>,
    /// BCP 47 language tag such as `en` or `ar`.
    #[serde(default)]
    pub lang: Option<String>,
    /// Ids of files this user uploaded (`POST /api/uploads`).
    #[serde(default)]
    pub attachments: Vec<String>,
}

impl ClientMessage {
    /// The room this request names, if any: the session turns it into the
    /// room's key (see [`crate::room_key`]) before handling the request.
    pub fn room_id_mut(&mut self) -> Option<&mut String> {
        match self {
            ClientMessage::JoinRoom { room_id, .. }
            | ClientMessage::LeaveRoom { room_id }
            | ClientMessage::SendMessage(SendMessage { room_id, .. })
            | ClientMessage::EditMessage { room_id, .. }
            | ClientMessage::DeleteMessage { room_id, .. }
            | ClientMessage::GetMessages { room_id, .. }
            | ClientMessage::Typing { room_id, .. }
            | ClientMessage::MarkRead { room_id, .. }
            | ClientMessage::MarkDelivered { room_id, .. }
            | ClientMessage::StartCall { room_id, .. } => Some(room_id),
            _ => None,
        }
    }

    /// The name used on the wire, for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            ClientMessage::Authenticate { .. } => "authenticate",
            ClientMessage::Ping { .. } => "ping",
            ClientMessage::JoinRoom { .. } => "join_room",
            ClientMessage::LeaveRoom { .. } => "leave_room",
            ClientMessage::ListRooms { .. } => "list_rooms",
            ClientMessage::SendMessage(_) => "send_message",
            ClientMessage::EditMessage { .. } => "edit_message",
            ClientMessage::DeleteMessage { .. } => "delete_message",
            ClientMessage::GetMessages { .. } => "get_messages",
            ClientMessage::Typing { .. } => "typing",
            ClientMessage::MarkRead { .. } => "mark_read",
            ClientMessage::MarkDelivered { .. } => "mark_delivered",
            ClientMessage::SetPresence { .. } => "set_presence",
            ClientMessage::GetPresence { .. } => "get_presence",
            ClientMessage::StartCall { .. } => "start_call",
            ClientMessage::JoinCall { .. } => "join_call",
            ClientMessage::LeaveCall { .. } => "leave_call",
            ClientMessage::EndCall { .. } => "end_call",
            ClientMessage::DeclineCall { .. } => "decline_call",
            ClientMessage::CancelCall { .. } => "cancel_call",
            ClientMessage::CallSignal { .. } => "call_signal",
            ClientMessage::SfuOffer { .. } => "sfu_offer",
            ClientMessage::SfuAnswer { .. } => "sfu_answer",
            ClientMessage::IceCandidate { .. } => "ice_candidate",
            ClientMessage::SetMute { .. } => "set_mute",
            ClientMessage::MuteParticipant { .. } => "mute_participant",
            ClientMessage::CallStats(_) => "call_stats",
            ClientMessage::ReportCallIssue { .. } => "report_call_issue",
            ClientMessage::MonitorSubscribe {} => "monitor_subscribe",
            ClientMessage::MonitorUnsubscribe {} => "monitor_unsubscribe",
        }
    }
}
