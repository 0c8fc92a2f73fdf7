//! The server API for a product backend (API key, or a token with an
//! `api_roles` role): notifications and custom events to a user, a room or
//! everyone; chat messages as a system or named sender. A key or token
//! scoped to a tenant reaches only that tenant's rooms and users.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::tenancy::{everyone, room_in_reach, user_in_reach};
use super::{uploads, ApiJson, ApiPath, ApiQuery};
use crate::auth::ServiceCaller;
use crate::error::AppError;
use crate::AppState;
use earshot_signaling::notify::Target;
use earshot_signaling::protocol::{MessageType, NotificationKind, UserRef};
use earshot_signaling::store::{NewMessage, NewNotification};

const MAX_JSON: usize = 16 * 1024;
const MAX_EVENT_PAYLOAD: usize = 32 * 1024;

/// A sender id the backend may use: a valid id that is not the assistant's.
fn check_sender(what: &str, id: &str) -> Result<(), AppError> {
    check_id(what, id)?;
    if id == "assistant" {
        return Err(reserved());
    }
    Ok(())
}

fn reserved() -> AppError {
    AppError::BadRequest("the assistant's identity is reserved".into())
}

pub(super) fn check_id(what: &str, id: &str) -> Result<(), AppError> {
    if id.is_empty() || id.len() > 128 {
        return Err(AppError::BadRequest(format!(
            "`{what}` must be 1 to 128 bytes"
        )));
    }
    Ok(())
}

/// A notification to send. `type` and `message` are accepted for `kind`
/// and `body`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotifyRequest {
    /// `info` (default), `success`, `warning` or `error`.
    #[serde(default, alias = "type")]
    #[schema(value_type = Option<String>, example = "info")]
    pub kind: Option<String>,
    #[schema(example = "Documents received")]
    pub title: String,
    #[serde(default, alias = "message")]
    pub body: String,
    /// An `http(s)://` URL with a host, or a path on the app's origin starting
    /// with a single `/`; no backslashes or control characters.
    #[serde(default)]
    pub link: Option<String>,
    /// Free JSON for the app (up to 16 KiB).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub data: Option<Value>,
    /// The room it is about (set automatically for room notifications).
    #[serde(default)]
    pub room_id: Option<String>,
}

impl NotifyRequest {
    fn into_new(self) -> Result<NewNotification, AppError> {
        let kind = match self.kind.as_deref().unwrap_or("info") {
            "info" => NotificationKind::Info,
            "success" => NotificationKind::Success,
            "warning" => NotificationKind::Warning,
            "error" => NotificationKind::Error,
            other => {
                return Err(AppError::BadRequest(format!(
                    "`kind` {other:?} is not one of info, success, warning, error"
                )))
            }
        };
        if self.title.trim().is_empty() || self.title.chars().count() > 200 {
            return Err(AppError::BadRequest(
                "`title` must be 1 to 200 characters".into(),
            ));
        }
        if self.body.chars().count() > 4000 {
            return Err(AppError::BadRequest(
                "`body` is longer than 4000 characters".into(),
            ));
        }
        if let Some(link) = &self.link {
            if !super::notifications::is_safe_link(link) {
                return Err(AppError::BadRequest(
                    "`link` must be an http(s) URL with a host, or a path starting with a single / \
                     (no backslashes or control characters), up to 2048 bytes"
                        .into(),
                ));
            }
        }
        if self
            .data
            .as_ref()
            .is_some_and(|d| d.to_string().len() > MAX_JSON)
        {
            return Err(AppError::BadRequest("`data` exceeds 16 KiB".into()));
        }
        if let Some(room) = &self.room_id {
            check_id("room_id", room)?;
        }
        Ok(NewNotification {
            kind,
            title: self.title.trim().to_string(),
            body: self.body,
            link: self.link,
            data: self.data,
            room_id: self.room_id,
        })
    }
}

/// What a notification reached.
#[derive(Serialize, ToSchema)]
pub struct NotifyResponse {
    /// Users it was stored for (one copy each).
    pub recipients: usize,
    /// Of those, users who had a device online and got it live.
    pub delivered_users: usize,
    /// Devices it was sent to.
    pub delivered_devices: usize,
    /// The stored notification, when sent to one user.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub notification: Option<earshot_signaling::protocol::NotificationView>,
}

async fn notify(
    state: &AppState,
    caller: &ServiceCaller,
    target: Target,
    req: NotifyRequest,
) -> Result<(StatusCode, Json<NotifyResponse>), AppError> {
    let mut n = req.into_new()?;
    // The room a notification points at is one of the caller's tenant.
    n.room_id = n
        .room_id
        .map(|room| earshot_signaling::room_key::scoped(caller.tenant(), &room));
    let out = state.signaling.notify(&target, n).await?;
    tracing::info!(by = %caller.label(), target = ?target, recipients = out.stored.len(),
        devices = out.delivered_devices, "notification sent");
    let single = matches!(target, Target::User(_))
        .then(|| out.stored.first().map(|(_, v)| v.clone()))
        .flatten();
    Ok((
        StatusCode::CREATED,
        Json(NotifyResponse {
            recipients: out.stored.len(),
            delivered_users: out.delivered_users,
            delivered_devices: out.delivered_devices,
            notification: single,
        }),
    ))
}

#[utoipa::path(post, path = "/api/server/notify/user/{user_id}", tag = "server",
    params(("user_id" = String, Path)), request_body = NotifyRequest,
    responses((status = 201, body = NotifyResponse), (status = 400), (status = 401), (status = 403),
              (status = 404, description = "a scoped caller: not a user of its tenant")),
    security(("api_key" = []), ("bearer" = [])))]
/// Notify every device of one user (stored; delivered on connect if offline).
pub async fn notify_user(
    State(state): State<AppState>,
    caller: ServiceCaller,
    ApiPath(user_id): ApiPath<String>,
    ApiJson(req): ApiJson<NotifyRequest>,
) -> Result<(StatusCode, Json<NotifyResponse>), AppError> {
    check_id("user_id", &user_id)?;
    user_in_reach(&state, &caller, &user_id).await?;
    notify(&state, &caller, Target::User(user_id), req).await
}

#[utoipa::path(post, path = "/api/server/notify/room/{room_id}", tag = "server",
    params(("room_id" = String, Path)), request_body = NotifyRequest,
    responses((status = 201, body = NotifyResponse), (status = 404)),
    security(("api_key" = []), ("bearer" = [])))]
/// Notify every member of a room.
pub async fn notify_room(
    State(state): State<AppState>,
    caller: ServiceCaller,
    ApiPath(room_id): ApiPath<String>,
    ApiJson(req): ApiJson<NotifyRequest>,
) -> Result<(StatusCode, Json<NotifyResponse>), AppError> {
    check_id("room_id", &room_id)?;
    let room_id = room_in_reach(&state, &caller, &room_id).await?.id;
    notify(&state, &caller, Target::Room(room_id), req).await
}

#[utoipa::path(post, path = "/api/server/notify/all", tag = "server",
    request_body = NotifyRequest, responses((status = 201, body = NotifyResponse)),
    security(("api_key" = []), ("bearer" = [])))]
/// Notify everyone: every user who has ever connected (with a key or token
/// scoped to a tenant: every user of that tenant).
pub async fn notify_all(
    State(state): State<AppState>,
    caller: ServiceCaller,
    ApiJson(req): ApiJson<NotifyRequest>,
) -> Result<(StatusCode, Json<NotifyResponse>), AppError> {
    let target = everyone(&caller);
    notify(&state, &caller, target, req).await
}

/// A custom event.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventRequest {
    /// 1-64 of `A-Z a-z 0-9 _ . : -`.
    #[schema(example = "customer_updated")]
    pub name: String,
    /// Any JSON up to 32 KiB (default `{}`).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub payload: Option<Value>,
}

#[derive(Serialize, ToSchema)]
pub struct EventResponse {
    /// Devices it was sent to (events are not stored).
    pub delivered_devices: usize,
}

async fn event(
    state: &AppState,
    target: Target,
    req: EventRequest,
) -> Result<Json<EventResponse>, AppError> {
    let name_ok = !req.name.is_empty()
        && req.name.len() <= 64
        && req
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'));
    if !name_ok {
        return Err(AppError::BadRequest(
            "`name` must be 1-64 of A-Z a-z 0-9 _ . : -".into(),
        ));
    }
    let payload = req
        .payload
        .unwrap_or_else(|| Value::Object(Default::default()));
    if payload.to_string().len() > MAX_EVENT_PAYLOAD {
        return Err(AppError::BadRequest("`payload` exceeds 32 KiB".into()));
    }
    let delivered_devices = state
        .signaling
        .publish_event(&target, &req.name, payload)
        .await?;
    Ok(Json(EventResponse { delivered_devices }))
}

#[utoipa::path(post, path = "/api/server/events/user/{user_id}", tag = "server",
    params(("user_id" = String, Path)), request_body = EventRequest,
    responses((status = 200, body = EventResponse),
              (status = 404, description = "a scoped caller: not a user of its tenant")),
    security(("api_key" = []), ("bearer" = [])))]
/// Send a custom event to every device of one user.
pub async fn event_user(
    State(state): State<AppState>,
    caller: ServiceCaller,
    ApiPath(user_id): ApiPath<String>,
    ApiJson(req): ApiJson<EventRequest>,
) -> Result<Json<EventResponse>, AppError> {
    check_id("user_id", &user_id)?;
    user_in_reach(&state, &caller, &user_id).await?;
    event(&state, Target::User(user_id), req).await
}

#[utoipa::path(post, path = "/api/server/events/room/{room_id}", tag = "server",
    params(("room_id" = String, Path)), request_body = EventRequest,
    responses((status = 200, body = EventResponse), (status = 404)), security(("api_key" = []), ("bearer" = [])))]
/// Send a custom event to every device of every member of a room.
pub async fn event_room(
    State(state): State<AppState>,
    caller: ServiceCaller,
    ApiPath(room_id): ApiPath<String>,
    ApiJson(req): ApiJson<EventRequest>,
) -> Result<Json<EventResponse>, AppError> {
    check_id("room_id", &room_id)?;
    let room_id = room_in_reach(&state, &caller, &room_id).await?.id;
    event(&state, Target::Room(room_id), req).await
}

#[utoipa::path(post, path = "/api/server/events/all", tag = "server",
    request_body = EventRequest, responses((status = 200, body = EventResponse)),
    security(("api_key" = []), ("bearer" = [])))]
/// Send a custom event to every connected device (of the caller's tenant,
/// for a scoped caller).
pub async fn event_all(
    State(state): State<AppState>,
    caller: ServiceCaller,
    ApiJson(req): ApiJson<EventRequest>,
) -> Result<Json<EventResponse>, AppError> {
    event(&state, everyone(&caller), req).await
}

/// Who a server message is from.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SenderRequest {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
}

/// A chat message from the product backend.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostMessageRequest {
    /// May be empty when `attachments` are given.
    #[serde(default)]
    pub text: String,
    /// Upload ids from `POST /api/server/uploads?sender_id=` with this
    /// message's sender id (`system` without `sender`).
    #[serde(default)]
    pub attachments: Vec<String>,
    /// Default: `{"id": "system", "name": "System", "role": "system"}`.
    #[serde(default)]
    pub sender: Option<SenderRequest>,
    /// `system` (default without `sender`) or `text` (default with one).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub message_type: Option<String>,
    /// Idempotency key: the same id from the same sender is stored once.
    #[serde(default)]
    pub client_msg_id: Option<String>,
    #[serde(default)]
    pub reply_to: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    #[serde(default)]
    pub lang: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PostMessageResponse {
    /// The stored message (as `message` events carry it).
    #[schema(value_type = Object)]
    pub message: earshot_signaling::protocol::MessageView,
}

#[utoipa::path(post, path = "/api/server/rooms/{room_id}/messages", tag = "server",
    params(("room_id" = String, Path)), request_body = PostMessageRequest,
    responses((status = 201, body = PostMessageResponse), (status = 400), (status = 404)),
    security(("api_key" = []), ("bearer" = [])))]
/// Store a message in a room as a system or named sender; it gets the next
/// `seq` and reaches the room like any message.
pub async fn post_message(
    State(state): State<AppState>,
    caller: ServiceCaller,
    ApiPath(room_id): ApiPath<String>,
    ApiJson(req): ApiJson<PostMessageRequest>,
) -> Result<(StatusCode, Json<PostMessageResponse>), AppError> {
    check_id("room_id", &room_id)?;
    let room_id = room_in_reach(&state, &caller, &room_id).await?.id;
    let max = state.config.max_text_chars;
    if req.text.trim().is_empty() && req.attachments.is_empty() {
        return Err(AppError::BadRequest(
            "a message needs `text` or `attachments`".into(),
        ));
    }
    if req.text.chars().count() > max {
        return Err(earshot_signaling::SignalError::TooLarge(format!(
            "text is longer than {max} characters"
        ))
        .into());
    }
    let sender = match &req.sender {
        None => UserRef {
            id: "system".into(),
            name: Some("System".into()),
            role: Some("system".into()),
        },
        Some(s) => {
            check_sender("sender.id", &s.id)?;
            if s.role.as_deref() == Some("assistant") {
                return Err(reserved());
            }
            UserRef {
                id: s.id.clone(),
                name: s.name.clone(),
                role: s.role.clone(),
            }
        }
    };
    let message_type = match (req.message_type.as_deref(), &req.sender) {
        (None, None) | (Some("system"), _) => MessageType::System,
        (None, Some(_)) | (Some("text"), _) => MessageType::Text,
        (Some(other), _) => {
            return Err(AppError::BadRequest(format!(
                "`message_type` {other:?} must be system or text"
            )))
        }
    };
    let client_msg_id = req
        .client_msg_id
        .unwrap_or_else(|| format!("api-{}", uuid::Uuid::now_v7()));
    check_id("client_msg_id", &client_msg_id)?;
    if req
        .metadata
        .as_ref()
        .is_some_and(|m| m.to_string().len() > MAX_JSON)
    {
        return Err(AppError::BadRequest("`metadata` exceeds 16 KiB".into()));
    }
    if let Some(lang) = &req.lang {
        if lang.is_empty()
            || lang.len() > 35
            || !lang.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(AppError::BadRequest("`lang` must be a BCP 47 tag".into()));
        }
    }
    let msg = NewMessage {
        room_id: room_id.clone(),
        sender,
        client_msg_id,
        message_type,
        text: req.text,
        reply_to: req.reply_to,
        refs: None,
        metadata: req.metadata,
        lang: req.lang,
        attachments: req.attachments,
        ai: false,
    };
    let message = state.signaling.post(&room_id, msg).await?;
    tracing::info!(by = %caller.label(), room = %room_id, seq = message.seq, "server message stored");
    Ok((StatusCode::CREATED, Json(PostMessageResponse { message })))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct UploadParams {
    /// Who will send the file: the `sender.id` of the message it goes in
    /// (default `system`, the sender of messages without one).
    #[serde(default)]
    sender_id: Option<String>,
}

#[utoipa::path(post, path = "/api/server/uploads", tag = "server", params(UploadParams),
    request_body(content_type = "multipart/form-data", description = "one field `file`"),
    responses((status = 201, body = uploads::UploadResponse), (status = 401), (status = 403),
              (status = 413, description = "over `upload_max_bytes`"),
              (status = 415, description = "type outside `upload_mime_types`")),
    security(("api_key" = []), ("bearer" = [])))]
/// `POST /api/server/uploads?sender_id=crm`: a file for the backend to send
/// in a message (`POST /api/server/rooms/{room_id}/messages` with
/// `attachments`), under the same checks as users' uploads.
pub async fn upload(
    State(state): State<AppState>,
    caller: ServiceCaller,
    ApiQuery(p): ApiQuery<UploadParams>,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<(StatusCode, Json<uploads::UploadResponse>), AppError> {
    let sender = p.sender_id.unwrap_or_else(|| "system".into());
    check_sender("sender_id", &sender)?;
    tracing::debug!(by = %caller.label(), sender = %sender, "server upload");
    uploads::receive(&state, &sender, multipart).await
}
