//! Heartbeats: the app-level `ping`/`pong`, server WebSocket pings that a
//! reading client answers automatically, and dropping a client that stops
//! answering (it goes offline for the others).

mod common;

use common::{Client, TestServer};
use futures_util::StreamExt;
use serde_json::{json, Value};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

const PING: Duration = Duration::from_millis(200);
const IDLE: Duration = Duration::from_millis(600);

async fn fast_heartbeat() -> TestServer {
    TestServer::with(|c| {
        c.ping_interval = PING;
        c.idle_timeout = IDLE;
    })
    .await
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A socket over a plain TCP stream that this test polls only when it wants.
async fn raw_client(server: &TestServer, user: &str) -> WebSocketStream<TcpStream> {
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let url = format!(
        "{}?token={}",
        server.ws_url(),
        server.token(user, "applicant")
    );
    let (ws, _) = tokio_tungstenite::client_async(url, tcp).await.unwrap();
    ws
}

async fn raw_send(ws: &mut WebSocketStream<TcpStream>, v: Value) {
    use futures_util::SinkExt;
    ws.send(Message::text(v.to_string())).await.unwrap();
}

async fn raw_recv_type(ws: &mut WebSocketStream<TcpStream>, t: &str) -> Value {
    loop {
        let m = tokio::time::timeout(common::WAIT, ws.next())
            .await
            .unwrap_or_else(|_| panic!("no `{t}`"))
            .expect("socket open")
            .expect("frame");
        if let Message::Text(text) = m {
            let v: Value = serde_json::from_str(&text).unwrap();
            if v["type"] == t {
                return v;
            }
        }
    }
}

#[tokio::test]
async fn app_ping_is_answered_with_pong_carrying_the_same_ts() {
    let server = TestServer::start().await;
    let mut c = server.client("amira", "applicant").await;
    let before = now_ms();
    c.send(json!({"type": "ping", "ts": 1_234_567})).await;
    let pong = c.recv_type("pong").await;
    assert_eq!(pong["ts"], 1_234_567);
    let t = pong["server_time"].as_i64().expect("server_time");
    assert!(
        before - 5_000 <= t && t <= now_ms() + 5_000,
        "server_time {t}"
    );
    assert!(pong.get("request_id").is_none(), "{pong}");
    // Like every reply, a pong carries the ping's request_id.
    let r = c.request(json!({"type": "ping", "ts": 7})).await;
    assert_eq!((&r["type"], &r["ts"]), (&json!("pong"), &json!(7)), "{r}");

    // Without a ts there is none to echo.
    c.send(json!({"type": "ping"})).await;
    let pong = c.recv_type("pong").await;
    assert!(pong.get("ts").is_none(), "{pong}");

    // Pings are exempt from the rate limit: a burst is answered in full.
    let server = TestServer::with(|c| {
        c.rate_per_sec = 1;
        c.rate_burst = 1;
    })
    .await;
    let mut c = server.client("amira", "applicant").await;
    for ts in 0..20 {
        c.send(json!({"type": "ping", "ts": ts})).await;
    }
    for ts in 0..20 {
        assert_eq!(c.recv_type("pong").await["ts"], ts);
    }
}

#[tokio::test]
async fn a_reading_client_answers_server_pings_and_stays_connected() {
    let server = fast_heartbeat().await;
    server.room("r", "amira", &["omar"]).await;
    let mut omar = server.client("omar", "applicant").await;
    let token = server.token("amira", "applicant");
    let mut amira = Client::connect(&format!("{}?token={token}", server.ws_url()))
        .await
        .unwrap();
    let welcome = amira.recv().await;
    assert_eq!(welcome["type"], "welcome");
    assert_eq!(welcome["heartbeat_interval_ms"], PING.as_millis() as u64);

    // Amira only reads (her client answers pings itself) for well over the
    // idle timeout, and is still connected. Omar keeps reading too.
    let watch = IDLE * 4;
    let amira_reads = async {
        let started = Instant::now();
        let mut pings = 0;
        while started.elapsed() < watch {
            let left = watch.saturating_sub(started.elapsed());
            match tokio::time::timeout(left, amira.ws.next()).await {
                Err(_) => break,
                Ok(Some(Ok(Message::Ping(_)))) => pings += 1,
                Ok(Some(Ok(Message::Text(_)))) => {}
                Ok(other) => panic!("connection ended: {other:?}"),
            }
        }
        pings
    };
    let (pings, seen) = tokio::join!(amira_reads, omar.collect_type("presence", watch));
    assert!(pings >= 5, "only {pings} pings in {watch:?}");
    amira.send(json!({"type": "ping", "ts": 7})).await;
    assert_eq!(amira.recv_type("pong").await["ts"], 7);

    // Omar never saw her go offline.
    assert!(!seen.iter().any(|m| m["status"] == "offline"), "{seen:?}");
    assert!(
        seen.iter()
            .any(|m| m["user_id"] == "amira" && m["status"] == "online"),
        "{seen:?}"
    );
    let r = omar
        .request(json!({"type": "get_presence", "user_ids": ["amira"]}))
        .await;
    assert_eq!(r["users"][0]["status"], "online");
}

#[tokio::test]
async fn a_client_that_stops_answering_is_dropped_and_goes_offline() {
    let server = fast_heartbeat().await;
    server.room("r", "amira", &["omar"]).await;
    let mut omar = server.client("omar", "applicant").await;
    omar.join("r").await;

    let mut amira = raw_client(&server, "amira").await;
    raw_recv_type(&mut amira, "welcome").await;
    raw_send(&mut amira, json!({"type": "join_room", "room_id": "r"})).await;
    raw_recv_type(&mut amira, "room_joined").await;
    assert_eq!(omar.recv_type("member_joined").await["user"]["id"], "amira");

    // Amira's app freezes: nothing reads her socket, so no pong goes back.
    let frozen = Instant::now();
    let left = omar
        .recv_where("amira leaving", |m| {
            m["type"] == "member_left" && m["user_id"] == "amira"
        })
        .await;
    let after = frozen.elapsed();
    assert_eq!(left["room_id"], "r");
    assert!(after >= IDLE / 2, "dropped after only {after:?}");
    assert!(after < IDLE * 8, "dropped only after {after:?}");
    let p = omar
        .recv_where("amira offline", |m| {
            m["type"] == "presence" && m["user_id"] == "amira" && m["status"] == "offline"
        })
        .await;
    assert!(p["last_seen"].is_i64(), "{p}");

    // What is left on the frozen socket ends with the server's close frame:
    // 4000, "heartbeat timeout" (read as raw bytes, because a client that
    // answered the queued pings now would only get a connection reset).
    let mut tcp = amira.into_inner();
    let mut rest = vec![];
    tokio::time::timeout(common::WAIT, tcp.read_to_end(&mut rest))
        .await
        .expect("the server closes the connection")
        .expect("read");
    let reason = b"heartbeat timeout";
    let mut close = vec![0x88, 2 + reason.len() as u8, 0x0F, 0xA0]; // 4000
    close.extend_from_slice(reason);
    assert!(
        rest.ends_with(&close),
        "no idle close frame at the end of {rest:?}"
    );
}
