//! A user's own notifications over REST: list, mark read, mark all read.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApiPath, ApiQuery};
use crate::auth::AuthUser;
use crate::error::AppError;
use crate::AppState;
use earshot_signaling::protocol::NotificationView;

#[derive(Deserialize, IntoParams)]
pub struct ListParams {
    /// Only those not read yet.
    #[serde(default)]
    unread: Option<bool>,
    /// 1-200, default 50.
    #[serde(default)]
    limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct NotificationsResponse {
    /// Newest first.
    #[schema(value_type = Vec<Object>)]
    pub notifications: Vec<NotificationView>,
}

#[utoipa::path(get, path = "/api/notifications", tag = "notifications", params(ListParams),
    responses((status = 200, body = NotificationsResponse), (status = 401)), security(("bearer" = [])))]
/// `GET /api/notifications?unread=true&limit=50`: the caller's notifications.
pub async fn list(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Json<NotificationsResponse>, AppError> {
    let limit = p.limit.unwrap_or(50).clamp(1, 200);
    let notifications = state
        .signaling
        .store
        .notifications(&me.user_id, p.unread.unwrap_or(false), limit)
        .await?;
    Ok(Json(NotificationsResponse { notifications }))
}

#[derive(Serialize, ToSchema)]
pub struct NotificationResponse {
    #[schema(value_type = Object)]
    pub notification: NotificationView,
}

#[utoipa::path(post, path = "/api/notifications/{id}/read", tag = "notifications",
    params(("id" = String, Path)),
    responses((status = 200, body = NotificationResponse), (status = 404, description = "unknown, or someone else's")),
    security(("bearer" = [])))]
/// Mark one notification read (the first time counts).
pub async fn read(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<NotificationResponse>, AppError> {
    let notification = state
        .signaling
        .store
        .mark_notification_read(&me.user_id, &id)
        .await?
        .ok_or(AppError::NotFound("notification"))?;
    if let Some(read_at) = notification.read_at {
        // The user's other devices update their badges.
        state.signaling.notifications_read(
            &me.user_id,
            vec![notification.id.clone()],
            false,
            read_at,
        );
    }
    Ok(Json(NotificationResponse { notification }))
}

#[derive(Serialize, ToSchema)]
pub struct ReadAllResponse {
    /// How many were unread.
    pub updated: u64,
}

#[utoipa::path(post, path = "/api/notifications/read-all", tag = "notifications",
    responses((status = 200, body = ReadAllResponse)), security(("bearer" = [])))]
/// Mark every notification of the caller read.
pub async fn read_all(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
) -> Result<Json<ReadAllResponse>, AppError> {
    let (updated, read_at) = state
        .signaling
        .store
        .mark_all_notifications_read(&me.user_id)
        .await?;
    if updated > 0 {
        state
            .signaling
            .notifications_read(&me.user_id, Vec::new(), true, read_at);
    }
    Ok(Json(ReadAllResponse { updated }))
}
