//! Live monitoring of ongoing calls: a monitoring role subscribes on its
//! socket and sees calls start, participants join with their quality, and
//! calls end with a summary; REST gives the same view; other roles and
//! other tenants see nothing.

mod common;

use std::time::Duration;

use common::peer::{Packets, SfuParticipant};
use common::{claims, TestServer};
use serde_json::{json, Value};

async fn quality_server() -> TestServer {
    TestServer::with(|c| {
        c.quality_interval = Duration::from_secs(1);
        c.quality_hysteresis = 1;
    })
    .await
}

#[tokio::test]
async fn a_monitor_sees_calls_start_sample_and_end() {
    let server = quality_server().await;
    server.room("desk-1", "amira", &["omar"]).await;
    let mut ops = server.client("ops", "admin").await;
    let snap = ops.request(json!({"type": "monitor_subscribe"})).await;
    assert_eq!(snap["type"], "monitor_snapshot", "{snap}");
    assert_eq!(snap["calls"], json!([]));

    let mut host = server.client("amira", "applicant").await;
    let started = host
        .request(json!({"type": "start_call", "room_id": "desk-1"}))
        .await;
    let call = started["call"]["id"].as_str().unwrap().to_string();
    let first = ops
        .recv_where("monitor_call for the new call", |m| {
            m["type"] == "monitor_call" && m["call"]["id"] == call.as_str()
        })
        .await;
    assert_eq!(first["call"]["room_id"], "desk-1");
    assert_eq!(first["call"]["mode"], "sfu");
    assert_eq!(first["call"]["initiator"]["id"], "amira");

    let a = SfuParticipant::join(&server, "amira", "applicant", &call).await;
    let _sa = a.media.publish(1);
    let b = SfuParticipant::join(&server, "omar", "professional", &call).await;
    let _sb = b.media.publish(2);
    b.wait_for("audio", |m| m.packets_from(&a.stream()).len() >= 50)
        .await;
    // A push with both participants and a quality sample for each.
    let sampled = ops
        .recv_where("monitor_call with quality for both", |m| {
            m["type"] == "monitor_call"
                && m["call"]["participants"].as_array().is_some_and(|ps| {
                    ps.len() == 2 && ps.iter().all(|p| p["quality"]["mos"].is_number())
                })
        })
        .await;
    for p in sampled["call"]["participants"].as_array().unwrap() {
        let q = &p["quality"];
        assert!(
            ["excellent", "good"].contains(&q["level"].as_str().unwrap()),
            "{q}"
        );
        assert!(q["loss_pct"].as_f64().unwrap() < 2.0, "{q}");
        assert!(q["bitrate_kbps"].as_f64().unwrap() > 0.0, "{q}");
    }
    let users: Vec<&str> = sampled["call"]["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["user"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(users.len(), 2);
    assert!(users.contains(&"amira") && users.contains(&"omar"));

    // The same view over REST.
    let (status, body) = server.get(&ops.token, "/api/monitor/calls").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["calls"][0]["id"], call.as_str());
    assert_eq!(
        body["calls"][0]["participants"].as_array().unwrap().len(),
        2
    );
    // A monitor subscribing now gets the ongoing call in its snapshot.
    let mut late = server.client("ops2", "admin").await;
    let snap = late.request(json!({"type": "monitor_subscribe"})).await;
    assert_eq!(snap["calls"][0]["id"], call.as_str(), "{snap}");

    host.request(json!({"type": "end_call", "call_id": call}))
        .await;
    let ended = ops
        .recv_where("monitor_call_ended", |m| m["type"] == "monitor_call_ended")
        .await;
    assert_eq!(ended["call_id"], call.as_str());
    let summary = &ended["summary"];
    assert_eq!(summary["participants"], 2, "{summary}");
    assert!(summary["samples"].as_i64().unwrap() >= 2, "{summary}");
    assert!(summary["avg_mos"].as_f64().unwrap() > 4.0, "{summary}");
    let (_, body) = server.get(&ops.token, "/api/monitor/calls").await;
    assert_eq!(body["calls"], json!([]));

    // After unsubscribing, nothing more arrives.
    let ok = ops.request(json!({"type": "monitor_unsubscribe"})).await;
    assert_eq!(ok["type"], "ok");
    host.request(json!({"type": "start_call", "room_id": "desk-1"}))
        .await;
    let pushed: Vec<Value> = ops.sync().await;
    assert!(
        pushed.iter().all(|m| m["type"] != "monitor_call"),
        "{pushed:?}"
    );
}

#[tokio::test]
async fn only_monitoring_roles_in_scope_see_calls() {
    let server = quality_server().await;
    let mut tenant_a = claims("amira", "applicant");
    tenant_a.tenant = Some("clinic-a".into());
    // Made under its id by clinic A's product, in Amira's name.
    let product = server.token_with(earshot::auth::Claims {
        role: "service".into(),
        ..tenant_a.clone()
    });
    server
        .create_room(
            &product,
            json!({"id": "a-room", "type": "ticket", "title": "A"}),
        )
        .await;
    let mut host = server.client_with(tenant_a).await;
    host.start_call("a-room", "p2p").await;

    // Applicants and professionals are not monitors (by default only admin).
    for role in ["applicant", "professional"] {
        let mut c = server.client("someone", role).await;
        let r = c.request(json!({"type": "monitor_subscribe"})).await;
        assert_eq!(r["code"], "ACCESS_DENIED", "{role}: {r}");
        assert_eq!(r["message"], "monitoring is for monitoring roles", "{r}");
        let (status, body) = server.get(&c.token, "/api/monitor/calls").await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("ACCESS_DENIED"))
        );
        // The socket is still usable.
        c.sync().await;
    }
    // An admin of another tenant sees none of clinic A's calls.
    let mut other = claims("ops-b", "admin");
    other.tenant = Some("clinic-b".into());
    let mut b = server.client_with(other.clone()).await;
    let snap = b.request(json!({"type": "monitor_subscribe"})).await;
    assert_eq!(snap["calls"], json!([]), "{snap}");
    let (_, body) = server
        .get(&server.token_with(other), "/api/monitor/calls")
        .await;
    assert_eq!(body["calls"], json!([]));
    // Clinic A's admin, and an admin without a tenant, do.
    let mut mine = claims("ops-a", "admin");
    mine.tenant = Some("clinic-a".into());
    let (_, body) = server
        .get(&server.token_with(mine), "/api/monitor/calls")
        .await;
    assert_eq!(body["calls"].as_array().unwrap().len(), 1, "{body}");
    let (_, body) = server
        .get(&server.token("root", "admin"), "/api/monitor/calls")
        .await;
    assert_eq!(body["calls"][0]["room_id"], "a-room");
}
