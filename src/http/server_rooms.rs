//! `POST /api/server/rooms`: product backends (an API key, or a token with
//! an `api_roles` role) create rooms without being a member: for their
//! application or case ids, and for load tests.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::rooms::{check_fields, create_room, CreateRoom};
use super::ApiJson;
use crate::auth::ServiceCaller;
use crate::error::AppError;
use crate::AppState;
use earshot_signaling::protocol::RoomInfo;

#[utoipa::path(post, path = "/api/server/rooms", tag = "server", request_body = CreateRoom,
    responses((status = 201, description = "the room (`RoomInfo`), created by `system`; its members' devices get `room_added`"),
              (status = 400), (status = 401), (status = 403),
              (status = 409, description = "the id is taken in the caller's tenant")),
    security(("api_key" = []), ("bearer" = [])))]
/// Create a room with the given members (the caller is not one), in the
/// caller's tenant (a global key: no tenant).
pub async fn create(
    State(state): State<AppState>,
    caller: ServiceCaller,
    ApiJson(req): ApiJson<CreateRoom>,
) -> Result<(StatusCode, Json<RoomInfo>), AppError> {
    check_fields(&req)?;
    let tenant = caller.tenant().map(str::to_string);
    let info = create_room(&state, req, "system", tenant, false).await?;
    tracing::info!(by = %caller.label(), room = %info.id, "room created over the server API");
    Ok((StatusCode::CREATED, Json(info)))
}
