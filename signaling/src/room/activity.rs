//! The live room list, from the room's side: members who have not joined
//! the room on any device hear of each stored message as `room_activity`
//! (its preview and `seq`), so their room list moves and counts it without
//! polling. Members with a joined device get the message itself.

use super::actor::Room;
use crate::protocol::{MessagePreview, MessageView, ServerMessage};

impl Room {
    /// Tell every device of each member who has not joined the room about
    /// `view`. A room whose members are all joined pays one map lookup per
    /// member.
    pub(super) fn tell_absent_members(&self, view: &MessageView) {
        let hub = &self.registry.deps().hub;
        let mut frame = None;
        for member in &self.members {
            if self.joined_users.contains_key(member) {
                continue;
            }
            let conns = hub.connections(member);
            if conns.is_empty() {
                continue;
            }
            let frame = frame.get_or_insert_with(|| {
                ServerMessage::RoomActivity {
                    room_id: self.id.clone(),
                    last_seq: view.seq,
                    message: MessagePreview::of(view),
                }
                .to_frame()
            });
            for conn in conns {
                conn.send(frame.clone());
            }
        }
    }
}
