//! Messages that do not come from a member's socket: those posted by the
//! server API and the assistant's answers. Both are stored through the
//! writer in the room's sequence and broadcast once committed, like any
//! message; the assistant's as `ai_response`.

use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::{debug, warn};

use super::actor::{Completed, Room};
use super::cmd::RoomCmd;
use crate::assistant::{self, Answer};
use crate::error::{Result, SignalError};
use crate::protocol::{MessageType, MessageView, RoomInfo, ServerMessage};
use crate::store::{NewMessage, StoredMessage, WriteOp};

/// Room metadata `{"assistant": true}` at creation enables the assistant
/// (until it is set over REST).
pub(super) fn assistant_in_metadata(info: &RoomInfo) -> bool {
    info.metadata
        .as_ref()
        .and_then(|m| m.get("assistant"))
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

impl Room {
    /// Queue a rewrite of a server entry; `reply` gets the stored result.
    pub(super) async fn amend(
        &mut self,
        message_id: String,
        text: String,
        metadata: serde_json::Value,
        reply: oneshot::Sender<Result<MessageView>>,
    ) {
        let (done, rx) = oneshot::channel();
        let op = WriteOp::Amend {
            room_id: self.id.clone(),
            message_id,
            text,
            metadata,
            done,
        };
        self.registry.deps().store.writer().submit(op).await;
        self.pending.push_back(Box::pin(async move {
            let result = rx.await.unwrap_or(Err(SignalError::Unavailable));
            Completed::Amended { reply, result }
        }));
    }

    /// A rewrite committed: every subscriber sees `message_updated`.
    pub(super) fn amended(
        &mut self,
        reply: oneshot::Sender<Result<MessageView>>,
        result: Result<MessageView>,
    ) {
        if let Ok(view) = &result {
            let frame = ServerMessage::MessageUpdated {
                message: view.clone(),
            };
            self.broadcast(&frame.to_frame());
        }
        let _ = reply.send(result);
    }

    /// Queue a message for storage; `reply` (the API caller) gets it back.
    pub(super) async fn post(
        &mut self,
        msg: NewMessage,
        reply: Option<oneshot::Sender<Result<MessageView>>>,
    ) {
        let done = self.registry.deps().store.writer().insert(msg).await;
        self.pending.push_back(Box::pin(async move {
            let result = done.await.unwrap_or(Err(SignalError::Unavailable));
            Completed::Posted { reply, result }
        }));
    }

    /// A posted message is stored (or failed): broadcast it and answer.
    pub(super) fn posted(
        &mut self,
        reply: Option<oneshot::Sender<Result<MessageView>>>,
        result: Result<StoredMessage>,
    ) {
        let stored = match result {
            Ok(stored) => stored,
            Err(err) => {
                if reply.is_none() {
                    warn!(%err, room = %self.id, "assistant answer not stored");
                }
                if let Some(reply) = reply {
                    let _ = reply.send(Err(err));
                }
                return;
            }
        };
        let view = stored.view;
        if !stored.duplicate {
            self.last_seq = self.last_seq.max(view.seq);
            self.on_stored(&view);
            let msg = if view.ai {
                ServerMessage::AiResponse {
                    message: view.clone(),
                }
            } else {
                ServerMessage::Message {
                    message: view.clone(),
                }
            };
            self.broadcast(&msg.to_frame());
        }
        if let Some(reply) = reply {
            let _ = reply.send(Ok(view));
        }
    }

    /// Every stored message passes here: it may start or cancel the
    /// assistant's wait.
    pub(super) fn on_stored(&mut self, view: &MessageView) {
        let from_staff = view
            .sender
            .role
            .as_ref()
            .is_some_and(|r| self.config().staff_roles.contains(r));
        let staff_present = self.subs.values().any(|s| s.staff);
        self.assistant
            .on_message(view, from_staff, staff_present, Instant::now().into_std());
        self.tell_absent_members(view);
    }

    /// The wait is over: ask the backend off the room's task and come back
    /// with the answer (the room stays responsive meanwhile).
    pub(super) fn assistant_due(&mut self) {
        let Some((token, question)) = self.assistant.take_due(Instant::now().into_std()) else {
            return;
        };
        let backend = self.registry.deps().assistant.clone();
        let registry = self.registry.clone();
        let room_id = self.id.clone();
        // The LLM budget is per tenant.
        let tenant = self.info.as_ref().and_then(|i| i.tenant.clone());
        tokio::spawn(async move {
            let answer = backend.answer(tenant.as_deref(), &question).await;
            let cmd = RoomCmd::AssistantReply {
                token,
                question_id: question.message_id,
                answer,
            };
            let _ = registry.send(&room_id, cmd).await;
        });
    }

    /// Post the answer if it is still wanted (no professional answered or
    /// joined, the assistant still enabled).
    pub(super) async fn assistant_reply(
        &mut self,
        token: u64,
        question_id: String,
        answer: Option<Answer>,
    ) {
        if !self.assistant.accept(token) {
            debug!(room = %self.id, "assistant answer no longer wanted");
            return;
        }
        let Some(answer) = answer else {
            debug!(room = %self.id, "assistant did not recognise the question");
            return;
        };
        let msg = NewMessage {
            room_id: self.id.clone(),
            sender: assistant::sender(),
            // One answer per question, even if asked twice.
            client_msg_id: format!("ai-{question_id}"),
            message_type: MessageType::Text,
            text: answer.text,
            reply_to: Some(question_id),
            refs: None,
            metadata: Some(answer.metadata),
            lang: Some(answer.lang),
            attachments: vec![],
            ai: true,
        };
        self.post(msg, None).await;
    }
}
