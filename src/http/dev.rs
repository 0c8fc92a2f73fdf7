//! Dev mode: mint tokens for the demo app and local testing.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::ApiJson;
use crate::auth::{now_secs, Claims};
use crate::error::AppError;
use crate::AppState;

#[derive(Deserialize, ToSchema)]
pub struct TokenRequest {
    /// The user id (`sub`), 1-128 bytes.
    user: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    rooms: Vec<String>,
    /// Lifetime in seconds (default one day).
    #[serde(default)]
    ttl_secs: Option<u64>,
}

#[utoipa::path(post, path = "/api/dev/token", tag = "dev", request_body = TokenRequest,
    responses((status = 200, description = "`{token, claims}`"), (status = 400),
              (status = 404, description = "not in dev mode")))]
/// `POST /api/dev/token`: 404 unless the server runs in dev mode.
pub async fn token(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<TokenRequest>,
) -> Result<Json<Value>, AppError> {
    if !state.auth.can_mint() {
        return Err(AppError::NotFound("dev token endpoint"));
    }
    if req.user.is_empty() || req.user.len() > 128 {
        return Err(AppError::BadRequest("`user` must be 1 to 128 bytes".into()));
    }
    let now = now_secs();
    let claims = Claims {
        sub: req.user,
        name: req.name,
        role: req.role.unwrap_or_else(|| "applicant".into()),
        tenant: req.tenant,
        rooms: req.rooms,
        exp: now + req.ttl_secs.unwrap_or(86_400).min(30 * 86_400),
        iat: now,
        iss: state.config.jwt_issuer.clone(),
        aud: state.config.jwt_audience.clone(),
    };
    let token = state
        .auth
        .mint(&claims)
        .ok_or(AppError::NotFound("dev token endpoint"))?;
    Ok(Json(json!({ "token": token, "claims": claims })))
}

#[utoipa::path(get, path = "/api/dev/config", tag = "dev",
    responses((status = 200, description = "`{dev, staff_roles, monitor_roles}`")))]
/// `GET /api/dev/config`: tells the demo app whether it may mint tokens.
pub async fn config(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "dev": state.auth.can_mint(),
        "staff_roles": state.config.staff_roles,
        "monitor_roles": state.config.monitor_roles,
    }))
}
