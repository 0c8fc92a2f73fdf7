//! Chat: acks after storage, fan-out to every device, idempotent resend,
//! replies, refs and language tags, edit and delete.

mod common;

use common::TestServer;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn message_is_acked_then_delivered_to_every_device() {
    let server = TestServer::start().await;
    server.room("visa-1", "amira", &["omar"]).await;
    let mut amira = server.client("amira", "applicant").await;
    let mut omar_laptop = server.client("omar", "professional").await;
    let mut omar_phone = server.client("omar", "professional").await;
    for c in [&mut amira, &mut omar_laptop, &mut omar_phone] {
        c.join("visa-1").await;
    }

    let ack = amira
        .say("visa-1", "c-1", "Hello, I need help with my visa")
        .await;
    assert_eq!(ack["seq"], 1);
    assert_eq!(ack["duplicate"], false);
    let id = ack["message_id"].as_str().unwrap().to_string();

    for c in [&mut omar_laptop, &mut omar_phone, &mut amira] {
        let m = c.recv_type("message").await;
        assert_eq!(m["message"]["id"], id.as_str());
        assert_eq!(m["message"]["text"], "Hello, I need help with my visa");
        assert_eq!(m["message"]["sender"]["id"], "amira");
        assert_eq!(m["message"]["sender"]["name"], "Amira");
        assert_eq!(m["message"]["seq"], 1);
    }

    // Sequence numbers increase per room.
    let ack2 = omar_phone.say("visa-1", "c-1", "Happy to help").await;
    assert_eq!(
        ack2["seq"], 2,
        "same client id from another user is a different message"
    );
}

#[tokio::test]
async fn resend_with_same_client_id_never_duplicates() {
    let server = TestServer::start().await;
    server.room("r", "amira", &["omar"]).await;
    let mut amira = server.client("amira", "applicant").await;
    let mut omar = server.client("omar", "professional").await;
    amira.join("r").await;
    omar.join("r").await;

    let first = amira.say("r", "same-id", "only once").await;
    let again = amira.say("r", "same-id", "only once").await;
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["message_id"], first["message_id"]);
    assert_eq!(again["seq"], first["seq"]);
    amira.say("r", "next", "after").await;

    let got = omar
        .collect_type("message", Duration::from_millis(500))
        .await;
    let texts: Vec<_> = got
        .iter()
        .map(|m| m["message"]["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(texts, vec!["only once", "after"]);

    let (_, page) = server.get(&amira.token, "/api/rooms/r/messages").await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn replies_refs_metadata_and_language_are_kept() {
    let server = TestServer::start().await;
    server.room("salon", "lina", &["staff1"]).await;
    let mut lina = server.client("lina", "customer").await;
    lina.join("salon").await;
    let first = lina.say("salon", "a", "Can I book Friday?").await;
    let r = lina
        .request(json!({
            "type": "send_message", "room_id": "salon", "client_msg_id": "b",
            "text": "مرحبا", "lang": "ar", "reply_to": first["message_id"],
            "refs": [{"kind": "appointment", "id": "apt-7"}],
            "metadata": {"source": "app"}
        }))
        .await;
    assert_eq!(r["type"], "message_ack", "{r}");
    let m = lina
        .recv_where("reply", |m| {
            m["type"] == "message" && m["message"]["client_msg_id"] == "b"
        })
        .await;
    assert_eq!(m["message"]["reply_to"], first["message_id"]);
    assert_eq!(m["message"]["lang"], "ar");
    assert_eq!(m["message"]["refs"][0]["kind"], "appointment");
    assert_eq!(m["message"]["metadata"]["source"], "app");

    // Replying to a message that does not exist in this room is refused.
    let bad = lina
        .request(json!({"type": "send_message", "room_id": "salon", "client_msg_id": "c", "text": "x", "reply_to": "nope"}))
        .await;
    assert_eq!(bad["type"], "error");
    assert_eq!(bad["code"], "NOT_FOUND");

    // A message with only refs is allowed; an empty one is not.
    let refs_only = lina
        .request(json!({"type": "send_message", "room_id": "salon", "client_msg_id": "d", "refs": [{"kind": "product", "id": "p1"}]}))
        .await;
    assert_eq!(refs_only["type"], "message_ack", "{refs_only}");
    let empty = lina
        .request(
            json!({"type": "send_message", "room_id": "salon", "client_msg_id": "e", "text": "  "}),
        )
        .await;
    assert_eq!(empty["code"], "BAD_REQUEST");
}

#[tokio::test]
async fn edit_and_delete_by_author_are_broadcast() {
    let server = TestServer::start().await;
    server.room("t", "amira", &["omar"]).await;
    let mut amira = server.client("amira", "applicant").await;
    let mut omar = server.client("omar", "professional").await;
    amira.join("t").await;
    omar.join("t").await;
    let ack = amira.say("t", "m1", "typo heer").await;
    let id = ack["message_id"].as_str().unwrap().to_string();

    // Not the author: refused, nothing changes.
    let denied = omar
        .request(
            json!({"type": "edit_message", "room_id": "t", "message_id": id, "text": "hacked"}),
        )
        .await;
    assert_eq!(denied["code"], "ACCESS_DENIED");

    let ok = amira
        .request(
            json!({"type": "edit_message", "room_id": "t", "message_id": id, "text": "typo here"}),
        )
        .await;
    assert_eq!(ok["type"], "ok", "the author gets a success reply: {ok}");
    let upd = omar.recv_type("message_updated").await;
    assert_eq!(upd["message"]["text"], "typo here");
    assert!(upd["message"]["edited_at"].is_i64());

    amira
        .send(json!({"type": "delete_message", "room_id": "t", "message_id": id}))
        .await;
    let del = omar.recv_type("message_deleted").await;
    assert_eq!(del["message_id"], id.as_str());
    assert_eq!(del["seq"], 1);

    let (_, page) = server.get(&omar.token, "/api/rooms/t/messages").await;
    let m = &page["messages"][0];
    assert_eq!(m["deleted"], true);
    assert_eq!(m["text"], "", "deleted content is not served");

    let again = amira
        .request(json!({"type": "edit_message", "room_id": "t", "message_id": id, "text": "back"}))
        .await;
    assert_eq!(again["code"], "CONFLICT");
}

#[tokio::test]
async fn sending_requires_joining_first() {
    let server = TestServer::start().await;
    server.room("r", "amira", &[]).await;
    let mut amira = server.client("amira", "applicant").await;
    let r = amira
        .request(
            json!({"type": "send_message", "room_id": "r", "client_msg_id": "x", "text": "hi"}),
        )
        .await;
    assert_eq!(r["code"], "NOT_JOINED");
    amira.join("r").await;
    amira.say("r", "x", "hi").await;
}
