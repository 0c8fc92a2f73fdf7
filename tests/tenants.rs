//! Tenant isolation: keys and tokens of one tenant never reach another
//! tenant's rooms or users, users cannot take room ids the product will use
//! (nor be handed into a room a user made by a token grant), and a room one
//! may not access answers exactly like a room that does not exist.

mod common;

use common::tenancy::{of, product_room, send, server, As, ACME_KEY};
use common::{Client, TestServer};
use earshot::auth::Claims;
use reqwest::Method;
use serde_json::{json, Value};

/// Two tenants, each with a room and a connected user in it: acme's Amira
/// in `acme-case`, globex's Gus in `globex-case`.
async fn two_tenants(server: &TestServer) -> (Client, Client) {
    product_room(server, "acme", "acme-case", "amira", &[]).await;
    product_room(server, "globex", "globex-case", "gus", &[]).await;
    let mut amira = server.client_with(of("acme", "amira", "applicant")).await;
    amira.join("acme-case").await;
    let mut gus = server.client_with(of("globex", "gus", "applicant")).await;
    gus.join("globex-case").await;
    (amira, gus)
}

/// Neither a message nor a notification reached `c` so far.
async fn untouched(c: &mut Client) {
    let got = c.sync().await;
    assert!(
        got.iter()
            .all(|m| m["type"] != "message" && m["type"] != "notification" && m["type"] != "event"),
        "{}: {got:?}",
        c.user
    );
}

#[tokio::test]
async fn an_admin_token_of_one_tenant_never_reaches_another_tenants_rooms_or_users() {
    let server = server().await;
    let (mut amira, mut gus) = two_tenants(&server).await;
    let admin = server.token_with(of("globex", "boss", "admin"));
    let globex = As::Token(&admin);
    let note = json!({"title": "Hello"});
    let event = json!({"name": "ping"});
    let post =
        json!({"text": "I am your professional", "sender": {"id": "boss", "role": "professional"}});

    // Every call aimed at acme answers exactly like one aimed at nothing.
    let probes: [(Method, &str, &str, Option<Value>); 7] = [
        (
            Method::POST,
            "/api/server/rooms/{}/messages",
            "room",
            Some(post.clone()),
        ),
        (
            Method::POST,
            "/api/server/notify/room/{}",
            "room",
            Some(note.clone()),
        ),
        (
            Method::POST,
            "/api/server/events/room/{}",
            "room",
            Some(event.clone()),
        ),
        (
            Method::PUT,
            "/api/rooms/{}/assistant",
            "room",
            Some(json!({"enabled": true})),
        ),
        (Method::GET, "/api/rooms/{}/assistant", "room", None),
        (
            Method::POST,
            "/api/server/notify/user/{}",
            "user",
            Some(note.clone()),
        ),
        (Method::GET, "/api/server/users/{}", "user", None),
    ];
    for (method, path, what, body) in probes {
        let target = if what == "room" { "acme-case" } else { "amira" };
        let theirs = path.replace("{}", target);
        let nothing = path.replace("{}", "no-such-thing");
        let (status, err) = send(&server, &globex, method.clone(), &theirs, body.clone()).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (404, Some("NOT_FOUND")),
            "{method} {theirs}: {err}"
        );
        let missing = send(&server, &globex, method.clone(), &nothing, body.clone()).await;
        assert_eq!((status, err), missing, "{method} {theirs} looks missing");
    }
    let (status, err) = send(
        &server,
        &globex,
        Method::POST,
        "/api/server/events/user/amira",
        Some(event.clone()),
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (404, Some("NOT_FOUND")));

    // Everyone means everyone of globex: Gus, not Amira.
    let (status, sent) = send(
        &server,
        &globex,
        Method::POST,
        "/api/server/notify/all",
        Some(json!({"title": "Globex news"})),
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["recipients"], 1, "{sent}");
    assert_eq!(
        gus.recv_type("notification").await["notification"]["title"],
        "Globex news"
    );
    let (_, sent) = send(
        &server,
        &globex,
        Method::POST,
        "/api/server/events/all",
        Some(event.clone()),
    )
    .await;
    assert_eq!(sent["delivered_devices"], 1, "{sent}");
    assert_eq!(gus.recv_type("event").await["name"], "ping");

    // Acme saw nothing, stored nothing, and its assistant stayed off.
    untouched(&mut amira).await;
    let (_, list) = server.get(&amira.token, "/api/notifications").await;
    assert_eq!(list["notifications"], json!([]));
    let (_, history) = server
        .get(&amira.token, "/api/rooms/acme-case/messages")
        .await;
    assert_eq!(history["messages"], json!([]));
    let (_, assistant) = server
        .api(Method::GET, "/api/rooms/acme%2Facme-case/assistant", None)
        .await;
    assert_eq!(assistant["enabled"], false);

    // Within its own tenant the same token works.
    let own = send(
        &server,
        &globex,
        Method::POST,
        "/api/server/rooms/globex-case/messages",
        Some(post),
    )
    .await;
    assert_eq!(own.0, 201, "{}", own.1);
    let (status, user) = send(&server, &globex, Method::GET, "/api/server/users/gus", None).await;
    assert_eq!((status, user["online"].as_bool()), (200, Some(true)));
}

#[tokio::test]
async fn a_tenant_api_key_is_scoped_and_plain_keys_stay_global() {
    let server = server().await;
    let (mut amira, mut gus) = two_tenants(&server).await;
    let acme = As::Key(ACME_KEY);
    let text = |t: &str| Some(json!({"text": t}));

    let (status, _) = send(
        &server,
        &acme,
        Method::POST,
        "/api/server/rooms/acme-case/messages",
        text("for acme"),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(
        amira.recv_type("message").await["message"]["text"],
        "for acme"
    );
    let (status, err) = send(
        &server,
        &acme,
        Method::POST,
        "/api/server/rooms/globex-case/messages",
        text("intrusion"),
    )
    .await;
    assert_eq!(
        (status, err["message"].as_str()),
        (404, Some("room not found"))
    );
    let (status, _) = send(&server, &acme, Method::GET, "/api/server/users/gus", None).await;
    assert_eq!(status, 404);

    // The key also works as a bearer token, with the same scope.
    let bearer = As::Token(ACME_KEY);
    let (status, _) = send(
        &server,
        &bearer,
        Method::POST,
        "/api/server/notify/user/gus",
        Some(json!({"title": "x"})),
    )
    .await;
    assert_eq!(status, 404);

    let (_, clients) = send(&server, &acme, Method::GET, "/api/server/clients", None).await;
    let users: Vec<&str> = clients["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["user"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["amira"], "{clients}");
    let (_, sent) = send(
        &server,
        &acme,
        Method::POST,
        "/api/server/notify/all",
        Some(json!({"title": "Acme news"})),
    )
    .await;
    assert_eq!(sent["recipients"], 1, "{sent}");
    assert_eq!(
        amira.recv_type("notification").await["notification"]["title"],
        "Acme news"
    );
    untouched(&mut gus).await;

    // A plain key reaches every tenant.
    let (_, sent) = server
        .api(
            Method::POST,
            "/api/server/notify/all",
            Some(json!({"title": "Everyone"})),
        )
        .await;
    assert_eq!(sent["recipients"], 2, "{sent}");
    let (status, _) = server
        .api(
            Method::POST,
            "/api/server/rooms/globex%2Fglobex-case/messages",
            text("from the operator"),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        gus.recv_type("message").await["message"]["text"],
        "from the operator"
    );
    let (_, clients) = server.api(Method::GET, "/api/server/clients", None).await;
    assert_eq!(clients["count"], 2);
}

#[tokio::test]
async fn a_squatter_cannot_take_a_room_id_nor_be_handed_an_applicant() {
    let server = server().await;
    let mallory = server.token_with(of("acme", "mallory", "applicant"));

    // A user cannot choose the id the product will use...
    let squat = json!({"id": "visa-2", "type": "application", "title": "visa-2"});
    let (status, err) = send(
        &server,
        &As::Token(&mallory),
        Method::POST,
        "/api/rooms",
        Some(squat),
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (403, Some("ACCESS_DENIED")),
        "{err}"
    );
    assert!(
        err["message"].as_str().unwrap().contains("generated"),
        "{err}"
    );
    // ...her rooms get ids the server generates...
    let own = server
        .create_room(&mallory, json!({"type": "application", "title": "visa-2"}))
        .await;
    let own_id = own["id"].as_str().unwrap().to_string();
    assert_eq!(own_id.len(), 36, "a UUID: {own_id}");
    // ...so the product's id is still free.
    product_room(&server, "acme", "visa-2", "consul", &[]).await;
    let mut consul = server
        .client_with(of("acme", "consul", "professional"))
        .await;
    consul.join("visa-2").await;

    // The applicant, granted visa-2, gets the product's room: the squatter
    // is not in it and reads nothing.
    let granted = |room: &str| Claims {
        rooms: vec![room.to_string()],
        ..of("acme", "amira", "applicant")
    };
    let mut amira = server.client_with(granted("visa-2")).await;
    amira.join("visa-2").await;
    amira.say("visa-2", "b1", "my bank statement").await;
    let mut m = server.client_with(of("acme", "mallory", "applicant")).await;
    let r = m
        .request(json!({"type": "join_room", "room_id": "visa-2"}))
        .await;
    assert_eq!(r["code"], "NOT_FOUND", "{r}");
    let (status, body) = server.get(&mallory, "/api/rooms/visa-2/messages").await;
    assert_eq!(status, 404, "{body}");
    assert!(!body.to_string().contains("bank statement"));

    // A grant never hands anyone into a room a user made...
    let mut lured = server.client_with(granted(&own_id)).await;
    let r = lured
        .request(json!({"type": "join_room", "room_id": own_id}))
        .await;
    assert_eq!(r["code"], "NOT_FOUND", "{r}");
    let (status, _) = server
        .get(&lured.token, &format!("/api/rooms/{own_id}"))
        .await;
    assert_eq!(status, 404);
    // ...nor into a room of another tenant.
    let mut outsider = server
        .client_with(Claims {
            rooms: vec!["visa-2".into()],
            ..of("globex", "gus", "applicant")
        })
        .await;
    let r = outsider
        .request(json!({"type": "join_room", "room_id": "visa-2"}))
        .await;
    assert_eq!(r["code"], "NOT_FOUND", "{r}");
    // Even listed as a member, an identity of another tenant stays outside.
    product_room(&server, "acme", "visa-3", "consul", &["gus"]).await;
    let r = outsider
        .request(json!({"type": "join_room", "room_id": "visa-3"}))
        .await;
    assert_eq!(r["code"], "NOT_FOUND", "{r}");
    let (status, _) = server.get(&outsider.token, "/api/rooms/visa-3").await;
    assert_eq!(status, 404);
    let (_, list) = server.get(&outsider.token, "/api/rooms").await;
    assert_eq!(list["rooms"], json!([]), "nor is it in his list");
    let r = outsider.request(json!({"type": "list_rooms"})).await;
    assert_eq!(r["rooms"], json!([]), "{r}");
    // Staff choose ids as before; a taken id is still a conflict for them.
    let pro = server.token_with(of("acme", "consul", "professional"));
    let again = json!({"id": "visa-2", "type": "application", "title": "again"});
    let (status, _) = send(
        &server,
        &As::Token(&pro),
        Method::POST,
        "/api/rooms",
        Some(again),
    )
    .await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn a_room_one_may_not_access_answers_exactly_like_a_missing_room() {
    let server = server().await;
    server.room("private", "amira", &["omar"]).await;
    let mut eve = server.client("eve", "customer").await;
    let token = eve.token.clone();
    let who = As::Token(&token);

    for kind in ["join_room", "get_messages", "start_call", "leave_room"] {
        let mut answers = vec![];
        for room in ["private", "no-such-room"] {
            let mut r = eve.request(json!({"type": kind, "room_id": room})).await;
            r.as_object_mut().unwrap().remove("request_id");
            answers.push(r);
        }
        assert_eq!(answers[0], answers[1], "{kind}");
        assert_eq!(answers[0]["code"], "NOT_FOUND", "{kind}");
    }
    let rest: [(Method, &str, Option<Value>); 6] = [
        (Method::GET, "/api/rooms/{}", None),
        (Method::GET, "/api/rooms/{}/messages", None),
        (Method::GET, "/api/rooms/{}/calls", None),
        (
            Method::POST,
            "/api/rooms/{}/members",
            Some(json!({"user_id": "eve"})),
        ),
        (Method::GET, "/api/rooms/{}/assistant", None),
        (
            Method::PUT,
            "/api/rooms/{}/assistant",
            Some(json!({"enabled": true})),
        ),
    ];
    for (method, path, body) in rest {
        let theirs = send(
            &server,
            &who,
            method.clone(),
            &path.replace("{}", "private"),
            body.clone(),
        )
        .await;
        let missing = send(
            &server,
            &who,
            method.clone(),
            &path.replace("{}", "no-such-room"),
            body,
        )
        .await;
        assert_eq!(theirs, missing, "{method} {path}");
        assert_eq!(theirs.0, 404, "{method} {path}");
    }
}

#[tokio::test]
async fn status_shows_a_tenant_only_its_own_figures() {
    let server = server().await;
    let (_amira, _gus) = two_tenants(&server).await;
    product_room(&server, "globex", "globex-2", "gus", &[]).await;

    let global = server.token("root", "admin");
    let (status, all) = server.get(&global, "/api/status").await;
    assert_eq!(status, 200);
    assert_eq!(
        (all["rooms_total"].as_i64(), all["users_online"].as_i64()),
        (Some(3), Some(2))
    );
    assert!(
        all.get("sfu").is_some() && all.get("rooms_active").is_some(),
        "{all}"
    );

    let staff = server.token_with(of("acme", "pro", "professional"));
    let (status, mine) = server.get(&staff, "/api/status").await;
    assert_eq!(status, 200);
    let (_, by_key) = send(
        &server,
        &As::Key(ACME_KEY),
        Method::GET,
        "/api/status",
        None,
    )
    .await;
    for view in [&mine, &by_key] {
        assert_eq!(view["tenant"], "acme", "{view}");
        assert_eq!(view["rooms_total"], 1, "{view}");
        assert_eq!(view["users_online"], 1, "{view}");
        assert_eq!(view["connections"], 1, "{view}");
        for global_only in ["sfu", "rooms_active", "calls_active"] {
            assert!(view.get(global_only).is_none(), "{global_only}: {view}");
        }
    }
}
