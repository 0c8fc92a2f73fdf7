//! Helpers for the tenant isolation tests: a server with a global and a
//! tenant-scoped API key, tokens of a tenant, and rooms a tenant's product
//! backend makes under ids it chooses.

use reqwest::Method;
use serde_json::{json, Value};

use super::api::API_KEY;
use super::{claims, TestServer};
use earshot::auth::Claims;
use earshot::config::TenantApiKey;

pub const ACME_KEY: &str = "acme-api-key-0123456789";

pub async fn server() -> TestServer {
    TestServer::with(|c| {
        c.api_keys = vec![API_KEY.into()];
        c.tenant_api_keys = vec![TenantApiKey {
            key: ACME_KEY.into(),
            tenant: "acme".into(),
        }];
    })
    .await
}

pub fn of(tenant: &str, user: &str, role: &str) -> Claims {
    Claims {
        tenant: Some(tenant.into()),
        ..claims(user, role)
    }
}

/// How a request authenticates.
pub enum As<'a> {
    Token(&'a str),
    Key(&'a str),
}

pub async fn send(
    server: &TestServer,
    who: &As<'_>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, server.http(path));
    req = match who {
        As::Token(t) => req.bearer_auth(t),
        As::Key(k) => req.header("x-api-key", *k),
    };
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("http request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A room made under its id by a tenant's product backend (a service token
/// of that tenant in `owner`'s name).
pub async fn product_room(
    server: &TestServer,
    tenant: &str,
    id: &str,
    owner: &str,
    others: &[&str],
) {
    let token = server.token_with(of(tenant, owner, "service"));
    let room = server
        .create_room(
            &token,
            json!({"id": id, "type": "application", "title": format!("Room {id}"), "participants": others}),
        )
        .await;
    assert_eq!(room["tenant"], tenant);
}
