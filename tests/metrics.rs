//! `GET /metrics` in the Prometheus text format: connections, rooms,
//! messages, errors by code, HTTP statuses, calls, forwarded packets,
//! quality histograms and process figures, behind an optional token.

mod common;

use std::time::Duration;

use common::peer::{Packets, SfuParticipant};
use common::{metric_samples, metric_value, TestServer};
use serde_json::json;

/// Every sample of the exposition, as (name with labels, value).
async fn scrape(server: &TestServer, token: Option<&str>) -> (u16, Vec<(String, f64)>) {
    let mut req = reqwest::Client::new().get(server.http("/metrics"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("scrape");
    let status = res.status().as_u16();
    let ctype = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let text = res.text().await.unwrap();
    if status != 200 {
        return (status, vec![]);
    }
    assert!(ctype.starts_with("text/plain"), "{ctype}");
    let samples = metric_samples(&text);
    (status, samples)
}

#[tokio::test]
async fn metrics_expose_what_the_server_does() {
    let server = TestServer::with(|c| {
        c.quality_interval = Duration::from_secs(1);
        c.quality_hysteresis = 1;
    })
    .await;
    server.room("m-room", "amira", &["omar"]).await;
    let mut a = server.client("amira", "applicant").await;
    let _b = server.client("omar", "professional").await;
    a.join("m-room").await;
    for i in 0..3 {
        a.say("m-room", &format!("c{i}"), "hello").await;
    }
    a.say("m-room", "c0", "hello").await; // a resend: not stored again
    a.send_raw("{not json").await;
    a.recv_type("error").await;
    server.get(&a.token, "/api/nothing-here").await;

    let (status, m) = scrape(&server, None).await;
    assert_eq!(status, 200);
    assert_eq!(metric_value(&m, "earshot_connections"), 2.0);
    assert_eq!(metric_value(&m, "earshot_users_online"), 2.0);
    assert_eq!(metric_value(&m, "earshot_messages_stored_total"), 3.0);
    assert_eq!(
        metric_value(&m, "earshot_socket_errors_total{code=\"BAD_REQUEST\"}"),
        1.0
    );
    assert!(metric_value(&m, "earshot_http_responses_total{status=\"404\"}") >= 1.0);
    assert!(metric_value(&m, "earshot_http_responses_total{status=\"201\"}") >= 1.0);
    assert!(metric_value(&m, "earshot_socket_frames_total{direction=\"in\"}") >= 6.0);
    assert!(metric_value(&m, "earshot_socket_frames_total{direction=\"out\"}") >= 6.0);
    assert!(metric_value(&m, "earshot_rooms_active") >= 1.0);
    assert!(metric_value(&m, "process_resident_memory_bytes") > 1e6);
    // Whole seconds: a young process may show 0; it must be there.
    assert!(metric_value(&m, "process_cpu_seconds_total") >= 0.0);
    assert!(metric_value(&m, "process_open_fds") > 0.0);

    // A call with media: forwarded packets and quality samples.
    let started = a.start_call("m-room", "sfu").await;
    let call = started["call"]["id"].as_str().unwrap().to_string();
    let pa = SfuParticipant::join(&server, "amira", "applicant", &call).await;
    let _sa = pa.media.publish(1);
    let pb = SfuParticipant::join(&server, "omar", "professional", &call).await;
    let _sb = pb.media.publish(2);
    pb.wait_for("audio", |p| p.packets_from(&pa.stream()).len() >= 50)
        .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (_, m) = scrape(&server, None).await;
    assert_eq!(metric_value(&m, "earshot_calls_active"), 1.0);
    assert_eq!(
        metric_value(&m, "earshot_calls_started_total{mode=\"sfu\"}"),
        1.0
    );
    assert_eq!(metric_value(&m, "earshot_call_participants"), 2.0);
    assert_eq!(metric_value(&m, "earshot_sfu_peers"), 2.0);
    assert_eq!(metric_value(&m, "earshot_sfu_tracks"), 2.0);
    assert!(metric_value(&m, "earshot_sfu_forwarded_packets_total") >= 100.0);
    assert!(metric_value(&m, "earshot_sfu_received_packets_total") >= 100.0);
    let samples = metric_value(&m, "earshot_call_quality_mos_count");
    assert!(samples >= 2.0, "{samples} MOS samples");
    // Clean loopback audio: every sample scores above 4.
    assert_eq!(
        metric_value(&m, "earshot_call_quality_mos_bucket{le=\"4.03\"}"),
        0.0
    );
    assert_eq!(
        metric_value(&m, "earshot_call_quality_loss_percent_count"),
        samples
    );

    a.request(json!({"type": "end_call", "call_id": call}))
        .await;
    a.recv_type("call_ended").await;
    let (_, m) = scrape(&server, None).await;
    assert_eq!(metric_value(&m, "earshot_calls_active"), 0.0);
    assert_eq!(metric_value(&m, "earshot_call_participants"), 0.0);
    assert_eq!(
        metric_value(&m, "earshot_calls_ended_total{reason=\"ended\"}"),
        1.0
    );
}

#[tokio::test]
async fn a_metrics_token_guards_the_endpoint() {
    let server = TestServer::with(|c| c.metrics_token = Some("scrape-me-0123456789".into())).await;
    assert_eq!(scrape(&server, None).await.0, 401);
    assert_eq!(scrape(&server, Some("wrong")).await.0, 401);
    let (status, m) = scrape(&server, Some("scrape-me-0123456789")).await;
    assert_eq!(status, 200);
    assert_eq!(metric_value(&m, "earshot_connections"), 0.0);
}
