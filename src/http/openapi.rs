//! The OpenAPI description of every REST endpoint (rooms, the server API,
//! notifications, uploads, the assistant, calls and their reports, dev
//! mode), served at `/api/openapi.json`.

use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    assistant, calls, dev, directory, notifications, rooms, server_api, server_clients,
    server_rooms, uploads,
};

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
    info(title = "earshot", description = "Rooms and history, the server API for product backends, notifications, uploads, the assistant, and call records with their quality reports. The socket protocol is in docs/PROTOCOL.md, with examples of every body."),
    paths(
        rooms::create, rooms::list, rooms::show, rooms::update, rooms::add_member, rooms::remove_member, rooms::messages,
        directory::search,
        calls::for_room,
        calls::status,
        calls::list, calls::show, calls::report, calls::monitor,
        server_api::notify_user, server_api::notify_room, server_api::notify_all,
        server_api::event_user, server_api::event_room, server_api::event_all,
        server_api::post_message, server_api::upload, server_rooms::create, server_clients::clients, server_clients::user_status,
        notifications::list, notifications::read, notifications::read_all,
        uploads::upload, uploads::download, uploads::thumbnail,
        assistant::show, assistant::set,
        dev::token, dev::config,
    ),
    modifiers(&Security),
    tags((name = "rooms", description = "Conversations, their members and history, for any user's token"),
         (name = "server", description = "For product backends: API key or a token with an `api_roles` role"),
         (name = "notifications"), (name = "uploads"), (name = "assistant"),
         (name = "calls", description = "Call records, quality reports and the live view of ongoing calls"),
         (name = "dev", description = "Dev mode only: tokens minted by the server for the demo and local testing"))
)]
pub struct ApiDoc;

/// `GET /api/openapi.json`.
pub async fn json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
