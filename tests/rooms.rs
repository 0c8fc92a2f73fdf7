//! Rooms: creation over REST, per-user room lists, joining and leaving over
//! the socket, and who may see a room (members, staff in scope, token
//! grants) — everyone else learns nothing about it.

mod common;

use common::{claims, Client, TestServer};
use earshot::auth::Claims;
use reqwest::Method;
use serde_json::{json, Value};

fn ids(v: &Value, key: impl Fn(&Value) -> &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .expect("array")
        .iter()
        .map(|x| key(x).as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

fn member_ids(show: &Value) -> Vec<String> {
    ids(&show["members"], |m| &m["user"]["id"])
}

/// Send `{"type": kind, "room_id": room}` and return the reply's error code.
async fn code(c: &mut Client, kind: &str, room: &str) -> Value {
    let mut req = json!({"type": kind, "room_id": room});
    if kind == "send_message" {
        req["client_msg_id"] = json!("x");
        req["text"] = json!("hi");
    }
    let r = c.request(req).await;
    assert_eq!(r["type"], "error", "{kind} {room}: {r}");
    r["code"].clone()
}

async fn post(server: &TestServer, token: &str, path: &str, body: Value) -> (u16, Value) {
    server
        .call(Method::POST, Some(token), path, Some(body))
        .await
}

async fn delete(server: &TestServer, token: &str, path: &str) -> (u16, Value) {
    server.call(Method::DELETE, Some(token), path, None).await
}

#[tokio::test]
async fn create_room_then_conflict_and_bad_input() {
    let server = TestServer::start().await;
    // Room ids are chosen by staff and product backends (service roles).
    let amira = server.token("amira", "service");
    let body = json!({"id": "visa-42", "type": "application", "title": "  Visa 42  ",
        "participants": ["omar", "amira"], "metadata": {"case": 42}});
    let (status, room) = post(&server, &amira, "/api/rooms", body).await;
    assert_eq!(status, 201, "{room}");
    assert_eq!(room["id"], "visa-42");
    assert_eq!(room["type"], "application");
    assert_eq!(room["title"], "Visa 42");
    assert_eq!(room["metadata"]["case"], 42);
    assert_eq!(room["created_by"], "amira");
    assert!(room["created_at"].is_i64());

    let omar = server.token("omar", "applicant");
    let (status, show) = server.get(&omar, "/api/rooms/visa-42").await;
    assert_eq!(status, 200, "a participant can see it: {show}");
    assert_eq!(
        member_ids(&show),
        ["amira", "omar"],
        "creator once, plus participants"
    );
    assert_eq!(show["last_seq"], 0);

    // The same id again is a conflict and changes nothing.
    let dup = json!({"id": "visa-42", "type": "ticket", "title": "Hijack"});
    let pro = server.token("omar", "professional");
    let (status, err) = post(&server, &pro, "/api/rooms", dup).await;
    assert_eq!(status, 409);
    assert_eq!(err["code"], "CONFLICT");
    let (_, show) = server.get(&amira, "/api/rooms/visa-42").await;
    assert_eq!(show["room"]["title"], "Visa 42");
    assert_eq!(show["room"]["created_by"], "amira");

    let bad = [
        json!({"id": "has space", "type": "t", "title": "T"}),
        json!({"id": "", "type": "t", "title": "T"}),
        json!({"id": "x".repeat(129), "type": "t", "title": "T"}),
        json!({"type": "", "title": "T"}),
        json!({"type": "t", "title": "   "}),
        json!({"type": "t", "title": "x".repeat(201)}),
        json!({"type": "t"}),
        json!({"type": "t", "title": "T", "owner": "amira"}),
        json!({"type": "t", "title": "T", "participants": [""]}),
        json!({"type": "t", "title": "T", "participants": "omar"}),
        json!({"type": "t", "title": "T", "metadata": {"blob": "x".repeat(17 * 1024)}}),
    ];
    for body in bad {
        let (status, err) = post(&server, &amira, "/api/rooms", body.clone()).await;
        assert_eq!(status, 400, "{body}: {err}");
        assert_eq!(err["code"], "BAD_REQUEST", "{body}");
        assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let res = reqwest::Client::new()
        .post(server.http("/api/rooms"))
        .bearer_auth(&amira)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "BAD_REQUEST");

    // Without an id, the server picks one.
    let made = server
        .create_room(&amira, json!({"type": "support", "title": "Help"}))
        .await;
    let id = made["id"].as_str().unwrap();
    assert!(!id.is_empty());
    let (status, show) = server.get(&amira, &format!("/api/rooms/{id}")).await;
    assert_eq!((status, &show["room"]["title"]), (200, &json!("Help")));
}

#[tokio::test]
async fn room_list_has_unread_last_message_and_who_is_online() {
    let server = TestServer::start().await;
    server.room("visa", "amira", &["omar"]).await;
    server.room("quiet", "amira", &[]).await;
    server.room("elsewhere", "zed", &["omar"]).await;
    let mut omar = server.client("omar", "professional").await;
    omar.join("visa").await;
    omar.say("visa", "1", "Please upload your passport").await;
    omar.say("visa", "2", "Your appointment is confirmed").await;

    let amira_token = server.token("amira", "applicant");
    let (status, list) = server.get(&amira_token, "/api/rooms").await;
    assert_eq!(status, 200);
    let rooms = list["rooms"].as_array().unwrap();
    let order: Vec<_> = rooms.iter().map(|r| &r["room"]["id"]).collect();
    assert_eq!(order, ["visa", "quiet"], "her rooms, latest activity first");
    let visa = &rooms[0];
    assert_eq!(visa["unread"], 2);
    assert_eq!(visa["last_seq"], 2);
    assert_eq!(
        visa["last_message"]["text"],
        "Your appointment is confirmed"
    );
    assert_eq!(visa["last_message"]["sender_id"], "omar");
    assert_eq!(visa["last_message"]["sender_name"], "Omar");
    assert_eq!(visa["online"], json!(["omar"]));
    assert_eq!(rooms[1]["unread"], 0);
    assert!(rooms[1]["last_message"].is_null());
    assert_eq!(rooms[1]["online"], json!([]));

    // Amira comes online, reads, and writes: her own message is not unread.
    let mut amira = server.client("amira", "applicant").await;
    amira.join("visa").await;
    amira
        .send(json!({"type": "mark_read", "room_id": "visa", "seq": 2}))
        .await;
    assert_eq!(amira.recv_type("read_receipt").await["seq"], 2);
    amira.say("visa", "3", "Thanks!").await;
    let r = amira.request(json!({"type": "list_rooms"})).await;
    assert_eq!(r["type"], "rooms");
    let visa = &r["rooms"][0];
    assert_eq!(visa["room"]["id"], "visa");
    assert_eq!(visa["unread"], 0);
    assert_eq!(visa["last_message"]["text"], "Thanks!");
    assert_eq!(ids(&visa["online"], |u| u), ["amira", "omar"]);

    let (_, list) = server.get(&omar.token, "/api/rooms").await;
    assert_eq!(list["rooms"][0]["room"]["id"], "visa");
    assert_eq!(
        list["rooms"][0]["unread"], 1,
        "Amira's reply is unread for Omar"
    );
}

#[tokio::test]
async fn join_and_leave_over_the_socket_tell_other_members() {
    let server = TestServer::start().await;
    server.room("r", "amira", &["omar"]).await;
    let mut amira = server.client("amira", "applicant").await;
    let mut omar = server.client("omar", "professional").await;

    let joined = amira.join("r").await;
    assert_eq!(joined["room"]["id"], "r");
    assert_eq!(joined["room"]["title"], "Room r");
    assert_eq!(member_ids(&joined), ["amira", "omar"]);
    assert_eq!(joined["missed"], json!([]));

    omar.join("r").await;
    let mj = amira.recv_type("member_joined").await;
    assert_eq!(mj["room_id"], "r");
    assert_eq!(mj["user"]["id"], "omar");
    assert_eq!(mj["user"]["name"], "Omar");
    amira.say("r", "m1", "hello").await;
    assert_eq!(omar.recv_type("message").await["message"]["text"], "hello");

    let left = omar
        .request(json!({"type": "leave_room", "room_id": "r"}))
        .await;
    assert_eq!(left["type"], "room_left");
    assert_eq!(left["room_id"], "r");
    let ml = amira.recv_type("member_left").await;
    assert_eq!(
        (ml["room_id"].as_str(), ml["user_id"].as_str()),
        (Some("r"), Some("omar"))
    );

    // After leaving, nothing from the room arrives and sending is refused.
    amira.say("r", "m2", "anyone?").await;
    let got = omar.sync().await;
    assert!(got.iter().all(|m| m["type"] != "message"), "{got:?}");
    assert_eq!(code(&mut omar, "send_message", "r").await, "NOT_JOINED");

    // Disconnecting leaves too.
    omar.join("r").await;
    amira.recv_type("member_joined").await;
    omar.ws.close(None).await.unwrap();
    assert_eq!(amira.recv_type("member_left").await["user_id"], "omar");
}

#[tokio::test]
async fn non_member_is_denied_everything_and_learns_nothing() {
    let server = TestServer::start().await;
    server.room("private", "amira", &["omar"]).await;
    let mut amira = server.client("amira", "applicant").await;
    amira.join("private").await;
    amira.say("private", "s", "the secret plan").await;

    let mut eve = server.client("eve", "customer").await;
    let mut answers = vec![];
    for req in [
        json!({"type": "join_room", "room_id": "private"}),
        json!({"type": "get_messages", "room_id": "private"}),
        json!({"type": "get_messages", "room_id": "private", "after": 0}),
    ] {
        let r = eve.request(req.clone()).await;
        assert_eq!(r["type"], "error", "{req}: {r}");
        assert_eq!(
            r["code"], "NOT_FOUND",
            "{req}: like a room that does not exist"
        );
        answers.push(r);
    }
    let t = eve.token.clone();
    for path in ["/api/rooms/private", "/api/rooms/private/messages"] {
        let (status, body) = server.get(&t, path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["code"], "NOT_FOUND");
        answers.push(body);
    }
    let add_self = json!({"user_id": "eve"});
    let (status, body) = post(&server, &t, "/api/rooms/private/members", add_self).await;
    assert_eq!(status, 404, "cannot add herself");
    answers.push(body);
    answers.extend(eve.sync().await);
    answers.push(server.get(&t, "/api/rooms").await.1);
    let seen = serde_json::to_string(&answers).unwrap();
    for secret in ["secret plan", "Room private", "omar", "amira"] {
        assert!(!seen.contains(secret), "leaked {secret:?}: {seen}");
    }

    // Nothing changed for the members either.
    let got = amira.sync().await;
    assert!(got.iter().all(|m| m["type"] != "member_joined"), "{got:?}");
    let (_, show) = server.get(&amira.token, "/api/rooms/private").await;
    assert_eq!(member_ids(&show), ["amira", "omar"]);
}

#[tokio::test]
async fn staff_without_tenant_may_join_any_room() {
    let server = TestServer::start().await;
    server.room("case-1", "amira", &[]).await;
    let mut amira = server.client("amira", "applicant").await;
    amira.join("case-1").await;
    for (user, role) in [("pro", "professional"), ("root", "admin")] {
        let mut staff = server.client(user, role).await;
        staff.join("case-1").await;
        let mj = amira.recv_type("member_joined").await;
        assert_eq!(mj["user"]["id"], user);
        assert_eq!(mj["user"]["role"], role);
        let (status, _) = server.get(&staff.token, "/api/rooms/case-1").await;
        assert_eq!(status, 200, "{role}");
        let (_, list) = server.get(&staff.token, "/api/rooms").await;
        assert_eq!(
            list["rooms"][0]["room"]["id"], "case-1",
            "joined rooms are listed"
        );
    }
    let mut customer = server.client("cust", "customer").await;
    let denied = code(&mut customer, "join_room", "case-1").await;
    assert_eq!(denied, "NOT_FOUND", "customer is not a staff role");
}

#[tokio::test]
async fn tenant_staff_reach_only_their_tenant_rooms() {
    let server = TestServer::start().await;
    let tenanted = |user: &str, role: &str, tenant: &str| Claims {
        tenant: Some(tenant.into()),
        ..claims(user, role)
    };
    for (user, tenant, id) in [("amira", "acme", "acme-1"), ("gus", "globex", "globex-1")] {
        let token = server.token_with(tenanted(user, "service", tenant));
        let body = json!({"id": id, "type": "ticket", "title": id});
        let room = server.create_room(&token, body).await;
        assert_eq!(room["tenant"], tenant, "a room takes its creator's tenant");
    }
    server.room("open-1", "lina", &[]).await;

    let mut pro = server
        .client_with(tenanted("pro", "professional", "acme"))
        .await;
    pro.join("acme-1").await;
    for other in ["globex-1", "open-1"] {
        assert_eq!(
            code(&mut pro, "join_room", other).await,
            "NOT_FOUND",
            "{other}"
        );
        for path in [
            format!("/api/rooms/{other}"),
            format!("/api/rooms/{other}/messages"),
        ] {
            assert_eq!(server.get(&pro.token, &path).await.0, 404, "{path}");
        }
    }
    let (status, _) = server.get(&pro.token, "/api/rooms/acme-1/messages").await;
    assert_eq!(status, 200);

    // Staff without a tenant are not limited to one; they name a tenant's
    // room `tenant/id`, and see it as its tenant does.
    let mut root = server.client("root", "admin").await;
    let r = root.join("globex/globex-1").await;
    assert_eq!(
        (&r["room"]["id"], &r["room"]["tenant"]),
        (&json!("globex-1"), &json!("globex"))
    );
    root.join("acme/acme-1").await;
    root.join("open-1").await;
}

#[tokio::test]
async fn a_room_grant_in_the_token_opens_that_room_only() {
    let server = TestServer::start().await;
    server.room("x", "amira", &[]).await;
    server.room("y", "amira", &[]).await;
    let mut guest = server
        .client_with(Claims {
            rooms: vec!["x".into()],
            ..claims("guest", "applicant")
        })
        .await;
    guest.join("x").await;
    assert_eq!(code(&mut guest, "join_room", "y").await, "NOT_FOUND");
    assert_eq!(server.get(&guest.token, "/api/rooms/x").await.0, 200);
    assert_eq!(server.get(&guest.token, "/api/rooms/y").await.0, 404);
}

#[tokio::test]
async fn unknown_room_is_not_found() {
    let server = TestServer::start().await;
    let mut amira = server.client("amira", "admin").await;
    for kind in ["join_room", "get_messages", "leave_room"] {
        assert_eq!(code(&mut amira, kind, "nope").await, "NOT_FOUND", "{kind}");
    }
    for path in ["/api/rooms/nope", "/api/rooms/nope/messages"] {
        let (status, body) = server.get(&amira.token, path).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("NOT_FOUND")),
            "{path}"
        );
    }
    let add = json!({"user_id": "omar"});
    let (status, _) = post(&server, &amira.token, "/api/rooms/nope/members", add).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn adding_a_member_lets_them_in_and_removing_drops_them() {
    let server = TestServer::start().await;
    server.room("r", "amira", &[]).await;
    let mut amira = server.client("amira", "applicant").await;
    amira.join("r").await;
    let mut omar = server.client("omar", "applicant").await;
    assert_eq!(code(&mut omar, "join_room", "r").await, "NOT_FOUND");

    let (members, at) = ("/api/rooms/r/members", amira.token.clone());
    let add = |u: &str| json!({"user_id": u});
    assert_eq!(post(&server, &at, members, add("omar")).await.0, 201);
    let again = post(&server, &at, members, add("omar")).await.0;
    assert_eq!(again, 200, "already a member");
    assert_eq!(post(&server, &at, members, add("")).await.0, 400);
    omar.join("r").await;
    assert_eq!(amira.recv_type("member_joined").await["user"]["id"], "omar");

    // Only staff remove others.
    let (status, body) = delete(&server, &at, "/api/rooms/r/members/omar").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("ACCESS_DENIED"))
    );
    let admin = server.token("root", "admin");
    let (status, _) = delete(&server, &admin, "/api/rooms/r/members/omar").await;
    assert_eq!(status, 204);
    let left = omar.recv_type("room_left").await;
    assert_eq!(left["room_id"], "r");
    assert_eq!(amira.recv_type("member_left").await["user_id"], "omar");

    amira.say("r", "after", "omar is gone").await;
    assert!(omar.sync().await.iter().all(|m| m["type"] != "message"));
    assert_eq!(code(&mut omar, "send_message", "r").await, "NOT_JOINED");
    assert_eq!(code(&mut omar, "join_room", "r").await, "NOT_FOUND");
    assert_eq!(server.get(&omar.token, "/api/rooms/r").await.0, 404);
    let (status, _) = delete(&server, &admin, "/api/rooms/r/members/omar").await;
    assert_eq!(status, 404, "no longer a member");

    // Anyone may remove themselves.
    assert_eq!(post(&server, &at, members, add("lina")).await.0, 201);
    let lina = server.token("lina", "applicant");
    let (status, _) = delete(&server, &lina, "/api/rooms/r/members/lina").await;
    assert_eq!(status, 204);
    let (_, show) = server.get(&amira.token, "/api/rooms/r").await;
    assert_eq!(member_ids(&show), ["amira"]);
}
