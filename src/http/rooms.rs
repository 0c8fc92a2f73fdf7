//! Rooms over REST: create, list, show, members and history.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

use super::{ApiJson, ApiPath, ApiQuery};
use crate::auth::AuthUser;
use crate::error::AppError;
use crate::AppState;
use earshot_signaling::protocol::{MemberView, RoomInfo};
use earshot_signaling::room::RoomCmd;
use earshot_signaling::store::{NewRoom, PageQuery};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRoom {
    /// Your own id for the room (an application or ticket id), 1-128 of
    /// `A-Z a-z 0-9 - _ . : @`; generated if absent.
    #[serde(default)]
    id: Option<String>,
    /// Free-form kind, 1-64 bytes: `application`, `ticket`, `support`, ...
    #[serde(rename = "type")]
    room_type: String,
    /// 1-200 bytes.
    title: String,
    /// Other members' user ids (the creator is always one).
    #[serde(default)]
    participants: Vec<String>,
    /// Any JSON, up to 16 KiB.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    metadata: Option<Value>,
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '@'))
}

#[utoipa::path(post, path = "/api/rooms", tag = "rooms", request_body = CreateRoom,
    responses((status = 201, description = "the room (`RoomInfo`)"), (status = 400), (status = 401),
              (status = 409, description = "the id is taken")),
    security(("bearer" = [])))]
/// `POST /api/rooms`: the creator is always a member.
pub async fn create(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiJson(req): ApiJson<CreateRoom>,
) -> Result<(StatusCode, Json<RoomInfo>), AppError> {
    let id = req.id.unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    if !valid_id(&id) {
        return Err(AppError::BadRequest(
            "`id` must be 1-128 of A-Z a-z 0-9 - _ . : @".into(),
        ));
    }
    if req.room_type.is_empty() || req.room_type.len() > 64 {
        return Err(AppError::BadRequest("`type` must be 1 to 64 bytes".into()));
    }
    if req.title.trim().is_empty() || req.title.len() > 200 {
        return Err(AppError::BadRequest(
            "`title` must be 1 to 200 bytes".into(),
        ));
    }
    if req.participants.len() > 1000
        || req
            .participants
            .iter()
            .any(|p| p.is_empty() || p.len() > 128)
    {
        return Err(AppError::BadRequest(
            "`participants`: at most 1000 user ids of 1 to 128 bytes".into(),
        ));
    }
    if req
        .metadata
        .as_ref()
        .is_some_and(|m| m.to_string().len() > 16 * 1024)
    {
        return Err(AppError::BadRequest("`metadata` exceeds 16 KiB".into()));
    }
    super::assistant::check_create_metadata(&state, &me, req.metadata.as_ref())?;
    super::room_policy::check_create(&state, &me, &req.participants).await?;
    let mut members = vec![me.user_id.clone()];
    members.extend(req.participants.into_iter().filter(|p| p != &me.user_id));
    let room = NewRoom {
        id,
        room_type: req.room_type,
        title: req.title.trim().to_string(),
        tenant: me.tenant.clone(),
        metadata: req.metadata,
        created_by: me.user_id.clone(),
        members,
    };
    let info = state.signaling.store.create_room(room).await?;
    tracing::info!(room = %info.id, by = %me.user_id, "room created");
    Ok((StatusCode::CREATED, Json(info)))
}

#[derive(Deserialize, IntoParams)]
pub struct RoomListParams {
    /// Rooms per page (default `room_list_page`, 50; at most `room_list_max_page`, 200).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page; absent: the first page.
    cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/rooms", tag = "rooms", params(RoomListParams),
    responses((status = 200, description = "`{rooms: [summary], has_more, next_cursor}`: unread count, last message, members online; most recently active first"),
              (status = 400, description = "a cursor this server did not give"), (status = 401),
              (status = 429, description = "over the REST rate limit")),
    security(("bearer" = [])))]
/// `GET /api/rooms?limit=&cursor=`: a page of the caller's rooms with unread
/// counts, last message and who is online.
pub async fn list(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiQuery(p): ApiQuery<RoomListParams>,
) -> Result<Json<Value>, AppError> {
    let page = state
        .signaling
        .room_page(&me.user_id, p.limit, p.cursor.as_deref())
        .await?;
    Ok(Json(json!({
        "rooms": page.rooms,
        "has_more": page.next_cursor.is_some(),
        "next_cursor": page.next_cursor,
    })))
}

#[utoipa::path(get, path = "/api/rooms/{id}", tag = "rooms", params(("id" = String, Path)),
    responses((status = 200, description = "`{room, members: [member with presence and last_read_seq], last_seq}`"),
              (status = 403, description = "not a member"), (status = 404)),
    security(("bearer" = [])))]
/// `GET /api/rooms/{id}`: the room and its members with presence.
pub async fn show(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, AppError> {
    let sig = &state.signaling;
    let room = sig.authorize(&me, &id).await?;
    let members: Vec<MemberView> = sig
        .store
        .members(&id)
        .await?
        .into_iter()
        .map(|(user, last_read_seq)| {
            let p = sig.hub.presence(&user.id);
            MemberView {
                user,
                presence: p.status,
                last_seen: p.last_seen,
                last_read_seq,
            }
        })
        .collect();
    let last_seq = sig.store.last_seq(&id).await?;
    Ok(Json(
        json!({ "room": room, "members": members, "last_seq": last_seq }),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct AddMember {
    /// 1-128 bytes.
    user_id: String,
}

#[utoipa::path(post, path = "/api/rooms/{id}/members", tag = "rooms", params(("id" = String, Path)),
    request_body = AddMember,
    responses((status = 201, description = "added"), (status = 200, description = "already a member"),
              (status = 400), (status = 403), (status = 404)),
    security(("bearer" = [])))]
/// `POST /api/rooms/{id}/members`: any member (or staff in scope) may add
/// someone the `room_creation` policy lets them name.
pub async fn add_member(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<AddMember>,
) -> Result<StatusCode, AppError> {
    if req.user_id.is_empty() || req.user_id.len() > 128 {
        return Err(AppError::BadRequest(
            "`user_id` must be 1 to 128 bytes".into(),
        ));
    }
    let sig = &state.signaling;
    sig.authorize(&me, &id).await?;
    super::room_policy::check_add(&state, &me, &req.user_id).await?;
    let added = sig.store.add_member(&id, &req.user_id).await?;
    sig.rooms
        .send_if_active(&id, RoomCmd::MembersChanged { removed: None })
        .await;
    Ok(if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    })
}

#[utoipa::path(delete, path = "/api/rooms/{id}/members/{user_id}", tag = "rooms",
    params(("id" = String, Path), ("user_id" = String, Path)),
    responses((status = 204, description = "removed"), (status = 403, description = "not staff, and not yourself"),
              (status = 404, description = "no such room or member")),
    security(("bearer" = [])))]
/// `DELETE /api/rooms/{id}/members/{user_id}`: staff in scope, or users removing themselves.
pub async fn remove_member(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath((id, user_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, AppError> {
    let sig = &state.signaling;
    sig.authorize(&me, &id).await?;
    if user_id != me.user_id && !me.is_staff(&sig.config) {
        return Err(AppError::Forbidden(
            "only staff may remove other members".into(),
        ));
    }
    if !sig.store.remove_member(&id, &user_id).await? {
        return Err(AppError::NotFound("member"));
    }
    // Removal ends participation at once: the room's subscriptions and
    // any call in it.
    sig.member_removed(&id, &user_id).await;
    sig.rooms
        .send_if_active(
            &id,
            RoomCmd::MembersChanged {
                removed: Some(user_id),
            },
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
pub struct PageParams {
    /// Messages with a lower `seq` (default: the newest).
    before: Option<i64>,
    /// Messages with a higher `seq` (not with `before`).
    after: Option<i64>,
    /// Page size (default 50, at most the server's `max_page`, 200 by default).
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/rooms/{id}/messages", tag = "rooms", params(("id" = String, Path), PageParams),
    responses((status = 200, description = "`{room_id, messages: [message], has_more}`, in ascending `seq`"),
              (status = 400), (status = 403), (status = 404)),
    security(("bearer" = [])))]
/// `GET /api/rooms/{id}/messages?before=&after=&limit=`: newest page first,
/// each page in ascending `seq`.
pub async fn messages(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<Value>, AppError> {
    let query = match (p.before, p.after) {
        (Some(_), Some(_)) => {
            return Err(AppError::BadRequest(
                "give `before` or `after`, not both".into(),
            ))
        }
        (_, Some(after)) => PageQuery::After(after),
        (before, None) => PageQuery::Before(before),
    };
    let (messages, has_more) = state.signaling.history(&me, &id, query, p.limit).await?;
    Ok(Json(
        json!({ "room_id": id, "messages": messages, "has_more": has_more }),
    ))
}
