//! Removing a member ends their participation at once: their devices leave
//! the room's call (the others see them go, they are told why), their call
//! signals are refused and they receive no one else's, and in an SFU call
//! the server stops forwarding to and from them.

mod common;

use std::time::Duration;

use common::peer::{Packets, SfuParticipant};
use common::TestServer;
use reqwest::Method;
use serde_json::{json, Value};

async fn remove(server: &TestServer, room: &str, user: &str) {
    let staff = server.token("pro", "professional");
    let (status, body) = server
        .call(
            Method::DELETE,
            Some(&staff),
            &format!("/api/rooms/{room}/members/{user}"),
            None,
        )
        .await;
    assert_eq!(status, 204, "remove {user}: {body}");
}

#[tokio::test]
async fn a_removed_member_leaves_the_p2p_call_and_signals_stop_both_ways() {
    let server = TestServer::start().await;
    server.room("visa-1", "amira", &["omar"]).await;
    let mut amira = server.client("amira", "applicant").await;
    let mut omar = server.client("omar", "professional").await;
    amira.join("visa-1").await;
    let started = amira.start_call("visa-1", "p2p").await;
    let call_id = started["call"]["id"].as_str().unwrap().to_string();
    let a = amira.join_call(&call_id).await;
    let o = omar.join_call(&call_id).await;
    let (a_id, o_id) = (a["participant_id"].clone(), o["participant_id"].clone());

    // Signals flow both ways while she is a member.
    amira.send(json!({"type": "call_signal", "call_id": call_id, "to": o_id, "signal": {"type": "offer", "sdp": "v=0"}})).await;
    assert_eq!(omar.recv_type("call_signal").await["from"], a_id);

    remove(&server, "visa-1", "amira").await;

    // She is told, in the room and in the call; Omar sees her leave.
    let left = amira.recv_type("call_left").await;
    assert_eq!(left["call_id"], call_id.as_str());
    assert_eq!(left["reason"], "removed", "{left}");
    let gone = omar.recv_type("call_participant_left").await;
    assert_eq!(gone["participant_id"], a_id);
    assert_eq!(gone["user_id"], "amira");

    // Her signals are refused with a typed error and reach nobody.
    let refused = amira
        .request(json!({"type": "call_signal", "call_id": call_id, "to": o_id, "signal": {"type": "offer", "sdp": "v=0"}}))
        .await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["code"], "ACCESS_DENIED", "{refused}");
    // Omar's to her are refused too, and she receives none.
    let lost = omar
        .request(json!({"type": "call_signal", "call_id": call_id, "to": a_id, "signal": {"type": "answer", "sdp": "v=0"}}))
        .await;
    assert_eq!(lost["code"], "NOT_FOUND", "{lost}");
    let seen: Vec<Value> = amira.sync().await;
    assert!(
        seen.iter().all(|m| m["type"] != "call_signal"),
        "a removed member received a signal: {seen:?}"
    );
    assert!(
        omar.sync().await.iter().all(|m| m["type"] != "call_signal"),
        "omar received a signal from a removed member"
    );

    // She cannot come back in.
    let again = amira.join_call(&call_id).await;
    assert_eq!(again["code"], "ACCESS_DENIED", "{again}");
    // Her room subscription is gone too: sending there is refused.
    let send = amira
        .request(json!({"type": "send_message", "room_id": "visa-1", "client_msg_id": "c1", "text": "still here?"}))
        .await;
    assert_eq!(send["code"], "NOT_JOINED", "{send}");

    // The call carries on for Omar.
    let (_, call) = server
        .get(&omar.token, &format!("/api/calls/{call_id}"))
        .await;
    assert!(call["ended_at"].is_null(), "{call}");
}

async fn sfu_status(server: &TestServer) -> Value {
    let admin = server.token("root", "admin");
    server.get(&admin, "/api/status").await.1["sfu"].clone()
}

#[tokio::test]
async fn a_removed_member_stops_sending_and_receiving_media_in_an_sfu_call() {
    let server = TestServer::start().await;
    server.room("visa-2", "amira", &["omar"]).await;
    let mut starter = server.client("amira", "applicant").await;
    let started = starter.start_call("visa-2", "sfu").await;
    let call_id = started["call"]["id"].as_str().unwrap().to_string();
    let mut a = SfuParticipant::join(&server, "amira", "applicant", &call_id).await;
    let _sa = a.media.publish(1);
    let mut o = SfuParticipant::join(&server, "omar", "professional", &call_id).await;
    let _so = o.media.publish(2);
    a.wait_for("omar's audio", |m| m.packets_from(&o.stream()).len() >= 20)
        .await;
    o.wait_for("amira's audio", |m| m.packets_from(&a.stream()).len() >= 20)
        .await;
    assert_eq!(sfu_status(&server).await["peers"], 2);

    remove(&server, "visa-2", "amira").await;

    let left = a.next_event("call_left").await;
    assert_eq!(left["reason"], "removed", "{left}");
    let gone = o.next_event("call_participant_left").await;
    assert_eq!(gone["participant_id"], a.participant_id.as_str());
    // The server dropped her peer and every track to or from it.
    let s = sfu_status(&server).await;
    assert_eq!(s["peers"], 1, "{s}");
    assert_eq!(s["tracks"], 0, "{s}");
    // Her offers are refused.
    a.send(json!({"type": "sfu_offer", "call_id": call_id, "sdp": "v=0", "request_id": "again"}));
    let refused = a.next_event("error").await;
    assert_eq!(refused["code"], "ACCESS_DENIED", "{refused}");
    // Nothing more arrives either way.
    let (heard, sent) = (
        a.media.packets_from(&o.stream()).len(),
        o.media.packets_from(&a.stream()).len(),
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        a.media.packets_from(&o.stream()).len(),
        heard,
        "she still hears omar"
    );
    assert_eq!(
        o.media.packets_from(&a.stream()).len(),
        sent,
        "omar still hears her"
    );
}
