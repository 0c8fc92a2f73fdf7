//! Bad input: every malformed frame gets a typed `BAD_REQUEST` (with its
//! `request_id` when it had one) and the connection, the room and everyone
//! in it carry on; oversized text and frames get their own answers; REST
//! errors are typed JSON bodies.

mod common;

use common::{Client, TestServer};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// The errors the server sent in answer to everything before a `ping`.
async fn errors_so_far(c: &mut Client) -> Vec<Value> {
    c.sync()
        .await
        .into_iter()
        .filter(|m| m["type"] == "error")
        .collect()
}

/// Exactly one `BAD_REQUEST` came back for the last frame, carrying `rid`.
async fn expect_bad_request(c: &mut Client, what: &str, rid: Option<&str>) {
    let errors = errors_so_far(c).await;
    assert_eq!(
        errors.len(),
        1,
        "{what}: expected one error, got {errors:?}"
    );
    let e = &errors[0];
    assert_eq!(e["code"], "BAD_REQUEST", "{what}: {e}");
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: {e}"
    );
    match rid {
        Some(rid) => assert_eq!(e["request_id"], rid, "{what}: request_id echoed: {e}"),
        None => assert!(e.get("request_id").is_none(), "{what}: {e}"),
    }
}

/// `amira` and `omar` in room `r`, both joined.
async fn pair(server: &TestServer) -> (Client, Client) {
    server.room("r", "amira", &["omar"]).await;
    let mut amira = server.client("amira", "applicant").await;
    let mut omar = server.client("omar", "professional").await;
    amira.join("r").await;
    omar.join("r").await;
    (amira, omar)
}

#[tokio::test]
async fn malformed_frames_get_bad_request_and_everyone_carries_on() {
    let server = TestServer::start().await;
    let (mut amira, mut omar) = pair(&server).await;

    let deep = format!("{}{}", "[".repeat(400), "]".repeat(400));
    let cases: Vec<(&str, String, Option<&str>)> = vec![
        ("malformed JSON", "{not json".into(), None),
        ("truncated", r#"{"type":"ping","request_id":"t"#.into(), None),
        ("empty frame", "".into(), None),
        ("JSON array", r#"[{"type":"ping"}]"#.into(), None),
        ("JSON string", r#""ping""#.into(), None),
        ("JSON null", "null".into(), None),
        ("missing type", r#"{"request_id":"m1","room_id":"r"}"#.into(), Some("m1")),
        ("unknown type", r#"{"type":"fly","request_id":"u1"}"#.into(), Some("u1")),
        ("type not a string", r#"{"type":7,"request_id":"u2"}"#.into(), Some("u2")),
        ("missing room_id", r#"{"type":"join_room","request_id":"f1"}"#.into(), Some("f1")),
        ("missing client_msg_id", r#"{"type":"send_message","request_id":"f2","room_id":"r","text":"x"}"#.into(), Some("f2")),
        ("room_id a number", r#"{"type":"send_message","request_id":"w1","room_id":7,"client_msg_id":"c","text":"x"}"#.into(), Some("w1")),
        ("is_typing a string", r#"{"type":"typing","request_id":"w2","room_id":"r","is_typing":"yes"}"#.into(), Some("w2")),
        ("seq a string", r#"{"type":"mark_read","request_id":"w3","room_id":"r","seq":"5"}"#.into(), Some("w3")),
        ("user_ids not a list", r#"{"type":"get_presence","request_id":"w4","user_ids":"omar"}"#.into(), Some("w4")),
        ("unknown status", r#"{"type":"set_presence","request_id":"w5","status":"asleep"}"#.into(), Some("w5")),
        ("unknown message_type", r#"{"type":"send_message","request_id":"w6","room_id":"r","client_msg_id":"c","text":"x","message_type":"hologram"}"#.into(), Some("w6")),
        ("text an object", r#"{"type":"send_message","request_id":"w7","room_id":"r","client_msg_id":"c","text":{"a":1}}"#.into(), Some("w7")),
        ("seq beyond i64", r#"{"type":"mark_read","request_id":"h1","room_id":"r","seq":99999999999999999999999}"#.into(), Some("h1")),
        ("limit beyond u32", r#"{"type":"get_messages","request_id":"h2","room_id":"r","limit":4294967296}"#.into(), Some("h2")),
        ("negative limit", r#"{"type":"get_messages","request_id":"h3","room_id":"r","limit":-1}"#.into(), Some("h3")),
        ("fractional seq", r#"{"type":"join_room","request_id":"h4","room_id":"r","since_seq":1.5}"#.into(), Some("h4")),
        ("request_id a number", r#"{"type":"ping","request_id":42}"#.into(), None),
        ("nesting too deep", format!(r#"{{"type":"send_message","room_id":"r","client_msg_id":"c","text":"x","metadata":{deep}}}"#), None),
        ("authenticate again without a token", r#"{"type":"authenticate","request_id":"a1"}"#.into(), Some("a1")),
        ("empty room_id", r#"{"type":"join_room","request_id":"e1","room_id":""}"#.into(), Some("e1")),
    ];
    for (what, frame, rid) in &cases {
        amira.send_raw(frame).await;
        expect_bad_request(&mut amira, what, *rid).await;
    }

    // Binary frames, valid JSON or not even UTF-8, are refused the same way.
    let ping = br#"{"type":"ping","request_id":"b1"}"#.to_vec();
    for (what, bytes) in [
        ("binary JSON", ping),
        ("invalid UTF-8", vec![0xff, 0xfe, 0x00, 0xc3]),
    ] {
        amira.send_ws(Message::binary(bytes)).await.expect("send");
        expect_bad_request(&mut amira, what, None).await;
    }

    // Still joined, still heard: a valid message goes through to omar, who
    // saw none of the garbage.
    let ack = amira.say("r", "after", "still here").await;
    assert_eq!(ack["seq"], 1, "nothing garbled was stored");
    let seen = omar.sync().await;
    let kinds: Vec<_> = seen.iter().map(|m| m["type"].clone()).collect();
    assert!(
        !kinds.contains(&json!("error")),
        "omar got errors: {seen:?}"
    );
    let msgs: Vec<_> = seen.iter().filter(|m| m["type"] == "message").collect();
    assert_eq!(msgs.len(), 1, "{seen:?}");
    assert_eq!(msgs[0]["message"]["text"], "still here");
    // And omar can answer.
    omar.say("r", "reply", "hello").await;
    let m = amira
        .recv_where("omar's reply", |m| {
            m["type"] == "message" && m["message"]["seq"] == 2
        })
        .await;
    assert_eq!(m["message"]["text"], "hello");
}

#[tokio::test]
async fn text_over_the_limit_is_refused_and_the_connection_survives() {
    let server = TestServer::with(|c| c.max_text_chars = 100).await;
    let (mut amira, mut omar) = pair(&server).await;

    let long = "a".repeat(101);
    let r = amira
        .request(
            json!({"type": "send_message", "room_id": "r", "client_msg_id": "long", "text": long}),
        )
        .await;
    assert_eq!(r["type"], "error");
    assert_eq!(r["code"], "MESSAGE_TOO_LARGE", "{r}");

    // The limit is in characters, not bytes: 100 two-byte letters fit.
    let exact = "é".repeat(100);
    let ack = amira.say("r", "exact", &exact).await;
    let id = ack["message_id"].as_str().unwrap().to_string();
    let m = omar.recv_type("message").await;
    assert_eq!(m["message"]["text"], exact.as_str());

    // Edits are held to the same limit, and a refused edit changes nothing.
    let r = amira
        .request(json!({"type": "edit_message", "room_id": "r", "message_id": id, "text": "ب".repeat(101)}))
        .await;
    assert_eq!(r["code"], "MESSAGE_TOO_LARGE", "{r}");

    amira.say("r", "short", "fits").await;
    let m = omar.recv_type("message").await;
    assert_eq!(m["message"]["text"], "fits");
    let (_, page) = server.get(&omar.token, "/api/rooms/r/messages").await;
    let texts: Vec<_> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].clone())
        .collect();
    assert_eq!(texts, vec![json!(exact), json!("fits")]);
}

#[tokio::test]
async fn a_frame_over_max_frame_bytes_closes_with_1009() {
    let server = TestServer::with(|c| c.max_frame_bytes = 4096).await;
    let (mut amira, mut omar) = pair(&server).await;

    // Just under the limit is fine.
    let frame = json!({"type": "send_message", "room_id": "r", "client_msg_id": "big", "text": "x".repeat(3900)}).to_string();
    assert!(frame.len() < 4096);
    amira.send_raw(&frame).await;
    amira.recv_type("message_ack").await;

    let over = json!({"type": "send_message", "room_id": "r", "client_msg_id": "huge", "text": "x".repeat(5000)}).to_string();
    amira.send_raw(&over).await;
    let (code, reason) = amira.closed().await;
    assert_eq!(code, 1009, "close code (reason {reason:?})");

    // The room carries on without amira, and the oversized message was not stored.
    let left = omar.recv_type("member_left").await;
    assert_eq!(left["user_id"], "amira");
    let ack = omar.say("r", "o1", "anyone?").await;
    assert_eq!(ack["seq"], 2);

    // Far over the limit: the same answer, not a reset connection.
    let mut lina = server.client("lina", "customer").await;
    let send = lina.send_ws(Message::text("y".repeat(1 << 20)));
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), send).await;
    let (code, reason) = lina.closed().await;
    assert_eq!(code, 1009, "close code (reason {reason:?})");
}

async fn raw_post(
    server: &TestServer,
    token: &str,
    path: &str,
    ctype: Option<&str>,
    body: &str,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(server.http(path))
        .bearer_auth(token)
        .body(body.to_string());
    if let Some(ct) = ctype {
        req = req.header("content-type", ct);
    }
    let res = req.send().await.expect("post");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn rest_errors_are_typed_json() {
    let server = TestServer::start().await;
    server.room("r", "amira", &[]).await;
    let t = server.token("amira", "applicant");
    let json_ct = Some("application/json");

    let cases: Vec<(&str, (u16, Value), u16, &str)> = vec![
        (
            "unknown route",
            server.get(&t, "/api/nope").await,
            404,
            "NOT_FOUND",
        ),
        (
            "unknown nested route",
            server.get(&t, "/api/rooms/r/bogus").await,
            404,
            "NOT_FOUND",
        ),
        (
            "unknown room",
            server.get(&t, "/api/rooms/missing").await,
            404,
            "NOT_FOUND",
        ),
        (
            "bad query",
            server.get(&t, "/api/rooms/r/messages?limit=lots").await,
            400,
            "BAD_REQUEST",
        ),
        (
            "malformed body",
            raw_post(&server, &t, "/api/rooms", json_ct, "{nope").await,
            400,
            "BAD_REQUEST",
        ),
        (
            "body not an object",
            raw_post(&server, &t, "/api/rooms", json_ct, "[1]").await,
            400,
            "BAD_REQUEST",
        ),
        (
            "missing field",
            raw_post(&server, &t, "/api/rooms", json_ct, r#"{"type":"x"}"#).await,
            400,
            "BAD_REQUEST",
        ),
        (
            "wrong type",
            raw_post(
                &server,
                &t,
                "/api/rooms",
                json_ct,
                r#"{"type":"x","title":5}"#,
            )
            .await,
            400,
            "BAD_REQUEST",
        ),
        (
            "unknown field",
            raw_post(
                &server,
                &t,
                "/api/rooms",
                json_ct,
                r#"{"type":"x","title":"t","colour":"red"}"#,
            )
            .await,
            400,
            "BAD_REQUEST",
        ),
        (
            "no content type",
            raw_post(
                &server,
                &t,
                "/api/rooms",
                None,
                r#"{"type":"x","title":"t"}"#,
            )
            .await,
            400,
            "BAD_REQUEST",
        ),
        (
            "bad member body",
            raw_post(
                &server,
                &t,
                "/api/rooms/r/members",
                json_ct,
                r#"{"user":"omar"}"#,
            )
            .await,
            400,
            "BAD_REQUEST",
        ),
    ];
    for (what, (status, body), want_status, want_code) in cases {
        assert_eq!(status, want_status, "{what}: {body}");
        assert_eq!(body["code"], want_code, "{what}: {body}");
        assert!(body["message"].is_string(), "{what}: {body}");
    }

    // Nothing was created by the refused requests.
    let (_, rooms) = server.get(&t, "/api/rooms").await;
    assert_eq!(rooms["rooms"].as_array().unwrap().len(), 1, "{rooms}");
}

#[tokio::test]
async fn a_wrong_method_gets_a_typed_405_with_allow() {
    let server = TestServer::start().await;
    server.room("r", "amira", &[]).await;
    let t = server.token("amira", "applicant");
    let http = reqwest::Client::new();
    for (method, path, allowed) in [
        (reqwest::Method::DELETE, "/api/rooms", "GET,HEAD,POST"),
        (reqwest::Method::PUT, "/api/notifications/read-all", "POST"),
        (reqwest::Method::POST, "/api/rooms/r/messages", "GET,HEAD"),
    ] {
        let res = http
            .request(method.clone(), server.http(path))
            .bearer_auth(&t)
            .send()
            .await
            .expect("request");
        assert_eq!(res.status().as_u16(), 405, "{method} {path}");
        let mut allow: Vec<String> = res
            .headers()
            .get("allow")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .split(',')
            .map(|m| m.trim().to_owned())
            .collect();
        allow.sort();
        assert_eq!(allow.join(","), allowed, "Allow of {path}");
        let body: Value = res.json().await.expect("a JSON body");
        assert_eq!(body["code"], "METHOD_NOT_ALLOWED", "{body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(method.as_str()) && message.contains(path),
            "{body}"
        );
    }
    // The refused requests changed nothing: the room is still there.
    let (status, room) = server.get(&t, "/api/rooms/r").await;
    assert_eq!(status, 200, "{room}");
}

/// A few hundred random or garbled frames, from a fixed seed.
fn garbage(n: usize) -> Vec<Message> {
    let valid = [
        r#"{"type":"send_message","room_id":"r","client_msg_id":"c","text":"hi"}"#,
        r#"{"type":"typing","room_id":"r","is_typing":true}"#,
        r#"{"type":"get_messages","room_id":"r","limit":5}"#,
        r#"{"type":"mark_read","room_id":"r","seq":1}"#,
        r#"{"type":"join_room","room_id":"r","since_seq":0}"#,
    ];
    let kinds = prop::sample::select(vec![
        "send_message",
        "join_room",
        "leave_room",
        "typing",
        "mark_read",
        "get_messages",
        "set_presence",
        "get_presence",
        "authenticate",
        "ping",
        "",
        "x",
    ]);
    let vals = prop_oneof![
        Just("1".to_string()),
        Just("null".to_string()),
        Just("-99999999999999999999".to_string()),
        Just("1e308".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        "\"[^\"\\\\]{0,20}\"",
    ];
    let strategy = prop_oneof![
        ".{0,200}".prop_map(Message::text),
        (kinds, "[a-z_]{1,12}", vals)
            .prop_map(|(k, key, v)| Message::text(format!(r#"{{"type":"{k}","{key}":{v}}}"#))),
        (
            prop::sample::select(valid.to_vec()),
            any::<prop::sample::Index>()
        )
            .prop_map(|(v, i)| {
                // A strict prefix of a JSON object is never valid JSON.
                Message::text(v[..i.index(v.len() - 1) + 1].to_string())
            }),
        prop::collection::vec(any::<u8>(), 0..200).prop_map(Message::binary),
    ];
    let mut runner = TestRunner::deterministic();
    (0..n)
        .map(|_| strategy.new_tree(&mut runner).expect("generate").current())
        .collect()
}

/// Would the server at least see a JSON object here?
fn is_json_object(m: &Message) -> bool {
    match m {
        Message::Text(t) => serde_json::from_str::<serde_json::Map<String, Value>>(t).is_ok(),
        _ => false,
    }
}

#[tokio::test]
async fn a_storm_of_garbage_leaves_the_server_answering() {
    let server = TestServer::start().await;
    let (mut amira, mut omar) = pair(&server).await;
    let frames = garbage(400);

    for chunk in frames.chunks(50) {
        for f in chunk {
            amira
                .send_ws(f.clone())
                .await
                .expect("connection still open");
        }
        // Everything that was not even a JSON object got an error.
        let errors = errors_so_far(&mut amira).await;
        let not_objects = chunk.iter().filter(|f| !is_json_object(f)).count();
        assert!(not_objects > 0, "the generator makes garbage");
        assert!(
            errors.len() >= not_objects,
            "{} errors for {not_objects} non-objects",
            errors.len()
        );
        for e in &errors {
            assert!(e["code"].is_string(), "typed error: {e}");
        }
    }

    // Still answering pings, still in (or back in) the room, still delivering.
    amira.sync().await;
    amira.join("r").await;
    amira.say("r", "after-storm", "survived").await;
    let m = omar
        .recv_where("the message after the storm", |m| {
            m["type"] == "message" && m["message"]["client_msg_id"] == "after-storm"
        })
        .await;
    assert_eq!(m["message"]["text"], "survived");
}
