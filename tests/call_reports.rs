//! Per-call quality reports and the call list: the right participants,
//! times and samples after a real SFU call; filters by room, participant,
//! time and worst quality; only calls the caller may see.

mod common;

use std::time::Duration;

use common::peer::{Packets, SfuParticipant};
use common::TestServer;
use serde_json::{json, Value};

async fn quality_server() -> TestServer {
    TestServer::with(|c| {
        c.quality_interval = Duration::from_secs(1);
        c.quality_hysteresis = 1;
    })
    .await
}

/// Start an sfu call in a new room, run it with two publishing peers for a
/// few seconds (the first one losing every `drop_every`-th packet, if
/// set), end it, and return its id.
async fn run_call(
    server: &TestServer,
    room: &str,
    users: [&str; 2],
    drop_every: u16,
    report_while_active: bool,
) -> String {
    server.room(room, users[0], &users[1..]).await;
    let mut host = server.client(users[0], "applicant").await;
    let started = host
        .request(json!({"type": "start_call", "room_id": room, "mode": "sfu"}))
        .await;
    let call = started["call"]["id"].as_str().unwrap().to_string();
    let a = SfuParticipant::join(server, users[0], "applicant", &call).await;
    a.media.set_drop_every(drop_every);
    let _sa = a.media.publish(1);
    let b = SfuParticipant::join(server, users[1], "professional", &call).await;
    let _sb = b.media.publish(2);
    b.wait_for("audio", |m| m.packets_from(&a.stream()).len() >= 50)
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    if report_while_active {
        let (status, live) = server
            .get(&host.token, &format!("/api/calls/{call}/report"))
            .await;
        assert_eq!(status, 200, "{live}");
        assert_eq!(live["active"], true);
        assert!(live["call"]["ended_at"].is_null());
        assert!(live["summary"]["samples"].as_i64().unwrap() > 0, "{live}");
    }
    let ok = host
        .request(json!({"type": "end_call", "call_id": call}))
        .await;
    assert_eq!(ok["type"], "ok", "{ok}");
    host.recv_type("call_ended").await;
    // The summary is written right after the end is announced.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, r) = server
            .get(&host.token, &format!("/api/calls/{call}/report"))
            .await;
        if r["summary"]["ended_at"].is_number() && r["summary"]["avg_mos"].is_number() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no summary: {r}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    a.close().await;
    b.close().await;
    call
}

fn ids(body: &Value) -> Vec<String> {
    body["calls"]
        .as_array()
        .unwrap_or_else(|| panic!("no calls in {body}"))
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_report_has_the_participants_times_and_samples() {
    let server = quality_server().await;
    let call = run_call(&server, "visa-1", ["amira", "omar"], 8, true).await;
    let token = server.token("omar", "professional");
    let (status, r) = server
        .get(&token, &format!("/api/calls/{call}/report"))
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["active"], false);
    let record = &r["call"];
    assert_eq!(record["id"], call.as_str());
    assert_eq!(record["end_reason"], "ended");
    let people = record["participants"].as_array().unwrap();
    assert_eq!(people.len(), 2, "{record}");
    for p in people {
        let (joined, left) = (
            p["joined_at"].as_i64().unwrap(),
            p["left_at"].as_i64().unwrap(),
        );
        assert!(
            joined >= record["started_at"].as_i64().unwrap() && left >= joined + 2000,
            "{p}"
        );
    }

    let summary = &r["summary"];
    assert_eq!(summary["participants"], 2, "{summary}");
    assert!(
        summary["duration_ms"].as_i64().unwrap() >= 3000,
        "{summary}"
    );
    assert!(summary["samples"].as_i64().unwrap() >= 4, "{summary}");
    let (avg, worst) = (
        summary["avg_mos"].as_f64().unwrap(),
        summary["worst_mos"].as_f64().unwrap(),
    );
    assert!((1.0..=4.5).contains(&worst) && worst <= avg, "{summary}");
    // amira lost 1 in 8 packets: the call's worst moment is poor.
    assert_eq!(summary["worst_level"], "poor", "{summary}");
    assert!(summary["max_loss_pct"].as_f64().unwrap() > 8.0, "{summary}");

    let by_participant = |pid: &str| {
        r["participants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["participant_id"] == pid)
            .cloned()
            .unwrap_or_else(|| panic!("{pid} not in report"))
    };
    let amira = by_participant(people[0]["participant_id"].as_str().unwrap());
    let omar = by_participant(people[1]["participant_id"].as_str().unwrap());
    assert_eq!(amira["user_id"], "amira");
    assert!(amira["samples"].as_i64().unwrap() >= 2, "{amira}");
    assert!(omar["samples"].as_i64().unwrap() >= 2, "{omar}");
    assert!(
        amira["avg_loss_pct"].as_f64().unwrap() > omar["avg_loss_pct"].as_f64().unwrap() + 5.0,
        "{amira} vs {omar}"
    );
    assert!(amira["avg_mos"].as_f64().unwrap() < omar["avg_mos"].as_f64().unwrap());

    let samples = r["samples"].as_array().unwrap();
    assert!(samples.len() as i64 == summary["samples"].as_i64().unwrap());
    assert!(samples
        .windows(2)
        .all(|w| w[0]["at"].as_i64() <= w[1]["at"].as_i64()));
    for s in samples {
        let mos = s["mos"].as_f64().unwrap();
        assert!((1.0..=4.5).contains(&mos), "{s}");
        assert!(["poor", "fair", "good", "excellent"].contains(&s["level"].as_str().unwrap()));
        assert!(s["at"].as_i64().unwrap() >= record["started_at"].as_i64().unwrap());
    }
}

#[tokio::test]
async fn calls_are_listed_with_filters_for_those_who_may_see_them() {
    let server = quality_server().await;
    let before = earshot_signaling::store::now_ms();
    let lossy = run_call(&server, "visa-2", ["amira", "omar"], 5, false).await;
    let middle = earshot_signaling::store::now_ms();
    let clean = run_call(&server, "visa-3", ["lina", "omar"], 0, false).await;

    let omar = server.token("omar", "professional");
    let amira = server.token("amira", "applicant");
    let lina = server.token("lina", "applicant");
    let admin = server.token("root", "admin");
    let list = |token: &str, q: &str| {
        let (token, q) = (token.to_string(), q.to_string());
        let server = &server;
        async move {
            let (status, body) = server.get(&token, &format!("/api/calls{q}")).await;
            assert_eq!(status, 200, "{q}: {body}");
            body
        }
    };

    // Newest first, each with its summary.
    let all = list(&omar, "").await;
    assert_eq!(ids(&all), vec![clean.clone(), lossy.clone()]);
    let first = &all["calls"][1];
    assert_eq!(first["room_id"], "visa-2");
    assert_eq!(first["participants"], 2);
    assert_eq!(first["worst_level"], "poor", "{first}");
    assert!(first["avg_mos"].is_number() && first["duration_ms"].is_number());

    // Only rooms the caller may access; staff without a tenant see all.
    assert_eq!(ids(&list(&amira, "").await), vec![lossy.clone()]);
    assert_eq!(ids(&list(&lina, "").await), vec![clean.clone()]);
    assert_eq!(ids(&list(&admin, "").await).len(), 2);

    // Filters.
    assert_eq!(
        ids(&list(&omar, "?room_id=visa-3").await),
        vec![clean.clone()]
    );
    assert_eq!(ids(&list(&omar, "?worst=poor").await), vec![lossy.clone()]);
    assert_eq!(
        ids(&list(&omar, "?user_id=lina").await),
        vec![clean.clone()]
    );
    assert_eq!(
        ids(&list(&omar, &format!("?since={middle}")).await),
        vec![clean.clone()]
    );
    assert_eq!(
        ids(&list(&omar, &format!("?since={before}&until={middle}")).await),
        vec![lossy.clone()]
    );
    assert_eq!(ids(&list(&omar, "?limit=1").await), vec![clean.clone()]);
    // amira cannot widen her view by filtering on a room she is not in.
    assert!(ids(&list(&amira, "?room_id=visa-3").await).is_empty());

    // Bad filters are typed errors.
    for q in [
        "?worst=awful",
        "?since=yesterday",
        "?since=10&until=5",
        "?colour=red",
    ] {
        let (status, body) = server.get(&omar, &format!("/api/calls{q}")).await;
        assert_eq!(status, 400, "{q}: {body}");
        assert_eq!(body["code"], "BAD_REQUEST", "{q}: {body}");
    }
    // Reports follow room access: without it, the call looks missing.
    let (status, body) = server
        .get(&lina, &format!("/api/calls/{lossy}/report"))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("NOT_FOUND")),
        "{body}"
    );
    let (status, _) = server.get(&lina, "/api/calls/nope/report").await;
    assert_eq!(status, 404);
    let (status, _) = server
        .call(reqwest::Method::GET, None, "/api/calls", None)
        .await;
    assert_eq!(status, 401);
}
