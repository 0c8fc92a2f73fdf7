//! What the room task does once a queued write has committed (or failed),
//! in the order the writes were queued: acks, broadcasts, receipts.

use tracing::warn;

use super::actor::{Completed, Room};
use crate::error::SignalError;
use crate::protocol::ServerMessage;

impl Room {
    pub(super) fn complete(&mut self, done: Completed) {
        match done {
            Completed::Posted { reply, result } => self.posted(reply, result),
            Completed::Amended { reply, result } => self.amended(reply, result),
            Completed::Sent {
                conn,
                request_id,
                result: Ok(stored),
            } => {
                let m = &stored.view;
                conn.send(
                    ServerMessage::MessageAck {
                        request_id,
                        room_id: self.id.clone(),
                        client_msg_id: m.client_msg_id.clone(),
                        message_id: m.id.clone(),
                        seq: m.seq,
                        created_at: m.created_at,
                        duplicate: stored.duplicate,
                    }
                    .to_frame(),
                );
                if stored.duplicate {
                    return;
                }
                self.registry.deps().metrics.messages_stored.inc();
                self.last_seq = self.last_seq.max(m.seq);
                let sender = m.sender.id.clone();
                self.on_stored(&stored.view);
                self.broadcast(
                    &ServerMessage::Message {
                        message: stored.view,
                    }
                    .to_frame(),
                );
                if self.typing.stop(&sender) {
                    self.announce_typing(&sender, false);
                }
            }
            Completed::Edited {
                conn,
                request_id,
                result: Ok(view),
            } => {
                // The requester's success reply, before the broadcast it also receives.
                if request_id.is_some() {
                    conn.send(ServerMessage::Ok { request_id }.to_frame());
                }
                let frame = if view.deleted {
                    ServerMessage::MessageDeleted {
                        room_id: self.id.clone(),
                        message_id: view.id,
                        seq: view.seq,
                    }
                } else {
                    ServerMessage::MessageUpdated { message: view }
                };
                self.broadcast(&frame.to_frame());
            }
            Completed::Read {
                conn,
                request_id,
                mark,
                result: Ok(seq),
            } => {
                if request_id.is_some() {
                    conn.send(ServerMessage::Ok { request_id }.to_frame());
                }
                // Only a mark that moved is news (devices of one user ack
                // the same messages).
                let user_id = conn.user_id().to_string();
                let known = self.marks.entry((user_id.clone(), mark)).or_insert(0);
                if seq <= *known {
                    return;
                }
                *known = seq;
                let room_id = self.id.clone();
                let frame = match mark {
                    crate::store::Mark::Read => ServerMessage::ReadReceipt {
                        room_id,
                        user_id,
                        seq,
                    },
                    crate::store::Mark::Delivered => ServerMessage::DeliveryReceipt {
                        room_id,
                        user_id,
                        seq,
                    },
                };
                self.broadcast(&frame.to_frame());
            }
            Completed::Sent {
                conn,
                request_id,
                result: Err(err),
            }
            | Completed::Edited {
                conn,
                request_id,
                result: Err(err),
            }
            | Completed::Read {
                conn,
                request_id,
                result: Err(err),
                ..
            } => {
                if let SignalError::Storage(e) = &err {
                    warn!(error = %e, room = %self.id, "write failed");
                }
                conn.send(
                    ServerMessage::error(err.code(), err.public_message(), request_id).to_frame(),
                );
            }
        }
    }
}
