//! `GET /api/users`: finding the people one may talk to, by name or id.
//!
//! Staff (and product backends, `api_roles`) find the users of their own
//! tenant (staff without a tenant: everyone); anyone else finds the staff of
//! their own tenant, the people the default `room_creation` policy lets them
//! put in a room. Nobody ever finds a user of another tenant.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiQuery;
use crate::auth::AuthUser;
use crate::error::AppError;
use crate::AppState;
use earshot_signaling::protocol::PresenceStatus;
use earshot_signaling::store::DirectoryQuery;

/// Results per search by default, and at most.
const DEFAULT_LIMIT: u32 = 20;
const MAX_LIMIT: u32 = 50;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DirectoryParams {
    /// Part of a name or id, any case (absent: everyone in reach).
    q: Option<String>,
    /// 1 to 50 (default 20).
    limit: Option<u32>,
}

/// One person found.
#[derive(Serialize, ToSchema)]
pub struct DirectoryUser {
    pub id: String,
    pub name: Option<String>,
    pub role: Option<String>,
    /// Live presence (`offline` when no device is connected).
    #[schema(value_type = String)]
    pub presence: PresenceStatus,
    /// When they were last online (ms since the epoch), if ever.
    pub last_seen: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct DirectoryResponse {
    pub users: Vec<DirectoryUser>,
}

#[utoipa::path(get, path = "/api/users", tag = "rooms", params(DirectoryParams),
    responses((status = 200, body = DirectoryResponse, description = "the people the caller may talk to, by name"),
              (status = 400, description = "`q` longer than 100 bytes, or a bad `limit`"), (status = 401),
              (status = 429, description = "over the REST rate limit")),
    security(("bearer" = [])))]
/// `GET /api/users?q=&limit=`: people the caller may talk to (see the
/// module docs for who that is), ordered by name.
pub async fn search(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiQuery(p): ApiQuery<DirectoryParams>,
) -> Result<Json<DirectoryResponse>, AppError> {
    let q = p.q.unwrap_or_default();
    if q.len() > 100 {
        return Err(AppError::BadRequest("`q` must be at most 100 bytes".into()));
    }
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::BadRequest(format!(
            "`limit` must be 1 to {MAX_LIMIT}"
        )));
    }
    let sig = &state.signaling;
    let trusted = super::room_policy::trusted(&state, &me);
    let tenant = me.tenant.as_deref();
    let query = DirectoryQuery {
        // Staff without a tenant reach every tenant; everyone else only theirs.
        tenant: if trusted && tenant.is_none() {
            None
        } else {
            Some(tenant)
        },
        roles: (!trusted).then_some(sig.config.staff_roles.as_slice()),
        search: q.trim(),
        exclude: &me.user_id,
        limit,
    };
    let users = sig
        .store
        .directory(&query)
        .await?
        .into_iter()
        .map(|u| {
            let live = sig.hub.presence(&u.id);
            DirectoryUser {
                presence: live.status,
                last_seen: live.last_seen.or(u.last_seen),
                id: u.id,
                name: u.name,
                role: u.role,
            }
        })
        .collect();
    Ok(Json(DirectoryResponse { users }))
}
