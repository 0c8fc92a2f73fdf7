//! Who may put whom in a room (`room_creation`), and per-user caps on room
//! creation and call starts: a stranger can no longer put someone in a room
//! (and so see their presence or ring their devices), and no user can
//! create rooms or start calls without bound.

mod common;

use common::{assert_rate_limited, claims, Client, TestServer};
use earshot::auth::Claims;
use earshot::config::RoomCreation;
use reqwest::Method;
use serde_json::{json, Value};

fn in_tenant(user: &str, role: &str, tenant: &str) -> Claims {
    Claims {
        tenant: Some(tenant.into()),
        ..claims(user, role)
    }
}

async fn create(server: &TestServer, token: &str, participants: &[&str]) -> (u16, Value) {
    let body = json!({"type": "support", "title": "Help", "participants": participants});
    server
        .call(Method::POST, Some(token), "/api/rooms", Some(body))
        .await
}

async fn presence_of(c: &mut Client, user: &str) -> Vec<Value> {
    let r = c
        .request(json!({"type": "get_presence", "user_ids": [user]}))
        .await;
    assert_eq!(r["type"], "presence_list", "{r}");
    r["users"].as_array().unwrap().clone()
}

#[tokio::test]
async fn by_default_applicants_may_name_only_staff_of_their_own_tenant() {
    let server = TestServer::with(|c| c.room_creation = RoomCreation::default()).await;
    assert_eq!(RoomCreation::default(), RoomCreation::WithStaff);
    // Staff and applicants the server has seen (they connected once).
    let _omar = server
        .client_with(in_tenant("omar", "professional", "acme"))
        .await;
    let _gus = server
        .client_with(in_tenant("gus", "professional", "globex"))
        .await;
    let _lina = server
        .client_with(in_tenant("lina", "applicant", "acme"))
        .await;
    let eve_claims = in_tenant("eve", "applicant", "acme");
    let eve = server.token_with(eve_claims.clone());

    for (others, why) in [
        (&["lina"][..], "another applicant"),
        (&["never-seen"][..], "a user the server does not know"),
        (&["gus"][..], "staff of another tenant"),
        (&["omar", "lina"][..], "staff and an applicant"),
    ] {
        let (status, body) = create(&server, &eve, others).await;
        assert_eq!(status, 403, "{why}: {body}");
        assert_eq!(body["code"], "ACCESS_DENIED", "{why}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains("staff"),
            "{body}"
        );
    }
    // Nobody was put anywhere: Lina has no rooms and Eve sees nothing of her.
    let lina = server.token_with(in_tenant("lina", "applicant", "acme"));
    let (_, list) = server.get(&lina, "/api/rooms").await;
    assert_eq!(list["rooms"], json!([]), "{list}");
    let mut eve_ws = server.client_with(eve_claims).await;
    assert!(presence_of(&mut eve_ws, "lina").await.is_empty());

    // A conversation with a professional of her tenant is the normal case.
    let (status, room) = create(&server, &eve, &["omar"]).await;
    assert_eq!(status, 201, "{room}");
    let (status, _) = create(&server, &eve, &[]).await;
    assert_eq!(status, 201, "a room of her own");
    assert_eq!(presence_of(&mut eve_ws, "omar").await.len(), 1);

    // Adding members follows the same rule.
    let id = room["id"].as_str().unwrap();
    let add = |user: &str| json!({"user_id": user});
    let path = format!("/api/rooms/{id}/members");
    let (status, body) = server
        .call(Method::POST, Some(&eve), &path, Some(add("lina")))
        .await;
    assert_eq!(
        (status, body["code"].clone()),
        (403, json!("ACCESS_DENIED")),
        "{body}"
    );
    let (status, _) = server
        .call(Method::POST, Some(&eve), &path, Some(add("omar")))
        .await;
    assert_eq!(status, 200, "already a member");

    // Staff of the tenant may put in anyone not of another tenant.
    let omar = server.token_with(in_tenant("omar", "professional", "acme"));
    let (status, body) = create(&server, &omar, &["lina", "newcomer"]).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = create(&server, &omar, &["gus"]).await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = server
        .call(Method::POST, Some(&omar), &path, Some(add("lina")))
        .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn the_staff_policy_lets_only_staff_create_rooms_and_add_members() {
    let server = TestServer::with(|c| c.room_creation = RoomCreation::Staff).await;
    let amira = server.token("amira", "applicant");
    let (status, body) = create(&server, &amira, &[]).await;
    assert_eq!(
        (status, body["code"].clone()),
        (403, json!("ACCESS_DENIED")),
        "{body}"
    );

    let omar = server.token("omar", "professional");
    let room = server
        .create_room(
            &omar,
            json!({"id": "case-1", "type": "ticket", "title": "Case", "participants": ["amira"]}),
        )
        .await;
    assert_eq!(room["id"], "case-1");
    let (status, _) = server
        .call(
            Method::POST,
            Some(&amira),
            "/api/rooms/case-1/members",
            Some(json!({"user_id": "lina"})),
        )
        .await;
    assert_eq!(status, 403, "an applicant member may not add people");
}

#[tokio::test]
async fn room_creation_is_rate_limited_and_capped_per_user() {
    let server = TestServer::with(|c| {
        c.room_create_per_minute = 3;
        c.room_max_created_per_user = 5;
    })
    .await;
    let eve = server.token("eve", "applicant");
    for _ in 0..3 {
        assert_eq!(create(&server, &eve, &[]).await.0, 201);
    }
    let res = reqwest::Client::new()
        .post(server.http("/api/rooms"))
        .bearer_auth(&eve)
        .json(&json!({"type": "support", "title": "Spam"}))
        .send()
        .await
        .unwrap();
    assert_rate_limited(res).await;

    // Someone else is unaffected, and staff are not limited.
    let amira = server.token("amira", "applicant");
    assert_eq!(create(&server, &amira, &[]).await.0, 201);
    let omar = server.token("omar", "professional");
    for _ in 0..8 {
        assert_eq!(create(&server, &omar, &[]).await.0, 201);
    }
}

#[tokio::test]
async fn a_user_may_create_only_so_many_rooms_in_all() {
    let server = TestServer::with(|c| c.room_max_created_per_user = 2).await;
    let eve = server.token("eve", "applicant");
    assert_eq!(create(&server, &eve, &[]).await.0, 201);
    assert_eq!(create(&server, &eve, &[]).await.0, 201);
    let (status, body) = create(&server, &eve, &[]).await;
    assert_eq!(
        (status, body["code"].clone()),
        (403, json!("ACCESS_DENIED")),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("(2)"), "{body}");
}

#[tokio::test]
async fn call_starts_are_rate_limited_per_user_and_refused_starts_ring_nobody() {
    let server = TestServer::with(|c| c.call_start_per_minute = 2).await;
    for id in ["r1", "r2", "r3"] {
        server.room(id, "eve", &["omar"]).await;
    }
    let mut eve = server.client("eve", "applicant").await;
    let mut omar = server.client("omar", "professional").await;
    for id in ["r1", "r2"] {
        let r = eve.start_call(id, "p2p").await;
        assert_eq!(r["type"], "call_started", "{r}");
    }
    let refused = eve.start_call("r3", "p2p").await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["code"], "RATE_LIMITED", "{refused}");
    assert!(refused["retry_after_ms"].as_u64().unwrap() > 0, "{refused}");
    // Omar was rung twice, not three times, and may start a call himself.
    let rings: Vec<Value> = omar
        .sync()
        .await
        .into_iter()
        .filter(|m| m["type"] == "call_started")
        .collect();
    assert_eq!(rings.len(), 2, "{rings:?}");
    let r = omar.start_call("r3", "p2p").await;
    assert_eq!(r["type"], "call_started", "{r}");
    // Eve's connection carries on.
    eve.join("r1").await;
}
