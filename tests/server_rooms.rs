//! Product backends create rooms over the server API (`POST
//! /api/server/rooms`) without being members: in their tenant, with the
//! members' devices told at once, and with typed errors for bad input.

mod common;

use common::tenancy::{of, send, server, As, ACME_KEY};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn a_backend_creates_rooms_for_its_users_in_its_tenant() {
    let server = server().await;
    let mut amira = server.client_with(of("acme", "amira", "applicant")).await;
    let (status, room) = send(
        &server,
        &As::Key(ACME_KEY),
        Method::POST,
        "/api/server/rooms",
        Some(json!({"id": "case-42", "type": "application", "title": "Case 42", "participants": ["amira", "omar"]})),
    )
    .await;
    assert_eq!(status, 201, "{room}");
    assert_eq!(
        (&room["id"], &room["tenant"], &room["created_by"]),
        (&json!("case-42"), &json!("acme"), &json!("system"))
    );
    // Her devices list it at once; she is a member, the backend is not.
    let added = amira.recv_type("room_added").await;
    assert_eq!(added["room"]["room"]["id"], "case-42");
    let joined = amira.join("case-42").await;
    let members: Vec<&str> = joined["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(members, ["amira", "omar"]);

    // The same id in the same tenant is taken; a global key makes rooms of no tenant.
    let (status, err) = send(
        &server,
        &As::Key(ACME_KEY),
        Method::POST,
        "/api/server/rooms",
        Some(json!({"id": "case-42", "type": "application", "title": "again"})),
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (409, Some("CONFLICT")),
        "{err}"
    );
    let (status, room) = server
        .api(
            Method::POST,
            "/api/server/rooms",
            Some(json!({"type": "bench", "title": "Load test 1", "participants": ["u1", "u2"]})),
        )
        .await;
    assert_eq!(status, 201, "{room}");
    assert_eq!(
        room["id"].as_str().unwrap().len(),
        36,
        "a generated id: {room}"
    );
    assert!(room.get("tenant").is_none(), "{room}");

    // Bad input and bad credentials.
    for (body, what) in [
        (json!({"type": "x"}), "no title"),
        (json!({"type": "", "title": "t"}), "empty type"),
        (
            json!({"id": "bad id!", "type": "x", "title": "t"}),
            "bad id",
        ),
        (
            json!({"type": "x", "title": "t", "colour": "red"}),
            "unknown field",
        ),
    ] {
        let (status, err) = server
            .api(Method::POST, "/api/server/rooms", Some(body))
            .await;
        assert_eq!(
            (status, err["code"].as_str()),
            (400, Some("BAD_REQUEST")),
            "{what}: {err}"
        );
    }
    let res = reqwest::Client::new()
        .post(server.http("/api/server/rooms"))
        .header("x-api-key", "not-a-key-0123456789")
        .json(&json!({"type": "x", "title": "t"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let applicant = server.token_with(of("acme", "amira", "applicant"));
    let res = reqwest::Client::new()
        .post(server.http("/api/server/rooms"))
        .bearer_auth(applicant)
        .json(&json!({"type": "x", "title": "t"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "not an api role");
}
