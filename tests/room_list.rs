//! The room list comes a page at a time (REST `GET /api/rooms?limit=&cursor=`
//! and socket `list_rooms`), most recently active first, and REST is rate
//! limited per user and per IP with a typed 429.

mod common;

use std::collections::HashSet;

use common::{assert_rate_limited, TestServer};
use serde_json::{json, Value};

async fn paged_server() -> TestServer {
    TestServer::with(|c| {
        c.room_create_per_minute = 0;
        c.room_list_page = 4;
        c.room_list_max_page = 5;
    })
    .await
}

/// Seven rooms of Amira's, `room-0` created first; then a message in
/// `room-2` makes it the most recently active.
async fn seven_rooms(server: &TestServer) -> common::Client {
    for i in 0..7 {
        server.room(&format!("room-{i}"), "amira", &["omar"]).await;
        // Distinct creation times order the rest.
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let mut amira = server.client("amira", "applicant").await;
    amira.join("room-2").await;
    amira.say("room-2", "m1", "hello").await;
    amira
}

fn ids(page: &Value) -> Vec<String> {
    page["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["room"]["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn rest_pages_walk_every_room_once_newest_activity_first() {
    let server = paged_server().await;
    seven_rooms(&server).await;
    let token = server.token("amira", "applicant");

    // No parameters: the first page of the default size.
    let (status, first) = server.get(&token, "/api/rooms").await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(ids(&first), ["room-2", "room-6", "room-5", "room-4"]);
    assert_eq!(first["has_more"], true);
    assert_eq!(first["rooms"][0]["last_message"]["text"], "hello");

    // Following the cursor visits every room exactly once.
    let mut seen = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/rooms?limit=3&cursor={}", urlencode(c)),
            None => "/api/rooms?limit=3".into(),
        };
        let (status, page) = server.get(&token, &path).await;
        assert_eq!(status, 200, "{page}");
        assert!(ids(&page).len() <= 3);
        seen.extend(ids(&page));
        if page["has_more"] == false {
            assert!(page["next_cursor"].is_null(), "{page}");
            break;
        }
        cursor = Some(page["next_cursor"].as_str().unwrap().to_string());
    }
    assert_eq!(
        seen,
        ["room-2", "room-6", "room-5", "room-4", "room-3", "room-1", "room-0"]
    );
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 7);

    // A page is never larger than the server's maximum.
    let (_, big) = server.get(&token, "/api/rooms?limit=100000").await;
    assert_eq!(ids(&big).len(), 5);
    // A cursor the server did not give is a typed 400.
    let (status, bad) = server.get(&token, "/api/rooms?cursor=nonsense").await;
    assert_eq!(
        (status, bad["code"].clone()),
        (400, json!("BAD_REQUEST")),
        "{bad}"
    );
}

fn urlencode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[tokio::test]
async fn the_socket_list_pages_the_same_way() {
    let server = paged_server().await;
    let mut amira = seven_rooms(&server).await;
    let first = amira.request(json!({"type": "list_rooms"})).await;
    assert_eq!(first["type"], "rooms", "{first}");
    assert_eq!(ids(&first).len(), 4);
    assert_eq!(first["has_more"], true);
    let rest = amira
        .request(json!({"type": "list_rooms", "limit": 5, "cursor": first["next_cursor"]}))
        .await;
    assert_eq!(ids(&rest), ["room-3", "room-1", "room-0"]);
    assert_eq!(rest["has_more"], false);
    assert!(rest.get("next_cursor").is_none(), "{rest}");
    let bad = amira
        .request(json!({"type": "list_rooms", "cursor": "x"}))
        .await;
    assert_eq!(bad["code"], "BAD_REQUEST", "{bad}");
    // The connection carries on.
    amira.say("room-2", "m2", "still here").await;
}

async fn get_as(
    server: &TestServer,
    token: &str,
    forwarded_for: Option<&str>,
) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .get(server.http("/api/rooms"))
        .bearer_auth(token);
    if let Some(ip) = forwarded_for {
        req = req.header("x-forwarded-for", ip);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn rest_over_the_per_user_limit_gets_a_typed_429_and_others_carry_on() {
    let server = TestServer::with(|c| {
        c.rest_user_per_minute = 60;
        c.rest_user_burst = 5;
    })
    .await;
    let eve = server.token("eve", "applicant");
    for _ in 0..5 {
        assert_eq!(get_as(&server, &eve, None).await.status(), 200);
    }
    assert_rate_limited(get_as(&server, &eve, None).await).await;
    // Another user from the same address is unaffected.
    let amira = server.token("amira", "applicant");
    assert_eq!(get_as(&server, &amira, None).await.status(), 200);
    // Paths outside the REST API are not counted.
    assert_eq!(server.get(&eve, "/healthz").await.0, 200);
}

#[tokio::test]
async fn rest_over_the_per_ip_limit_gets_a_typed_429_and_other_addresses_carry_on() {
    let server = TestServer::with(|c| {
        c.rest_ip_per_minute = 60;
        c.rest_ip_burst = 3;
        c.rest_trust_forwarded_for = true;
    })
    .await;
    // Different users, one address: the address is limited.
    for user in ["u1", "u2", "u3"] {
        let t = server.token(user, "applicant");
        let res = get_as(&server, &t, Some("203.0.113.7")).await;
        assert_eq!(res.status(), 200);
    }
    let t = server.token("u4", "applicant");
    assert_rate_limited(get_as(&server, &t, Some("198.51.100.1, 203.0.113.7")).await).await;
    // Another address is not.
    assert_eq!(get_as(&server, &t, Some("203.0.113.8")).await.status(), 200);
}
