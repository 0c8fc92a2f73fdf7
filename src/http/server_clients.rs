//! The server API's view of who is connected: every device, or one user's
//! status, within the caller's tenant when its key or token is scoped.

use std::collections::HashSet;

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::server_api::check_id;
use super::tenancy::{user_in_reach, users_in_reach};
use super::ApiPath;
use crate::auth::ServiceCaller;
use crate::error::AppError;
use crate::AppState;
use earshot_signaling::protocol::{PresenceStatus, UserRef};
use earshot_signaling::ConnHandle;

/// One connected device.
#[derive(Serialize, ToSchema)]
pub struct ClientView {
    pub connection_id: String,
    #[schema(value_type = Object)]
    pub user: UserRef,
    pub connected_at: i64,
    /// This device's presence: `online`, `away` or `busy`.
    #[schema(value_type = String)]
    pub status: PresenceStatus,
    /// Frames this device sent to the server.
    pub messages_sent: u64,
    /// Frames the server sent to this device.
    pub messages_received: u64,
}

fn client_view(conn: &ConnHandle, status: PresenceStatus, user: UserRef) -> ClientView {
    ClientView {
        connection_id: conn.id().to_string(),
        user,
        connected_at: conn.connected_at(),
        status,
        messages_sent: conn.frames_in(),
        messages_received: conn.frames_out(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct ClientsResponse {
    pub count: usize,
    pub clients: Vec<ClientView>,
}

#[utoipa::path(get, path = "/api/server/clients", tag = "server",
    responses((status = 200, body = ClientsResponse)), security(("api_key" = []), ("bearer" = [])))]
/// Every connected device (of the caller's tenant's users, for a scoped
/// caller), oldest connection first.
pub async fn clients(
    State(state): State<AppState>,
    caller: ServiceCaller,
) -> Result<Json<ClientsResponse>, AppError> {
    let sig = &state.signaling;
    let mut snapshot = sig.hub.snapshot();
    let all: Vec<String> = snapshot.iter().map(|(u, _)| u.clone()).collect();
    let users = users_in_reach(&state, &caller, all).await?;
    let reached: HashSet<&String> = users.iter().collect();
    snapshot.retain(|(u, _)| reached.contains(u));
    let profiles = sig.store.user_profiles(&users).await?;
    let mut clients: Vec<ClientView> = snapshot
        .into_iter()
        .flat_map(|(user, devices)| {
            let (name, role) = profiles.get(&user).cloned().unwrap_or((None, None));
            let user = UserRef {
                id: user,
                name,
                role,
            };
            devices
                .into_iter()
                .map(move |(conn, status)| client_view(&conn, status, user.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    clients.sort_by_key(|c| (c.connected_at, c.connection_id.parse::<u64>().unwrap_or(0)));
    Ok(Json(ClientsResponse {
        count: clients.len(),
        clients,
    }))
}

/// One user's connection status and metrics.
#[derive(Serialize, ToSchema)]
pub struct UserStatusResponse {
    pub user_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    pub online: bool,
    /// Aggregated over devices: `online`, `away`, `busy` or `offline`.
    #[schema(value_type = String)]
    pub status: PresenceStatus,
    pub devices: usize,
    /// The oldest open connection's start, while online.
    pub connected_since: Option<i64>,
    /// The last disconnect, while offline.
    pub last_seen: Option<i64>,
    /// Frames sent by / to the user's open connections.
    pub messages_sent: u64,
    pub messages_received: u64,
    pub connections: Vec<ClientView>,
}

#[utoipa::path(get, path = "/api/server/users/{user_id}", tag = "server",
    params(("user_id" = String, Path)),
    responses((status = 200, body = UserStatusResponse),
              (status = 404, description = "a scoped caller: not a user of its tenant")), security(("api_key" = []), ("bearer" = [])))]
/// One user's connection status, devices and message counts.
pub async fn user_status(
    State(state): State<AppState>,
    caller: ServiceCaller,
    ApiPath(user_id): ApiPath<String>,
) -> Result<Json<UserStatusResponse>, AppError> {
    check_id("user_id", &user_id)?;
    user_in_reach(&state, &caller, &user_id).await?;
    let sig = &state.signaling;
    let profile = sig
        .store
        .user_profiles(std::slice::from_ref(&user_id))
        .await?
        .remove(&user_id)
        .unwrap_or((None, None));
    let presence = sig.hub.presence(&user_id);
    let last_seen = match presence.last_seen {
        Some(at) => Some(at),
        None => sig
            .store
            .last_seen(std::slice::from_ref(&user_id))
            .await?
            .pop()
            .and_then(|(_, at)| at),
    };
    let user = UserRef {
        id: user_id.clone(),
        name: profile.0.clone(),
        role: profile.1.clone(),
    };
    let mut connections: Vec<ClientView> = sig
        .hub
        .devices(&user_id)
        .into_iter()
        .map(|(conn, status)| client_view(&conn, status, user.clone()))
        .collect();
    connections.sort_by_key(|c| c.connected_at);
    Ok(Json(UserStatusResponse {
        online: !connections.is_empty(),
        status: presence.status,
        devices: connections.len(),
        connected_since: connections.iter().map(|c| c.connected_at).min(),
        last_seen: if connections.is_empty() {
            last_seen
        } else {
            None
        },
        messages_sent: connections.iter().map(|c| c.messages_sent).sum(),
        messages_received: connections.iter().map(|c| c.messages_received).sum(),
        user_id,
        name: profile.0,
        role: profile.1,
        connections,
    }))
}
