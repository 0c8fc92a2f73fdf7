//! Call issues that come from the devices: in p2p calls the server sees
//! no media and reads the clients' `call_stats` (a microphone that sends
//! only silence, a stream that leaves one client and never reaches the
//! other, a peer connection that drops and comes back); in every call, a
//! device that hears its user talk on a muted microphone reports
//! `report_call_issue` and only that user is told. Bad reports get a typed
//! error and the call carries on.

mod common;

use std::time::Duration;

use common::{Client as TestClient, TestServer};
use serde_json::{json, Value};

async fn server() -> TestServer {
    TestServer::with(|c| {
        c.quality_interval = Duration::from_secs(1);
        c.issue_no_audio_after = Duration::from_secs(3);
    })
    .await
}

/// A call in `mode` between amira and omar, both joined: (call, amira's
/// client and participant id, omar's).
async fn joined(
    server: &TestServer,
    room: &str,
    mode: &str,
) -> (String, (TestClient, String), (TestClient, String)) {
    server.room(room, "amira", &["omar", "lina"]).await;
    let mut a = server.client("amira", "applicant").await;
    let started = a
        .request(json!({"type": "start_call", "room_id": room, "mode": mode}))
        .await;
    assert_eq!(started["type"], "call_started", "{started}");
    let call = started["call"]["id"].as_str().unwrap().to_string();
    let mut b = server.client("omar", "professional").await;
    let ja = a
        .request(json!({"type": "join_call", "call_id": call}))
        .await;
    let jb = b
        .request(json!({"type": "join_call", "call_id": call}))
        .await;
    let pa = ja["participant_id"].as_str().unwrap().to_string();
    let pb = jb["participant_id"].as_str().unwrap().to_string();
    (call, (a, pa), (b, pb))
}

/// A p2p client's cumulative report: `sent` packets at microphone level
/// `level`, `received` packets from `from`.
fn stats(call: &str, sent: u64, level: f64, from: &str, received: u64, state: &str) -> Value {
    json!({
        "type": "call_stats", "call_id": call, "rtt_ms": 20.0,
        "connection_state": state,
        "outbound": {"packets_sent": sent, "bytes_sent": sent * 60, "audio_level": level},
        "inbound": [{"participant_id": from, "packets_received": received, "packets_lost": 0,
                     "bytes_received": received * 60, "jitter_ms": 2.0}],
    })
}

/// Send both clients' reports once a second for `secs` seconds, each
/// report built from the second's index.
async fn report_for(
    secs: u64,
    a: &mut TestClient,
    b: &mut TestClient,
    ra: impl Fn(u64) -> Value,
    rb: impl Fn(u64) -> Value,
) {
    for i in 0..secs {
        a.send(ra(i)).await;
        b.send(rb(i)).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Every frame of `kind` (and `issue`) that reached `c` within `wait`.
async fn frames(c: &mut TestClient, kind: &str, issue: &str, wait: Duration) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut out = vec![];
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Some(v) = c.try_recv(left).await else {
            break;
        };
        if v["type"] == kind && v["issue"] == issue {
            out.push(v);
        }
    }
    out
}

#[tokio::test]
async fn a_p2p_microphone_sending_only_silence_is_no_audio_sent() {
    let server = server().await;
    let (call, (mut a, pa), (mut b, pb)) = joined(&server, "p2p-silent", "p2p").await;
    // Amira's client sends packets, but its microphone level is 0 (digital
    // silence); Omar talks, and each hears the other's packets arrive.
    report_for(
        6,
        &mut a,
        &mut b,
        |i| stats(&call, i * 50, 0.0, &pb, i * 50, "connected"),
        |i| stats(&call, i * 50, 0.3, &pa, i * 50, "connected"),
    )
    .await;
    let got = frames(
        &mut a,
        "call_issue",
        "no_audio_sent",
        Duration::from_millis(300),
    )
    .await;
    assert_eq!(got.len(), 1, "amira is told once");
    assert_eq!(got[0]["participant_id"], pa.as_str());
    assert!(frames(
        &mut b,
        "call_issue",
        "no_audio_sent",
        Duration::from_millis(100)
    )
    .await
    .is_empty());
    // Her microphone comes back.
    report_for(
        2,
        &mut a,
        &mut b,
        |i| stats(&call, 300 + i * 50, 0.2, &pb, 300 + i * 50, "connected"),
        |i| stats(&call, 300 + i * 50, 0.3, &pa, 300 + i * 50, "connected"),
    )
    .await;
    let cleared = frames(
        &mut a,
        "call_issue_cleared",
        "no_audio_sent",
        Duration::from_secs(2),
    )
    .await;
    assert_eq!(cleared.len(), 1);
}

#[tokio::test]
async fn p2p_audio_that_leaves_one_client_and_never_reaches_the_other_is_one_way_audio() {
    let server = server().await;
    let (call, (mut a, pa), (mut b, pb)) = joined(&server, "p2p-one-way", "p2p").await;
    // Amira's packets leave her client; Omar's client receives none of
    // them (and still gets... nothing else, in a call of two). Omar's do
    // reach Amira.
    report_for(
        6,
        &mut a,
        &mut b,
        |i| stats(&call, i * 50, 0.3, &pb, i * 50, "connected"),
        |i| stats(&call, i * 50, 0.3, &pa, 0, "connected"),
    )
    .await;
    // In a call of two, hearing nobody is `no_audio_received`...
    let deaf = frames(
        &mut b,
        "call_issue",
        "no_audio_received",
        Duration::from_millis(300),
    )
    .await;
    assert_eq!(deaf.len(), 1, "omar hears nobody");
    // ...and a third participant makes it about one speaker.
    let mut c = server.client("lina", "professional").await;
    let jc = c
        .request(json!({"type": "join_call", "call_id": call}))
        .await;
    let pc = jc["participant_id"].as_str().unwrap().to_string();
    let report = |sent: u64, from: &[(&str, u64)]| {
        json!({
            "type": "call_stats", "call_id": call, "connection_state": "connected",
            "outbound": {"packets_sent": sent, "audio_level": 0.3},
            "inbound": from.iter().map(|(p, n)| json!({"participant_id": p, "packets_received": n})).collect::<Vec<_>>(),
        })
    };
    for i in 0..7u64 {
        let n = 300 + i * 50;
        a.send(report(n, &[(&pb, n), (&pc, i * 50)])).await;
        // Omar hears Lina, never Amira.
        b.send(report(n, &[(&pa, 0), (&pc, i * 50)])).await;
        c.send(report(i * 50, &[(&pa, n), (&pb, n)])).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let one_way = frames(
        &mut b,
        "call_issue",
        "one_way_audio",
        Duration::from_millis(300),
    )
    .await;
    assert_eq!(one_way.len(), 1, "{one_way:?}");
    assert_eq!(
        (
            &one_way[0]["participant_id"],
            &one_way[0]["from_participant_id"]
        ),
        (&json!(pb), &json!(pa))
    );
    // Amira is told Omar can't hear her; Lina is not involved.
    let told = frames(
        &mut a,
        "call_issue",
        "one_way_audio",
        Duration::from_millis(300),
    )
    .await;
    assert_eq!(told.len(), 1);
    assert!(frames(
        &mut c,
        "call_issue",
        "one_way_audio",
        Duration::from_millis(100)
    )
    .await
    .is_empty());
}

#[tokio::test]
async fn a_p2p_connection_that_drops_is_reconnecting_then_cleared_with_its_length() {
    let server = server().await;
    let (call, (mut a, _pa), (_b, pb)) = joined(&server, "p2p-drop", "p2p").await;
    a.send(stats(&call, 50, 0.3, &pb, 50, "disconnected")).await;
    let up = a
        .recv_where("reconnecting", |m| {
            m["type"] == "call_issue" && m["issue"] == "reconnecting"
        })
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    a.send(stats(&call, 100, 0.3, &pb, 100, "connected")).await;
    let down = a
        .recv_where("reconnecting cleared", |m| {
            m["type"] == "call_issue_cleared" && m["issue"] == "reconnecting"
        })
        .await;
    assert_eq!(down["since"], up["since"]);
    assert!(down["duration_ms"].as_i64().unwrap() >= 1400, "{down}");
    // A connection that fails is media_failed, cleared when it is back.
    a.send(stats(&call, 150, 0.3, &pb, 150, "failed")).await;
    a.recv_where("media_failed", |m| {
        m["type"] == "call_issue" && m["issue"] == "media_failed"
    })
    .await;
    a.send(stats(&call, 200, 0.3, &pb, 200, "connected")).await;
    a.recv_where("media_failed cleared", |m| {
        m["type"] == "call_issue_cleared" && m["issue"] == "media_failed"
    })
    .await;
    // Nonsense is refused with a typed error; the call carries on.
    let bad = a
        .request(json!({"type": "call_stats", "call_id": call, "connection_state": "sideways"}))
        .await;
    assert_eq!(bad["code"], "BAD_REQUEST", "{bad}");
    let bad = a
        .request(json!({"type": "call_stats", "call_id": call, "outbound": {"audio_level": 3}}))
        .await;
    assert_eq!(bad["code"], "BAD_REQUEST", "{bad}");
    let ok = a
        .request(stats(&call, 250, 0.3, &pb, 250, "connected"))
        .await;
    assert_eq!(ok["type"], "ok", "{ok}");
}

#[tokio::test]
async fn talking_while_muted_is_told_to_that_user_only_and_ends_with_the_mute() {
    let server = server().await;
    let (call, (mut a, pa), (mut b, _pb)) = joined(&server, "muted-talk", "sfu").await;
    // Not muted: voice on the microphone is just talking.
    let ok = a
        .request(json!({"type": "report_call_issue", "call_id": call,
                        "issue": "talking_while_muted", "active": true}))
        .await;
    assert_eq!(ok["type"], "ok", "{ok}");
    assert!(frames(
        &mut a,
        "call_issue",
        "talking_while_muted",
        Duration::from_millis(300)
    )
    .await
    .is_empty());

    a.send(json!({"type": "set_mute", "call_id": call, "muted": true}))
        .await;
    a.send(json!({"type": "report_call_issue", "call_id": call,
                  "issue": "talking_while_muted", "active": true}))
        .await;
    let issue = a
        .recv_where("talking_while_muted", |m| {
            m["type"] == "call_issue" && m["issue"] == "talking_while_muted"
        })
        .await;
    assert_eq!(issue["participant_id"], pa.as_str());
    assert!(
        frames(
            &mut b,
            "call_issue",
            "talking_while_muted",
            Duration::from_millis(300)
        )
        .await
        .is_empty(),
        "the others are not told"
    );
    // Unmuting ends it.
    a.send(json!({"type": "set_mute", "call_id": call, "muted": false}))
        .await;
    let cleared = a
        .recv_where("cleared", |m| {
            m["type"] == "call_issue_cleared" && m["issue"] == "talking_while_muted"
        })
        .await;
    assert_eq!(cleared["since"], issue["since"]);

    // Issues the server detects itself cannot be reported by a device.
    let bad = a
        .request(json!({"type": "report_call_issue", "call_id": call,
                        "issue": "one_way_audio", "active": true}))
        .await;
    assert_eq!(bad["code"], "BAD_REQUEST", "{bad}");
    let bad = a
        .request(json!({"type": "report_call_issue", "call_id": call,
                        "issue": "gremlins", "active": true}))
        .await;
    assert_eq!(bad["code"], "BAD_REQUEST", "{bad}");
    // Someone outside the call cannot report into it.
    let mut lina = server.client("lina", "professional").await;
    let denied = lina
        .request(json!({"type": "report_call_issue", "call_id": call,
                        "issue": "talking_while_muted", "active": true}))
        .await;
    assert_eq!(denied["type"], "error", "{denied}");
    // The call carries on.
    let ok = a
        .request(json!({"type": "call_stats", "call_id": call, "rtt_ms": 20.0}))
        .await;
    assert_eq!(ok["type"], "ok", "{ok}");
}
