//! Live call issues through the real server: a participant whose
//! microphone sends only silence while the other speaks is told
//! (`call_issue` `no_audio_sent`) within seconds, monitors see it, it clears
//! when their voice comes through, and the call's report keeps it with its
//! start and end; a healthy call, and a muted participant, raise nothing.

mod common;

use std::time::Duration;

use common::peer::{Packets, SfuParticipant};
use common::TestServer;
use serde_json::{json, Value};

async fn server() -> TestServer {
    TestServer::with(|c| {
        c.quality_interval = Duration::from_secs(1);
        c.issue_no_audio_after = Duration::from_secs(3);
    })
    .await
}

async fn call(server: &TestServer, room: &str) -> String {
    server.room(room, "amira", &["omar"]).await;
    let mut starter = server.client("amira", "applicant").await;
    let started = starter.start_call(room, "sfu").await;
    started["call"]["id"].as_str().unwrap().to_string()
}

/// Every event of `kind` that reached `p` within `wait`.
async fn events(p: &mut SfuParticipant, kind: &str, wait: Duration) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut out = vec![];
    while let Ok(Some(v)) = tokio::time::timeout_at(deadline, p.events.recv()).await {
        if v["type"] == kind {
            out.push(v);
        }
    }
    out
}

#[tokio::test]
async fn a_silent_microphone_is_reported_to_its_owner_and_clears_when_the_voice_comes_through() {
    let server = server().await;
    let call_id = call(&server, "issues").await;
    let mut monitor = server.client("ops", "admin").await;
    monitor.request(json!({"type": "monitor_subscribe"})).await;
    let mut a = SfuParticipant::join(&server, "amira", "applicant", &call_id).await;
    let mut b = SfuParticipant::join(&server, "omar", "professional", &call_id).await;
    // Amira's microphone sends packets marked silent (level 127); Omar talks.
    let silent = a.media.publish_with_level(1, Some(127));
    let _sb = b.media.publish_with_level(2, Some(30));
    b.wait_for("amira's packets", |m| {
        m.packets_from(&a.stream()).len() >= 50
    })
    .await;

    let started = tokio::time::Instant::now();
    let issue = a.next_event("call_issue").await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "raised within 10 s"
    );
    assert_eq!(
        (&issue["issue"], &issue["participant_id"], &issue["user_id"]),
        (
            &json!("no_audio_sent"),
            &json!(a.participant_id),
            &json!("amira")
        ),
        "{issue}"
    );
    let seen = monitor.recv_type("call_issue").await;
    assert_eq!(seen["participant_id"], a.participant_id.as_str());
    assert!(
        events(&mut b, "call_issue", Duration::from_millis(200))
            .await
            .is_empty(),
        "Omar is fine, and is not told about Amira's microphone"
    );

    // She fixes her microphone: her voice comes through and the issue clears.
    drop(silent);
    let _voice = a.media.publish_with_level(1, Some(25));
    let cleared = a.next_event("call_issue_cleared").await;
    assert_eq!(cleared["issue"], "no_audio_sent");
    assert!(
        cleared["duration_ms"].as_i64().unwrap() >= 3000,
        "{cleared}"
    );
    assert_eq!(cleared["since"], issue["since"]);

    // The report keeps it, with its start and end.
    let mut host = server.client("amira", "applicant").await;
    host.request(json!({"type": "end_call", "call_id": call_id}))
        .await;
    let admin = server.token("ops", "admin");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let issues = loop {
        let (status, report) = server
            .get(&admin, &format!("/api/calls/{call_id}/report"))
            .await;
        assert_eq!(status, 200, "{report}");
        if report["issues"]
            .as_array()
            .is_some_and(|i| !i.is_empty() && !i[0]["ended_at"].is_null())
        {
            break report["issues"].clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no issue in the report: {report}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(issues.as_array().unwrap().len(), 1, "{issues}");
    assert_eq!(
        (&issues[0]["issue"], &issues[0]["user_id"]),
        (&json!("no_audio_sent"), &json!("amira"))
    );
    assert_eq!(issues[0]["started_at"], issue["since"]);
}

#[tokio::test]
async fn a_healthy_call_and_a_muted_participant_raise_nothing() {
    let server = server().await;
    let call_id = call(&server, "healthy").await;
    let mut a = SfuParticipant::join(&server, "amira", "applicant", &call_id).await;
    let mut b = SfuParticipant::join(&server, "omar", "professional", &call_id).await;
    let talking = a.media.publish_with_level(1, Some(25));
    let _sb = b.media.publish_with_level(2, Some(30));
    b.wait_for("amira's packets", |m| {
        m.packets_from(&a.stream()).len() >= 50
    })
    .await;
    // Twice the delay, both talking: nothing.
    assert!(events(&mut a, "call_issue", Duration::from_secs(7))
        .await
        .is_empty());
    assert!(events(&mut b, "call_issue", Duration::from_millis(100))
        .await
        .is_empty());
    // Amira mutes herself and goes quiet: silence is expected, nothing is raised.
    a.send(json!({"type": "set_mute", "call_id": call_id, "muted": true}));
    drop(talking);
    let _quiet = a.media.publish_with_level(1, Some(127));
    assert!(events(&mut a, "call_issue", Duration::from_secs(6))
        .await
        .is_empty());
}

#[tokio::test]
async fn a_participant_who_hears_nothing_while_the_other_speaks_is_told() {
    let server = server().await;
    let call_id = call(&server, "deaf").await;
    let mut a = SfuParticipant::join(&server, "amira", "applicant", &call_id).await;
    let _sa = a.media.publish_with_level(1, Some(25));
    // Omar's client never answers the server's offer for Amira's track: her
    // audio never reaches him, though his reaches her.
    let mut b = SfuParticipant::join_deaf(&server, "omar", "professional", &call_id).await;
    let _sb = b.media.publish_with_level(2, Some(30));
    a.wait_for("omar's packets", |m| {
        m.packets_from(&b.stream()).len() >= 50
    })
    .await;
    let issue = b.next_event("call_issue").await;
    assert_eq!(
        (&issue["issue"], &issue["user_id"]),
        (&json!("no_audio_received"), &json!("omar")),
        "{issue}"
    );
    assert!(
        events(&mut a, "call_issue", Duration::from_millis(300))
            .await
            .is_empty(),
        "Amira hears Omar and sends: nothing for her"
    );
    // Omar leaves: his issue ends with him.
    b.send(json!({"type": "leave_call", "call_id": call_id}));
    let admin = server.token("ops", "admin");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, report) = server
            .get(&admin, &format!("/api/calls/{call_id}/report"))
            .await;
        let issues = report["issues"].as_array().cloned().unwrap_or_default();
        if issues
            .iter()
            .any(|i| i["issue"] == "no_audio_received" && i["ended_at"].is_number())
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{report}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// No false alarms: a clean three-way call for a full minute (one talking,
/// one listening with a live microphone's background noise, one talking
/// who mutes and unmutes along the way) raises no issue for anyone.
#[tokio::test]
async fn a_clean_call_raises_nothing_for_a_minute() {
    let server = server().await;
    server.room("clean", "amira", &["omar", "lina"]).await;
    let mut starter = server.client("amira", "applicant").await;
    let started = starter.start_call("clean", "sfu").await;
    let call_id = started["call"]["id"].as_str().unwrap().to_string();
    let mut monitor = server.client("ops", "admin").await;
    monitor.request(json!({"type": "monitor_subscribe"})).await;
    let mut a = SfuParticipant::join(&server, "amira", "applicant", &call_id).await;
    let mut b = SfuParticipant::join(&server, "omar", "professional", &call_id).await;
    let mut c = SfuParticipant::join(&server, "lina", "professional", &call_id).await;
    let _sa = a.media.publish_with_level(1, Some(25));
    let _sb = b.media.publish_with_level(2, Some(90)); // noise, no voice
    let _sc = c.media.publish_with_level(3, Some(30));
    b.wait_for("everyone's packets", |m| {
        m.packets_from(&a.stream()).len() >= 50 && m.packets_from(&c.stream()).len() >= 50
    })
    .await;
    let mut raised = vec![];
    for phase in 0..6 {
        // Lina mutes for the middle 20 s.
        if phase == 2 || phase == 4 {
            c.send(json!({"type": "set_mute", "call_id": call_id, "muted": phase == 2}));
        }
        for p in [&mut a, &mut b, &mut c] {
            raised.extend(events(p, "call_issue", Duration::from_millis(3300)).await);
        }
    }
    let seen = monitor
        .collect_type("call_issue", Duration::from_millis(200))
        .await;
    assert!(raised.is_empty(), "false alarms: {raised:?}");
    assert!(seen.is_empty(), "false alarms seen by monitors: {seen:?}");
    let admin = server.token("ops", "admin");
    let (_, report) = server
        .get(&admin, &format!("/api/calls/{call_id}/report"))
        .await;
    assert_eq!(report["issues"], json!([]), "{}", report["issues"]);
    assert!(
        report["samples"].as_array().unwrap().len() >= 150,
        "the minute was measured"
    );
}
