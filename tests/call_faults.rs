//! Faults injected on one leg of a real call, and what the server says
//! about them: a relay that drops the audio towards one participant
//! (`one_way_audio`, told to both the listener and the speaker they cannot
//! hear), a peer that stops sending (`no_audio_sent`), a network that
//! goes away for a while (`reconnecting`, with how long) or for good
//! (`media_failed`), and packet loss on a chosen leg, which the report puts
//! on that leg and no other. Each issue arrives within 10 s and clears
//! when the fault ends; the report and `GET /api/calls?issue=` keep it.

mod common;

use std::time::Duration;

use common::peer::{Packets, SfuParticipant};
use common::relay::{Impairment, Relay};
use common::TestServer;
use serde_json::{json, Value};

async fn server() -> TestServer {
    TestServer::with(|c| {
        c.quality_interval = Duration::from_secs(1);
        c.issue_no_audio_after = Duration::from_secs(3);
        c.media_disconnected_timeout = Duration::from_secs(2);
        c.media_failed_timeout = Duration::from_secs(6);
    })
    .await
}

async fn call(server: &TestServer, room: &str) -> String {
    server.room(room, "amira", &["omar"]).await;
    let mut starter = server.client("amira", "applicant").await;
    let started = starter.start_call(room, "sfu").await;
    started["call"]["id"].as_str().unwrap().to_string()
}

/// Amira (direct) and Omar (through `relay`, if given) in the call, both
/// talking, each hearing the other; with what keeps each one talking.
async fn talking(
    server: &TestServer,
    call_id: &str,
    relay: Option<&Relay>,
) -> (SfuParticipant, SfuParticipant, [Talking; 2]) {
    let a = SfuParticipant::join(server, "amira", "applicant", call_id).await;
    let b = SfuParticipant::join_via(
        server,
        "omar",
        "professional",
        call_id,
        relay.map(Relay::route),
    )
    .await;
    let voices = [
        a.media.publish_with_level(1, Some(25)),
        b.media.publish_with_level(2, Some(30)),
    ];
    b.wait_for("amira's packets", |m| {
        m.packets_from(&a.stream()).len() >= 50
    })
    .await;
    a.wait_for("omar's packets", |m| {
        m.packets_from(&b.stream()).len() >= 50
    })
    .await;
    (a, b, voices)
}

type Talking = tokio::sync::oneshot::Sender<()>;

/// The next `call_issue` (or `_cleared`, with `cleared`) of kind `issue`,
/// and how long it took to come.
async fn issue_event(p: &mut SfuParticipant, issue: &str, cleared: bool) -> (Value, Duration) {
    let kind = if cleared {
        "call_issue_cleared"
    } else {
        "call_issue"
    };
    let started = tokio::time::Instant::now();
    let deadline = started + Duration::from_secs(15);
    loop {
        let v = tokio::time::timeout_at(deadline, p.events.recv())
            .await
            .unwrap_or_else(|_| panic!("no {kind} {issue}"))
            .expect("socket closed");
        if v["type"] == kind && v["issue"] == issue {
            return (v, started.elapsed());
        }
    }
}

/// Every `call_issue` that reached `p` within `wait`.
async fn issues_within(p: &mut SfuParticipant, wait: Duration) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut out = vec![];
    while let Ok(Some(v)) = tokio::time::timeout_at(deadline, p.events.recv()).await {
        if v["type"] == "call_issue" {
            out.push(v);
        }
    }
    out
}

/// The call's report once `done` holds for it.
async fn report_when(server: &TestServer, call_id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let admin = server.token("ops", "admin");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, report) = server
            .get(&admin, &format!("/api/calls/{call_id}/report"))
            .await;
        assert_eq!(status, 200, "{report}");
        if done(&report) {
            return report;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the report never got there: {report}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn audio_blocked_towards_one_listener_is_one_way_audio_for_both_ends() {
    let server = server().await;
    let call_id = call(&server, "one-way").await;
    let mut monitor = server.client("ops", "admin").await;
    monitor.request(json!({"type": "monitor_subscribe"})).await;
    let relay = Relay::start(Impairment::default(), Impairment::default()).await;
    let (mut a, mut b, _voices) = talking(&server, &call_id, Some(&relay)).await;

    // Amira's audio no longer reaches Omar; his still reaches her, and his
    // connection stays up.
    relay.block_audio_down(true);
    let (heard, took) = issue_event(&mut b, "one_way_audio", false).await;
    assert!(took < Duration::from_secs(10), "raised after {took:?}");
    assert_eq!(
        (&heard["participant_id"], &heard["user_id"]),
        (&json!(b.participant_id), &json!("omar")),
        "the listener is the one concerned: {heard}"
    );
    assert_eq!(
        (&heard["from_participant_id"], &heard["from_user_id"]),
        (&json!(a.participant_id), &json!("amira")),
        "whose audio does not arrive: {heard}"
    );
    // Amira is told too ("Omar can't hear you"), and so are monitors.
    let (told, _) = issue_event(&mut a, "one_way_audio", false).await;
    assert_eq!(told["since"], heard["since"]);
    assert_eq!(told["from_participant_id"], a.participant_id.as_str());
    let seen = monitor.recv_type("call_issue").await;
    assert_eq!(seen["issue"], "one_way_audio");
    // A monitor that subscribes now sees the issue in its snapshot.
    let mut late = server.client("ops", "admin").await;
    let snapshot = late.request(json!({"type": "monitor_subscribe"})).await;
    let active = &snapshot["calls"][0]["issues"];
    assert_eq!(
        active,
        &json!([{"participant_id": b.participant_id, "issue": "one_way_audio",
                 "since": heard["since"], "from_participant_id": a.participant_id}]),
        "{snapshot}"
    );
    // Nothing else is raised: Omar still gets packets sent, Amira still hears him.
    let others: Vec<Value> = issues_within(&mut b, Duration::from_millis(500))
        .await
        .into_iter()
        .filter(|v| v["issue"] != "one_way_audio")
        .collect();
    assert!(others.is_empty(), "{others:?}");

    relay.block_audio_down(false);
    let (cleared, took) = issue_event(&mut b, "one_way_audio", true).await;
    assert!(took < Duration::from_secs(10), "cleared after {took:?}");
    assert!(
        cleared["duration_ms"].as_i64().unwrap() >= 3000,
        "{cleared}"
    );
    let (cleared_a, _) = issue_event(&mut a, "one_way_audio", true).await;
    assert_eq!(cleared_a["duration_ms"], cleared["duration_ms"]);

    // The report keeps it with both ends; the history finds the call by it.
    let report = report_when(&server, &call_id, |r| {
        r["issues"]
            .as_array()
            .is_some_and(|i| i.iter().any(|i| i["ended_at"].is_number()))
    })
    .await;
    let issue = &report["issues"][0];
    assert_eq!(
        (&issue["issue"], &issue["user_id"], &issue["from_user_id"]),
        (&json!("one_way_audio"), &json!("omar"), &json!("amira")),
        "{issue}"
    );
    let admin = server.token("ops", "admin");
    let (_, found) = server.get(&admin, "/api/calls?issue=one_way_audio").await;
    let ids: Vec<&str> = found["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(ids, [call_id.as_str()]);
    let (_, none) = server.get(&admin, "/api/calls?issue=media_failed").await;
    assert_eq!(none["calls"], json!([]));
    let (status, bad) = server.get(&admin, "/api/calls?issue=gremlins").await;
    assert_eq!(status, 400, "{bad}");
}

#[tokio::test]
async fn a_peer_that_stops_sending_is_no_audio_sent_until_it_sends_again() {
    let server = server().await;
    let call_id = call(&server, "stops").await;
    let (mut a, mut b, [sending, _omar]) = talking(&server, &call_id, None).await;
    // Amira's client stops sending packets altogether; Omar talks on.
    drop(sending);
    let (issue, took) = issue_event(&mut a, "no_audio_sent", false).await;
    assert!(took < Duration::from_secs(10), "raised after {took:?}");
    assert_eq!(issue["participant_id"], a.participant_id.as_str());
    let _again = a.media.publish_with_level(1, Some(25));
    let (cleared, _) = issue_event(&mut a, "no_audio_sent", true).await;
    assert_eq!(cleared["since"], issue["since"]);
    assert!(
        issues_within(&mut b, Duration::from_millis(200))
            .await
            .is_empty(),
        "Omar is not told about Amira's microphone"
    );
}

#[tokio::test]
async fn a_network_gone_for_a_while_is_reconnecting_and_gone_for_good_is_media_failed() {
    let server = server().await;
    let call_id = call(&server, "network").await;
    let relay = Relay::start(Impairment::default(), Impairment::default()).await;
    let (mut a, mut b, _voices) = talking(&server, &call_id, Some(&relay)).await;

    // Omar's network drops for about 4 s (signaling still up).
    relay.cut();
    let (issue, took) = issue_event(&mut b, "reconnecting", false).await;
    assert!(took < Duration::from_secs(10), "raised after {took:?}");
    assert_eq!(issue["user_id"], "omar");
    tokio::time::sleep(Duration::from_secs(1)).await;
    relay.restore();
    let (cleared, _) = issue_event(&mut b, "reconnecting", true).await;
    let lasted = cleared["duration_ms"].as_i64().unwrap();
    assert!(
        (2500..9000).contains(&lasted),
        "the interruption lasted about 4 s, reported {lasted} ms"
    );
    assert!(
        issues_within(&mut a, Duration::from_millis(200))
            .await
            .iter()
            .all(|v| v["issue"] != "reconnecting"),
        "only Omar is told about his connection"
    );

    // Then it goes for good: reconnecting, then media_failed, and he is
    // taken out of the call (so he can join again with a fresh connection).
    relay.cut();
    issue_event(&mut b, "reconnecting", false).await;
    let (failed, took) = issue_event(&mut b, "media_failed", false).await;
    assert!(took < Duration::from_secs(10), "failed after {took:?}");
    let left = b.next_event("call_left").await;
    assert_eq!(left["reason"], "media_failed");
    let report = report_when(&server, &call_id, |r| {
        r["issues"].as_array().is_some_and(|i| {
            i.iter()
                .any(|i| i["issue"] == "media_failed" && i["ended_at"].is_number())
        })
    })
    .await;
    let stored = report["issues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["issue"] == "media_failed")
        .unwrap()
        .clone();
    assert_eq!(stored["started_at"], failed["since"]);
    let kinds: Vec<&str> = report["issues"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["issue"].as_str())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "reconnecting").count(),
        2,
        "{kinds:?}"
    );
}

/// `x` is within 2 percentage points of `want`.
fn near(x: &Value, want: f64) -> bool {
    x.as_f64().is_some_and(|x| (x - want).abs() <= 2.0)
}

#[tokio::test]
async fn loss_on_a_chosen_leg_is_reported_on_that_leg_and_no_other() {
    let server = server().await;
    let call_id = call(&server, "legs").await;
    let a = SfuParticipant::join(&server, "amira", "applicant", &call_id).await;
    // Omar's uplink loses every 10th packet (10 %), his downlink every 20th (5 %).
    let relay = Relay::start(
        Impairment {
            drop_every: 10,
            ..Default::default()
        },
        Impairment {
            drop_every: 20,
            ..Default::default()
        },
    )
    .await;
    let b = SfuParticipant::join_via(
        &server,
        "omar",
        "professional",
        &call_id,
        Some(relay.route()),
    )
    .await;
    let _sa = a.media.publish_with_level(1, Some(25));
    let _sb = b.media.publish_with_level(2, Some(30));
    a.wait_for("omar's packets", |m| {
        m.packets_from(&b.stream()).len() >= 200
    })
    .await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    a.send(json!({"type": "end_call", "call_id": call_id}));
    let report = report_when(&server, &call_id, |r| {
        r["call"]["ended_at"].is_number() && r["diagnosis"].as_array().is_some_and(|d| d.len() == 2)
    })
    .await;
    let of = |user: &str| {
        report["diagnosis"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["user_id"] == user)
            .unwrap()
            .clone()
    };
    let (amira, omar) = (of("amira"), of("omar"));
    // Amira hears Omar's uplink loss, on his uplink; nothing on hers.
    assert!(near(&amira["uplinks"][0]["loss_pct"], 10.0), "{amira}");
    assert_eq!(amira["uplinks"][0]["user_id"], "omar");
    assert!(near(&amira["downlink_loss_pct"], 0.0), "{amira}");
    assert!(near(&amira["heard_loss_pct"], 10.0), "{amira}");
    // Omar hears his own downlink's loss, not blamed on Amira.
    assert!(near(&omar["downlink_loss_pct"], 5.0), "{omar}");
    assert!(near(&omar["uplinks"][0]["loss_pct"], 0.0), "{omar}");
    assert_eq!(omar["sfu_loss_pct"], 0.0);
    let sentence = amira["sentence"].as_str().unwrap();
    assert!(
        sentence.starts_with("amira heard ") && sentence.contains("from omar's uplink"),
        "{sentence}"
    );
    assert!(!sentence.contains("downlink"), "{sentence}");
    let sentence = omar["sentence"].as_str().unwrap();
    assert!(sentence.contains("on omar's downlink"), "{sentence}");
    assert!(!sentence.contains("amira's uplink"), "{sentence}");
    // The same split, interval by interval.
    let legs = report["legs"].as_array().unwrap();
    assert!(legs.len() >= 8, "{legs:?}");
    assert!(legs.iter().all(|l| l["sfu_loss_pct"] == 0.0));
}
