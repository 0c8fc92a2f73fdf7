//! Value types shared by both directions of the protocol and the REST API.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A user as others see them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UserRef {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
}

/// What kind of content a message carries.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MessageType {
    #[default]
    Text,
    Image,
    File,
    Voice,
    /// Sent by the server or a product backend, not by a person.
    System,
    /// A call's entry in the room's timeline (sent in the caller's name;
    /// `metadata` holds the call's id, mode, outcome and duration).
    Call,
}

impl MessageType {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Text => "text",
            MessageType::Image => "image",
            MessageType::File => "file",
            MessageType::Voice => "voice",
            MessageType::System => "system",
            MessageType::Call => "call",
        }
    }

    pub fn parse(s: &str) -> MessageType {
        match s {
            "image" => MessageType::Image,
            "file" => MessageType::File,
            "voice" => MessageType::Voice,
            "system" => MessageType::System,
            "call" => MessageType::Call,
            _ => MessageType::Text,
        }
    }
}

/// A stored chat message as delivered to clients.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MessageView {
    pub id: String,
    #[serde(serialize_with = "crate::room_key::serialize_local")]
    pub room_id: String,
    /// Per-room sequence number: strictly increasing, assigned at storage.
    pub seq: i64,
    pub sender: UserRef,
    pub client_msg_id: String,
    pub message_type: MessageType,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reply_to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub refs: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub metadata: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lang: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub edited_at: Option<i64>,
    #[serde(default)]
    pub deleted: bool,
    /// Uploaded files the message carries, in the order given.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub attachments: Vec<AttachmentView>,
    /// Written by the assistant (`ai_response`).
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub ai: bool,
}

/// An upload as a message carries it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AttachmentView {
    pub id: String,
    /// The sanitized file name (display only; never a path).
    pub name: String,
    /// Sniffed from the content at upload.
    pub mime_type: String,
    pub size: i64,
    /// Download path (`Authorization: Bearer` required).
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub thumbnail_url: Option<String>,
}

/// How a notification should be shown.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    #[default]
    Info,
    Success,
    Warning,
    Error,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Info => "info",
            NotificationKind::Success => "success",
            NotificationKind::Warning => "warning",
            NotificationKind::Error => "error",
        }
    }

    pub fn parse(s: &str) -> NotificationKind {
        match s {
            "success" => NotificationKind::Success,
            "warning" => NotificationKind::Warning,
            "error" => NotificationKind::Error,
            _ => NotificationKind::Info,
        }
    }
}

/// A stored notification as its recipient sees it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NotificationView {
    pub id: String,
    pub kind: NotificationKind,
    pub title: String,
    pub body: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub link: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub data: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[serde(serialize_with = "crate::room_key::serialize_local_opt")]
    pub room_id: Option<String>,
    pub created_at: i64,
    /// When the recipient marked it read; `null` while unread.
    pub read_at: Option<i64>,
}

/// A room's identity and settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RoomInfo {
    /// Stored as the room's key (see [`crate::room_key`]); sent as the id
    /// its tenant knows it by.
    #[serde(serialize_with = "crate::room_key::serialize_local")]
    pub id: String,
    /// Free-form kind: `application`, `ticket`, `salon`, `support`, ...
    #[serde(rename = "type")]
    pub room_type: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tenant: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub metadata: Option<Value>,
    pub created_by: String,
    pub created_at: i64,
    /// Made by a user who is not staff (not by staff or the server API): a
    /// token's room grant never admits into such a room. Server-side only.
    #[serde(skip)]
    pub user_created: bool,
}

/// A room member with their live presence.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MemberView {
    pub user: UserRef,
    pub presence: PresenceStatus,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub last_seen: Option<i64>,
    pub last_read_seq: i64,
    /// Messages up to here reached at least one of their devices.
    #[serde(default)]
    pub delivered_seq: i64,
}

/// One entry of a user's room list.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RoomSummary {
    pub room: RoomInfo,
    pub unread: i64,
    pub last_seq: i64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub last_message: Option<MessagePreview>,
    /// Members currently online (any status but offline).
    pub online: Vec<String>,
}

/// The short form of a room's latest message for room lists.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MessagePreview {
    pub seq: i64,
    pub sender_id: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sender_name: Option<String>,
    pub message_type: MessageType,
    pub text: String,
    pub created_at: i64,
}

impl MessagePreview {
    /// The list entry's preview of a stored message (text cut at 120
    /// characters; none for a deleted message).
    pub fn of(m: &MessageView) -> MessagePreview {
        MessagePreview {
            seq: m.seq,
            sender_id: m.sender.id.clone(),
            sender_name: m.sender.name.clone(),
            message_type: m.message_type,
            text: if m.deleted {
                String::new()
            } else {
                MessagePreview::cut(&m.text)
            },
            created_at: m.created_at,
        }
    }

    /// `text` cut to 120 characters (with an ellipsis when cut).
    pub fn cut(text: &str) -> String {
        match text.char_indices().nth(120) {
            Some((i, _)) => format!("{}…", &text[..i]),
            None => text.to_string(),
        }
    }
}

/// A user's aggregated presence.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum PresenceStatus {
    Online,
    Away,
    Busy,
    #[default]
    Offline,
}

/// A user's presence as pushed to others.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PresenceView {
    pub user_id: String,
    pub status: PresenceStatus,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub last_seen: Option<i64>,
    /// Number of connected devices.
    pub devices: usize,
}

/// How a call carries media.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CallMode {
    /// Peers connect directly; the server relays offers, answers and candidates.
    P2p,
    /// Every peer connects to the server, which forwards audio.
    #[default]
    Sfu,
}

impl CallMode {
    pub fn as_str(self) -> &'static str {
        match self {
            CallMode::P2p => "p2p",
            CallMode::Sfu => "sfu",
        }
    }
}

/// One device in a call.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ParticipantView {
    /// Addresses this device in `call_signal` and mute requests.
    pub participant_id: String,
    pub user: UserRef,
    pub muted: bool,
    pub joined_at: i64,
}

/// A call's state as sent to clients.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CallInfo {
    pub id: String,
    #[serde(serialize_with = "crate::room_key::serialize_local")]
    pub room_id: String,
    pub mode: CallMode,
    pub initiator: UserRef,
    pub started_at: i64,
    pub participants: Vec<ParticipantView>,
    /// `ringing` until someone other than the caller accepts, then `active`.
    #[serde(default)]
    pub state: CallState,
    /// When the first callee accepted (the call timer starts there).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub answered_at: Option<i64>,
    /// Everyone the call rang (the room's members but the caller, when it
    /// started) and where each of them stands.
    #[serde(default)]
    pub invitees: Vec<InviteeView>,
}

/// Whether anyone has answered the call yet.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    /// Nobody but the caller is in: the caller's devices show "Calling…".
    #[default]
    Ringing,
    /// Someone accepted.
    Active,
}

/// Where one invited user stands. Every transition reaches every device of
/// the room's members as `call_updated`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum InviteState {
    /// Their devices ring.
    #[default]
    Ringing,
    /// One of their devices joined; their other devices stop ringing (on
    /// those, the call was answered elsewhere).
    Accepted,
    /// They declined (`reason`: `busy` or a short text).
    Declined,
    /// They were in another call when this one started: not rung.
    Busy,
    /// Nobody answered within `ring_timeout`.
    Missed,
    /// The caller gave up, or the call ended, while they were still rung.
    Cancelled,
}

impl InviteState {
    pub fn as_str(self) -> &'static str {
        match self {
            InviteState::Ringing => "ringing",
            InviteState::Accepted => "accepted",
            InviteState::Declined => "declined",
            InviteState::Busy => "busy",
            InviteState::Missed => "missed",
            InviteState::Cancelled => "cancelled",
        }
    }
}

/// One invited user of a call.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InviteeView {
    pub user_id: String,
    pub state: InviteState,
    /// Why they declined, when they said.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
    /// When `state` last changed (ms since the epoch).
    pub at: i64,
}

/// How a call ended, as its timeline entry and `call_ended` tell it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// Someone answered; the call ran and ended.
    Completed,
    /// Nobody answered within `ring_timeout`.
    Missed,
    /// Every callee declined.
    Declined,
    /// The caller gave up before anyone answered.
    Cancelled,
    /// Every callee was in another call.
    Busy,
    /// The server hosting the call stopped or died.
    Interrupted,
}

impl CallOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Completed => "completed",
            CallOutcome::Missed => "missed",
            CallOutcome::Declined => "declined",
            CallOutcome::Cancelled => "cancelled",
            CallOutcome::Busy => "busy",
            CallOutcome::Interrupted => "interrupted",
        }
    }
}

/// An ICE server for `RTCPeerConnection` (STUN, or TURN with credentials).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub credential: Option<String>,
}
