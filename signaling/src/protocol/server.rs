//! Messages the server sends to a client.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::quality::{CallSummary, MonitorCallView, QualityLevel};
use super::types::{
    CallInfo, CallOutcome, IceServer, MemberView, MessagePreview, MessageView, NotificationView,
    ParticipantView, PresenceView, RoomInfo, RoomSummary, UserRef,
};
use crate::error::ErrorCode;
use crate::quality::issues::IssueKind;

/// Every event and reply the server sends, tagged by `type`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Sent once the connection is authenticated.
    Welcome {
        user: UserRef,
        connection_id: String,
        server_time: i64,
        heartbeat_interval_ms: u64,
        /// When the token expires (ms since the epoch, server clock): the
        /// connection is closed then (code 4001) unless the client sends
        /// `authenticate` with a fresh token before.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        token_expires_at: Option<i64>,
    },
    /// A fresh token sent with `authenticate` was accepted: the connection
    /// now lasts until `token_expires_at`.
    TokenRefreshed {
        #[serde(skip_serializing_if = "Option::is_none", default)]
        request_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        token_expires_at: Option<i64>,
    },
    Pong {
        #[serde(skip_serializing_if = "Option::is_none", default)]
        request_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        ts: Option<i64>,
        server_time: i64,
    },
    /// This connection now receives the room's events. `missed` holds every
    /// message after the requested `since_seq` (or the newest page).
    RoomJoined {
        #[serde(skip_serializing_if = "Option::is_none", default)]
        request_id: Option<String>,
        room: RoomInfo,
        members: Vec<MemberView>,
        last_seq: i64,
        missed: Vec<MessageView>,
        /// More missed messages exist than were sent: page with `get_messages`.
        has_more: bool,
    },
    RoomLeft {
        #[serde(skip_serializing_if = "Option::is_none", default)]
        request_id: Option<String>,
        #[serde(serialize_with = "crate::room_key::serialize_local")]
        room_id: String,
    },
    /// A user's first device joined the room.
    MemberJoined {
        #[serde(serialize_with = "crate::room_key::serialize_local")]
        room_id: String,
        user: UserRef,
    },
    /// A user's last device left the room (or disconnected).
    MemberLeft {
        #[serde(serialize_with = "crate::room_key::serialize_local")]
        room_id: String,
        user_id: String,
    },
    /// You were put in a room (it was created with you in it, or you were
    /// added): its list entry, to every device of yours.
    RoomAdded {
        room: RoomSummary,
    },
    /// You are no longer a member of the room: to every device of yours.
    RoomRemoved {
        #[serde(serialize_with = "crate::room_key::serialize_local")]
        room_id: String,
    },
    /// A room's title or metadata changed: to every device of its members.
    RoomUpdated {
        room: RoomInfo,
    },
    /// A new message in a room of yours that you have not joined on any
    /// device: the room list's preview and position (`unread` grows by one
    /// when the sender is someone else).
    RoomActivity {
        #[serde(serialize_with = "crate::room_key::serialize_local")]
        room_id: String,
        last_seq: i64,
        message: MessagePreview,
    },
    Rooms {
        #[serde(skip_serializing_if = "Option::is_none", default)]
        request_id: Option<String>,
        rooms: Vec<RoomSummary>,
        /// More rooms follow: ask again with `cursor: next_cursor`.
        #[serde(default)]
        has_more: bool,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        next_cursor: Option<String>,
    },
    /// The message is durably stored; sent to the sending connection only.
    MessageAck {
        #[serde(skip_serializing_if = "Option::is_none", default)]
        request_id: Option<String>,
        #[serde(serialize_with = "crate::room_key::serialize_local")]
        room_id: String,
        client_msg_id: String,
        message_id: String,
        seq: i64,
        created_at: i64,
        /// True when this client message id had already been stored.
        duplicate: bool,
    },
    /// A new message in a joined room.
    Message {
        message: MessageView,
    },
    MessageUpdated {
        message: MessageView,
    },
    MessageDeleted {
        #[serde(serialize_with = "crate::room_key::serialize_local")]
        room_id: String,
        message_id: String,
        seq: i64,
    },
    Messages {
        #[serde(skip_serializing_if = "Option::is_none", default)]
        request_id: Option<String>,
        #[serde(serialize_with = "crate::room_key::serialize_local")]
        room_id: String,
        messages: Vec<MessageView>,
        has_more: bool,
    },
    Typing {
        #[serde(serialize_with = "crate::room_key::serialize_local")]
        room_id: String,
        user_id: String,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        name: Option<String>,
        is_typing: bool,
    },
    ReadReceipt {
        #[serde(serialize_with = "crate::room_key::serialize_local")]
        room_id: String,
        user_id: String,
        seq: i64,
    },
    /// Messages up to `seq` reached at least one device of `user_id`.
    DeliveryReceipt {
        #[serde(serialize_with = "crate::room_key::serialize_local")]
        room_id: String,
        user_id: String,
        seq: i64,
    },
    Presence(PresenceView),
    PresenceList {
        #[serde(skip_serializing_if = "Option::is_none", default)]
        request_id: Option<String>,
        users: Vec<PresenceView>,
    },
    /// A call started in one of your rooms (a ring).
    CallStarted {
        #[serde(skip_serializing_if = "Option::is_none", default)]
        request_id: Option<String>,
        call: CallInfo,
    },
    /// You joined the call: your participant id and the ICE servers to use.
    CallJoined {
        #[serde(skip_serializing_if = "Option::is_none", default)]
        request_id: Option<String>,
        call: CallInfo,
        participant_id: String,
        ice_servers: Vec<IceServer>,
    },
    CallLeft {
        #[serde(skip_serializing_if = "Option::is_none", default)]
        request_id: Option<String>,
        call_id: String,
        /// Set when the server removed this device: `media_failed` (its
        /// peer connection to the SFU failed; it may join again), `replaced`
        /// (the same device joined again), `removed` (the user was removed
        /// from the call's room).
        #[serde(skip_serializing_if = "Option::is_none", default)]
        reason: Option<String>,
    },
    CallParticipantJoined {
        call_id: String,
        participant: ParticipantView,
    },
    CallParticipantLeft {
        call_id: String,
        participant_id: String,
        user_id: String,
    },
    /// A live issue of a participant (`no_audio_sent`: their microphone
    /// sends no sound while others speak): to that participant and to
    /// monitors.
    CallIssue {
        call_id: String,
        participant_id: String,
        user_id: String,
        issue: IssueKind,
        /// When the condition began (ms since the epoch).
        since: i64,
        /// `one_way_audio`: the speaker whose audio does not reach them.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from_participant_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from_user_id: Option<String>,
    },
    /// The issue is over (so a client hides its banner).
    CallIssueCleared {
        call_id: String,
        participant_id: String,
        user_id: String,
        issue: IssueKind,
        since: i64,
        duration_ms: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from_participant_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from_user_id: Option<String>,
    },
    /// The call's state changed (someone accepted, declined, was found
    /// busy or missed it): sent to every device of the room's members.
    CallUpdated {
        call: CallInfo,
    },
    /// Right after `welcome`: every call going on in the user's rooms, with
    /// its state. A client forgets any call it knew that is not listed (it
    /// ended while the client was away).
    ActiveCalls {
        calls: Vec<CallInfo>,
    },
    /// Sent to every member of the call's room.
    CallEnded {
        call_id: String,
        #[serde(serialize_with = "crate::room_key::serialize_local")]
        room_id: String,
        /// What ended it: `ended` (`end_call`), `empty` (the last participant
        /// left, or nobody joined), `cancelled`, `declined`, `missed`,
        /// `busy`, or `shutdown`.
        reason: String,
        /// How the call went: `completed`, `missed`, `declined`,
        /// `cancelled`, `busy` or `interrupted`.
        outcome: CallOutcome,
        /// From the first answer to the end; absent if nobody answered.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        duration_ms: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        ended_by: Option<String>,
    },
    /// p2p: a relayed offer, answer or candidate from another participant.
    CallSignal {
        call_id: String,
        from: String,
        from_user: String,
        signal: serde_json::Value,
    },
    /// sfu: a server-initiated offer (tracks were added or removed).
    SfuOffer {
        call_id: String,
        sdp: String,
    },
    /// sfu: the server's answer to your offer.
    SfuAnswer {
        #[serde(skip_serializing_if = "Option::is_none", default)]
        request_id: Option<String>,
        call_id: String,
        sdp: String,
    },
    /// sfu: a server ICE candidate (`RTCIceCandidateInit`).
    IceCandidate {
        call_id: String,
        candidate: serde_json::Value,
    },
    ParticipantMuted {
        call_id: String,
        participant_id: String,
        muted: bool,
        /// Set when a moderator muted them.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        by: Option<String>,
    },
    /// The loudest current speaker, or none.
    ActiveSpeaker {
        call_id: String,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        participant_id: Option<String>,
    },
    /// A notification for this user (live, or stored while offline and
    /// delivered on connect).
    Notification {
        notification: NotificationView,
    },
    /// The user marked notifications read (on any device): `ids` for one,
    /// `all` for every unread one. Sent to all their devices so badges agree.
    NotificationsRead {
        #[serde(skip_serializing_if = "Vec::is_empty", default)]
        ids: Vec<String>,
        #[serde(skip_serializing_if = "std::ops::Not::not", default)]
        all: bool,
        read_at: i64,
    },
    /// A custom event published by the product backend.
    Event {
        name: String,
        payload: serde_json::Value,
        /// Set only when published to a room.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        #[serde(serialize_with = "crate::room_key::serialize_local_opt")]
        room_id: Option<String>,
    },
    /// The assistant's answer: a stored room message with `ai: true`, in the
    /// room's sequence like any `message`.
    AiResponse {
        message: MessageView,
    },
    /// A participant's quality level changed (to the call's participants
    /// and to monitors).
    ConnectionQuality {
        call_id: String,
        participant_id: String,
        user_id: String,
        level: QualityLevel,
        previous: Option<QualityLevel>,
        mos: f64,
        loss_pct: f64,
        jitter_ms: f64,
        rtt_ms: Option<f64>,
    },
    /// Every ongoing call, in reply to `monitor_subscribe`.
    MonitorSnapshot {
        #[serde(skip_serializing_if = "Option::is_none", default)]
        request_id: Option<String>,
        calls: Vec<MonitorCallView>,
    },
    /// A call started, changed participants, or took a quality sample.
    MonitorCall {
        call: MonitorCallView,
    },
    MonitorCallEnded {
        call_id: String,
        summary: CallSummary,
    },
    /// A generic success reply for requests without another answer.
    Ok {
        #[serde(skip_serializing_if = "Option::is_none", default)]
        request_id: Option<String>,
    },
    Error {
        code: ErrorCode,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        request_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        retry_after_ms: Option<u64>,
    },
}

impl ServerMessage {
    /// Serialize once; the bytes are shared by every recipient.
    pub fn to_frame(&self) -> Frame {
        // Serializing these plain data types cannot fail (string keys only).
        let json = serde_json::to_vec(self).unwrap_or_else(|_| b"{}".to_vec());
        Frame(Bytes::from(json))
    }

    pub fn error(code: ErrorCode, message: impl Into<String>, request_id: Option<String>) -> Self {
        ServerMessage::Error {
            code,
            message: message.into(),
            request_id,
            retry_after_ms: None,
        }
    }
}

/// A serialized server message: UTF-8 JSON, cheap to clone for fan-out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame(pub Bytes);

impl Frame {
    pub fn as_str(&self) -> &str {
        // Built only from serde_json output, which is always UTF-8.
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}
