//! The commands a room task takes.

use tokio::sync::oneshot;

use crate::assistant::Answer;
use crate::config::Identity;
use crate::conn::ConnHandle;
use crate::error::{Result, SignalError};
use crate::protocol::{MessageView, RoomInfo, SendMessage, ServerMessage, UserRef};
use crate::store::{Mark, NewMessage};

/// Everything a room task can be asked to do.
#[derive(Debug)]
pub enum RoomCmd {
    Join {
        identity: Identity,
        conn: ConnHandle,
        since_seq: Option<i64>,
        request_id: Option<String>,
        reply: oneshot::Sender<Result<()>>,
    },
    /// The connection leaves (explicitly, or because it closed).
    Leave {
        conn: ConnHandle,
        request_id: Option<String>,
        explicit: bool,
    },
    Send {
        conn: ConnHandle,
        sender: UserRef,
        msg: SendMessage,
        request_id: Option<String>,
    },
    Edit {
        conn: ConnHandle,
        message_id: String,
        text: Option<String>,
        request_id: Option<String>,
    },
    Typing {
        conn: ConnHandle,
        is_typing: bool,
    },
    MarkRead {
        conn: ConnHandle,
        seq: i64,
        mark: Mark,
        request_id: Option<String>,
    },
    /// Membership changed over REST: reload, and drop subscriptions of
    /// `removed` (who lose access unless staff or granted).
    MembersChanged {
        removed: Option<String>,
    },
    /// A message from the server API (a system or named sender), stored and
    /// broadcast like any other; `reply` gets it once stored.
    Post {
        msg: NewMessage,
        reply: oneshot::Sender<Result<MessageView>>,
    },
    /// The room's title or metadata changed over REST.
    InfoChanged {
        info: RoomInfo,
    },
    /// The server rewrites one of its entries (a call's, as the call goes):
    /// stored, then broadcast as `message_updated`.
    Amend {
        message_id: String,
        text: String,
        metadata: serde_json::Value,
        reply: oneshot::Sender<Result<MessageView>>,
    },
    /// The backend's answer to the assistant question `token` (`None`: it
    /// did not recognise the question).
    AssistantReply {
        token: u64,
        question_id: String,
        answer: Option<Answer>,
    },
    /// The room's assistant was enabled or disabled over REST.
    AssistantChanged {
        enabled: bool,
    },
}

impl RoomCmd {
    /// Answer a command the room cannot serve.
    pub(super) fn refuse(self, err: SignalError) {
        let (conn, request_id) = match self {
            RoomCmd::Join { reply, .. } => {
                let _ = reply.send(Err(err));
                return;
            }
            RoomCmd::Post { reply, .. } | RoomCmd::Amend { reply, .. } => {
                let _ = reply.send(Err(err));
                return;
            }
            RoomCmd::AssistantReply { .. } | RoomCmd::AssistantChanged { .. } => return,
            // An explicit `leave_room` is a request: it gets an answer.
            RoomCmd::Leave {
                conn,
                request_id,
                explicit: true,
            } => (conn, request_id),
            RoomCmd::Leave { .. }
            | RoomCmd::MembersChanged { .. }
            | RoomCmd::InfoChanged { .. }
            | RoomCmd::Typing { .. } => return,
            RoomCmd::Send {
                conn, request_id, ..
            }
            | RoomCmd::Edit {
                conn, request_id, ..
            }
            | RoomCmd::MarkRead {
                conn, request_id, ..
            } => (conn, request_id),
        };
        conn.send(ServerMessage::error(err.code(), err.public_message(), request_id).to_frame());
    }
}
