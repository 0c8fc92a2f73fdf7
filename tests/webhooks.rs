//! Webhooks: call started, quality degraded and call ended (with its
//! summary) reach a receiver as signed JSON, and a failed delivery is
//! retried with the same delivery id until it succeeds.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use common::peer::{Packets, SfuParticipant};
use common::{claims, TestServer};
use earshot::auth::Claims;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

const SECRET: &str = "webhook-secret-0123456789";

#[derive(Clone, Debug)]
struct Received {
    event: String,
    delivery: String,
    timestamp: String,
    signature: String,
    body: String,
}

/// A receiver that answers 500 to the first attempt of every delivery and
/// 200 afterwards, recording every request.
async fn receiver() -> (String, Arc<Mutex<Vec<Received>>>) {
    let seen: Arc<Mutex<Vec<Received>>> = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let log = log.clone();
            async move {
                let h = |k: &str| {
                    headers
                        .get(k)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string()
                };
                let r = Received {
                    event: h("x-earshot-event"),
                    delivery: h("x-earshot-delivery"),
                    timestamp: h("x-earshot-timestamp"),
                    signature: h("x-earshot-signature"),
                    body,
                };
                let mut log = log.lock().unwrap();
                let first = !log.iter().any(|x| x.delivery == r.delivery);
                log.push(r);
                if first {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

fn verify(r: &Received) {
    let mut mac = <Hmac<Sha256>>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{}.{}", r.timestamp, r.body).as_bytes());
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(r.signature, expected, "bad signature on {}", r.event);
}

async fn wait_for_event(
    seen: &Arc<Mutex<Vec<Received>>>,
    event: &str,
    attempts: usize,
) -> Vec<Received> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let got: Vec<Received> = seen
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.event == event)
            .cloned()
            .collect();
        if got.len() >= attempts {
            return got;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {event} ({} so far)",
            got.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_tenant_rooms_events_carry_its_id_and_tenant() {
    let (url, seen) = receiver().await;
    let server = TestServer::with(|c| {
        c.webhook_urls = vec![url.clone()];
        c.webhook_secret = Some(SECRET.into());
        c.webhook_retry_base = Duration::from_millis(10);
    })
    .await;
    let acme = |user: &str, role: &str| Claims {
        tenant: Some("acme".into()),
        ..claims(user, role)
    };
    let product = server.token_with(acme("consul", "service"));
    server
        .create_room(&product, json!({"id": "visa-2", "type": "application", "title": "Visa", "participants": ["amira"]}))
        .await;
    let mut amira = server.client_with(acme("amira", "applicant")).await;
    amira.start_call("visa-2", "p2p").await;
    let started = wait_for_event(&seen, "call.started", 1).await;
    let body: Value = serde_json::from_str(&started[0].body).unwrap();
    assert_eq!(body["tenant"], "acme", "{body}");
    assert_eq!(body["data"]["call"]["room_id"], "visa-2", "{body}");
}

#[tokio::test]
async fn call_events_are_signed_and_retried() {
    let (url, seen) = receiver().await;
    let server = TestServer::with(|c| {
        c.quality_interval = Duration::from_secs(1);
        c.quality_hysteresis = 1;
        c.webhook_urls = vec![url.clone()];
        c.webhook_secret = Some(SECRET.into());
        c.webhook_retry_base = Duration::from_millis(50);
        c.webhook_max_attempts = 3;
    })
    .await;
    server.room("hooked", "amira", &["omar"]).await;
    let mut host = server.client("amira", "applicant").await;
    let started = host
        .request(json!({"type": "start_call", "room_id": "hooked"}))
        .await;
    let call = started["call"]["id"].as_str().unwrap().to_string();

    let attempts = wait_for_event(&seen, "call.started", 2).await;
    assert_eq!(
        attempts[0].delivery, attempts[1].delivery,
        "a retry keeps its id"
    );
    for a in &attempts {
        verify(a);
    }
    let body: Value = serde_json::from_str(&attempts[1].body).unwrap();
    assert_eq!(body["event"], "call.started");
    assert_eq!(body["data"]["call"]["id"], call.as_str());
    assert_eq!(body["data"]["call"]["room_id"], "hooked");
    assert_eq!(body["tenant"], Value::Null, "a room of no tenant");
    let ts: i64 = attempts[0].timestamp.parse().unwrap();
    assert!((ts - earshot_signaling::store::now_ms() / 1000).abs() < 60);

    // A clean start, then amira's uplink degrades: one quality_degraded.
    let a = SfuParticipant::join(&server, "amira", "applicant", &call).await;
    let _sa = a.media.publish(1);
    let b = SfuParticipant::join(&server, "omar", "professional", &call).await;
    let _sb = b.media.publish(2);
    b.wait_for("audio", |m| m.packets_from(&a.stream()).len() >= 100)
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    a.media.set_drop_every(4);
    // The fall may pass through `fair` in a sample that straddles it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let body: Value = loop {
        let poor = seen.lock().unwrap().iter().rev().find_map(|r| {
            let v: Value = serde_json::from_str(&r.body).ok()?;
            (r.event == "call.quality_degraded" && v["data"]["level"] == "poor").then(|| {
                verify(r);
                v
            })
        });
        if let Some(v) = poor {
            break v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no quality_degraded to poor"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let data = &body["data"];
    assert_eq!(data["participant_id"], a.participant_id.as_str(), "{data}");
    assert_eq!(data["user_id"], "amira");
    assert_eq!(data["level"], "poor");
    assert!(
        ["excellent", "good", "fair"].contains(&data["previous"].as_str().unwrap()),
        "{data}"
    );
    // One packet in four is lost from now on; the sample that turns poor
    // may straddle the moment the loss began, so it shows part of it.
    assert!(
        data["quality"]["loss_pct"].as_f64().unwrap() > 8.0,
        "{data}"
    );

    host.request(json!({"type": "end_call", "call_id": call}))
        .await;
    let ended = wait_for_event(&seen, "call.ended", 2).await;
    verify(&ended[1]);
    let body: Value = serde_json::from_str(&ended[1].body).unwrap();
    let data = &body["data"];
    assert_eq!(data["call_id"], call.as_str());
    assert_eq!(data["reason"], "ended");
    assert_eq!(data["ended_by"], "amira");
    assert_eq!(data["summary"]["participants"], 2, "{data}");
    assert!(data["summary"]["samples"].as_i64().unwrap() >= 4, "{data}");
    assert_eq!(data["summary"]["worst_level"], "poor", "{data}");
    // Every delivery took exactly two attempts (a 500, then a 200).
    let log = seen.lock().unwrap().clone();
    for r in &log {
        let n = log.iter().filter(|x| x.delivery == r.delivery).count();
        assert_eq!(n, 2, "{} delivery {}", r.event, r.delivery);
    }
    assert_eq!(log.iter().filter(|r| r.event == "call.started").count(), 2);
    assert_eq!(log.iter().filter(|r| r.event == "call.ended").count(), 2);
}

#[tokio::test]
async fn an_unreachable_receiver_does_not_hold_up_calls() {
    // Nothing listens on this port (bound, then closed).
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hooks", l.local_addr().unwrap())
    };
    let (url, seen) = receiver().await;
    let server = TestServer::with(|c| {
        c.webhook_urls = vec![dead, url];
        c.webhook_secret = Some(SECRET.into());
        c.webhook_retry_base = Duration::from_millis(20);
        c.webhook_max_attempts = 5;
    })
    .await;
    server.room("r", "amira", &[]).await;
    let mut host = server.client("amira", "applicant").await;
    for _ in 0..3 {
        let s = host.start_call("r", "p2p").await;
        let id = s["call"]["id"].as_str().unwrap().to_string();
        let ok = host
            .request(json!({"type": "end_call", "call_id": id}))
            .await;
        assert_eq!(ok["type"], "ok");
    }
    // The live receiver still gets all three starts and ends.
    wait_for_event(&seen, "call.started", 6).await;
    wait_for_event(&seen, "call.ended", 6).await;
}

#[test]
fn webhook_urls_need_a_strong_secret_and_http_urls() {
    let base = earshot::Config {
        dev: true,
        webhook_urls: vec!["http://127.0.0.1:9/h".into()],
        ..Default::default()
    };
    assert!(base.validate().is_err(), "no secret");
    let short = earshot::Config {
        webhook_secret: Some("short".into()),
        ..base.clone()
    };
    assert!(short.validate().is_err());
    let ftp = earshot::Config {
        webhook_secret: Some(SECRET.into()),
        webhook_urls: vec!["ftp://example.org/x".into()],
        ..base.clone()
    };
    assert!(ftp.validate().is_err());
    let good = earshot::Config {
        webhook_secret: Some(SECRET.into()),
        ..base
    };
    assert!(good.validate().is_ok());
}

/// Live call issues reach webhooks when raised and when cleared (with how
/// long they lasted), signed like every event.
#[tokio::test]
async fn call_issues_are_sent_raised_and_cleared() {
    let (url, seen) = receiver().await;
    let server = TestServer::with(|c| {
        c.webhook_urls = vec![url.clone()];
        c.webhook_secret = Some(SECRET.into());
        c.webhook_retry_base = Duration::from_millis(10);
    })
    .await;
    server.room("hooked", "amira", &["omar"]).await;
    let mut amira = server.client("amira", "applicant").await;
    let started = amira.start_call("hooked", "p2p").await;
    let call = started["call"]["id"].as_str().unwrap().to_string();
    amira.join_call(&call).await;
    let report =
        |state: &str| json!({"type": "call_stats", "call_id": call, "connection_state": state});
    amira.request(report("disconnected")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    amira.request(report("connected")).await;
    // Each delivery is retried once (the receiver fails first attempts).
    let got = wait_for_event(&seen, "call.issue", 4).await;
    let mut bodies: Vec<Value> = got
        .iter()
        .map(|r| {
            verify(r);
            serde_json::from_str::<Value>(&r.body).unwrap()["data"].clone()
        })
        .collect();
    bodies.dedup();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    let (raised, cleared) = (&bodies[0], &bodies[1]);
    assert_eq!(
        (
            &raised["issue"],
            &raised["raised"],
            &raised["user_id"],
            &raised["room_id"]
        ),
        (
            &json!("reconnecting"),
            &json!(true),
            &json!("amira"),
            &json!("hooked")
        ),
        "{raised}"
    );
    assert_eq!(
        (&cleared["raised"], &cleared["since"]),
        (&json!(false), &raised["since"])
    );
    assert!(cleared["duration_ms"].as_i64().unwrap() >= 250, "{cleared}");
}
