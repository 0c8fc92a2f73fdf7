//! Calls that behave like a phone: the caller sees `ringing` until someone
//! answers; callees' devices ring until one answers (the others stop), they
//! decline, the caller cancels, or nobody answers in time (`missed`, with a
//! stored notification); a callee already in a call is `busy`. Each call
//! leaves one entry in its room's history, and a reconnecting device learns
//! which calls still exist.

mod common;

use std::time::Duration;

use common::{Client, TestServer};
use serde_json::{json, Value};

/// `caller` starts a p2p call in `room` and joins it; returns the call id.
async fn dial(caller: &mut Client, room: &str) -> String {
    let started = caller.start_call(room, "p2p").await;
    assert_eq!(started["type"], "call_started", "{started}");
    assert_eq!(
        started["call"]["state"], "ringing",
        "the caller is calling, not connected"
    );
    let call_id = started["call"]["id"].as_str().unwrap().to_string();
    let joined = caller.join_call(&call_id).await;
    assert_eq!(joined["type"], "call_joined", "{joined}");
    assert_eq!(joined["call"]["state"], "ringing");
    call_id
}

/// The state of `user` among the call's invitees.
fn invitee<'a>(call: &'a Value, user: &str) -> &'a Value {
    call["invitees"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["user_id"] == user)
        .unwrap_or_else(|| panic!("{user} not invited: {call}"))
}

/// A 1:1 room `r`: Amira, and Omar on two devices (a phone and a laptop).
async fn one_to_one() -> (TestServer, Client, Client, Client) {
    let server = TestServer::start().await;
    server.room("r", "amira", &["omar"]).await;
    let amira = server.client("amira", "applicant").await;
    let phone = server.client("omar", "professional").await;
    let laptop = server.client("omar", "professional").await;
    (server, amira, phone, laptop)
}

/// The room's newest message, over REST.
async fn last_entry(server: &TestServer, c: &Client, room: &str) -> Value {
    let (status, body) = server
        .get(&c.token, &format!("/api/rooms/{room}/messages"))
        .await;
    assert_eq!(status, 200, "{body}");
    body["messages"]
        .as_array()
        .unwrap()
        .last()
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn a_caller_who_hangs_up_before_an_answer_stops_every_ring() {
    let (server, mut amira, mut phone, mut laptop) = one_to_one().await;
    let call_id = dial(&mut amira, "r").await;
    for device in [&mut phone, &mut laptop] {
        let ring = device.recv_type("call_started").await;
        assert_eq!(ring["call"]["state"], "ringing");
        assert_eq!(invitee(&ring["call"], "omar")["state"], "ringing");
        assert_eq!(ring["call"]["initiator"]["id"], "amira");
    }
    // Amira hangs up after a moment: the ring stops everywhere at once.
    amira
        .request(json!({"type": "leave_call", "call_id": call_id}))
        .await;
    for device in [&mut phone, &mut laptop, &mut amira] {
        let ended = device.recv_type("call_ended").await;
        assert_eq!(ended["call_id"], call_id.as_str());
        assert_eq!(
            (&ended["reason"], &ended["outcome"]),
            (&json!("cancelled"), &json!("cancelled"))
        );
        assert!(ended.get("duration_ms").is_none(), "{ended}");
    }
    // Nothing is left to join, and a new call can start at once.
    let r = phone.join_call(&call_id).await;
    assert_eq!(r["code"], "NOT_FOUND", "{r}");
    let entry = last_entry(&server, &phone, "r").await;
    assert_eq!(entry["message_type"], "call");
    assert_eq!(entry["text"], "Missed voice call");
    assert_eq!(entry["sender"]["id"], "amira");
    assert_eq!(entry["metadata"]["outcome"], "cancelled");
    assert_eq!(entry["metadata"]["call_id"], call_id.as_str());
    // Omar missed it: a stored notification says so.
    let (_, notes) = server.get(&phone.token, "/api/notifications").await;
    let note = &notes["notifications"][0];
    assert_eq!(note["title"], "Missed voice call from Amira", "{notes}");
    assert_eq!(note["room_id"], "r");
    let (_, record) = server
        .get(&phone.token, &format!("/api/calls/{call_id}"))
        .await;
    assert_eq!(record["call"]["outcome"], "cancelled");
    assert_eq!(
        record["call"]["invitees"][0]["state"], "cancelled",
        "{record}"
    );
    let again = amira.start_call("r", "p2p").await;
    assert_eq!(again["type"], "call_started", "{again}");
}

#[tokio::test]
async fn an_answer_on_one_device_stops_the_others_and_the_call_ends_when_everyone_leaves() {
    let (server, mut amira, mut phone, mut laptop) = one_to_one().await;
    let call_id = dial(&mut amira, "r").await;
    laptop.recv_type("call_started").await;
    phone.recv_type("call_started").await;

    let joined = phone.join_call(&call_id).await;
    assert_eq!(joined["call"]["state"], "active", "{joined}");
    // Every device concerned hears it: the laptop stops ringing (answered
    // elsewhere), the caller's timer starts at the answer.
    for device in [&mut laptop, &mut amira] {
        let update = device.recv_type("call_updated").await;
        let call = &update["call"];
        assert_eq!(call["state"], "active");
        assert_eq!(invitee(call, "omar")["state"], "accepted");
        assert!(call["answered_at"].as_i64().unwrap() >= call["started_at"].as_i64().unwrap());
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Both hang up: the call is over at once, not after a timeout.
    phone
        .request(json!({"type": "leave_call", "call_id": call_id}))
        .await;
    amira
        .request(json!({"type": "leave_call", "call_id": call_id}))
        .await;
    let ended = laptop.recv_type("call_ended").await;
    assert_eq!(
        (&ended["reason"], &ended["outcome"]),
        (&json!("empty"), &json!("completed"))
    );
    assert!(ended["duration_ms"].as_i64().unwrap() >= 1000, "{ended}");
    let entry = last_entry(&server, &amira, "r").await;
    assert_eq!(entry["message_type"], "call");
    assert!(
        entry["text"].as_str().unwrap().starts_with("Voice call · "),
        "{entry}"
    );
    assert_eq!(entry["metadata"]["participants"], json!(["amira", "omar"]));
    // The room list previews it.
    let (_, list) = server.get(&laptop.token, "/api/rooms").await;
    let preview = &list["rooms"][0]["last_message"];
    assert_eq!(preview["message_type"], "call", "{list}");
    assert_eq!(preview["text"], entry["text"]);
}

#[tokio::test]
async fn a_decline_ends_a_one_to_one_call_and_bad_requests_get_typed_errors() {
    let (server, mut amira, mut phone, mut laptop) = one_to_one().await;
    let mut eve = server.client("eve", "applicant").await;
    let call_id = dial(&mut amira, "r").await;
    phone.recv_type("call_started").await;

    // Nobody but a ringing callee declines; nobody but the caller cancels.
    let r = amira
        .request(json!({"type": "decline_call", "call_id": call_id}))
        .await;
    assert_eq!(r["code"], "CONFLICT", "{r}");
    let r = phone
        .request(json!({"type": "cancel_call", "call_id": call_id}))
        .await;
    assert_eq!(r["code"], "ACCESS_DENIED", "{r}");
    let r = eve
        .request(json!({"type": "decline_call", "call_id": call_id}))
        .await;
    assert_eq!(r["code"], "ACCESS_DENIED", "{r}");
    assert_eq!(r["message"], "you were not invited to this call");
    let r = eve
        .request(json!({"type": "join_call", "call_id": call_id}))
        .await;
    assert_eq!(r["type"], "error", "accepting uninvited: {r}");

    let r = phone
        .request(json!({"type": "decline_call", "call_id": call_id, "reason": "In a meeting, call you at 3"}))
        .await;
    assert_eq!(r["type"], "ok", "{r}");
    // The caller hears the reason before the call ends.
    let update = amira.recv_type("call_updated").await;
    assert_eq!(
        invitee(&update["call"], "omar")["reason"],
        "In a meeting, call you at 3"
    );
    for device in [&mut amira, &mut laptop] {
        let ended = device.recv_type("call_ended").await;
        assert_eq!(
            (&ended["reason"], &ended["outcome"]),
            (&json!("declined"), &json!("declined"))
        );
    }
    let r = laptop
        .request(json!({"type": "decline_call", "call_id": call_id}))
        .await;
    assert_eq!(r["code"], "NOT_FOUND", "the call is over: {r}");
    let (_, record) = server
        .get(&amira.token, &format!("/api/calls/{call_id}"))
        .await;
    let omar = invitee(&record["call"], "omar");
    assert_eq!(omar["state"], "declined");
    assert_eq!(omar["reason"], "In a meeting, call you at 3");
    assert_eq!(
        last_entry(&server, &amira, "r").await["text"],
        "Declined voice call"
    );
    // The room carried on.
    amira.join("r").await;
    amira.say("r", "after", "ok, talk later").await;
}

#[tokio::test]
async fn nobody_answering_is_a_missed_call_recovered_on_the_next_connection() {
    let server = TestServer::with(|c| c.ring_timeout = Duration::from_millis(400)).await;
    server.room("r", "amira", &["omar"]).await;
    let mut amira = server.client("amira", "applicant").await;
    let call_id = dial(&mut amira, "r").await;
    let ended = amira.recv_type("call_ended").await;
    assert_eq!(
        (&ended["reason"], &ended["outcome"]),
        (&json!("missed"), &json!("missed"))
    );
    let entry = last_entry(&server, &amira, "r").await;
    assert_eq!(entry["text"], "Missed voice call");

    // Omar was offline: his next connection brings the notification, and
    // reconnect recovery and the room list include the entry.
    let mut omar = server.client("omar", "professional").await;
    let calls = omar.recv_type("active_calls").await;
    assert_eq!(calls["calls"], json!([]));
    let note = omar.recv_type("notification").await;
    assert_eq!(
        note["notification"]["title"],
        "Missed voice call from Amira"
    );
    assert_eq!(note["notification"]["data"]["call_id"], call_id.as_str());
    let joined = omar
        .request(json!({"type": "join_room", "room_id": "r", "since_seq": 0}))
        .await;
    let missed = joined["missed"].as_array().unwrap();
    let last = missed.last().unwrap();
    assert_eq!(last["message_type"], "call", "{joined}");
    assert_eq!(last["seq"], entry["seq"]);
    assert_eq!(last["metadata"]["outcome"], "missed");
}

#[tokio::test]
async fn a_callee_in_another_call_is_busy_and_not_rung() {
    let server = TestServer::start().await;
    server.room("with-lina", "lina", &["omar"]).await;
    server.room("r", "amira", &["omar"]).await;
    let mut lina = server.client("lina", "applicant").await;
    let mut omar = server.client("omar", "professional").await;
    let mut amira = server.client("amira", "applicant").await;
    let other = dial(&mut lina, "with-lina").await;
    omar.recv_type("call_started").await;
    omar.join_call(&other).await;

    let started = amira.start_call("r", "p2p").await;
    assert_eq!(
        invitee(&started["call"], "omar")["state"],
        "busy",
        "{started}"
    );
    let ended = amira.recv_type("call_ended").await;
    assert_eq!(
        (&ended["reason"], &ended["outcome"]),
        (&json!("busy"), &json!("busy"))
    );
    let got = omar.sync().await;
    assert!(
        got.iter().all(|m| m["type"] != "call_started"),
        "a busy callee is not rung: {got:?}"
    );
    assert_eq!(
        last_entry(&server, &amira, "r").await["text"],
        "Missed voice call (busy)"
    );
}

#[tokio::test]
async fn a_group_call_rings_everyone_and_stays_joinable() {
    let server = TestServer::start().await;
    server.room("team", "amira", &["omar", "lina"]).await;
    let mut amira = server.client("amira", "applicant").await;
    let mut omar = server.client("omar", "professional").await;
    let mut lina = server.client("lina", "professional").await;
    let call_id = dial(&mut amira, "team").await;
    omar.recv_type("call_started").await;
    lina.recv_type("call_started").await;

    omar.request(json!({"type": "decline_call", "call_id": call_id, "reason": "busy"}))
        .await;
    let twice = omar
        .request(json!({"type": "decline_call", "call_id": call_id}))
        .await;
    assert_eq!(twice["code"], "CONFLICT", "declining twice: {twice}");
    // Lina still rings: the call goes on, and everyone hears of the decline.
    let update = amira.recv_type("call_updated").await;
    assert_eq!(invitee(&update["call"], "omar")["state"], "declined");
    assert_eq!(invitee(&update["call"], "omar")["reason"], "busy");
    assert_eq!(invitee(&update["call"], "lina")["state"], "ringing");
    lina.join_call(&call_id).await;
    let update = amira.recv_type("call_updated").await;
    assert_eq!(update["call"]["state"], "active");
    // Omar changes his mind: a group call stays joinable.
    let r = omar.join_call(&call_id).await;
    assert_eq!(r["type"], "call_joined", "{r}");
    assert_eq!(invitee(&r["call"], "omar")["state"], "accepted");
    assert_eq!(r["call"]["participants"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn a_reconnecting_device_learns_which_calls_still_exist() {
    let server = TestServer::start().await;
    server.room("r", "amira", &["omar"]).await;
    let mut amira = server.client("amira", "applicant").await;
    let call_id = dial(&mut amira, "r").await;
    // A device connecting while it rings gets it, ringing.
    let mut omar = server.client("omar", "professional").await;
    let calls = omar.recv_type("active_calls").await;
    assert_eq!(calls["calls"][0]["id"], call_id.as_str(), "{calls}");
    assert_eq!(calls["calls"][0]["state"], "ringing");
    // Once it is over, a reconnecting device learns there is none.
    amira
        .request(json!({"type": "cancel_call", "call_id": call_id}))
        .await;
    omar.recv_type("call_ended").await;
    let mut again = server.client("omar", "professional").await;
    assert_eq!(again.recv_type("active_calls").await["calls"], json!([]));
}

#[tokio::test]
async fn a_restart_ends_the_call_as_interrupted_and_the_room_can_call_again() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::with(|c| c.data_dir = dir.path().to_path_buf()).await;
    server.room("r", "amira", &["omar"]).await;
    let mut amira = server.client("amira", "applicant").await;
    let mut omar = server.client("omar", "professional").await;
    let call_id = dial(&mut amira, "r").await;
    omar.recv_type("call_started").await;
    omar.join_call(&call_id).await;
    let config = server.config.clone();
    server.stop().await;
    drop(omar);

    let server = TestServer::boot(config).await;
    let mut omar = server.client("omar", "professional").await;
    assert_eq!(omar.recv_type("active_calls").await["calls"], json!([]));
    let entry = last_entry(&server, &omar, "r").await;
    assert_eq!(entry["text"], "The call was interrupted", "{entry}");
    let (_, record) = server
        .get(&omar.token, &format!("/api/calls/{call_id}"))
        .await;
    assert_eq!(record["call"]["outcome"], "interrupted");
    let mut amira = server.client("amira", "applicant").await;
    let again = amira.start_call("r", "p2p").await;
    assert_eq!(again["type"], "call_started", "{again}");
    server.stop().await;
}

#[tokio::test]
async fn a_call_whose_process_died_is_ended_as_interrupted_at_the_next_start() {
    use sqlx::ConnectOptions;
    use std::str::FromStr;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::with(|c| c.data_dir = dir.path().to_path_buf()).await;
    server.room("r", "amira", &["omar"]).await;
    let mut amira = server.client("amira", "applicant").await;
    let call_id = dial(&mut amira, "r").await;
    let config = server.config.clone();
    server.stop().await;
    // What a killed process leaves: the call open, and its timeline entry
    // as it was posted when the call started.
    let path = config.database_path();
    let mut db =
        sqlx::sqlite::SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .unwrap()
            .connect()
            .await
            .unwrap();
    let started = format!(r#"{{"call_id":"{call_id}","outcome":null}}"#);
    for sql in [
        "UPDATE calls SET ended_at = NULL, end_reason = NULL, outcome = NULL".to_string(),
        format!("UPDATE messages SET body = 'Voice call', metadata = '{started}' WHERE message_type = 'call'"),
    ] {
        let done = sqlx::query(&sql).execute(&mut db).await.unwrap();
        assert_eq!(done.rows_affected(), 1, "{sql}");
    }
    drop(db);

    let server = TestServer::boot(config).await;
    let omar = server.client("omar", "professional").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let entry = loop {
        let (_, body) = server.get(&omar.token, "/api/rooms/r/messages").await;
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 1, "one entry per call: {body}");
        if messages[0]["metadata"]["outcome"] == "interrupted" {
            break messages[0].clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the entry was not settled: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(entry["text"], "The call was interrupted");
    assert_eq!(entry["metadata"]["call_id"], call_id.as_str());
    let (_, record) = server
        .get(&omar.token, &format!("/api/calls/{call_id}"))
        .await;
    assert_eq!(record["call"]["outcome"], "interrupted");
    server.stop().await;
}

#[tokio::test]
async fn a_calls_entry_is_written_as_it_starts_and_rewritten_as_it_ends() {
    let server = TestServer::start().await;
    server.room("r", "amira", &["omar"]).await;
    let mut amira = server.client("amira", "applicant").await;
    let mut omar = server.client("omar", "professional").await;
    omar.join("r").await;
    let call_id = dial(&mut amira, "r").await;
    let first = omar.recv_type("message").await["message"].clone();
    assert_eq!(first["message_type"], "call");
    assert_eq!(first["text"], "Voice call");
    assert_eq!(first["metadata"]["call_id"], call_id.as_str());
    assert_eq!(first["metadata"]["outcome"], Value::Null, "{first}");
    omar.join_call(&call_id).await;
    omar.request(json!({"type": "leave_call", "call_id": call_id}))
        .await;
    amira
        .request(json!({"type": "leave_call", "call_id": call_id}))
        .await;
    let updated = omar.recv_type("message_updated").await["message"].clone();
    assert_eq!(
        (&updated["id"], &updated["seq"]),
        (&first["id"], &first["seq"])
    );
    assert_eq!(updated["metadata"]["outcome"], "completed");
    assert!(
        updated["text"]
            .as_str()
            .unwrap()
            .starts_with("Voice call · "),
        "{updated}"
    );
    let (_, body) = server.get(&omar.token, "/api/rooms/r/messages").await;
    assert_eq!(body["messages"].as_array().unwrap().len(), 1, "{body}");
}
