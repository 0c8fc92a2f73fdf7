//! Calls over REST (stored records) and the server status.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::ApiPath;
use crate::auth::{AuthUser, Caller};
use crate::error::AppError;
use crate::AppState;

/// `GET /api/calls/{id}`: a call with each participant's join and leave times.
pub async fn show(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, AppError> {
    let sig = &state.signaling;
    let call = sig
        .store
        .call(&id)
        .await?
        .ok_or(AppError::NotFound("call"))?;
    sig.authorize(&me, &call.room_id).await?;
    let active = sig
        .calls
        .active_in_room(&call.room_id)
        .is_some_and(|c| c == id);
    Ok(Json(json!({ "call": call, "active": active })))
}

/// `GET /api/rooms/{id}/calls`: the room's calls, newest first.
pub async fn for_room(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, AppError> {
    let sig = &state.signaling;
    sig.authorize(&me, &id).await?;
    let calls = sig.store.room_calls(&id, 100).await?;
    Ok(Json(
        json!({ "room_id": id, "calls": calls, "active": sig.calls.active_in_room(&id) }),
    ))
}

#[utoipa::path(get, path = "/api/status", tag = "server",
    responses((status = 200, description = "uptime, version, connections, rooms, calls, SFU counters"), (status = 403)),
    security(("api_key" = []), ("bearer" = [])))]
/// `GET /api/status` (staff roles, or the server API): uptime, connections,
/// rooms, calls and the SFU's live peers, tracks and tasks.
pub async fn status(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, AppError> {
    let sig = &state.signaling;
    if let Caller::User(me) = &caller {
        if !me.is_staff(&sig.config) {
            return Err(AppError::Forbidden(
                "status is for staff roles and the server API".into(),
            ));
        }
    }
    let (connections, users_online) = sig.hub.counts();
    Ok(Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_secs": state.started.elapsed().as_secs(),
        "connections": connections,
        "users_online": users_online,
        "rooms_active": sig.rooms.active(),
        "rooms_total": sig.store.room_count().await?,
        "calls_active": sig.calls.active(),
        "sfu": sig.sfu.as_ref().map(|s| s.stats()),
    })))
}
