//! Slow consumers: a client that stops reading is cut off once its bounded
//! queue fills, and nobody else notices: the sender keeps getting acks, a
//! healthy member keeps getting every message in order, and the stalled
//! user goes offline for the others.

mod common;

use std::time::Duration;

use common::{Client, TestServer};
use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

/// Big-ish messages fill the socket buffers in a few hundred sends.
const TEXT_CHARS: usize = 3000;
/// Give up if the stalled client was never cut off after this many.
const MAX_SENDS: usize = 4000;
/// Messages sent after the cut-off, to show the room carries on.
const AFTER: usize = 20;

fn text(i: usize) -> String {
    let head = format!("message {i} ");
    format!("{head}{}", "x".repeat(TEXT_CHARS - head.len()))
}

/// The members who stop reading.
const STALLED: [&str; 2] = ["omar", "sami"];

/// Read everything lina gets until the message with client id `done`,
/// keeping what she hears about the stalled members; flag on `kicked` once
/// both are announced gone.
async fn watch_room(mut lina: Client, kicked: watch::Sender<bool>) -> (Vec<Value>, Vec<Value>) {
    let mut messages = vec![];
    let mut about = vec![];
    let stalled = |m: &Value| STALLED.iter().any(|u| m["user_id"] == *u);
    loop {
        let m = lina
            .try_recv(Duration::from_secs(30))
            .await
            .expect("lina stays connected and keeps receiving");
        match m["type"].as_str() {
            Some("message") if m["message"]["client_msg_id"] == "done" => break,
            Some("message") => messages.push(m),
            Some("member_left" | "presence") if stalled(&m) => {
                about.push(m);
                let gone = |u: &str| {
                    about
                        .iter()
                        .any(|m| m["type"] == "member_left" && m["user_id"] == u)
                };
                if STALLED.iter().all(|u| gone(u)) {
                    kicked.send_replace(true);
                }
            }
            _ => {}
        }
    }
    (messages, about)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_dropped_and_the_room_never_stalls() {
    let server = TestServer::with(|c| {
        c.outbound_queue = 16;
        c.max_text_chars = TEXT_CHARS;
    })
    .await;
    server.room("r", "amira", &["omar", "sami", "lina"]).await;
    let mut amira = server.client("amira", "applicant").await;
    let mut omar = server.client("omar", "professional").await;
    let mut sami = server.client("sami", "professional").await;
    let mut lina = server.client("lina", "customer").await;
    for c in [&mut amira, &mut omar, &mut sami, &mut lina] {
        c.join("r").await;
    }
    omar.sync().await;
    sami.sync().await;
    // From here on nobody polls omar's or sami's sockets: they have stopped
    // reading. Omar will wake up later; sami never does.

    let (kicked_tx, mut kicked) = watch::channel(false);
    let observer = tokio::spawn(watch_room(lina, kicked_tx));

    let mut slowest = Duration::ZERO;
    let mut sent = 0;
    let mut after = 0;
    let mut omar = Some(omar);
    let mut omar_reads = None;
    while after < AFTER {
        assert!(
            sent < MAX_SENDS,
            "the stalled clients were never cut off after {sent} messages"
        );
        let t = Instant::now();
        let ack = amira.say("r", &format!("m{sent}"), &text(sent)).await;
        slowest = slowest.max(t.elapsed());
        sent += 1;
        assert_eq!(ack["seq"], sent as i64);
        if *kicked.borrow_and_update() {
            after += 1;
            // Omar wakes up and reads what is left for him.
            if let Some(omar) = omar.take() {
                omar_reads = Some(tokio::spawn(drain(omar)));
            }
        }
    }
    amira.say("r", "done", "done").await;
    assert!(
        slowest < Duration::from_secs(2),
        "every ack came promptly; slowest took {slowest:?}"
    );

    // Lina saw every message, in order, none missing or repeated.
    let (messages, about) = tokio::time::timeout(Duration::from_secs(60), observer)
        .await
        .expect("observer finished")
        .expect("observer task");
    assert_eq!(messages.len(), sent, "lina got every message");
    for (i, m) in messages.iter().enumerate() {
        assert_eq!(m["message"]["seq"], i as i64 + 1);
        assert_eq!(m["message"]["text"], text(i).as_str());
    }

    // Both stalled users left the room and went offline, as far as everyone
    // else can tell.
    let (_, room) = server.get(&amira.token, "/api/rooms/r").await;
    for user in STALLED {
        let about_user = |t: &'static str| {
            about
                .iter()
                .filter(move |m| m["type"] == t && m["user_id"] == user)
        };
        assert_eq!(about_user("member_left").count(), 1, "{user}: {about:?}");
        assert!(
            about_user("presence").any(|m| m["status"] == "offline"),
            "{user}'s presence went offline: {about:?}"
        );
        let member = room["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["user"]["id"] == user)
            .cloned()
            .unwrap();
        assert_eq!(member["presence"], "offline", "{user}: {room}");
    }

    // When omar reads again he finds an in-order prefix of the messages and
    // then the reason he was dropped.
    let (got, close) = omar_reads.unwrap().await.expect("omar's reader");
    assert!(
        got < sent,
        "omar was cut off before the end ({got} of {sent})"
    );
    let close = close.expect("a close frame, not just a dropped connection");
    assert_eq!(u16::from(close.code), 1013, "{close:?}");
    assert!(close.reason.contains("slow consumer"), "{close:?}");

    // Sami never reads again; his connection does not hold up a shutdown.
    let took = server.stop_within(Duration::from_secs(8)).await;
    assert!(took < Duration::from_secs(5), "stopped in {took:?}");
    drop(sami);
}

/// Read until the connection ends: how many messages arrived (checked to be
/// seq 1, 2, 3, ...) and the close frame, if there was one.
async fn drain(mut omar: Client) -> (usize, Option<CloseFrame>) {
    let mut got = 0usize;
    let close = loop {
        match tokio::time::timeout(Duration::from_secs(10), omar.ws.next()).await {
            Err(_) => panic!("omar's connection was left open"),
            Ok(None) | Ok(Some(Err(_))) => break None,
            Ok(Some(Ok(Message::Close(f)))) => break f,
            Ok(Some(Ok(Message::Text(t)))) => {
                let m: Value = serde_json::from_str(&t).unwrap();
                if m["type"] == "message" {
                    assert_eq!(m["message"]["seq"], got as i64 + 1, "in order, no gaps");
                    got += 1;
                }
            }
            Ok(Some(Ok(_))) => {}
        }
    };
    (got, close)
}
