//! Tenant scope of server-API callers: a key or token scoped to a tenant
//! reaches only that tenant's rooms and users, and whatever lies outside
//! answers exactly like something that does not exist (404).

use crate::auth::ServiceCaller;
use crate::error::AppError;
use crate::AppState;
use earshot_signaling::notify::Target;
use earshot_signaling::protocol::RoomInfo;

/// The room the caller calls `room_id` (its id within the caller's tenant;
/// a global caller names a tenant's room `tenant/id`), if it exists within
/// the caller's reach; a room of another tenant answers like a missing one.
/// The room's `id` is its key.
pub(super) async fn room_in_reach(
    state: &AppState,
    caller: &ServiceCaller,
    room_id: &str,
) -> Result<RoomInfo, AppError> {
    let key = earshot_signaling::room_key::scoped(caller.tenant(), room_id);
    state
        .signaling
        .store
        .room(&key)
        .await?
        .filter(|room| caller.reaches(room.tenant.as_deref()))
        .ok_or(AppError::NotFound("room"))
}

/// Whether the caller may address `user_id`. Global callers may address
/// anyone (users who never connected get their notifications on their
/// first connection); a scoped caller only users whose latest token
/// carried its tenant, so users who never connected are out of its reach.
pub(super) async fn user_in_reach(
    state: &AppState,
    caller: &ServiceCaller,
    user_id: &str,
) -> Result<(), AppError> {
    let Some(mine) = caller.tenant() else {
        return Ok(());
    };
    match state.signaling.store.user_tenant(user_id).await? {
        Some(Some(theirs)) if theirs == mine => Ok(()),
        _ => Err(AppError::NotFound("user")),
    }
}

/// "Everyone" as the caller may address it: every user, or its tenant's.
pub(super) fn everyone(caller: &ServiceCaller) -> Target {
    match caller.tenant() {
        None => Target::All,
        Some(tenant) => Target::Tenant(tenant.to_string()),
    }
}

/// Of `users`, those within the caller's reach (all of them for a global
/// caller), for listings.
pub(super) async fn users_in_reach(
    state: &AppState,
    caller: &ServiceCaller,
    users: Vec<String>,
) -> Result<Vec<String>, AppError> {
    let Some(mine) = caller.tenant() else {
        return Ok(users);
    };
    let tenant: std::collections::HashSet<String> = state
        .signaling
        .store
        .users_in_tenant(mine)
        .await?
        .into_iter()
        .collect();
    Ok(users.into_iter().filter(|u| tenant.contains(u)).collect())
}
