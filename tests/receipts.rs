//! Read receipts: `mark_read` is broadcast as `read_receipt` when it moves, and each
//! user's unread count (REST and socket room lists) and `last_read_seq`
//! follow their read mark.

mod common;

use common::{Client, TestServer};
use serde_json::{json, Value};

async fn mark_read(c: &mut Client, room: &str, seq: i64) {
    c.send(json!({"type": "mark_read", "room_id": room, "seq": seq}))
        .await;
}

/// Wait for `c` to see `user`'s receipt in `room`; returns its seq.
async fn receipt(c: &mut Client, room: &str, user: &str) -> i64 {
    let r = c
        .recv_where(&format!("read_receipt from {user}"), |m| {
            m["type"] == "read_receipt" && m["room_id"] == room && m["user_id"] == user
        })
        .await;
    r["seq"].as_i64().unwrap()
}

/// `room`'s unread count for the caller, from `GET /api/rooms`.
async fn unread_rest(server: &TestServer, token: &str, room: &str) -> i64 {
    let (status, list) = server.get(token, "/api/rooms").await;
    assert_eq!(status, 200, "{list}");
    entry(&list["rooms"], room)["unread"].as_i64().unwrap()
}

/// `room`'s unread count for the caller, from `list_rooms` on the socket.
async fn unread_socket(c: &mut Client, room: &str) -> i64 {
    let r = c.request(json!({"type": "list_rooms"})).await;
    assert_eq!(r["type"], "rooms", "{r}");
    entry(&r["rooms"], room)["unread"].as_i64().unwrap()
}

fn entry<'a>(rooms: &'a Value, room: &str) -> &'a Value {
    rooms
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["room"]["id"] == room)
        .unwrap_or_else(|| panic!("{room} not in {rooms}"))
}

/// Both views agree, and equal `expected`.
async fn assert_unread(server: &TestServer, c: &mut Client, room: &str, expected: i64) {
    let token = c.token.clone();
    assert_eq!(
        unread_rest(server, &token, room).await,
        expected,
        "REST unread"
    );
    assert_eq!(unread_socket(c, room).await, expected, "socket unread");
}

fn last_read(joined: &Value, user: &str) -> i64 {
    joined["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user"]["id"] == user)
        .unwrap_or_else(|| panic!("{user} not a member: {joined}"))["last_read_seq"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn mark_read_is_broadcast_to_everyone_in_the_room() {
    let server = TestServer::start().await;
    server.room("r", "amira", &["omar"]).await;
    server.room("other", "omar", &["amira"]).await;
    let mut amira = server.client("amira", "applicant").await;
    let mut omar_laptop = server.client("omar", "professional").await;
    let mut omar_phone = server.client("omar", "professional").await;
    amira.join("other").await;
    for c in [&mut amira, &mut omar_laptop, &mut omar_phone] {
        c.join("r").await;
    }
    for i in 1..=3 {
        amira
            .say("r", &format!("m{i}"), &format!("message {i}"))
            .await;
    }

    mark_read(&mut omar_laptop, "r", 2).await;
    for c in [&mut amira, &mut omar_phone, &mut omar_laptop] {
        assert_eq!(receipt(c, "r", "omar").await, 2, "seen by {}", c.user);
    }
    // Exactly one receipt, though Amira is also in another room with Omar.
    let events = amira.sync().await;
    assert!(
        !events.iter().any(|m| m["type"] == "read_receipt"),
        "{events:?}"
    );

    // Marking a room one has not joined on this connection is refused.
    let r = amira
        .request(json!({"type": "mark_read", "room_id": "nope", "seq": 1}))
        .await;
    assert_eq!(r["code"], "NOT_JOINED");
}

#[tokio::test]
async fn unread_counts_follow_the_read_mark() {
    let server = TestServer::start().await;
    server.room("r", "amira", &["omar"]).await;
    let mut amira = server.client("amira", "applicant").await;
    let mut omar = server.client("omar", "professional").await;
    amira.join("r").await;
    omar.join("r").await;
    let mut ids = vec![];
    for i in 1..=4 {
        let ack = amira
            .say("r", &format!("a{i}"), &format!("from amira {i}"))
            .await;
        ids.push(ack["message_id"].as_str().unwrap().to_string());
    }
    omar.say("r", "o5", "from omar").await; // seq 5

    // Only others' messages count.
    assert_unread(&server, &mut omar, "r", 4).await;
    assert_unread(&server, &mut amira, "r", 1).await;

    mark_read(&mut omar, "r", 2).await;
    assert_eq!(receipt(&mut amira, "r", "omar").await, 2);
    assert_unread(&server, &mut omar, "r", 2).await;
    assert_unread(&server, &mut amira, "r", 1).await;

    // A deleted message is no longer unread.
    amira
        .send(json!({"type": "delete_message", "room_id": "r", "message_id": ids[2]}))
        .await;
    assert_eq!(omar.recv_type("message_deleted").await["seq"], 3);
    assert_unread(&server, &mut omar, "r", 1).await;

    // The mark never goes backwards, and a mark that did not move is no news.
    mark_read(&mut omar, "r", 1).await;
    assert_unread(&server, &mut omar, "r", 1).await;
    let got = amira.sync().await;
    assert!(
        got.iter().all(|m| m["type"] != "read_receipt"),
        "stays at 2, unannounced: {got:?}"
    );

    // Beyond the last message: clamped to it, so later messages are unread.
    mark_read(&mut omar, "r", 999).await;
    assert_eq!(receipt(&mut amira, "r", "omar").await, 5, "clamped to last");
    assert_unread(&server, &mut omar, "r", 0).await;
    amira.say("r", "a6", "one more").await;
    assert_unread(&server, &mut omar, "r", 1).await;

    // Amira reads everything too.
    mark_read(&mut amira, "r", 6).await;
    assert_eq!(receipt(&mut omar, "r", "amira").await, 6);
    assert_unread(&server, &mut amira, "r", 0).await;
}

#[tokio::test]
async fn room_joined_members_show_each_read_position() {
    let server = TestServer::start().await;
    server.room("r", "amira", &["omar", "lina"]).await;
    let mut amira = server.client("amira", "applicant").await;
    let mut omar = server.client("omar", "professional").await;
    let joined = amira.join("r").await;
    assert_eq!(last_read(&joined, "amira"), 0);
    assert_eq!(last_read(&joined, "omar"), 0);
    omar.join("r").await;
    for i in 1..=3 {
        amira.say("r", &format!("m{i}"), "hi").await;
    }
    mark_read(&mut omar, "r", 2).await;
    assert_eq!(receipt(&mut omar, "r", "omar").await, 2);
    mark_read(&mut amira, "r", 3).await;
    assert_eq!(receipt(&mut omar, "r", "amira").await, 3);

    // Lina, joining now, sees where everyone is.
    let mut lina = server.client("lina", "applicant").await;
    let joined = lina.join("r").await;
    assert_eq!(last_read(&joined, "omar"), 2);
    assert_eq!(last_read(&joined, "amira"), 3);
    assert_eq!(last_read(&joined, "lina"), 0);
    assert_eq!(joined["last_seq"], 3);

    // Omar's position survives his reconnecting.
    omar.ws.close(None).await.unwrap();
    let mut omar = server.client("omar", "professional").await;
    let joined = omar.join("r").await;
    assert_eq!(last_read(&joined, "omar"), 2);
    assert_unread(&server, &mut omar, "r", 1).await;
}
