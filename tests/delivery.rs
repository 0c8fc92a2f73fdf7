//! Delivery states: `mark_delivered` (sent by devices a batch at a time)
//! moves a member's delivered mark and is announced as `delivery_receipt`
//! only when it moves; reading implies delivery; the marks come back in
//! the room's members (socket and REST) after a reconnect.

mod common;

use common::TestServer;
use serde_json::{json, Value};

fn member<'a>(members: &'a Value, user: &str) -> &'a Value {
    members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user"]["id"] == user)
        .unwrap_or_else(|| panic!("{user} in {members}"))
}

#[tokio::test]
async fn delivered_marks_move_forward_and_are_announced_once() {
    let server = TestServer::start().await;
    server.room("r", "amira", &["omar"]).await;
    let mut amira = server.client("amira", "applicant").await;
    let mut phone = server.client("omar", "professional").await;
    let mut laptop = server.client("omar", "professional").await;
    for c in [&mut amira, &mut phone, &mut laptop] {
        c.join("r").await;
    }
    for (i, text) in ["passport", "photo", "contract"].iter().enumerate() {
        amira.say("r", &format!("m{i}"), text).await;
    }

    // Omar's phone got them: one acknowledgement for the batch.
    let ok = phone
        .request(json!({"type": "mark_delivered", "room_id": "r", "seq": 3}))
        .await;
    assert_eq!(ok["type"], "ok", "{ok}");
    let receipt = amira.recv_type("delivery_receipt").await;
    assert_eq!(
        (&receipt["room_id"], &receipt["user_id"], &receipt["seq"]),
        (&json!("r"), &json!("omar"), &json!(3))
    );
    // His laptop got them too: nothing new to announce; nor for an older mark.
    laptop
        .request(json!({"type": "mark_delivered", "room_id": "r", "seq": 3}))
        .await;
    laptop
        .request(json!({"type": "mark_delivered", "room_id": "r", "seq": 1}))
        .await;
    assert!(amira.frames_of("delivery_receipt").await.is_empty());
    // Beyond the room's end counts as its end.
    phone
        .request(json!({"type": "mark_read", "room_id": "r", "seq": 2}))
        .await;
    assert_eq!(amira.recv_type("read_receipt").await["seq"], 2);

    // The marks are stored: they come back with the room.
    let (_, shown) = server.get(&amira.token, "/api/rooms/r").await;
    let omar = member(&shown["members"], "omar");
    assert_eq!(
        (&omar["delivered_seq"], &omar["last_read_seq"]),
        (&json!(3), &json!(2)),
        "{shown}"
    );
    let mut again = server.client("amira", "applicant").await;
    let joined = again.join("r").await;
    assert_eq!(member(&joined["members"], "omar")["delivered_seq"], 3);

    // Reading implies delivery.
    amira.say("r", "m4", "and the bank statement").await;
    phone
        .request(json!({"type": "mark_read", "room_id": "r", "seq": 4}))
        .await;
    let (_, shown) = server.get(&amira.token, "/api/rooms/r").await;
    assert_eq!(member(&shown["members"], "omar")["delivered_seq"], 4);

    // Only a joined device acknowledges; a non-member gets a typed error.
    let mut eve = server.client("eve", "applicant").await;
    let r = eve
        .request(json!({"type": "mark_delivered", "room_id": "r", "seq": 1}))
        .await;
    assert_eq!(r["type"], "error", "{r}");
    let r = phone
        .request(json!({"type": "mark_delivered", "room_id": "r", "seq": "three"}))
        .await;
    assert_eq!(r["code"], "BAD_REQUEST", "{r}");
}
