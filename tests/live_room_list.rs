//! The live room list: being put in a room, taken out of one, a room's new
//! title, and new messages in rooms a user has not joined reach every device
//! of the people concerned over the socket, without polling.

mod common;

use common::TestServer;
use reqwest::Method;
use serde_json::{json, Value};

async fn send(
    server: &TestServer,
    token: &str,
    method: Method,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let res = reqwest::Client::new()
        .request(method, server.http(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn rooms_and_their_news_reach_every_device_without_polling() {
    let server = TestServer::start().await;
    let mut amira = server.client("amira", "applicant").await;
    let mut amira_phone = server.client("amira", "applicant").await;
    let mut omar = server.client("omar", "professional").await;
    let mut lina = server.client("lina", "professional").await;

    // Amira opens a conversation with Omar: both list it at once, on every device.
    let room = server
        .create_room(
            &amira.token,
            json!({"type": "application", "title": "Visa 7", "participants": ["omar"]}),
        )
        .await;
    let id = room["id"].as_str().unwrap().to_string();
    for c in [&mut omar, &mut amira_phone, &mut amira] {
        let added = c.recv_type("room_added").await;
        let entry = &added["room"];
        assert_eq!(entry["room"]["id"], id.as_str(), "{added}");
        assert_eq!(entry["room"]["title"], "Visa 7");
        assert_eq!(
            (&entry["unread"], &entry["last_seq"]),
            (&json!(0), &json!(0))
        );
    }
    assert!(
        lina.frames_of("room_added").await.is_empty(),
        "not a member"
    );

    // Her first message: Omar has not joined the room, so his list hears of it.
    amira.join(&id).await;
    amira
        .say(&id, "m1", "I have a question about my documents")
        .await;
    let activity = omar.recv_type("room_activity").await;
    assert_eq!(activity["room_id"], id.as_str());
    assert_eq!(activity["last_seq"], 1);
    assert_eq!(
        activity["message"]["text"],
        "I have a question about my documents"
    );
    assert_eq!(activity["message"]["sender_id"], "amira");
    assert!(
        amira_phone.frames_of("room_activity").await.is_empty(),
        "Amira has joined the room on a device"
    );
    // Once Omar joins, messages come as messages.
    omar.join(&id).await;
    amira.say(&id, "m2", "It is about the bank statement").await;
    omar.recv_type("message").await;
    assert!(omar.frames_of("room_activity").await.is_empty());

    // Omar adds Lina: her devices list the room with what she has not read.
    let (status, _) = send(
        &server,
        &omar.token,
        Method::POST,
        &format!("/api/rooms/{id}/members"),
        json!({"user_id": "lina"}),
    )
    .await;
    assert_eq!(status, 201);
    let added = lina.recv_type("room_added").await;
    assert_eq!(added["room"]["unread"], 2, "{added}");
    assert_eq!(
        added["room"]["last_message"]["text"],
        "It is about the bank statement"
    );

    // A new title reaches every member's devices.
    let (status, body) = send(
        &server,
        &amira.token,
        Method::PATCH,
        &format!("/api/rooms/{id}"),
        json!({"title": "Visa 7 · documents"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["title"], "Visa 7 · documents");
    for c in [&mut omar, &mut lina, &mut amira_phone] {
        let updated = c.recv_type("room_updated").await;
        assert_eq!(updated["room"]["title"], "Visa 7 · documents");
    }
    let (_, shown) = server.get(&omar.token, &format!("/api/rooms/{id}")).await;
    assert_eq!(shown["room"]["title"], "Visa 7 · documents");
    let joined = omar
        .request(json!({"type": "join_room", "room_id": id}))
        .await;
    assert_eq!(
        joined["room"]["title"], "Visa 7 · documents",
        "the running room knows too"
    );

    // Taken out: gone from her lists at once.
    let (status, _) = send(
        &server,
        &omar.token,
        Method::DELETE,
        &format!("/api/rooms/{id}/members/lina"),
        json!({}),
    )
    .await;
    assert_eq!(status, 204);
    let removed = lina.recv_type("room_removed").await;
    assert_eq!(removed["room_id"], id.as_str());
}

#[tokio::test]
async fn only_staff_or_the_creator_change_a_room_and_bad_changes_get_typed_errors() {
    let server = TestServer::start().await;
    server.room("r", "amira", &["sam"]).await;
    let sam = server.token("sam", "applicant");
    let (status, body) = send(
        &server,
        &sam,
        Method::PATCH,
        "/api/rooms/r",
        json!({"title": "mine now"}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("ACCESS_DENIED")),
        "{body}"
    );
    let eve = server.token("eve", "applicant");
    let (status, _) = send(
        &server,
        &eve,
        Method::PATCH,
        "/api/rooms/r",
        json!({"title": "x"}),
    )
    .await;
    assert_eq!(status, 404, "not a member: like a missing room");
    let amira = server.token("amira", "service");
    for (body, what) in [
        (json!({}), "nothing to change"),
        (json!({"title": "  "}), "blank title"),
        (json!({"title": "x".repeat(201)}), "long title"),
        (json!({"colour": "red"}), "unknown field"),
    ] {
        let (status, err) = send(&server, &amira, Method::PATCH, "/api/rooms/r", body).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (400, Some("BAD_REQUEST")),
            "{what}: {err}"
        );
    }
    let (status, body) = send(
        &server,
        &amira,
        Method::PATCH,
        "/api/rooms/r",
        json!({"metadata": {"case": 7}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["metadata"], json!({"case": 7}));
    assert_eq!(body["title"], "Room r", "the title stays");
}
