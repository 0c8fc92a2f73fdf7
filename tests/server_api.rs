//! The server API for product backends: API keys (or admin/service tokens)
//! required and checked, chat messages as a system or named sender, custom
//! events, status and connected clients with real figures, and the OpenAPI
//! description.

mod common;

use std::time::Duration;

use common::api::API_KEY;
use common::TestServer;
use reqwest::Method;
use serde_json::{json, Value};

async fn server() -> TestServer {
    TestServer::with(|c| c.api_keys = vec![API_KEY.into()]).await
}

async fn post_with(
    server: &TestServer,
    auth: &[(&str, String)],
    path: &str,
    body: Value,
) -> (u16, Value) {
    let mut req = reqwest::Client::new().post(server.http(path)).json(&body);
    for (k, v) in auth {
        req = req.header(*k, v);
    }
    let res = req.send().await.unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn api_key_or_service_token_is_required_and_checked() {
    let server = server().await;
    let path = "/api/server/notify/user/amira";
    let body = json!({"kind": "info", "title": "Hello"});
    let bearer = |t: &str| ("authorization", format!("Bearer {t}"));

    let (status, err) = post_with(&server, &[], path, body.clone()).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (401, Some("UNAUTHENTICATED")),
        "{err}"
    );
    let (status, err) = post_with(
        &server,
        &[("x-api-key", "wrong-key-0123456789".into())],
        path,
        body.clone(),
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (401, Some("UNAUTHENTICATED")),
        "{err}"
    );
    let (status, _) = post_with(
        &server,
        &[bearer("wrong-key-0123456789")],
        path,
        body.clone(),
    )
    .await;
    assert_eq!(status, 401, "a bearer that is neither a key nor a token");
    // A key that is a prefix of the real one is not the key.
    let (status, _) = post_with(
        &server,
        &[("x-api-key", API_KEY[..API_KEY.len() - 1].into())],
        path,
        body.clone(),
    )
    .await;
    assert_eq!(status, 401);

    let (status, _) = post_with(
        &server,
        &[("x-api-key", API_KEY.into())],
        path,
        body.clone(),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = post_with(&server, &[bearer(API_KEY)], path, body.clone()).await;
    assert_eq!(status, 201, "the key as a bearer token");
    for role in ["admin", "service"] {
        let (status, _) = post_with(
            &server,
            &[bearer(&server.token("backend", role))],
            path,
            body.clone(),
        )
        .await;
        assert_eq!(status, 201, "a token with role {role}");
    }
    for role in ["applicant", "professional"] {
        let (status, err) = post_with(
            &server,
            &[bearer(&server.token("amira", role))],
            path,
            body.clone(),
        )
        .await;
        assert_eq!(
            (status, err["code"].as_str()),
            (403, Some("ACCESS_DENIED")),
            "{role}: {err}"
        );
    }
    let (status, _) = server
        .get(&server.token("amira", "applicant"), "/api/server/clients")
        .await;
    assert_eq!(status, 403);

    // Bad input gets typed errors.
    let (status, err) = server
        .api(
            Method::POST,
            path,
            Some(json!({"kind": "shout", "title": "x"})),
        )
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (400, Some("BAD_REQUEST")),
        "{err}"
    );
    let (status, _) = server
        .api(Method::POST, path, Some(json!({"title": ""})))
        .await;
    assert_eq!(status, 400);
    let (status, _) = server
        .api(
            Method::POST,
            path,
            Some(json!({"title": "x", "link": "javascript:alert(1)"})),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = server
        .api(
            Method::POST,
            "/api/server/notify/room/nope",
            Some(json!({"title": "x"})),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn api_keys_are_off_unless_configured() {
    let server = TestServer::start().await;
    let (status, _) = server.api(Method::GET, "/api/server/clients", None).await;
    assert_eq!(status, 401);
    let (status, _) = server
        .get(&server.token("ops", "admin"), "/api/server/clients")
        .await;
    assert_eq!(status, 200, "tokens with an api role still work");
}

#[tokio::test]
async fn system_and_named_messages_take_the_next_seq() {
    let server = server().await;
    server.room("visa-1", "amira", &["omar"]).await;
    let mut amira = server.client("amira", "applicant").await;
    amira.join("visa-1").await;
    amira.say("visa-1", "c1", "Hello").await;

    let (status, body) = server
        .api(
            Method::POST,
            "/api/server/rooms/visa-1/messages",
            Some(json!({"text": "Your application was received."})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let stored = &body["message"];
    assert_eq!(stored["seq"], 2);
    assert_eq!(stored["message_type"], "system");
    assert_eq!(
        stored["sender"],
        json!({"id": "system", "name": "System", "role": "system"})
    );
    let live = amira.recv_type("message").await;
    let live = if live["message"]["seq"] == 1 {
        amira.recv_type("message").await
    } else {
        live
    };
    assert_eq!(live["message"]["id"], stored["id"]);
    assert_eq!(live["message"]["text"], "Your application was received.");

    let named = json!({"text": "I will review it today.", "client_msg_id": "crm-77",
                       "sender": {"id": "omar", "name": "Omar", "role": "professional"}, "lang": "en"});
    let (status, first) = server
        .api(
            Method::POST,
            "/api/server/rooms/visa-1/messages",
            Some(named.clone()),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(first["message"]["seq"], 3);
    assert_eq!(first["message"]["message_type"], "text");
    assert_eq!(first["message"]["sender"]["name"], "Omar");
    let m = amira
        .recv_where("named message", |m| {
            m["type"] == "message" && m["message"]["seq"] == 3
        })
        .await;
    assert_eq!(m["message"]["sender"]["id"], "omar");
    // The same idempotency key stores nothing new and broadcasts nothing.
    let (status, again) = server
        .api(
            Method::POST,
            "/api/server/rooms/visa-1/messages",
            Some(named),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(again["message"]["id"], first["message"]["id"]);
    assert!(amira
        .collect_type("message", Duration::from_millis(300))
        .await
        .is_empty());

    let (_, page) = server.get(&amira.token, "/api/rooms/visa-1/messages").await;
    let seqs: Vec<i64> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, vec![1, 2, 3]);

    for (body, code) in [
        (json!({"text": "  "}), 400),
        (json!({"text": "x", "sender": {"id": "assistant"}}), 400),
        (json!({"text": "x", "message_type": "voice"}), 400),
        (json!({"text": "x", "bogus": 1}), 400),
        (json!({"text": "x".repeat(5000)}), 413),
    ] {
        let (status, err) = server
            .api(
                Method::POST,
                "/api/server/rooms/visa-1/messages",
                Some(body),
            )
            .await;
        assert_eq!(status, code, "{err}");
        assert!(err["code"].is_string());
    }
    let (status, err) = server
        .api(
            Method::POST,
            "/api/server/rooms/none/messages",
            Some(json!({"text": "x"})),
        )
        .await;
    assert_eq!((status, err["code"].as_str()), (404, Some("NOT_FOUND")));
}

#[tokio::test]
async fn custom_events_reach_a_user_a_room_or_everyone() {
    let server = server().await;
    server.room("visa-1", "amira", &["omar"]).await;
    let mut amira_phone = server.client("amira", "applicant").await;
    let mut amira_laptop = server.client("amira", "applicant").await;
    let mut omar = server.client("omar", "professional").await;
    let mut lina = server.client("lina", "applicant").await;

    let (status, body) = server
        .api(
            Method::POST,
            "/api/server/events/user/amira",
            Some(json!({"name": "customer_updated", "payload": {"customer": "c-7"}})),
        )
        .await;
    assert_eq!((status, body["delivered_devices"].as_u64()), (200, Some(2)));
    for c in [&mut amira_phone, &mut amira_laptop] {
        let e = c.recv_type("event").await;
        assert_eq!(
            e,
            json!({"type": "event", "name": "customer_updated", "payload": {"customer": "c-7"}})
        );
    }

    let (_, body) = server
        .api(
            Method::POST,
            "/api/server/events/room/visa-1",
            Some(json!({"name": "status.changed", "payload": {"status": "approved"}})),
        )
        .await;
    assert_eq!(body["delivered_devices"], 3);
    for c in [&mut amira_phone, &mut amira_laptop, &mut omar] {
        let e = c.recv_type("event").await;
        assert_eq!(e["room_id"], "visa-1");
        assert_eq!(e["payload"]["status"], "approved");
    }

    let (_, body) = server
        .api(
            Method::POST,
            "/api/server/events/all",
            Some(json!({"name": "maintenance"})),
        )
        .await;
    assert_eq!(body["delivered_devices"], 4);
    for c in [&mut amira_phone, &mut amira_laptop, &mut omar, &mut lina] {
        let e = c.recv_type("event").await;
        assert_eq!(e["name"], "maintenance");
        assert_eq!(e["payload"], json!({}));
        assert!(e.get("room_id").is_none());
    }
    // Lina is no member of visa-1 and got nothing else.
    assert!(lina.sync().await.iter().all(|m| m["type"] != "event"));

    for bad in [
        json!({"name": ""}),
        json!({"name": "has space"}),
        json!({"name": "x", "payload": "y".repeat(40_000)}),
    ] {
        let (status, err) = server
            .api(Method::POST, "/api/server/events/all", Some(bad))
            .await;
        assert_eq!((status, err["code"].as_str()), (400, Some("BAD_REQUEST")));
    }
}

#[tokio::test]
async fn status_clients_and_user_metrics_show_real_figures() {
    let server = server().await;
    server.room("visa-1", "amira", &["omar"]).await;
    server.room("visa-2", "lina", &[]).await;
    let mut phone = server.client("amira", "applicant").await;
    let mut laptop = server.client("amira", "applicant").await;
    let mut omar = server.client("omar", "professional").await;
    phone.join("visa-1").await;
    phone.say("visa-1", "m1", "one").await;
    phone.say("visa-1", "m2", "two").await;
    laptop
        .send(json!({"type": "set_presence", "status": "away"}))
        .await;
    laptop.sync().await;
    phone.sync().await;

    let (status, s) = server.api(Method::GET, "/api/status", None).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(s["connections"], 3);
    assert_eq!(s["users_online"], 2);
    assert_eq!(s["rooms_total"], 2);
    assert_eq!(s["calls_active"], 0);
    assert!(s["uptime_secs"].is_u64());
    let (status, _) = server.get(&omar.token, "/api/status").await;
    assert_eq!(status, 200, "staff keep their access");
    let (status, _) = server.get(&phone.token, "/api/status").await;
    assert_eq!(status, 403);

    let (_, c) = server.api(Method::GET, "/api/server/clients", None).await;
    assert_eq!(c["count"], 3);
    let clients = c["clients"].as_array().unwrap();
    let amira: Vec<&Value> = clients
        .iter()
        .filter(|c| c["user"]["id"] == "amira")
        .collect();
    assert_eq!(amira.len(), 2);
    assert_eq!(amira[0]["user"]["name"], "Amira");
    assert_eq!(amira[0]["user"]["role"], "applicant");
    let phone_view = amira.iter().find(|c| c["status"] == "online").unwrap();
    // join, two sends and a ping: 4 frames in; welcome, room_joined, 2 acks,
    // 2 messages and a pong out (at least).
    assert_eq!(phone_view["messages_sent"], 4);
    assert!(
        phone_view["messages_received"].as_u64().unwrap() >= 7,
        "{phone_view}"
    );
    assert!(amira.iter().any(|c| c["status"] == "away"));

    let (_, u) = server
        .api(Method::GET, "/api/server/users/amira", None)
        .await;
    assert_eq!(u["online"], true);
    assert_eq!(u["devices"], 2);
    assert_eq!(u["status"], "online");
    assert!(u["connected_since"].as_i64().unwrap() > 0);
    assert_eq!(
        u["messages_sent"],
        4 + 2,
        "the laptop sent set_presence and a ping"
    );
    assert_eq!(u["connections"].as_array().unwrap().len(), 2);

    omar.ws.close(None).await.unwrap();
    let deadline = tokio::time::Instant::now() + common::WAIT;
    loop {
        let (_, u) = server
            .api(Method::GET, "/api/server/users/omar", None)
            .await;
        if u["online"] == false {
            assert_eq!(u["devices"], 0);
            assert_eq!(u["status"], "offline");
            assert!(u["last_seen"].as_i64().unwrap() > 0, "{u}");
            assert!(u["connected_since"].is_null());
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "omar still online");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, u) = server
        .api(Method::GET, "/api/server/users/nobody", None)
        .await;
    assert_eq!(
        (u["online"].as_bool(), u["last_seen"].is_null()),
        (Some(false), true)
    );
}

#[tokio::test]
async fn openapi_describes_the_server_api() {
    let server = server().await;
    let res = reqwest::get(server.http("/api/openapi.json"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/rooms",
        "/api/rooms/{id}",
        "/api/rooms/{id}/members",
        "/api/rooms/{id}/members/{user_id}",
        "/api/rooms/{id}/messages",
        "/api/rooms/{id}/calls",
        "/api/dev/token",
        "/api/dev/config",
        "/api/server/notify/user/{user_id}",
        "/api/server/notify/room/{room_id}",
        "/api/server/notify/all",
        "/api/server/events/user/{user_id}",
        "/api/server/rooms/{room_id}/messages",
        "/api/server/uploads",
        "/api/server/clients",
        "/api/server/users/{user_id}",
        "/api/status",
        "/api/notifications",
        "/api/notifications/{id}/read",
        "/api/uploads",
        "/api/uploads/{id}",
        "/api/rooms/{id}/assistant",
        "/api/calls",
        "/api/calls/{id}",
        "/api/calls/{id}/report",
        "/api/monitor/calls",
    ] {
        assert!(doc["paths"][path].is_object(), "missing {path}");
    }
    assert!(doc["components"]["securitySchemes"]["api_key"].is_object());
    assert!(doc["components"]["schemas"]["NotifyRequest"].is_object());
    // Each route under its methods, with its body's schema.
    assert!(doc["paths"]["/api/rooms"]["get"].is_object());
    assert!(doc["paths"]["/api/rooms"]["post"].is_object());
    assert!(doc["paths"]["/api/rooms/{id}/members/{user_id}"]["delete"].is_object());
    let create = &doc["components"]["schemas"]["CreateRoom"];
    let mut required: Vec<&str> = create["required"]
        .as_array()
        .expect("CreateRoom lists its required fields")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    required.sort();
    assert_eq!(required, ["title", "type"], "{create}");
    let paging: Vec<&str> = doc["paths"]["/api/rooms/{id}/messages"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(paging, ["id", "before", "after", "limit"]);
    let filters: Vec<&str> = doc["paths"]["/api/calls"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        filters,
        ["room_id", "user_id", "since", "until", "worst", "issue", "limit"]
    );
}

#[tokio::test]
async fn the_backend_sends_files_into_a_room() {
    let server = server().await;
    server.room("visa-8", "amira", &["omar"]).await;
    let mut amira = server.client("amira", "applicant").await;
    amira.join("visa-8").await;

    // A document from the CRM, sent under a named sender, with text.
    let (status, doc) = server
        .api_upload(
            "/api/server/uploads?sender_id=crm",
            "approval.pdf",
            &common::api::pdf(),
        )
        .await;
    assert_eq!(status, 201, "{doc}");
    assert_eq!(doc["mime_type"], "application/pdf");
    let (status, body) = server
        .api(
            Method::POST,
            "/api/server/rooms/visa-8/messages",
            Some(
                json!({"text": "Your approval letter", "attachments": [doc["id"]],
                        "sender": {"id": "crm", "name": "Visa office"}}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let live = amira.recv_type("message").await;
    assert_eq!(live["message"]["text"], "Your approval letter");
    assert_eq!(live["message"]["sender"]["id"], "crm");
    assert_eq!(live["message"]["attachments"][0]["id"], doc["id"]);
    assert_eq!(live["message"]["attachments"][0]["name"], "approval.pdf");
    // A member downloads exactly that file; a stranger may not.
    let url = doc["url"].as_str().unwrap();
    let (status, _, bytes) = server.fetch(Some(&amira.token), url).await;
    assert_eq!((status, bytes), (200, common::api::pdf()));
    let stranger = server.token("eve", "applicant");
    let (status, _, _) = server.fetch(Some(&stranger), url).await;
    assert_eq!(status, 404, "as if it did not exist");

    // A file alone as a system message (the default sender).
    let (_, scan) = server
        .api_upload("/api/server/uploads", "receipt.pdf", &common::api::pdf())
        .await;
    let (status, body) = server
        .api(
            Method::POST,
            "/api/server/rooms/visa-8/messages",
            Some(json!({"attachments": [scan["id"]]})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["message"]["message_type"], "system");
    assert_eq!(body["message"]["text"], "");
    assert_eq!(body["message"]["attachments"][0]["name"], "receipt.pdf");

    // Refused: a file uploaded for another sender, a user's own upload,
    // no text and no files, no API key, a bad or reserved sender id.
    let (_, mine) = server
        .upload(Some(&amira.token), "passport.png", &common::api::pdf())
        .await;
    for (what, body, want) in [
        (
            "another sender's file",
            json!({"attachments": [doc["id"]]}),
            403,
        ),
        ("a user's upload", json!({"attachments": [mine["id"]]}), 403),
        (
            "nothing at all",
            json!({"text": "", "attachments": []}),
            400,
        ),
    ] {
        let (status, err) = server
            .api(
                Method::POST,
                "/api/server/rooms/visa-8/messages",
                Some(body),
            )
            .await;
        assert_eq!(status, want, "{what}: {err}");
        assert!(err["code"].is_string(), "{what}: {err}");
    }
    let res = reqwest::Client::new()
        .post(server.http("/api/server/uploads"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    for bad in ["sender_id=", "sender_id=assistant"] {
        let (status, err) = server
            .api_upload(
                &format!("/api/server/uploads?{bad}"),
                "x.pdf",
                &common::api::pdf(),
            )
            .await;
        assert_eq!(
            (status, err["code"].as_str()),
            (400, Some("BAD_REQUEST")),
            "{bad}"
        );
    }
    // Only the two accepted messages are in the room.
    let (_, page) = server.get(&amira.token, "/api/rooms/visa-8/messages").await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 2, "{page}");
}
