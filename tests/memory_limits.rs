//! Memory a client can make the server hold: every connection's pending
//! output is bounded in bytes, history replies are bounded in bytes (the
//! rest is paged with `has_more`), and a client that asks for history while
//! not reading is refused cheaply or closed as a slow consumer (1013) while
//! everyone else carries on.

mod common;

use std::time::Duration;

use common::{metric_samples, metric_value, Client, TestServer, WAIT};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

const TEXT_CHARS: usize = 3000;
const OUTBOUND_MAX: usize = 256 * 1024;
const HISTORY_MAX: usize = 64 * 1024;

fn text(i: usize) -> String {
    let head = format!("message {i} ");
    format!("{head}{}", "x".repeat(TEXT_CHARS - head.len()))
}

async fn server() -> TestServer {
    TestServer::with(|c| {
        c.max_text_chars = TEXT_CHARS;
        c.outbound_max_bytes = OUTBOUND_MAX;
        c.history_max_bytes = HISTORY_MAX;
    })
    .await
}

/// A room `r` whose history holds `n` messages of `TEXT_CHARS` characters.
async fn room_with_history(server: &TestServer, n: usize, others: &[&str]) -> Client {
    server.room("r", "amira", others).await;
    let mut amira = server.client("amira", "applicant").await;
    amira.join("r").await;
    for i in 0..n {
        amira.say("r", &format!("h{i}"), &text(i)).await;
    }
    amira
}

/// A socket for `user` with a small receive buffer, so that not reading
/// backs up into the server quickly.
async fn stalled_socket(server: &TestServer, user: &str) -> WebSocketStream<TcpStream> {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(server.addr).await.unwrap();
    let url = format!(
        "{}?token={}",
        server.ws_url(),
        server.token(user, "customer")
    );
    let (ws, _) = tokio_tungstenite::client_async(url, stream)
        .await
        .expect("upgrade");
    ws
}

/// Every sample of `/metrics` as (name with labels, value).
async fn metrics(server: &TestServer) -> Vec<(String, f64)> {
    let text = reqwest::get(server.http("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    metric_samples(&text)
}

fn json_len(v: &Value) -> usize {
    v.to_string().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_replies_are_bounded_in_bytes_and_the_rest_is_paged() {
    let server = server().await;
    let n = 120; // ~370 KB of history, several times HISTORY_MAX
    let _amira = room_with_history(&server, n, &["omar"]).await;
    let mut omar = server.client("omar", "professional").await;

    // Catching up from the start: the oldest messages, cut by size.
    let joined = omar
        .request(json!({"type": "join_room", "room_id": "r", "since_seq": 0}))
        .await;
    assert_eq!(joined["type"], "room_joined", "{joined}");
    let missed = joined["missed"].as_array().unwrap();
    assert!(!missed.is_empty() && missed.len() < n, "{}", missed.len());
    assert!(json_len(&joined["missed"]) <= HISTORY_MAX + 4096);
    assert_eq!(joined["has_more"], true);
    assert_eq!(missed[0]["seq"], 1);

    // The rest, page by page through `get_messages`: every message, in
    // order, each page within the bound.
    let mut seen: Vec<i64> = missed.iter().map(|m| m["seq"].as_i64().unwrap()).collect();
    loop {
        let after = *seen.last().unwrap();
        let page = omar
            .request(json!({"type": "get_messages", "room_id": "r", "after": after, "limit": 200}))
            .await;
        assert_eq!(page["type"], "messages", "{page}");
        assert!(json_len(&page["messages"]) <= HISTORY_MAX + 4096);
        seen.extend(
            page["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["seq"].as_i64().unwrap()),
        );
        if page["has_more"] == false {
            break;
        }
    }
    assert_eq!(seen, (1..=n as i64).collect::<Vec<_>>());

    // A page before a point keeps the newest messages, and says more are older.
    let page = omar
        .request(json!({"type": "get_messages", "room_id": "r", "limit": 200}))
        .await;
    let messages = page["messages"].as_array().unwrap();
    assert!(messages.len() < n);
    assert_eq!(messages.last().unwrap()["seq"], n as i64);
    assert_eq!(page["has_more"], true);
    assert!(json_len(&page["messages"]) <= HISTORY_MAX + 4096);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_cannot_pile_up_history_replies() {
    let server = server().await;
    let mut amira = room_with_history(&server, 120, &["omar", "mallory"]).await;
    let mut omar = server.client("omar", "professional").await;
    omar.join("r").await;

    // Mallory never reads and asks for the whole history again and again:
    // about 64 KB of replies per 80-byte request.
    let mut mallory = stalled_socket(&server, "mallory").await;
    const ATTACK: usize = 400;
    for i in 0..ATTACK {
        let join = json!({"type": "join_room", "room_id": "r", "since_seq": 0, "request_id": format!("j{i}")});
        if mallory.send(Message::text(join.to_string())).await.is_err() {
            break;
        }
    }

    // The server works through the requests; mallory's pending output never
    // goes past its bound, and some of them are refused.
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut peak = 0.0f64;
    loop {
        let m = metrics(&server).await;
        let most = metric_value(&m, "earshot_outbound_queued_bytes_max");
        assert!(
            most <= OUTBOUND_MAX as f64,
            "one connection holds {most} bytes, over the {OUTBOUND_MAX} bound"
        );
        peak = peak.max(most);
        let refused = m
            .iter()
            .find(|(n, _)| n == "earshot_socket_errors_total{code=\"RATE_LIMITED\"}")
            .map(|(_, v)| *v)
            .unwrap_or(0.0);
        if refused > 0.0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no history request was refused (peak pending {peak})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(peak > 0.0, "mallory's output backed up in the server");

    // Everyone else carries on meanwhile.
    amira.say("r", "during", "still here").await;
    omar.recv_where("amira's message", |m| {
        m["type"] == "message" && m["message"]["client_msg_id"] == "during"
    })
    .await;

    // What mallory finds when she reads: some replies, each bounded, then
    // typed refusals with a retry hint (or the slow-consumer close).
    let (mut joined, mut refused, mut close) = (0, 0, None);
    loop {
        let next = tokio::time::timeout(WAIT, mallory.next())
            .await
            .expect("mallory's socket keeps delivering or closes");
        match next {
            Some(Ok(Message::Text(t))) => {
                let m: Value = serde_json::from_str(&t).unwrap();
                match m["type"].as_str() {
                    Some("room_joined") => {
                        joined += 1;
                        assert!(json_len(&m["missed"]) <= HISTORY_MAX + 4096);
                    }
                    Some("error") => {
                        assert_eq!(m["code"], "RATE_LIMITED", "{m}");
                        assert!(m["retry_after_ms"].as_u64().unwrap() > 0, "{m}");
                        refused += 1;
                    }
                    _ => {}
                }
                if joined + refused == ATTACK {
                    break;
                }
            }
            Some(Ok(Message::Close(frame))) => {
                close = frame;
                break;
            }
            Some(Ok(_)) => {}
            None | Some(Err(_)) => break,
        }
    }
    assert!(joined < ATTACK, "not every request was answered in full");
    match close {
        Some(frame) => {
            assert_eq!(u16::from(frame.code), 1013, "{frame:?}");
            assert!(frame.reason.contains("slow consumer"), "{frame:?}");
        }
        None => assert!(refused > 0, "refused {refused}, joined {joined}"),
    }

    // And once mallory is gone, nothing of hers stays queued.
    drop(mallory);
    let deadline = tokio::time::Instant::now() + WAIT;
    while metric_value(&metrics(&server).await, "earshot_outbound_queued_bytes") > 0.0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "queued bytes stay held"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    amira.say("r", "after", "and after").await;
    omar.recv_where("amira's message", |m| {
        m["type"] == "message" && m["message"]["client_msg_id"] == "after"
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_that_stops_reading_is_closed_once_its_bytes_exceed_the_bound() {
    // Many frames would fit the frame bound (512); their bytes do not.
    let server = TestServer::with(|c| {
        c.max_text_chars = TEXT_CHARS;
        c.outbound_max_bytes = 64 * 1024;
        c.history_max_bytes = 16 * 1024;
    })
    .await;
    let mut amira = room_with_history(&server, 0, &["sami"]).await;
    let mut sami = stalled_socket(&server, "sami").await;
    sami.send(Message::text(
        json!({"type": "join_room", "room_id": "r"}).to_string(),
    ))
    .await
    .unwrap();
    // Sami stops reading; amira keeps talking until he is cut off.
    let mut sent = 0;
    loop {
        assert!(sent < 4000, "sami was never cut off");
        amira.say("r", &format!("m{sent}"), &text(sent)).await;
        sent += 1;
        if sent % 10 == 0 && metric_value(&metrics(&server).await, "earshot_connections") < 2.0 {
            break;
        }
    }
    let close = loop {
        match tokio::time::timeout(WAIT, sami.next())
            .await
            .expect("closes")
        {
            Some(Ok(Message::Close(frame))) => break frame.expect("a close frame"),
            Some(Ok(_)) => {}
            other => panic!("no close frame: {other:?}"),
        }
    };
    assert_eq!(u16::from(close.code), 1013, "{close:?}");
    assert!(close.reason.contains("bytes"), "{close:?}");
    amira.say("r", "after", "still fine").await;
}
