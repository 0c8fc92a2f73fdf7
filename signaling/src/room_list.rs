//! A user's room list, a page at a time (`list_rooms`, `GET /api/rooms`).

use crate::config::Identity;
use crate::error::{Result, SignalError};
use crate::protocol::RoomSummary;
use crate::room::may_access;
use crate::store::RoomCursor;
use crate::Signaling;

/// One page of a user's room list.
#[derive(Debug)]
pub struct RoomPage {
    pub rooms: Vec<RoomSummary>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<String>,
}

impl Signaling {
    /// A page of the user's rooms, most recently active first, with unread
    /// counts, previews and who is online: `limit` rooms of `identity` (the configured
    /// default if absent, at most the configured maximum) after `cursor`.
    pub async fn room_page(
        &self,
        identity: &Identity,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<RoomPage> {
        let after = match cursor {
            Some(c) => Some(RoomCursor::decode(c).ok_or_else(|| {
                SignalError::BadRequest("`cursor` is not one this server gave".into())
            })?),
            None => None,
        };
        let limit = limit
            .unwrap_or(self.config.room_list_page)
            .clamp(1, self.config.room_list_max_page.max(1));
        let (rows, next) = self
            .store
            .rooms_for_user(&identity.user_id, after.as_ref(), limit)
            .await?;
        // A room of another tenant stays out of the list even for a member
        // (a page may then be short; the cursor still moves on).
        let rooms = rows
            .into_iter()
            .filter(|r| may_access(identity, &self.config, &r.room, true))
            .map(|r| RoomSummary {
                online: r
                    .members
                    .into_iter()
                    .filter(|m| self.hub.is_online(m))
                    .collect(),
                room: r.room,
                unread: r.unread,
                last_seq: r.last_seq,
                last_message: r.last_message,
            })
            .collect();
        Ok(RoomPage {
            rooms,
            next_cursor: next.map(|c| c.encode()),
        })
    }
}
