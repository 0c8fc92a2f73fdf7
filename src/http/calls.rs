//! Calls over REST (stored records, quality reports, the monitors' live
//! view) and the server status.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use earshot_signaling::protocol::QualityLevel;
use earshot_signaling::quality::issues::IssueKind;
use earshot_signaling::store::{CallFilter, CallScope};
use earshot_signaling::Identity;

use super::{ApiPath, ApiQuery};
use crate::auth::{AuthUser, Caller};
use crate::error::AppError;
use crate::AppState;

/// A call in a room the caller may not access answers like a missing call.
fn call_not_found(err: earshot_signaling::SignalError) -> AppError {
    match err {
        earshot_signaling::SignalError::NotFound(_) => AppError::NotFound("call"),
        other => other.into(),
    }
}

/// Calls listed when `limit` is not given, and the most one page holds.
const DEFAULT_LIST: u32 = 50;
const MAX_LIST: u32 = 200;

/// Query of `GET /api/calls`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this room's calls.
    room_id: Option<String>,
    /// Only calls this user took part in.
    user_id: Option<String>,
    /// Started at or after (ms since the epoch).
    since: Option<i64>,
    /// Started before (ms since the epoch).
    until: Option<i64>,
    /// Only calls whose worst level was this or lower: poor, fair, good, excellent.
    #[param(value_type = Option<String>)]
    worst: Option<QualityLevel>,
    /// Only calls in which this live issue was raised: no_audio_sent,
    /// no_audio_received, one_way_audio, talking_while_muted, reconnecting,
    /// media_failed.
    #[param(value_type = Option<String>)]
    issue: Option<IssueKind>,
    /// 1 to 200 (default 50).
    limit: Option<u32>,
}

fn scope_of(state: &AppState, me: &Identity) -> CallScope {
    if me.is_staff(&state.signaling.config) {
        match &me.tenant {
            None => CallScope::All,
            Some(t) => CallScope::Tenant {
                tenant: t.clone(),
                user_id: me.user_id.clone(),
            },
        }
    } else {
        CallScope::Member {
            user_id: me.user_id.clone(),
            grants: me.room_grants.clone(),
        }
    }
}

#[utoipa::path(get, path = "/api/calls", tag = "calls", params(ListQuery),
    responses((status = 200, description = "`{calls: [call summary]}`, newest first"),
              (status = 400), (status = 401)),
    security(("bearer" = [])))]
/// `GET /api/calls`: calls the caller may see, newest first, with their
/// quality summaries; filters by room, participant, start time, worst level
/// and live issue.
pub async fn list(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Value>, AppError> {
    if let (Some(since), Some(until)) = (q.since, q.until) {
        if since > until {
            return Err(AppError::BadRequest("`since` is after `until`".into()));
        }
    }
    let filter = CallFilter {
        room_id: q.room_id.map(|room| me.room_key(&room)),
        user_id: q.user_id,
        since: q.since,
        until: q.until,
        worst: q.worst,
        issue: q.issue,
        limit: q.limit.unwrap_or(DEFAULT_LIST).clamp(1, MAX_LIST),
    };
    let calls = state
        .signaling
        .store
        .list_calls(&scope_of(&state, &me), &filter)
        .await?;
    Ok(Json(json!({ "calls": calls })))
}

#[utoipa::path(get, path = "/api/calls/{id}/report", tag = "calls",
    params(("id" = String, Path)),
    responses((status = 200, description = "record, summary, participants' figures and the sample timeline"),
              (status = 401), (status = 404, description = "no such call, or one in a room the caller may not access")),
    security(("bearer" = [])))]
/// `GET /api/calls/{id}/report`: the call's record, quality summary, each
/// participant's figures and the sample timeline.
pub async fn report(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, AppError> {
    let sig = &state.signaling;
    let report = sig
        .store
        .call_report(&id)
        .await?
        .ok_or(AppError::NotFound("call"))?;
    sig.authorize(&me, &report.call.room_id)
        .await
        .map_err(call_not_found)?;
    let active = sig
        .calls
        .active_in_room(&report.call.room_id)
        .is_some_and(|c| c == id);
    let mut body =
        serde_json::to_value(&report).map_err(|e| AppError::Internal(format!("report: {e}")))?;
    body["active"] = json!(active);
    Ok(Json(body))
}

#[utoipa::path(get, path = "/api/monitor/calls", tag = "calls",
    responses((status = 200, description = "`{calls: [ongoing call with each participant's latest quality]}`"),
              (status = 401), (status = 403)),
    security(("bearer" = [])))]
/// `GET /api/monitor/calls` (monitoring roles): every ongoing call in the
/// caller's scope with each participant's latest quality.
pub async fn monitor(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
) -> Result<Json<Value>, AppError> {
    let sig = &state.signaling;
    if !me.is_monitor(&sig.config) {
        return Err(AppError::Forbidden(
            "monitoring is for monitoring roles".into(),
        ));
    }
    let calls = sig.calls.monitor_views(&me.tenant).await;
    Ok(Json(json!({ "calls": calls })))
}

#[utoipa::path(get, path = "/api/calls/{id}", tag = "calls",
    params(("id" = String, Path)),
    responses((status = 200, description = "the call record with each device's join and leave times"),
              (status = 401), (status = 404, description = "no such call, or one in a room the caller may not access")),
    security(("bearer" = [])))]
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
    sig.authorize(&me, &call.room_id)
        .await
        .map_err(call_not_found)?;
    let active = sig
        .calls
        .active_in_room(&call.room_id)
        .is_some_and(|c| c == id);
    Ok(Json(json!({ "call": call, "active": active })))
}

#[utoipa::path(get, path = "/api/rooms/{id}/calls", tag = "calls", params(("id" = String, Path)),
    responses((status = 200, description = "`{room_id, calls: [call], active}`: the last 100, newest first, and the ongoing call's id"),
              (status = 404, description = "no such room, or one the caller may not access (the same answer)")),
    security(("bearer" = [])))]
/// `GET /api/rooms/{id}/calls`: the room's calls, newest first.
pub async fn for_room(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, AppError> {
    let sig = &state.signaling;
    let id = me.room_key(&id);
    sig.authorize(&me, &id).await?;
    let calls = sig.store.room_calls(&id, 100).await?;
    Ok(Json(
        json!({ "room_id": earshot_signaling::room_key::local(&id), "calls": calls, "active": sig.calls.active_in_room(&id) }),
    ))
}

#[utoipa::path(get, path = "/api/status", tag = "server",
    responses((status = 200, description = "uptime, version, connections, rooms, calls, SFU counters; for a caller scoped to a tenant only that tenant's connections, users online and rooms"), (status = 403)),
    security(("api_key" = []), ("bearer" = [])))]
/// `GET /api/status` (staff roles, or the server API): uptime, connections,
/// rooms, calls and the SFU's live peers, tracks and tasks. Staff of a
/// tenant and keys or tokens scoped to one see their tenant's figures only
/// (connections, users online, rooms), never the server's.
pub async fn status(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, AppError> {
    let sig = &state.signaling;
    let tenant = match &caller {
        Caller::User(me) => {
            if !me.is_staff(&sig.config) {
                return Err(AppError::Forbidden(
                    "status is for staff roles and the server API".into(),
                ));
            }
            me.tenant.as_deref()
        }
        Caller::Service(service) => service.tenant(),
    };
    if let Some(tenant) = tenant {
        let users: std::collections::HashSet<String> = sig
            .store
            .users_in_tenant(tenant)
            .await?
            .into_iter()
            .collect();
        let online: Vec<usize> = sig
            .hub
            .snapshot()
            .into_iter()
            .filter(|(user, devices)| users.contains(user) && !devices.is_empty())
            .map(|(_, devices)| devices.len())
            .collect();
        return Ok(Json(json!({
            "version": env!("CARGO_PKG_VERSION"),
            "uptime_secs": state.started.elapsed().as_secs(),
            "tenant": tenant,
            "connections": online.iter().sum::<usize>(),
            "users_online": online.len(),
            "rooms_total": sig.store.room_count_in_tenant(tenant).await?,
        })));
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
