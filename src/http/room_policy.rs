//! Who may create rooms and put whom in them (`room_creation`), and how
//! many rooms a non-staff user may create (`room_create_per_minute`,
//! `room_create_per_hour`, `room_max_created_per_user`).
//!
//! Being put in a room shows a user's presence to its other members and
//! lets them ring the user's devices, so naming someone is the sensitive
//! step. Under `with_staff` (the default) a non-staff user may name only
//! people the server knows as staff of their own tenant: a user whose
//! latest token had a staff role and the same tenant (both none counts as
//! the same). Staff may name anyone except users known in another tenant
//! (staff without a tenant: anyone). Under `staff` only staff create rooms
//! and add members; under `open` anyone names anyone. A product backend (a
//! token whose role is in `api_roles`) counts as staff here.

use earshot_signaling::Identity;

use crate::config::RoomCreation;
use crate::error::AppError;
use crate::AppState;

/// Refuse unless `me` may create a room naming `others` (not themselves),
/// and is within their room-creation limits.
pub async fn check_create(
    state: &AppState,
    me: &Identity,
    others: &[String],
) -> Result<(), AppError> {
    check_names(state, me, others).await?;
    if trusted(state, me) {
        return Ok(());
    }
    let limits = &state.limits;
    for limit in [&limits.rooms_minute, &limits.rooms_hour] {
        if let Err(retry_after) = limit.check(&me.user_id) {
            tracing::info!(user = %me.user_id, "room creation refused: rate limit");
            return Err(AppError::RateLimited {
                message: "too many rooms created; wait before creating another".into(),
                retry_after,
            });
        }
    }
    let max = state.config.room_max_created_per_user;
    if max > 0 && state.signaling.store.rooms_created_by(&me.user_id).await? >= i64::from(max) {
        tracing::info!(user = %me.user_id, max, "room creation refused: room cap");
        return Err(AppError::Forbidden(format!(
            "you have created the most rooms allowed ({max})"
        )));
    }
    Ok(())
}

/// Staff, or a product backend (`api_roles`): trusted to put people in rooms.
pub(super) fn trusted(state: &AppState, me: &Identity) -> bool {
    me.is_staff(&state.signaling.config) || state.config.api_roles.iter().any(|r| r == &me.role)
}

/// Refuse unless `me` may add `user_id` to a room they can access.
pub async fn check_add(state: &AppState, me: &Identity, user_id: &str) -> Result<(), AppError> {
    if user_id == me.user_id {
        return Ok(());
    }
    check_names(state, me, &[user_id.to_string()]).await
}

async fn check_names(state: &AppState, me: &Identity, others: &[String]) -> Result<(), AppError> {
    let policy = state.config.room_creation;
    if policy == RoomCreation::Open {
        return Ok(());
    }
    let staff = trusted(state, me);
    if !staff && policy == RoomCreation::Staff {
        return Err(AppError::Forbidden(
            "only staff may create rooms or add members on this server".into(),
        ));
    }
    let others: Vec<String> = others
        .iter()
        .filter(|u| **u != me.user_id)
        .cloned()
        .collect();
    if others.is_empty() || (staff && me.tenant.is_none()) {
        return Ok(());
    }
    let known = state.signaling.store.tenant_profiles(&others).await?;
    for user in &others {
        let profile = known.get(user);
        if staff {
            // Staff of a tenant: not into someone else's tenant.
            if profile.is_some_and(|p| p.tenant != me.tenant) {
                return Err(AppError::Forbidden(format!(
                    "`{user}` is not a user of your tenant"
                )));
            }
            continue;
        }
        let is_staff_here = profile.is_some_and(|p| {
            p.tenant == me.tenant
                && p.role
                    .as_ref()
                    .is_some_and(|r| state.signaling.config.staff_roles.iter().any(|s| s == r))
        });
        if !is_staff_here {
            return Err(AppError::Forbidden(format!(
                "you may only add staff of your organisation, and `{user}` is not known as such \
                 (staff must have signed in once)"
            )));
        }
    }
    Ok(())
}
