//! The HTTP API: routes and the extractors they share.

mod assistant;
mod calls;
mod dev;
mod directory;
mod notifications;
mod openapi;
pub mod rate_limit;
mod room_policy;
mod rooms;
mod server_api;
mod server_clients;
mod server_rooms;
mod tenancy;
mod uploads;

use axum::extract::{FromRequest, FromRequestParts};
use axum::routing::{get, post};
use axum::Router;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;

pub use rate_limit::Limits;

use crate::error::AppError;
use crate::{ws, AppState};

/// `axum::Json` whose rejections become typed `AppError`s.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct ApiJson<T>(pub T);

/// `axum::extract::Path` with typed rejections.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct ApiPath<T>(pub T);

/// `axum::extract::Query` with typed rejections.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct ApiQuery<T>(pub T);

impl<T: serde::Serialize> axum::response::IntoResponse for ApiJson<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// Count every HTTP response by status for `/metrics`.
async fn count_responses(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let resp = next.run(req).await;
    state
        .metrics
        .http_responses
        .with_label_values(&[resp.status().as_str()])
        .inc();
    resp
}

async fn api_not_found() -> AppError {
    AppError::NotFound("route")
}

/// A known route called with another method: a typed 405 (axum keeps the
/// `Allow` header it computed for the route).
async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> AppError {
    AppError::MethodNotAllowed {
        method: method.to_string(),
        path: uri.path().to_owned(),
    }
}

/// Every route, with the demo app served from `web_dir` at `/`.
pub fn router(state: AppState) -> Router {
    let web = state.config.web_dir.clone();
    // Both upload routes take a file up to `upload_max_bytes`.
    let upload_limit = axum::extract::DefaultBodyLimit::max(
        (state.config.upload_max_bytes + uploads::MULTIPART_OVERHEAD) as usize,
    );
    let api = Router::new()
        .route("/api/rooms", post(rooms::create).get(rooms::list))
        .route("/api/rooms/{id}", get(rooms::show).patch(rooms::update))
        .route("/api/users", get(directory::search))
        .route("/api/rooms/{id}/messages", get(rooms::messages))
        .route("/api/rooms/{id}/members", post(rooms::add_member))
        .route(
            "/api/rooms/{id}/members/{user_id}",
            axum::routing::delete(rooms::remove_member),
        )
        .route("/api/rooms/{id}/calls", get(calls::for_room))
        .route("/api/calls", get(calls::list))
        .route("/api/calls/{id}", get(calls::show))
        .route("/api/calls/{id}/report", get(calls::report))
        .route("/api/monitor/calls", get(calls::monitor))
        .route("/metrics", get(crate::metrics::scrape))
        .route("/api/status", get(calls::status))
        .route("/api/openapi.json", get(openapi::json))
        .route(
            "/api/server/notify/user/{user_id}",
            post(server_api::notify_user),
        )
        .route(
            "/api/server/notify/room/{room_id}",
            post(server_api::notify_room),
        )
        .route("/api/server/notify/all", post(server_api::notify_all))
        .route("/api/server/rooms", post(server_rooms::create))
        .route(
            "/api/server/events/user/{user_id}",
            post(server_api::event_user),
        )
        .route(
            "/api/server/events/room/{room_id}",
            post(server_api::event_room),
        )
        .route("/api/server/events/all", post(server_api::event_all))
        .route(
            "/api/server/rooms/{room_id}/messages",
            post(server_api::post_message),
        )
        .route(
            "/api/server/uploads",
            post(server_api::upload).layer(upload_limit),
        )
        .route("/api/server/clients", get(server_clients::clients))
        .route(
            "/api/server/users/{user_id}",
            get(server_clients::user_status),
        )
        .route("/api/notifications", get(notifications::list))
        .route("/api/notifications/read-all", post(notifications::read_all))
        .route("/api/notifications/{id}/read", post(notifications::read))
        .route("/api/uploads", post(uploads::upload).layer(upload_limit))
        .route("/api/uploads/{id}", get(uploads::download))
        .route("/api/uploads/{id}/thumbnail", get(uploads::thumbnail))
        .route(
            "/api/rooms/{id}/assistant",
            get(assistant::show).put(assistant::set),
        )
        .route("/api/dev/token", post(dev::token))
        .route("/api/dev/config", get(dev::config))
        .route("/healthz", get(|| async { "ok" }))
        .route("/ws", get(ws::upgrade))
        // Unknown API paths get a typed body, not the demo app's fallback.
        .route("/api/{*rest}", axum::routing::any(api_not_found))
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate_limit::limit,
        ));
    api.fallback_service(ServeDir::new(&web).fallback(ServeFile::new(web.join("index.html"))))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            count_responses,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
