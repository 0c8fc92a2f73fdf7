//! Per-connection rate limiting: a burst beyond the token bucket gets typed
//! `RATE_LIMITED` errors with a retry hint, the connection survives, waiting
//! that long is enough, and nobody else is slowed down.

mod common;

use std::time::Duration;

use common::{Client, TestServer};
use serde_json::{json, Value};

/// 5 frames per second, burst of 5.
async fn limited_server() -> TestServer {
    TestServer::with(|c| {
        c.rate_per_sec = 5;
        c.rate_burst = 5;
    })
    .await
}

/// Fire `n` sends back to back, then collect the reply to each (in order).
async fn burst(c: &mut Client, room: &str, prefix: &str, n: usize) -> Vec<Value> {
    for i in 0..n {
        c.send(json!({
            "type": "send_message", "room_id": room, "request_id": format!("{prefix}-{i}"),
            "client_msg_id": format!("{prefix}-{i}"), "text": format!("{prefix} {i}")
        }))
        .await;
    }
    // Refusals come straight back; acks come after storage, so replies
    // arrive out of order: gather them by request id.
    let mut replies = vec![Value::Null; n];
    while replies.iter().any(Value::is_null) {
        let m = c.recv().await;
        let slot = m["request_id"]
            .as_str()
            .and_then(|r| r.strip_prefix(&format!("{prefix}-")))
            .and_then(|i| i.parse::<usize>().ok());
        if let Some(i) = slot {
            assert!(replies[i].is_null(), "two replies to {i}: {m}");
            replies[i] = m;
        }
    }
    replies
}

fn texts(ms: &[Value]) -> Vec<String> {
    ms.iter()
        .filter(|m| m["type"] == "message")
        .map(|m| m["message"]["text"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_burst_is_limited_with_a_retry_hint_and_the_connection_survives() {
    let server = limited_server().await;
    server.room("r", "amira", &["omar"]).await;
    let mut amira = server.client("amira", "applicant").await;
    let mut omar = server.client("omar", "professional").await;
    amira.join("r").await;
    omar.join("r").await;

    // The join used one token: at most 4 (plus what refills meanwhile) pass.
    let replies = burst(&mut amira, "r", "b", 15).await;
    let acked: Vec<&Value> = replies
        .iter()
        .filter(|r| r["type"] == "message_ack")
        .collect();
    let limited: Vec<&Value> = replies.iter().filter(|r| r["type"] == "error").collect();
    assert_eq!(acked.len() + limited.len(), 15, "{replies:?}");
    assert!(
        (3..=6).contains(&acked.len()),
        "about the burst passes: {replies:?}"
    );
    assert!(!limited.is_empty());
    let mut retry = 0;
    for e in &limited {
        assert_eq!(e["code"], "RATE_LIMITED", "{e}");
        let ms = e["retry_after_ms"].as_u64().unwrap_or(0);
        assert!(
            ms > 0 && ms <= 1000,
            "retry_after_ms is a real wait, at most a second at 5/s: {e}"
        );
        retry = ms;
    }
    assert_eq!(replies[0]["type"], "message_ack", "the first send passes");

    // Pings are not limited: the connection still answers right away.
    amira.sync().await;

    // Omar got exactly the acked messages, in order, and nothing refused.
    let seen = omar.sync().await;
    let want: Vec<String> = (0..acked.len()).map(|i| format!("b {i}")).collect();
    assert_eq!(texts(&seen), want);

    // Waiting as told is enough to be heard again.
    tokio::time::sleep(Duration::from_millis(retry)).await;
    let ack = amira.say("r", "later", "after waiting").await;
    assert_eq!(
        ack["seq"],
        acked.len() as i64 + 1,
        "refused sends used no seq"
    );
    let m = omar.recv_type("message").await;
    assert_eq!(m["message"]["text"], "after waiting");

    // History holds exactly what was acked.
    let (_, page) = server.get(&omar.token, "/api/rooms/r/messages").await;
    let stored: Vec<_> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect();
    let mut want = want;
    want.push("after waiting".into());
    assert_eq!(stored, want);
}

#[tokio::test]
async fn a_limited_sender_does_not_slow_anyone_else() {
    let server = limited_server().await;
    server.room("r", "amira", &["omar", "lina"]).await;
    let mut amira = server.client("amira", "applicant").await;
    let mut amira_phone = server.client("amira", "applicant").await;
    let mut omar = server.client("omar", "professional").await;
    let mut lina = server.client("lina", "customer").await;
    for c in [&mut amira, &mut amira_phone, &mut omar, &mut lina] {
        c.join("r").await;
    }

    let replies = burst(&mut amira, "r", "spam", 20).await;
    assert!(replies.iter().any(|r| r["code"] == "RATE_LIMITED"));

    // While amira's laptop is limited, omar, lina and amira's own phone each
    // have their own bucket: all of their sends are accepted at once.
    for (c, who) in [
        (&mut omar, "omar"),
        (&mut lina, "lina"),
        (&mut amira_phone, "phone"),
    ] {
        for i in 0..3 {
            let r = c
                .request(json!({"type": "send_message", "room_id": "r", "client_msg_id": format!("{who}-{i}"), "text": format!("{who} {i}")}))
                .await;
            assert_eq!(r["type"], "message_ack", "{who} was limited: {r}");
        }
    }
    let m = amira
        .recv_where("lina's last message", |m| {
            m["type"] == "message" && m["message"]["text"] == "lina 2"
        })
        .await;
    assert_eq!(m["message"]["sender"]["id"], "lina");

    // Amira's laptop, still connected, is still held to its own bucket.
    let again = burst(&mut amira, "r", "again", 10).await;
    assert!(
        again.iter().any(|r| r["code"] == "RATE_LIMITED"),
        "{again:?}"
    );
    amira.sync().await;
}

#[tokio::test]
async fn sending_within_the_rate_is_never_limited() {
    let server = limited_server().await;
    server.room("r", "amira", &["omar"]).await;
    let mut amira = server.client("amira", "applicant").await;
    let mut omar = server.client("omar", "professional").await;
    amira.join("r").await;
    omar.join("r").await;

    // One send every 250 ms is under 5/s: twelve in a row all pass.
    for i in 0..12 {
        let r = amira
            .request(json!({"type": "send_message", "room_id": "r", "client_msg_id": format!("s{i}"), "text": format!("steady {i}")}))
            .await;
        assert_eq!(r["type"], "message_ack", "send {i}: {r}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let seen = omar.sync().await;
    assert_eq!(texts(&seen).len(), 12);
}
