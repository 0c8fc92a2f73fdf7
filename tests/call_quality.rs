//! Call-quality monitoring through the real server: known loss, delay and
//! jitter injected between a webrtc-rs test peer and the SFU (in the peer,
//! or by a UDP relay) show up in the reported figures, and MOS falls; p2p
//! calls are measured from the clients' `call_stats`; bad reports are
//! refused without harm.

mod common;

use std::time::Duration;

use common::peer::{Packets, SfuParticipant};
use common::relay::{Impairment, Relay};
use common::TestServer;
use serde_json::{json, Value};

async fn quality_server() -> TestServer {
    TestServer::with(|c| {
        c.quality_interval = Duration::from_secs(1);
        c.quality_hysteresis = 1;
    })
    .await
}

async fn start_call(server: &TestServer, room: &str, members: &[&str], mode: &str) -> String {
    server.room(room, members[0], &members[1..]).await;
    let mut starter = server.client(members[0], "applicant").await;
    let started = starter
        .request(json!({"type": "start_call", "room_id": room, "mode": mode}))
        .await;
    assert_eq!(started["type"], "call_started", "{started}");
    started["call"]["id"].as_str().unwrap().to_string()
}

/// The monitors' view of one participant's latest quality.
async fn quality(server: &TestServer, call: &str, participant: &str) -> Option<Value> {
    let admin = server.token("ops", "admin");
    let (status, body) = server.get(&admin, "/api/monitor/calls").await;
    assert_eq!(status, 200, "{body}");
    body["calls"].as_array()?.iter().find(|c| c["id"] == call)?["participants"]
        .as_array()?
        .iter()
        .find(|p| p["participant_id"] == participant)
        .map(|p| p["quality"].clone())
        .filter(|q| !q.is_null())
}

/// Wait until `participant`'s quality satisfies `pred` (figures settle
/// over a few one-second samples); returns the sample.
async fn wait_quality(
    server: &TestServer,
    call: &str,
    participant: &str,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut last = None;
    loop {
        if let Some(q) = quality(server, call, participant).await {
            if pred(&q) {
                return q;
            }
            last = Some(q);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}; last sample {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn num(q: &Value, field: &str) -> f64 {
    q[field]
        .as_f64()
        .unwrap_or_else(|| panic!("no {field} in {q}"))
}

#[tokio::test]
async fn uplink_loss_is_measured_for_its_owner_and_lowers_mos() {
    let server = quality_server().await;
    let call = start_call(&server, "lossy-up", &["amira", "omar"], "sfu").await;
    let a = SfuParticipant::join(&server, "amira", "applicant", &call).await;
    a.media.set_drop_every(10); // 10 % of amira's packets never leave
    let _sa = a.media.publish(1);
    let mut b = SfuParticipant::join(&server, "omar", "professional", &call).await;
    // omar talks (RFC 6464 level -30 dBov, voice); amira sends no levels.
    let _sb = b.media.publish_with_level(2, Some(30));
    b.wait_for("audio from amira", |m| {
        m.packets_from(&a.stream()).len() >= 100
    })
    .await;

    // Several full one-second samples after media flows both ways.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let qa = wait_quality(&server, &call, &a.participant_id, "amira's sample", |q| {
        q["up_loss_pct"].is_number()
    })
    .await;
    let qb = wait_quality(&server, &call, &b.participant_id, "omar's sample", |q| {
        q["down_loss_pct"].is_number()
    })
    .await;
    let loss = num(&qa, "up_loss_pct");
    assert!(
        (loss - 10.0).abs() <= 2.0,
        "amira's uplink loss {loss} %: {qa}"
    );
    assert!((num(&qa, "loss_pct") - 10.0).abs() <= 2.0, "{qa}");
    // omar hears amira's holes, but his own connection is clean.
    assert!(
        num(&qb, "loss_pct") <= 2.0,
        "omar blamed for amira's loss: {qb}"
    );
    assert!(num(&qa, "mos") < 3.6, "{qa}");
    assert!(num(&qb, "mos") > 4.0, "{qb}");
    assert!(num(&qa, "mos") + 0.5 < num(&qb, "mos"));
    assert_eq!(qa["level"], "poor", "{qa}");
    assert_eq!(qa["source"], "sfu");
    // Volumes per one-second interval: ~45 of amira's 50 packets arrive,
    // ~50 of omar's go to her; levels only for omar, who sends them.
    let up = num(&qa, "up_packets");
    assert!((40.0..=50.0).contains(&up), "{qa}");
    assert!(num(&qa, "up_bytes") >= up * 60.0, "{qa}");
    assert!((45.0..=56.0).contains(&num(&qa, "down_packets")), "{qa}");
    assert!(qa["audio_level_dbov"].is_null(), "{qa}");
    assert_eq!(num(&qb, "audio_level_dbov"), 30.0, "{qb}");
    assert_eq!(num(&qb, "voice_activity"), 1.0, "{qb}");

    // Participants hear about amira's level.
    let mut seen = None;
    for _ in 0..20 {
        let ev = b.next_event("connection_quality").await;
        if ev["participant_id"] == a.participant_id.as_str() {
            seen = Some(ev);
            break;
        }
    }
    let ev = seen.expect("connection_quality for amira");
    assert_eq!(ev["level"], "poor", "{ev}");
    assert_eq!(ev["user_id"], "amira");
    assert_eq!(ev["call_id"], call.as_str());
}

#[tokio::test]
async fn delay_jitter_and_downlink_loss_through_a_relay() {
    let server = quality_server().await;
    let call = start_call(&server, "far-away", &["amira", "omar"], "sfu").await;
    // amira is far away: 60 ms each way, up to 40 ms of jitter on her
    // uplink, and every 10th packet to her lost.
    let relay = Relay::start(
        Impairment {
            delay: Duration::from_millis(60),
            jitter: Duration::from_millis(40),
            drop_every: 0,
        },
        Impairment {
            delay: Duration::from_millis(60),
            jitter: Duration::ZERO,
            drop_every: 10,
        },
    )
    .await;
    let a =
        SfuParticipant::join_via(&server, "amira", "applicant", &call, Some(relay.route())).await;
    let _sa = a.media.publish(1);
    let b = SfuParticipant::join(&server, "omar", "professional", &call).await;
    let _sb = b.media.publish(2);
    a.wait_for("audio from omar through the relay", |m| {
        m.packets_from(&b.stream()).len() >= 100
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    let qa = wait_quality(&server, &call, &a.participant_id, "amira's RTT", |q| {
        q["rtt_ms"].is_number() && q["down_loss_pct"].is_number()
    })
    .await;
    let qb = wait_quality(&server, &call, &b.participant_id, "omar's RTT", |q| {
        q["rtt_ms"].is_number()
    })
    .await;
    assert!(
        relay
            .dropped_down
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
    );
    let (rtt_a, rtt_b) = (num(&qa, "rtt_ms"), num(&qb, "rtt_ms"));
    assert!(rtt_a >= 110.0, "amira's RTT {rtt_a} ms: {qa}");
    assert!(rtt_b < 60.0, "omar's RTT {rtt_b} ms: {qb}");
    let (jit_a, jit_b) = (num(&qa, "jitter_ms"), num(&qb, "jitter_ms"));
    assert!(jit_a >= 5.0, "amira's jitter {jit_a} ms: {qa}");
    assert!(
        jit_b + 3.0 < jit_a,
        "omar's jitter {jit_b} vs amira's {jit_a}"
    );
    let down = num(&qa, "down_loss_pct");
    assert!(
        (down - 10.0).abs() <= 2.0,
        "amira's downlink loss {down} %: {qa}"
    );
    assert!(num(&qa, "up_loss_pct") <= 2.0, "{qa}");
    assert!(num(&qb, "loss_pct") <= 2.0, "{qb}");
    assert!(num(&qa, "mos") + 0.5 < num(&qb, "mos"), "{qa} vs {qb}");
    // The SFU's receiver reports echo the publishers' sender reports, so
    // clients measure their uplink's round trip too.
    let up_a = a.media.uplink_rtt().expect("amira's uplink RTT");
    let up_b = b.media.uplink_rtt().expect("omar's uplink RTT");
    assert!(up_a >= Duration::from_millis(110), "{up_a:?}");
    assert!(up_b < Duration::from_millis(60), "{up_b:?}");
}

#[tokio::test]
async fn a_participant_who_hears_nothing_is_poor_whatever_the_reports_say() {
    let server = quality_server().await;
    let call = start_call(&server, "deaf", &["amira", "omar"], "sfu").await;
    // amira never takes the server's offer that would bring omar's audio.
    let a = SfuParticipant::join_deaf(&server, "amira", "applicant", &call).await;
    let _sa = a.media.publish(1);
    let b = SfuParticipant::join(&server, "omar", "professional", &call).await;
    let _sb = b.media.publish(2);
    b.wait_for("audio from amira", |m| {
        m.packets_from(&a.stream()).len() >= 50
    })
    .await;
    let qa = wait_quality(
        &server,
        &call,
        &a.participant_id,
        "amira's stalled downlink",
        |q| q["down_loss_pct"].as_f64() == Some(100.0),
    )
    .await;
    assert_eq!(qa["level"], "poor", "{qa}");
    assert!(
        a.media.packets_from(&b.stream()).is_empty(),
        "amira hears nothing"
    );
    // omar, who hears amira, is fine.
    let qb = quality(&server, &call, &b.participant_id).await.unwrap();
    assert!(num(&qb, "loss_pct") <= 2.0, "{qb}");
}

/// A getStats-like report: `received`/`lost` cumulative from `from`.
fn stats(call: &str, from: &str, received: u64, lost: i64, rtt: f64) -> Value {
    json!({
        "type": "call_stats", "call_id": call, "rtt_ms": rtt, "codec": "opus",
        "outbound": {"packets_sent": received + 3, "bytes_sent": (received + 3) * 80},
        "inbound": [{"participant_id": from, "packets_received": received, "packets_lost": lost,
                     "jitter_ms": 4.0, "bytes_received": received * 80,
                     "concealed_samples": 0, "total_samples_received": received * 960}]
    })
}

#[tokio::test]
async fn p2p_calls_are_measured_from_client_reports() {
    let server = quality_server().await;
    let call = start_call(&server, "direct", &["amira", "omar"], "p2p").await;
    let mut a = server.client("amira", "applicant").await;
    let mut b = server.client("omar", "professional").await;
    let ja = a
        .request(json!({"type": "join_call", "call_id": call}))
        .await;
    let jb = b
        .request(json!({"type": "join_call", "call_id": call}))
        .await;
    let (pa, pb) = (
        ja["participant_id"].as_str().unwrap().to_string(),
        jb["participant_id"].as_str().unwrap().to_string(),
    );
    // Baseline, then an interval where omar hears 20 of amira's 250 packets lost.
    a.send(stats(&call, &pb, 0, 0, 40.0)).await;
    b.send(stats(&call, &pa, 0, 0, 40.0)).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    a.send(stats(&call, &pb, 250, 0, 40.0)).await;
    b.send(stats(&call, &pa, 230, 20, 40.0)).await;

    let q = wait_quality(
        &server,
        &call,
        &pa,
        "amira's uplink from omar's report",
        |q| q["up_loss_pct"].as_f64().is_some_and(|l| l > 0.0),
    )
    .await;
    assert!((num(&q, "up_loss_pct") - 8.0).abs() < 0.01, "{q}");
    assert_eq!(q["source"], "client");
    assert_eq!(num(&q, "rtt_ms"), 40.0);
    assert_eq!(q["level"], "poor");
    let qb = quality(&server, &call, &pb).await.expect("omar sampled");
    assert!((num(&qb, "down_loss_pct") - 8.0).abs() < 0.01, "{qb}");

    // Both participants are told about amira's level.
    for client in [&mut a, &mut b] {
        let ev = client
            .recv_where("connection_quality for amira", |m| {
                m["type"] == "connection_quality"
                    && m["participant_id"] == pa.as_str()
                    && m["level"] == "poor"
            })
            .await;
        assert_eq!(ev["call_id"], call.as_str());
    }
}

#[tokio::test]
async fn bad_reports_are_refused_and_the_call_carries_on() {
    let server = quality_server().await;
    let call = start_call(&server, "strict", &["amira", "omar", "lina"], "p2p").await;
    let mut a = server.client("amira", "applicant").await;
    a.request(json!({"type": "join_call", "call_id": call}))
        .await;
    let bad = [
        json!({"type": "call_stats", "call_id": call, "rtt_ms": -1}),
        json!({"type": "call_stats", "call_id": call, "rtt_ms": 1e9}),
        json!({"type": "call_stats", "call_id": call, "outbound": {"remote_fraction_lost": 2}}),
        json!({"type": "call_stats", "call_id": call, "inbound": [{"participant_id": "", "packets_received": 1}]}),
        json!({"type": "call_stats", "call_id": call, "inbound": [{"participant_id": "1", "packets_received": -5}]}),
        json!({"type": "call_stats", "call_id": call, "inbound": (0..33).map(|i| json!({"participant_id": i.to_string()})).collect::<Vec<_>>()}),
        json!({"type": "call_stats", "call_id": call, "inbound": "many"}),
    ];
    for report in bad {
        let reply = a.request(report.clone()).await;
        assert_eq!(reply["type"], "error", "{report} -> {reply}");
        assert_eq!(reply["code"], "BAD_REQUEST", "{report} -> {reply}");
    }
    let unknown = a
        .request(json!({"type": "call_stats", "call_id": "no-such-call"}))
        .await;
    assert_eq!(unknown["code"], "NOT_FOUND", "{unknown}");
    // lina is a room member but not in the call.
    let mut l = server.client("lina", "applicant").await;
    let outsider = l
        .request(json!({"type": "call_stats", "call_id": call}))
        .await;
    assert_eq!(outsider["code"], "ACCESS_DENIED", "{outsider}");
    // The connection and the call are fine: a good report is accepted.
    let ok = a
        .request(json!({"type": "call_stats", "call_id": call, "rtt_ms": 12.5}))
        .await;
    assert_eq!(ok["type"], "ok", "{ok}");
}

/// Levels are announced when they change, so a device that joins a call in
/// progress is told everyone's current level at once (as a first level).
#[tokio::test]
async fn a_late_joiner_is_told_the_current_levels() {
    let server = quality_server().await;
    let call = start_call(&server, "late", &["amira", "omar"], "sfu").await;
    let mut a = SfuParticipant::join(&server, "amira", "applicant", &call).await;
    let _sa = a.media.publish(1);
    let first = a.next_event("connection_quality").await;
    assert_eq!(first["participant_id"], a.participant_id.as_str());
    // Her level stays where it is; Omar joins later and still learns it.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut b = SfuParticipant::join(&server, "omar", "professional", &call).await;
    let told = b.next_event("connection_quality").await;
    assert_eq!(
        (&told["participant_id"], &told["level"], &told["previous"]),
        (&json!(a.participant_id), &first["level"], &Value::Null),
        "{told}"
    );
}
