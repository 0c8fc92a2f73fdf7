//! Notifications: to every device of a user, stored while they are offline
//! and delivered when they connect (once), to a room's members and to
//! everyone; listed and marked read over REST.

mod common;

use std::time::Duration;

use common::api::API_KEY;
use common::TestServer;
use reqwest::Method;
use serde_json::{json, Value};

async fn server() -> TestServer {
    TestServer::with(|c| c.api_keys = vec![API_KEY.into()]).await
}

/// Notifications with these titles for amira, from the server API: their ids.
async fn notify_amira(server: &TestServer, titles: &[&str]) -> Vec<String> {
    let mut ids = vec![];
    for title in titles {
        let (_, body) = server
            .api(
                Method::POST,
                "/api/server/notify/user/amira",
                Some(json!({ "title": title })),
            )
            .await;
        ids.push(body["notification"]["id"].as_str().unwrap().to_string());
    }
    ids
}

/// A body-less POST with a user's token.
async fn post(server: &TestServer, token: &str, path: &str) -> (u16, Value) {
    server.call(Method::POST, Some(token), path, None).await
}

fn notifications(msgs: &[Value]) -> Vec<Value> {
    msgs.iter()
        .filter(|m| m["type"] == "notification")
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_notification_reaches_every_device_of_the_user() {
    let server = server().await;
    let mut phone = server.client("amira", "applicant").await;
    let mut laptop = server.client("amira", "applicant").await;
    let mut omar = server.client("omar", "professional").await;

    let (status, body) = server
        .api(
            Method::POST,
            "/api/server/notify/user/amira",
            Some(json!({"kind": "success", "title": "Documents received",
                        "body": "We received your passport scan.", "link": "https://example.org/app/123",
                        "data": {"application": "123"}, "room_id": "visa-123"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        (
            body["recipients"].as_u64(),
            body["delivered_devices"].as_u64()
        ),
        (Some(1), Some(2))
    );
    let stored = body["notification"].clone();
    for c in [&mut phone, &mut laptop] {
        let n = c.recv_type("notification").await;
        assert_eq!(n["notification"], stored);
        let v = &n["notification"];
        assert_eq!(v["kind"], "success");
        assert_eq!(v["title"], "Documents received");
        assert_eq!(v["body"], "We received your passport scan.");
        assert_eq!(v["link"], "https://example.org/app/123");
        assert_eq!(v["data"], json!({"application": "123"}));
        assert_eq!(v["room_id"], "visa-123");
        assert!(v["created_at"].as_i64().unwrap() > 0);
        assert!(
            v.get("read_at").is_some_and(Value::is_null),
            "read_at is present and null: {v}"
        );
    }
    assert!(notifications(&omar.sync().await).is_empty());

    // Seed-style field names work too.
    let (status, _) = server
        .api(
            Method::POST,
            "/api/server/notify/user/amira",
            Some(json!({"type": "warning", "title": "Heads up", "message": "Soon"})),
        )
        .await;
    assert_eq!(status, 201);
    let n = phone.recv_type("notification").await;
    assert_eq!(
        (
            n["notification"]["kind"].as_str(),
            n["notification"]["body"].as_str()
        ),
        (Some("warning"), Some("Soon"))
    );
    assert!(n["notification"].get("link").is_none());
}

#[tokio::test]
async fn offline_users_get_stored_notifications_on_connect_once() {
    let server = server().await;
    // Amira has never connected and is offline.
    for title in ["First", "Second"] {
        let (status, body) = server
            .api(
                Method::POST,
                "/api/server/notify/user/amira",
                Some(json!({"title": title})),
            )
            .await;
        assert_eq!(status, 201);
        assert_eq!(body["delivered_devices"], 0);
    }
    let mut amira = server.client("amira", "applicant").await;
    let got = notifications(&amira.sync().await);
    let titles: Vec<&str> = got
        .iter()
        .map(|n| n["notification"]["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        vec!["First", "Second"],
        "oldest first, right after welcome"
    );

    // A second device connecting later does not get them again, nor does a reconnect.
    let mut other = server.client("amira", "applicant").await;
    assert!(notifications(&other.sync().await).is_empty());
    amira.ws.close(None).await.unwrap();
    other.ws.close(None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut again = server.client("amira", "applicant").await;
    assert!(notifications(&again.sync().await).is_empty());

    // The list is complete either way: REST shows both, newest first.
    let (status, list) = server.get(&again.token, "/api/notifications").await;
    assert_eq!(status, 200);
    let listed: Vec<&str> = list["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap())
        .collect();
    assert_eq!(listed, vec!["Second", "First"]);
}

#[tokio::test]
async fn notifications_are_listed_and_marked_read() {
    let server = server().await;
    let token = server.token("amira", "applicant");
    let ids = notify_amira(&server, &["a", "b", "c"]).await;
    server
        .api(
            Method::POST,
            "/api/server/notify/user/omar",
            Some(json!({"title": "not yours"})),
        )
        .await;

    let (status, read) = post(
        &server,
        &token,
        &format!("/api/notifications/{}/read", ids[0]),
    )
    .await;
    assert_eq!(status, 200);
    let read_at = read["notification"]["read_at"]
        .as_i64()
        .expect("read_at set");
    // Marking again keeps the first time.
    let (_, again) = post(
        &server,
        &token,
        &format!("/api/notifications/{}/read", ids[0]),
    )
    .await;
    assert_eq!(again["notification"]["read_at"], read_at);

    let (_, unread) = server.get(&token, "/api/notifications?unread=true").await;
    let titles: Vec<&str> = unread["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, vec!["c", "b"]);
    let (_, all) = server.get(&token, "/api/notifications?limit=2").await;
    assert_eq!(all["notifications"].as_array().unwrap().len(), 2);

    let (status, body) = post(&server, &token, "/api/notifications/read-all").await;
    assert_eq!((status, body["updated"].as_u64()), (200, Some(2)));
    let (_, unread) = server.get(&token, "/api/notifications?unread=true").await;
    assert!(unread["notifications"].as_array().unwrap().is_empty());

    // Someone else's notification, an unknown id, no token, bad query.
    let omar = server.token("omar", "applicant");
    let (status, err) = post(
        &server,
        &omar,
        &format!("/api/notifications/{}/read", ids[1]),
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (404, Some("NOT_FOUND")));
    let (status, _) = server
        .call(Method::GET, None, "/api/notifications", None)
        .await;
    assert_eq!(status, 401);
    let (status, err) = server.get(&token, "/api/notifications?unread=maybe").await;
    assert_eq!((status, err["code"].as_str()), (400, Some("BAD_REQUEST")));
    let (_, mine) = server.get(&omar, "/api/notifications").await;
    assert_eq!(mine["notifications"][0]["title"], "not yours");
}

#[tokio::test]
async fn room_notifications_reach_members_online_and_later() {
    let server = server().await;
    server.room("visa-9", "amira", &["omar", "sara"]).await;
    let mut amira = server.client("amira", "applicant").await;
    let mut omar = server.client("omar", "professional").await;
    let mut lina = server.client("lina", "applicant").await;

    let (status, body) = server
        .api(
            Method::POST,
            "/api/server/notify/room/visa-9",
            Some(json!({"kind": "info", "title": "Appointment moved"})),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(body["recipients"], 3);
    assert_eq!(body["delivered_users"], 2);
    for c in [&mut amira, &mut omar] {
        let n = c.recv_type("notification").await;
        assert_eq!(n["notification"]["room_id"], "visa-9");
        assert_eq!(n["notification"]["title"], "Appointment moved");
    }
    assert!(notifications(&lina.sync().await).is_empty(), "not a member");
    // Sara was offline: she gets it when she connects.
    let mut sara = server.client("sara", "applicant").await;
    let got = notifications(&sara.sync().await);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["notification"]["room_id"], "visa-9");
}

#[tokio::test]
async fn broadcasts_reach_everyone_known() {
    let server = server().await;
    let mut amira = server.client("amira", "applicant").await;
    let mut omar = server.client("omar", "professional").await;
    // Lina connected once and left.
    let mut lina = server.client("lina", "applicant").await;
    lina.ws.close(None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let (status, body) = server
        .api(
            Method::POST,
            "/api/server/notify/all",
            Some(json!({"kind": "warning", "title": "Maintenance at 22:00"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["recipients"], 3);
    assert_eq!(body["delivered_users"], 2);
    for c in [&mut amira, &mut omar] {
        let n = c.recv_type("notification").await;
        assert_eq!(n["notification"]["title"], "Maintenance at 22:00");
        assert!(n["notification"].get("room_id").is_none());
    }
    let mut lina = server.client("lina", "applicant").await;
    let got = notifications(&lina.sync().await);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["notification"]["kind"], "warning");
}

#[tokio::test]
async fn marking_read_tells_every_device_of_the_user() {
    let server = server().await;
    let token = server.token("amira", "applicant");
    let mut phone = server.client("amira", "applicant").await;
    let mut laptop = server.client("amira", "applicant").await;
    let mut omar = server.client("omar", "applicant").await;
    let ids = notify_amira(&server, &["a", "b", "c"]).await;

    // One read on the laptop: both devices hear which one, and when.
    let (status, read) = post(
        &server,
        &token,
        &format!("/api/notifications/{}/read", ids[1]),
    )
    .await;
    assert_eq!(status, 200, "{read}");
    for c in [&mut phone, &mut laptop] {
        let m = c.recv_type("notifications_read").await;
        assert_eq!(m["ids"], json!([ids[1]]), "{m}");
        assert_eq!(m["read_at"], read["notification"]["read_at"], "{m}");
        assert!(m.get("all").is_none(), "{m}");
    }

    // Read all: the two left unread, announced as `all`.
    let (_, body) = post(&server, &token, "/api/notifications/read-all").await;
    assert_eq!(body["updated"].as_u64(), Some(2), "{body}");
    for c in [&mut phone, &mut laptop] {
        let m = c.recv_type("notifications_read").await;
        assert_eq!(m["all"], true, "{m}");
        assert!(
            m["read_at"].as_i64().unwrap() >= read["notification"]["read_at"].as_i64().unwrap()
        );
        assert!(m.get("ids").is_none(), "{m}");
    }
    let (_, unread) = server.get(&token, "/api/notifications?unread=true").await;
    assert!(unread["notifications"].as_array().unwrap().is_empty());

    // Nothing left to mark: no event. Someone else hears nothing at all.
    let (_, body) = post(&server, &token, "/api/notifications/read-all").await;
    assert_eq!(body["updated"].as_u64(), Some(0), "{body}");
    let late = phone
        .collect_type("notifications_read", Duration::from_millis(300))
        .await;
    assert!(late.is_empty(), "{late:?}");
    let others = omar
        .collect_type("notifications_read", Duration::from_millis(100))
        .await;
    assert!(others.is_empty(), "{others:?}");
}
