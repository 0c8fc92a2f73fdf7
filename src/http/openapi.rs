//! The OpenAPI description of the server API, notifications, uploads and
//! the assistant, served at `/api/openapi.json`.

use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{assistant, calls, notifications, server_api, uploads};

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT, or an API key for the server API")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Api-Key"))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "earshot", description = "Server API for product backends, notifications, uploads and the assistant. The socket protocol and the other REST endpoints are in docs/PROTOCOL.md."),
    paths(
        calls::status,
        server_api::notify_user, server_api::notify_room, server_api::notify_all,
        server_api::event_user, server_api::event_room, server_api::event_all,
        server_api::post_message, server_api::clients, server_api::user_status,
        notifications::list, notifications::read, notifications::read_all,
        uploads::upload, uploads::download, uploads::thumbnail,
        assistant::show, assistant::set,
    ),
    modifiers(&Security),
    tags((name = "server", description = "For product backends: API key or a token with an `api_roles` role"),
         (name = "notifications"), (name = "uploads"), (name = "assistant"))
)]
pub struct ApiDoc;

/// `GET /api/openapi.json`.
pub async fn json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
