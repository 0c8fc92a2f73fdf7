//! The live room list, from the server's side: who is put in a room or
//! taken out of one hears of it on every device at once (`room_added`,
//! `room_removed`), and a room's new title or metadata reaches every device
//! of its members (`room_updated`). New messages reach members who have not
//! joined the room as `room_activity` (see the room task).

use crate::error::{Result, SignalError};
use crate::protocol::{MessagePreview, RoomInfo, RoomSummary, ServerMessage};
use crate::store::PageQuery;
use crate::Signaling;

impl Signaling {
    /// `users` were put in `room_id` (it was created with them, or they were
    /// added): each of their devices gets the room's list entry for them.
    /// Users known in another tenant than the room's hear nothing.
    pub async fn announce_room_added(&self, room_id: &str, users: &[String]) -> Result<()> {
        let store = &self.store;
        let info = store
            .room(room_id)
            .await?
            .ok_or(SignalError::NotFound("room"))?;
        let last_seq = store.last_seq(room_id).await?;
        let last_message = if last_seq > 0 {
            let (page, _) = store.page(room_id, PageQuery::Before(None), 1).await?;
            page.last().map(MessagePreview::of)
        } else {
            None
        };
        let online: Vec<String> = store
            .members(room_id)
            .await?
            .into_iter()
            .map(|(u, _)| u.id)
            .filter(|u| self.hub.is_online(u))
            .collect();
        for user in users {
            let conns = self.hub.connections(user);
            if conns.is_empty() {
                continue;
            }
            if let Some(theirs) = store.user_tenant(user).await? {
                if theirs != info.tenant {
                    continue;
                }
            }
            let unread = if last_seq > 0 {
                store.unread_for(room_id, user).await?
            } else {
                0
            };
            let frame = ServerMessage::RoomAdded {
                room: RoomSummary {
                    room: info.clone(),
                    unread,
                    last_seq,
                    last_message: last_message.clone(),
                    online: online.clone(),
                },
            }
            .to_frame();
            for conn in conns {
                conn.send(frame.clone());
            }
        }
        Ok(())
    }

    /// `user` is no longer a member of `room_id`: every device of theirs
    /// drops it from its list.
    pub fn announce_room_removed(&self, room_id: &str, user: &str) {
        let frame = ServerMessage::RoomRemoved {
            room_id: room_id.to_string(),
        }
        .to_frame();
        for conn in self.hub.connections(user) {
            conn.send(frame.clone());
        }
    }

    /// `room`'s title or metadata changed: every device of its members.
    pub async fn announce_room_updated(&self, room: &RoomInfo) -> Result<()> {
        let frame = ServerMessage::RoomUpdated { room: room.clone() }.to_frame();
        for (user, _) in self.store.members(&room.id).await? {
            for conn in self.hub.connections(&user.id) {
                conn.send(frame.clone());
            }
        }
        Ok(())
    }
}
