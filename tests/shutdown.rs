//! Graceful shutdown: every client is told (close 1012), the server stops
//! promptly, and every message acked before the end is there after a restart
//! on the same data directory.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::{Client, TestServer, SECRET};
use earshot::Config;
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// Sends still in flight when the shutdown starts.
const RUSH: usize = 1000;

fn config(dir: &Path) -> Config {
    Config {
        data_dir: dir.to_path_buf(),
        jwt_secret: Some(SECRET.into()),
        dev: true,
        rate_per_sec: 1000,
        rate_burst: 10_000,
        ..Config::default()
    }
}

/// Read until the socket closes, keeping acks (by client id) on the way;
/// returns the acks and the close code and reason (1006 if none came).
async fn read_until_closed(c: &mut Client) -> (BTreeMap<String, Value>, u16, String) {
    let mut acks = BTreeMap::new();
    loop {
        match tokio::time::timeout(common::WAIT, c.ws.next()).await {
            Err(_) => panic!("{} was never disconnected", c.user),
            Ok(None) | Ok(Some(Err(_))) => return (acks, 1006, String::new()),
            Ok(Some(Ok(Message::Close(f)))) => {
                let (code, reason) = f
                    .map(|f| (u16::from(f.code), f.reason.to_string()))
                    .unwrap_or((1005, String::new()));
                // Keep polling so our reply goes out, as a real client would.
                let _ = tokio::time::timeout(common::WAIT, c.ws.next()).await;
                return (acks, code, reason);
            }
            Ok(Some(Ok(Message::Text(t)))) => {
                let m: Value = serde_json::from_str(&t).unwrap();
                if m["type"] == "message_ack" {
                    acks.insert(m["client_msg_id"].as_str().unwrap().to_string(), m);
                }
            }
            Ok(Some(Ok(_))) => {}
        }
    }
}

#[tokio::test]
async fn clients_get_1012_and_every_acked_message_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::boot(config(dir.path())).await;
    server.room("r", "amira", &["omar"]).await;
    let mut amira = server.client("amira", "applicant").await;
    let mut omar = server.client("omar", "professional").await;
    amira.join("r").await;
    omar.join("r").await;

    let mut acked = BTreeMap::new();
    for i in 0..5 {
        let id = format!("calm-{i}");
        let ack = amira.say("r", &id, &format!("before {i}")).await;
        acked.insert(id, ack);
    }
    // A stream of sends still in flight when the shutdown starts.
    for i in 0..RUSH {
        amira
            .send(json!({"type": "send_message", "room_id": "r", "client_msg_id": format!("rush-{i}"), "text": format!("rush {i}")}))
            .await;
    }
    // Shut down with some of them acked and most still on their way.
    while acked.len() < 25 {
        let ack = amira.recv_type("message_ack").await;
        acked.insert(ack["client_msg_id"].as_str().unwrap().to_string(), ack);
    }
    server.shutdown.cancel();

    let (rush_acks, code, reason) = read_until_closed(&mut amira).await;
    assert_eq!(code, 1012, "amira told why: {reason:?}");
    assert_eq!(reason, "server shutting down");
    let (_, code, _) = read_until_closed(&mut omar).await;
    assert_eq!(code, 1012, "omar told too");
    acked.extend(rush_acks);
    assert!(acked.len() < 5 + RUSH, "the shutdown came mid-stream");

    let took = server.stop_within(Duration::from_secs(8)).await;
    assert!(took < Duration::from_secs(5), "stopped in {took:?}");

    // Same data directory, new process: everything acked is there, as acked.
    let server = TestServer::boot(config(dir.path())).await;
    let t = server.token("omar", "professional");
    let mut stored: BTreeMap<String, Value> = BTreeMap::new();
    let mut after = 0;
    loop {
        let path = format!("/api/rooms/r/messages?after={after}&limit=100");
        let (status, page) = server.get(&t, &path).await;
        assert_eq!(status, 200, "{page}");
        for m in page["messages"].as_array().unwrap() {
            after = m["seq"].as_i64().unwrap();
            stored.insert(m["client_msg_id"].as_str().unwrap().to_string(), m.clone());
        }
        if page["has_more"] != true {
            break;
        }
    }
    for (id, ack) in &acked {
        let m = stored
            .get(id)
            .unwrap_or_else(|| panic!("acked {id} lost: {ack}"));
        assert_eq!(m["id"], ack["message_id"], "{id}");
        assert_eq!(m["seq"], ack["seq"], "{id}");
    }
    // Sequence numbers have no holes, and the room carries on after them.
    let last = stored.len() as i64;
    let mut seqs: Vec<i64> = stored
        .values()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    seqs.sort();
    assert_eq!(seqs, (1..=last).collect::<Vec<_>>());
    let mut amira = server.client("amira", "applicant").await;
    amira.join("r").await;
    let ack = amira.say("r", "after-restart", "back again").await;
    assert_eq!(ack["seq"], last + 1);
    server.stop_within(Duration::from_secs(8)).await;
}

#[tokio::test]
async fn after_shutdown_no_new_connections_are_accepted() {
    let server = TestServer::start().await;
    let token = server.token("amira", "applicant");
    let url = format!("{}?token={}", server.ws_url(), token);
    let health = server.http("/healthz");
    assert!(Client::connect(&url).await.is_ok());

    server.stop_within(Duration::from_secs(8)).await;
    assert!(Client::connect(&url).await.is_err(), "socket refused");
    assert!(reqwest::get(&health).await.is_err(), "HTTP refused");
}

#[tokio::test]
async fn shutdown_is_prompt_even_with_idle_silent_and_unauthenticated_clients() {
    let server = TestServer::with(|c| {
        c.auth_timeout = Duration::from_secs(30);
        c.shutdown_grace = Duration::from_secs(20);
    })
    .await;
    server.room("r", "amira", &["omar"]).await;
    // One that stopped reading with messages waiting, one that never
    // authenticated, one idle.
    let mut silent = server.client("omar", "professional").await;
    silent.join("r").await;
    let mut amira = server.client("amira", "applicant").await;
    amira.join("r").await;
    for i in 0..20 {
        amira.say("r", &format!("m{i}"), "unread").await;
    }
    let mut anonymous = Client::connect(&server.ws_url()).await.unwrap();
    let mut idle = server.client("lina", "customer").await;

    let shutdown = server.shutdown.clone();
    let stopping = tokio::spawn(server.stop_within(Duration::from_secs(15)));
    let (_, code, _) = read_until_closed(&mut idle).await;
    assert_eq!(code, 1012);
    let (_, code, _) = read_until_closed(&mut amira).await;
    assert_eq!(code, 1012);
    let (_, code, reason) = read_until_closed(&mut anonymous).await;
    assert_eq!(code, 1012, "not yet authenticated, still told: {reason:?}");
    let took = stopping.await.expect("stopped");
    assert!(took < Duration::from_secs(5), "stopped in {took:?}");
    assert!(shutdown.is_cancelled());
    let (_, code, _) = read_until_closed(&mut silent).await;
    assert_eq!(
        code, 1012,
        "the silent client finds the close after its messages"
    );
}
