//! The assistant per room: `GET`/`PUT /api/rooms/{id}/assistant`.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiJson, ApiPath};
use crate::auth::Caller;
use crate::error::AppError;
use crate::AppState;
use earshot_signaling::room::RoomCmd;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssistantSetting {
    pub enabled: bool,
}

#[derive(Serialize, ToSchema)]
pub struct AssistantState {
    #[serde(serialize_with = "earshot_signaling::room_key::serialize_local")]
    pub room_id: String,
    pub enabled: bool,
}

/// Whether room metadata asks for the assistant (`"assistant": true`).
fn metadata_enables(metadata: Option<&serde_json::Value>) -> bool {
    metadata
        .and_then(|m| m.get("assistant"))
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

/// Room creation: only staff may switch the assistant on through room
/// metadata, since every answer may cost an LLM call.
pub fn check_create_metadata(
    state: &AppState,
    creator: &earshot_signaling::Identity,
    metadata: Option<&serde_json::Value>,
) -> Result<(), AppError> {
    if metadata_enables(metadata) && !creator.is_staff(&state.signaling.config) {
        return Err(AppError::Forbidden(
            "only staff may enable the assistant (`metadata.assistant`)".into(),
        ));
    }
    Ok(())
}

/// The room's setting: set over REST, else room metadata `"assistant": true`.
async fn enabled(
    state: &AppState,
    room: &earshot_signaling::protocol::RoomInfo,
) -> Result<bool, AppError> {
    Ok(
        match state.signaling.store.assistant_setting(&room.id).await? {
            Some(e) => e,
            None => metadata_enables(room.metadata.as_ref()),
        },
    )
}

async fn room_for(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<earshot_signaling::protocol::RoomInfo, AppError> {
    let sig = &state.signaling;
    Ok(match caller {
        // A scoped key or token: rooms of another tenant look missing.
        Caller::Service(s) => super::tenancy::room_in_reach(state, s, id).await?,
        Caller::User(me) => sig.authorize(me, &me.room_key(id)).await?,
    })
}

#[utoipa::path(get, path = "/api/rooms/{id}/assistant", tag = "assistant",
    params(("id" = String, Path)), responses((status = 200, body = AssistantState), (status = 404, description = "no such room, or one the caller may not access (the same answer)")),
    security(("bearer" = []), ("api_key" = [])))]
/// Whether the room's assistant is on (room access, or the server API).
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<AssistantState>, AppError> {
    let room = room_for(&state, &caller, &id).await?;
    Ok(Json(AssistantState {
        enabled: enabled(&state, &room).await?,
        room_id: room.id,
    }))
}

#[utoipa::path(put, path = "/api/rooms/{id}/assistant", tag = "assistant",
    params(("id" = String, Path)), request_body = AssistantSetting,
    responses((status = 200, body = AssistantState), (status = 403, description = "not staff in scope or the server API (the room's creator may only switch it off)"), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
/// Turn the room's assistant on or off: staff with access to the room or the
/// server API; the room's creator may only switch it off (answers may cost
/// LLM calls, so only staff decide to spend them).
pub async fn set(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<AssistantSetting>,
) -> Result<Json<AssistantState>, AppError> {
    let room = room_for(&state, &caller, &id).await?;
    let by = match &caller {
        Caller::Service(s) => s.label(),
        Caller::User(me) => {
            let staff = me.is_staff(&state.signaling.config);
            if req.enabled && !staff {
                return Err(AppError::Forbidden(
                    "only staff may switch the assistant on".into(),
                ));
            }
            if !(staff || room.created_by == me.user_id) {
                return Err(AppError::Forbidden(
                    "only staff or the room's creator may switch the assistant off".into(),
                ));
            }
            me.user_id.clone()
        }
    };
    state
        .signaling
        .store
        .set_assistant(&room.id, req.enabled, &by)
        .await?;
    state
        .signaling
        .rooms
        .send_if_active(
            &room.id,
            RoomCmd::AssistantChanged {
                enabled: req.enabled,
            },
        )
        .await;
    tracing::info!(room = %room.id, by = %by, enabled = req.enabled, "assistant setting changed");
    Ok(Json(AssistantState {
        room_id: room.id,
        enabled: req.enabled,
    }))
}
