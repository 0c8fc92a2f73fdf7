//! Who may read what: a room's history, access to a room, and the presence
//! of other users, as checks on [`Signaling`] shared by the socket session
//! and the HTTP edge.

use std::collections::HashSet;

use crate::config::Identity;
use crate::conn::{fit_history, Keep};
use crate::error::{Result, SignalError};
use crate::room::may_access;
use crate::store::PageQuery;
use crate::Signaling;

/// Default history page size.
const DEFAULT_PAGE: u32 = 50;

impl Signaling {
    /// A page of a room's history, if `identity` may read it.
    pub async fn history(
        &self,
        identity: &Identity,
        room_id: &str,
        query: PageQuery,
        limit: Option<u32>,
    ) -> Result<(Vec<crate::protocol::MessageView>, bool)> {
        self.authorize(identity, room_id).await?;
        let limit = limit.unwrap_or(DEFAULT_PAGE).clamp(1, self.config.max_page);
        let keep = match query {
            PageQuery::After(_) => Keep::Oldest,
            PageQuery::Before(_) => Keep::Newest,
        };
        let (mut messages, has_more) = self.store.page(room_id, query, limit).await?;
        let cut = fit_history(&mut messages, self.config.history_max_bytes, keep);
        Ok((messages, has_more || cut))
    }

    /// The room, if `identity` may access it; `NOT_FOUND` both for unknown
    /// rooms and for rooms it may not access, so that nobody learns which
    /// room ids exist.
    pub async fn authorize(
        &self,
        identity: &Identity,
        room_id: &str,
    ) -> Result<crate::protocol::RoomInfo> {
        let room = self
            .store
            .room(room_id)
            .await?
            .ok_or(SignalError::NotFound("room"))?;
        let member = self.store.is_member(room_id, &identity.user_id).await?;
        if may_access(identity, &self.config, &room, member) {
            Ok(room)
        } else {
            Err(SignalError::NotFound("room"))
        }
    }

    /// Presence of the requested users who share a room with `identity`
    /// (staff see everyone).
    pub async fn presence_for(
        &self,
        identity: &Identity,
        user_ids: &[String],
    ) -> Result<Vec<crate::protocol::PresenceView>> {
        // Staff see everyone only when their scope is every room; staff of a
        // tenant, like everyone else, see the people they share rooms with.
        let visible: HashSet<String> =
            if identity.is_staff(&self.config) && identity.tenant.is_none() {
                user_ids.iter().cloned().collect()
            } else {
                let mut co: HashSet<String> = self
                    .store
                    .co_members(&identity.user_id)
                    .await?
                    .into_iter()
                    .collect();
                co.insert(identity.user_id.clone());
                co
            };
        let wanted: Vec<String> = user_ids
            .iter()
            .filter(|u| visible.contains(*u))
            .cloned()
            .collect();
        let seen = self.store.last_seen(&wanted).await?;
        Ok(seen
            .into_iter()
            .map(|(user, last_seen)| {
                let mut view = self.hub.presence(&user);
                view.last_seen = view.last_seen.or(last_seen);
                view
            })
            .collect())
    }
}
