//! The assistant: answers common questions in rooms that enable it, in the
//! question's language, when no professional answered within the delay;
//! silent when disabled, when a professional answered or is in the room.
//! The OpenAI-compatible backend runs against a local stand-in server,
//! including the fall back to the FAQ when it is too slow. Only staff switch
//! it on, and each tenant has a budget of LLM calls per minute.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::post;
use axum::Json;
use common::{Client, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

const DELAY: Duration = Duration::from_millis(300);
/// Long enough that an answer would have come.
const QUIET: Duration = Duration::from_millis(1500);

fn faq_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assistant/faq.json")
}

async fn server_with(f: impl FnOnce(&mut earshot::Config)) -> TestServer {
    TestServer::with(|c| {
        c.assistant_delay = DELAY;
        c.assistant_faq_file = Some(faq_path());
        f(c);
    })
    .await
}

/// A room with the assistant on (room metadata, set by staff), and Amira
/// in it.
async fn assisted_room(server: &TestServer, id: &str) -> Client {
    let token = server.token("boss", "admin");
    server
        .create_room(
            &token,
            json!({"id": id, "type": "application", "title": "Visa", "participants": ["amira", "omar"],
                                    "metadata": {"assistant": true}}),
        )
        .await;
    let mut amira = server.client("amira", "applicant").await;
    amira.join(id).await;
    amira
}

fn faq_answer(id: &str, lang: &str) -> String {
    let faq: Value = serde_json::from_str(&std::fs::read_to_string(faq_path()).unwrap()).unwrap();
    let entry = faq["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id)
        .unwrap();
    entry["answers"][lang].as_str().unwrap().to_string()
}

async fn ask(c: &mut Client, room: &str, id: &str, text: &str, lang: Option<&str>) -> Value {
    let mut msg =
        json!({"type": "send_message", "room_id": room, "client_msg_id": id, "text": text});
    if let Some(l) = lang {
        msg["lang"] = json!(l);
    }
    let ack = c.request(msg).await;
    assert_eq!(ack["type"], "message_ack", "{ack}");
    ack
}

#[tokio::test]
async fn answers_in_the_language_of_the_question() {
    let server = server_with(|_| {}).await;
    let mut amira = assisted_room(&server, "visa-1").await;

    let started = tokio::time::Instant::now();
    let q = ask(
        &mut amira,
        "visa-1",
        "q1",
        "How long does the visa processing take?",
        None,
    )
    .await;
    let ai = amira.recv_type("ai_response").await;
    assert!(started.elapsed() >= DELAY, "answered before the delay");
    let m = &ai["message"];
    assert_eq!(m["ai"], true);
    assert_eq!(
        m["sender"],
        json!({"id": "assistant", "name": "Assistant", "role": "assistant"})
    );
    assert_eq!(m["text"], faq_answer("processing-time", "en"));
    assert_eq!(m["lang"], "en");
    assert_eq!(m["reply_to"], q["message_id"]);
    assert_eq!(
        m["seq"],
        q["seq"].as_i64().unwrap() + 1,
        "in the room's sequence"
    );
    assert_eq!(m["metadata"]["source"], "faq");
    assert_eq!(m["metadata"]["faq_id"], "processing-time");

    // Arabic script, no tag: an Arabic answer.
    ask(
        &mut amira,
        "visa-1",
        "q2",
        "ما هي المستندات المطلوبة للتأشيرة؟",
        None,
    )
    .await;
    let ai = amira.recv_type("ai_response").await;
    assert_eq!(
        ai["message"]["text"],
        faq_answer("required-documents", "ar")
    );
    assert_eq!(ai["message"]["lang"], "ar");

    // The message's tag wins over the script.
    ask(
        &mut amira,
        "visa-1",
        "q3",
        "How much does the visa cost?",
        Some("ar-AE"),
    )
    .await;
    let ai = amira.recv_type("ai_response").await;
    assert_eq!(ai["message"]["text"], faq_answer("fees", "ar"));

    // Stored: history has the answers as ai messages.
    let (_, page) = server.get(&amira.token, "/api/rooms/visa-1/messages").await;
    let ai_msgs: Vec<&Value> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["ai"] == true)
        .collect();
    assert_eq!(ai_msgs.len(), 3);

    // Something it does not recognise: silence.
    ask(
        &mut amira,
        "visa-1",
        "q4",
        "My cat likes the window seat",
        None,
    )
    .await;
    assert!(amira.collect_type("ai_response", QUIET).await.is_empty());
}

#[tokio::test]
async fn silent_unless_enabled_and_the_setting_is_guarded() {
    let server = server_with(|_| {}).await;
    server.room("plain", "amira", &["omar"]).await;
    let mut amira = server.client("amira", "applicant").await;
    amira.join("plain").await;
    ask(
        &mut amira,
        "plain",
        "q1",
        "How long does visa processing take?",
        None,
    )
    .await;
    assert!(
        amira.collect_type("ai_response", QUIET).await.is_empty(),
        "disabled by default"
    );

    let (_, state) = server.get(&amira.token, "/api/rooms/plain/assistant").await;
    assert_eq!(state, json!({"room_id": "plain", "enabled": false}));
    let path = "/api/rooms/plain/assistant";
    // Another member who is neither staff nor the creator may not switch it on.
    let (status, err) = server
        .call(
            Method::PUT,
            Some(&server.token("omar", "applicant")),
            path,
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!((status, err["code"].as_str()), (403, Some("ACCESS_DENIED")));
    let (status, _) = server
        .call(
            Method::PUT,
            Some(&server.token("lina", "applicant")),
            path,
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(status, 404, "not even a member: the room looks missing");
    let (status, _) = server
        .call(Method::PUT, None, path, Some(json!({"enabled": true})))
        .await;
    assert_eq!(status, 401);
    let (status, _) = server
        .call(
            Method::PUT,
            Some(&amira.token),
            path,
            Some(json!({"on": 1})),
        )
        .await;
    assert_eq!(status, 400);
    // Not even the room's creator: answers may cost LLM calls.
    let (status, err) = server
        .call(
            Method::PUT,
            Some(&amira.token),
            path,
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!((status, err["code"].as_str()), (403, Some("ACCESS_DENIED")));
    // Staff may, and it takes effect in the running room.
    let (status, state) = server
        .call(
            Method::PUT,
            Some(&server.token("boss", "admin")),
            path,
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!((status, state["enabled"].as_bool()), (200, Some(true)));
    ask(&mut amira, "plain", "q2", "What are the visa fees?", None).await;
    let ai = amira.recv_type("ai_response").await;
    assert_eq!(ai["message"]["text"], faq_answer("fees", "en"));

    // The creator may switch it off (another member may not).
    let (status, _) = server
        .call(
            Method::PUT,
            Some(&server.token("omar", "applicant")),
            path,
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = server
        .call(
            Method::PUT,
            Some(&amira.token),
            path,
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(status, 200);
    ask(&mut amira, "plain", "q3", "What are the visa fees?", None).await;
    assert!(amira.collect_type("ai_response", QUIET).await.is_empty());
    let (_, state) = server.get(&amira.token, "/api/rooms/plain/assistant").await;
    assert_eq!(state["enabled"], false);
}

#[tokio::test]
async fn only_staff_create_rooms_with_the_assistant_on() {
    let server = server_with(|_| {}).await;
    let amira = server.token("amira", "applicant");
    let (status, err) = server
        .call(
            Method::POST,
            Some(&amira),
            "/api/rooms",
            Some(json!({"type": "application", "title": "Visa",
                        "metadata": {"assistant": true}})),
        )
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (403, Some("ACCESS_DENIED")),
        "{err}"
    );
    assert!(
        err["message"].as_str().unwrap().contains("assistant"),
        "{err}"
    );
    let (_, list) = server.get(&amira, "/api/rooms").await;
    assert_eq!(
        list["rooms"].as_array().unwrap().len(),
        0,
        "nothing was created"
    );
    // Without the flag (or with it off) the applicant's room is created
    // (under an id the server chooses).
    let room = server
        .create_room(
            &amira,
            json!({"type": "application", "title": "Visa",
                   "metadata": {"assistant": false, "case": 7}}),
        )
        .await;
    let mine = room["id"].as_str().unwrap();
    let (_, state) = server
        .get(&amira, &format!("/api/rooms/{mine}/assistant"))
        .await;
    assert_eq!(state["enabled"], false);
    // Staff may.
    let mut amira = assisted_room(&server, "staffs").await;
    let (_, state) = server
        .get(&amira.token, "/api/rooms/staffs/assistant")
        .await;
    assert_eq!(state["enabled"], true);
    ask(&mut amira, "staffs", "q1", "What are the visa fees?", None).await;
    let ai = amira.recv_type("ai_response").await;
    assert_eq!(ai["message"]["text"], faq_answer("fees", "en"));
}

#[tokio::test]
async fn silent_when_a_professional_answers_in_time() {
    let server = server_with(|c| c.assistant_delay = Duration::from_millis(800)).await;
    let mut amira = assisted_room(&server, "visa-2").await;
    let mut omar = server.client("omar", "professional").await;
    ask(
        &mut amira,
        "visa-2",
        "q1",
        "How long does visa processing take?",
        None,
    )
    .await;
    // Omar joins after the question and answers within the delay.
    tokio::time::sleep(Duration::from_millis(200)).await;
    omar.join("visa-2").await;
    omar.say("visa-2", "a1", "About a week.").await;
    let got = amira
        .collect_type("ai_response", Duration::from_millis(2000))
        .await;
    assert!(got.is_empty(), "{got:?}");
    // Control: with the professional gone, the same question is answered.
    let r = omar
        .request(json!({"type": "leave_room", "room_id": "visa-2"}))
        .await;
    assert_eq!(r["type"], "room_left");
    ask(
        &mut amira,
        "visa-2",
        "q2",
        "How long does visa processing take?",
        None,
    )
    .await;
    let ai = amira.recv_type("ai_response").await;
    assert_eq!(ai["message"]["text"], faq_answer("processing-time", "en"));
}

#[tokio::test]
async fn silent_while_a_professional_is_in_the_room() {
    let server = server_with(|_| {}).await;
    let mut amira = assisted_room(&server, "visa-3").await;
    let mut omar = server.client("omar", "professional").await;
    omar.join("visa-3").await;
    ask(
        &mut amira,
        "visa-3",
        "q1",
        "How long does visa processing take?",
        None,
    )
    .await;
    assert!(amira.collect_type("ai_response", QUIET).await.is_empty());
    // Once the professional has left, it answers again.
    let r = omar
        .request(json!({"type": "leave_room", "room_id": "visa-3"}))
        .await;
    assert_eq!(r["type"], "room_left");
    ask(
        &mut amira,
        "visa-3",
        "q2",
        "How long does visa processing take?",
        None,
    )
    .await;
    let ai = amira.recv_type("ai_response").await;
    assert_eq!(ai["message"]["text"], faq_answer("processing-time", "en"));
}

/// Requests a stand-in endpoint received: the `Authorization` header and the body.
type Seen = Arc<Mutex<Vec<(Option<String>, Value)>>>;

/// A stand-in for an OpenAI-compatible endpoint: records each request and
/// answers with `reply` after `delay`.
async fn fake_llm(reply: Value, status: u16, delay: Duration) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        post(
            move |headers: axum::http::HeaderMap, Json(body): Json<Value>| {
                let log = log.clone();
                let reply = reply.clone();
                async move {
                    let auth = headers
                        .get("authorization")
                        .map(|v| v.to_str().unwrap().to_string());
                    log.lock().unwrap().push((auth, body));
                    tokio::time::sleep(delay).await;
                    (
                        axum::http::StatusCode::from_u16(status).unwrap(),
                        Json(reply),
                    )
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/v1/chat/completions"), seen)
}

fn completion(text: &str) -> Value {
    json!({"id": "cmpl-1", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]})
}

#[tokio::test]
async fn the_llm_backend_answers_with_faq_context() {
    let (url, seen) = fake_llm(
        completion("ستستغرق المعالجة حوالي أسبوع."),
        200,
        Duration::ZERO,
    )
    .await;
    let server = server_with(|c| {
        c.assistant_llm_url = Some(url);
        c.assistant_llm_model = "test-model".into();
        c.assistant_llm_key = Some("sk-test".into());
    })
    .await;
    let mut amira = assisted_room(&server, "visa-4").await;
    ask(
        &mut amira,
        "visa-4",
        "q1",
        "كم تستغرق معالجة التأشيرة؟",
        None,
    )
    .await;
    let ai = amira.recv_type("ai_response").await;
    assert_eq!(ai["message"]["text"], "ستستغرق المعالجة حوالي أسبوع.");
    assert_eq!(ai["message"]["lang"], "ar");
    assert_eq!(
        ai["message"]["metadata"],
        json!({"source": "llm", "model": "test-model"})
    );

    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    let (auth, body) = &requests[0];
    assert_eq!(auth.as_deref(), Some("Bearer sk-test"));
    assert_eq!(body["model"], "test-model");
    assert_eq!(
        body["messages"][1],
        json!({"role": "user", "content": "كم تستغرق معالجة التأشيرة؟"})
    );
    let system = body["messages"][0]["content"].as_str().unwrap();
    assert!(system.contains("Arabic"), "{system}");
    assert!(
        system.contains(&faq_answer("processing-time", "ar")),
        "the closest FAQ entry is given as reference"
    );
}

#[tokio::test]
async fn a_slow_or_failing_llm_falls_back_to_the_faq() {
    let (url, seen) = fake_llm(completion("too late"), 200, Duration::from_secs(5)).await;
    let server = server_with(|c| {
        c.assistant_llm_url = Some(url);
        c.assistant_llm_timeout = Duration::from_millis(300);
    })
    .await;
    let mut amira = assisted_room(&server, "visa-5").await;
    ask(
        &mut amira,
        "visa-5",
        "q1",
        "What documents do I need for the visa?",
        None,
    )
    .await;
    let ai = amira.recv_type("ai_response").await;
    assert_eq!(
        ai["message"]["text"],
        faq_answer("required-documents", "en")
    );
    assert_eq!(ai["message"]["metadata"]["source"], "faq");
    assert_eq!(seen.lock().unwrap().len(), 1, "the endpoint was tried");

    let (url, _) = fake_llm(json!({"error": "overloaded"}), 503, Duration::ZERO).await;
    let server = server_with(|c| c.assistant_llm_url = Some(url)).await;
    let mut amira = assisted_room(&server, "visa-6").await;
    ask(&mut amira, "visa-6", "q1", "ما هي رسوم التأشيرة؟", None).await;
    let ai = amira.recv_type("ai_response").await;
    assert_eq!(ai["message"]["text"], faq_answer("fees", "ar"));

    // A model that declines an unknown question leaves the room in silence.
    let (url, _) = fake_llm(completion("NO_ANSWER"), 200, Duration::ZERO).await;
    let server = server_with(|c| c.assistant_llm_url = Some(url)).await;
    let mut amira = assisted_room(&server, "visa-7").await;
    ask(
        &mut amira,
        "visa-7",
        "q1",
        "My cat likes the window seat",
        None,
    )
    .await;
    assert!(amira.collect_type("ai_response", QUIET).await.is_empty());
}

#[tokio::test]
async fn the_shipped_faq_loads_and_is_the_default() {
    let c = earshot::Config {
        dev: true,
        ..Default::default()
    };
    assert_eq!(
        c.assistant_faq_file.as_deref(),
        Some(std::path::Path::new("assistant/faq.json"))
    );
    let assistant = earshot::Config {
        assistant_faq_file: Some(faq_path()),
        ..c
    }
    .assistant()
    .unwrap();
    assert!(assistant.faq.entries.len() >= 5);
    for e in &assistant.faq.entries {
        assert!(
            e.answers.contains_key("en") && e.answers.contains_key("ar"),
            "{} has en and ar",
            e.id
        );
    }
    let bad = earshot::Config {
        assistant_faq_file: Some(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"),
        ),
        ..Default::default()
    };
    assert!(
        bad.assistant().is_err(),
        "a file that is not a FAQ stops the server from starting"
    );
}

#[tokio::test]
async fn each_tenant_has_a_budget_of_llm_calls_per_minute() {
    let (url, seen) = fake_llm(completion("From the model."), 200, Duration::ZERO).await;
    let server = server_with(|c| {
        c.assistant_llm_url = Some(url);
        c.assistant_llm_per_minute = 2;
    })
    .await;
    let staff_of = |tenant: &str| {
        let mut claims = common::claims(&format!("lead-{tenant}"), "professional");
        claims.tenant = Some(tenant.into());
        server.token_with(claims)
    };
    let rooms = [
        ("a1", "acme"),
        ("a2", "acme"),
        ("a3", "acme"),
        ("g1", "globex"),
    ];
    for (room, tenant) in rooms {
        server
            .create_room(
                &staff_of(tenant),
                json!({"id": room, "type": "application", "title": "Visa",
                       "participants": ["amira"], "metadata": {"assistant": true}}),
            )
            .await;
    }
    // Each tenant's Amira (user ids live in one namespace; room ids in
    // their tenant's).
    let applicant_of = |tenant: &str| {
        let mut claims = common::claims("amira", "applicant");
        claims.tenant = Some(tenant.into());
        claims
    };
    let mut acme = server.client_with(applicant_of("acme")).await;
    let mut globex = server.client_with(applicant_of("globex")).await;
    let mut source = std::collections::HashMap::new();
    for (room, tenant) in rooms {
        let amira = if tenant == "acme" {
            &mut acme
        } else {
            &mut globex
        };
        amira.join(room).await;
        ask(
            amira,
            room,
            &format!("q-{room}"),
            "What are the visa fees?",
            None,
        )
        .await;
        let ai = amira.recv_type("ai_response").await;
        let m = &ai["message"];
        source.insert(
            m["room_id"].as_str().unwrap().to_string(),
            m["metadata"]["source"].as_str().unwrap().to_string(),
        );
    }
    let acme_llm = ["a1", "a2", "a3"]
        .iter()
        .filter(|r| source[**r] == "llm")
        .count();
    assert_eq!(
        acme_llm, 2,
        "acme spent its 2 calls; the FAQ answered the third: {source:?}"
    );
    assert!(["a1", "a2", "a3"].iter().any(|r| source[*r] == "faq"));
    assert_eq!(source["g1"], "llm", "another tenant's budget is its own");
    assert_eq!(
        seen.lock().unwrap().len(),
        3,
        "three calls reached the model"
    );
    // The default budget.
    assert_eq!(earshot::Config::default().assistant_llm_per_minute, 60);
}
