//! Presence: aggregated across a user's devices (busy > online > away),
//! pushed to everyone sharing a room and to no one else, `last_seen` when
//! the last device goes, `get_presence`, and `member_joined`/`member_left`
//! once per user per room.

mod common;

use common::{Client, TestServer};
use earshot::auth::Claims;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The next `presence` event about `user`.
async fn presence_of(c: &mut Client, user: &str) -> Value {
    c.recv_where(&format!("presence of {user}"), |m| {
        m["type"] == "presence" && m["user_id"] == user
    })
    .await
}

/// Set this device's status; returns once the server has handled it.
async fn set(c: &mut Client, status: &str) {
    c.send(json!({"type": "set_presence", "status": status}))
        .await;
    c.sync().await;
}

async fn get_presence(c: &mut Client, users: &[&str]) -> Vec<Value> {
    let r = c
        .request(json!({"type": "get_presence", "user_ids": users}))
        .await;
    assert_eq!(r["type"], "presence_list", "{r}");
    r["users"].as_array().unwrap().clone()
}

async fn status_of(c: &mut Client, user: &str) -> Value {
    let users = get_presence(c, &[user]).await;
    assert_eq!(users.len(), 1, "{users:?}");
    users[0]["status"].clone()
}

#[tokio::test]
async fn presence_is_aggregated_across_devices_and_pushed_to_co_members() {
    let server = TestServer::start().await;
    server.room("r", "amira", &["omar"]).await;
    server.room("z", "zed", &[]).await;
    let mut omar = server.client("omar", "applicant").await;
    let mut zed = server.client("zed", "applicant").await;

    let mut laptop = server.client("amira", "applicant").await;
    let p = presence_of(&mut omar, "amira").await;
    assert_eq!((&p["status"], &p["devices"]), (&json!("online"), &json!(1)));
    let mut phone = server.client("amira", "applicant").await;
    let p = presence_of(&mut omar, "amira").await;
    assert_eq!((&p["status"], &p["devices"]), (&json!("online"), &json!(2)));

    // Away on one device while the other is online: still online.
    set(&mut laptop, "away").await;
    assert_eq!(status_of(&mut omar, "amira").await, "online");

    // Away on both: away, and that is the next thing Omar is told.
    set(&mut phone, "away").await;
    let p = presence_of(&mut omar, "amira").await;
    assert_eq!((&p["status"], &p["devices"]), (&json!("away"), &json!(2)));
    assert_eq!(status_of(&mut omar, "amira").await, "away");

    // Busy on any device wins, even over online.
    set(&mut phone, "busy").await;
    assert_eq!(presence_of(&mut omar, "amira").await["status"], "busy");
    set(&mut laptop, "online").await;
    assert_eq!(status_of(&mut omar, "amira").await, "busy");

    // Closing the busy device leaves the online one.
    phone.ws.close(None).await.unwrap();
    let p = presence_of(&mut omar, "amira").await;
    assert_eq!((&p["status"], &p["devices"]), (&json!("online"), &json!(1)));
    assert!(p["last_seen"].is_null(), "still here: {p}");

    // Closing the last device: offline, with when she was last seen.
    let before = now_ms();
    laptop.ws.close(None).await.unwrap();
    let p = presence_of(&mut omar, "amira").await;
    assert_eq!(
        (&p["status"], &p["devices"]),
        (&json!("offline"), &json!(0))
    );
    let seen = p["last_seen"].as_i64().expect("last_seen");
    assert!(before <= seen && seen <= now_ms(), "last_seen {seen}");

    // Zed shares no room with Amira: he was told nothing about her (the
    // task that pushes presence had already sent Omar the last change).
    let got = zed.sync().await;
    assert!(
        !got.iter()
            .any(|m| m["type"] == "presence" && m["user_id"] != "zed"),
        "{got:?}"
    );
}

#[tokio::test]
async fn get_presence_reports_status_and_last_seen_of_visible_users() {
    let server = TestServer::start().await;
    server.room("r", "amira", &["omar"]).await;
    server.room("z", "zed", &[]).await;
    let mut amira = server.client("amira", "applicant").await;
    let mut zed = server.client("zed", "applicant").await;
    let omar = server.client("omar", "applicant").await;
    assert_eq!(presence_of(&mut amira, "omar").await["status"], "online");
    let mut omar = omar;
    omar.ws.close(None).await.unwrap();
    let gone = presence_of(&mut amira, "omar").await;
    assert_eq!(gone["status"], "offline");

    let users = get_presence(&mut amira, &["omar", "amira", "zed", "ghost"]).await;
    let by_id = |id: &str| users.iter().find(|u| u["user_id"] == id).cloned();
    let o = by_id("omar").expect("omar");
    assert_eq!(o["status"], "offline");
    assert_eq!(o["last_seen"], gone["last_seen"]);
    let a = by_id("amira").expect("herself");
    assert_eq!((&a["status"], &a["devices"]), (&json!("online"), &json!(1)));
    assert!(
        by_id("zed").is_none() && by_id("ghost").is_none(),
        "only users sharing a room are visible: {users:?}"
    );

    // Zed is online, but Amira may not know.
    assert_eq!(status_of(&mut zed, "zed").await, "online");
    // Staff see everyone.
    let mut sam = server.client("sam", "professional").await;
    assert_eq!(status_of(&mut sam, "zed").await, "online");
    assert_eq!(status_of(&mut sam, "omar").await, "offline");

    // `offline` is not a status one can set: disconnect instead.
    amira
        .send(json!({"type": "set_presence", "status": "offline", "request_id": "off"}))
        .await;
    let got = amira.sync().await;
    let r = got
        .iter()
        .find(|m| m["request_id"] == "off")
        .unwrap_or_else(|| panic!("no answer to set_presence offline: {got:?}"));
    assert_eq!(
        (&r["type"], &r["code"]),
        (&json!("error"), &json!("BAD_REQUEST"))
    );
    let r = amira
        .request(json!({"type": "set_presence", "status": "invisible"}))
        .await;
    assert_eq!(r["code"], "BAD_REQUEST");
    assert_eq!(status_of(&mut amira, "amira").await, "online");
}

#[tokio::test]
async fn member_joined_and_left_once_per_user_per_room() {
    let server = TestServer::start().await;
    server.room("r", "amira", &["omar"]).await;
    server.room("s", "amira", &["omar"]).await;
    let mut omar = server.client("omar", "applicant").await;
    omar.join("r").await;
    omar.join("s").await;
    let mut laptop = server.client("amira", "applicant").await;
    let mut phone = server.client("amira", "applicant").await;
    let membership = |got: &[Value]| -> Vec<Value> {
        got.iter()
            .filter(|m| m["type"] == "member_joined" || m["type"] == "member_left")
            .cloned()
            .collect()
    };

    // First device in `r`: Omar is told, for `r` only.
    laptop.join("r").await;
    let mj = omar.recv_type("member_joined").await;
    assert_eq!(mj["room_id"], "r");
    assert_eq!(mj["user"]["id"], "amira");
    assert_eq!(mj["user"]["name"], "Amira");
    // The room sent `member_joined` when it answered the join, so anything
    // else would already be queued for Omar.
    assert_eq!(membership(&omar.sync().await), Vec::<Value>::new());

    // A second device in the same room is not news, nor is one leaving.
    phone.join("r").await;
    assert_eq!(membership(&omar.sync().await), Vec::<Value>::new());
    let left = laptop
        .request(json!({"type": "leave_room", "room_id": "r"}))
        .await;
    assert_eq!(left["type"], "room_left");
    assert_eq!(membership(&omar.sync().await), Vec::<Value>::new());

    // Another room is counted on its own.
    phone.join("s").await;
    let mj = omar.recv_type("member_joined").await;
    assert_eq!(mj["room_id"], "s");

    // The phone was her last device in both rooms: left from both, though
    // she is still online on the laptop.
    phone.ws.close(None).await.unwrap();
    let mut rooms = vec![];
    for _ in 0..2 {
        let ml = omar.recv_type("member_left").await;
        assert_eq!(ml["user_id"], "amira");
        rooms.push(ml["room_id"].as_str().unwrap().to_string());
    }
    rooms.sort();
    assert_eq!(rooms, ["r", "s"]);
    assert_eq!(status_of(&mut omar, "amira").await, "online");

    // Coming back is news again.
    laptop.join("r").await;
    assert_eq!(omar.recv_type("member_joined").await["room_id"], "r");
}

#[tokio::test]
async fn users_coming_and_going_never_make_chat_writes_fail() {
    // Connecting records the user's profile and disconnecting their
    // last_seen, both in the database; neither may collide with the writes
    // others are making at the same time.
    let server = TestServer::start().await;
    server.room("r", "amira", &["omar"]).await;
    let mut amira = server.client("amira", "applicant").await;
    amira.join("r").await;
    let first = amira.say("r", "m0", "draft 0").await;
    let id = first["message_id"].as_str().unwrap().to_string();

    let stop = Arc::new(AtomicBool::new(false));
    let churn = tokio::spawn({
        let (stop, url) = (stop.clone(), server.ws_url());
        let token = server.token("omar", "applicant");
        async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let mut c = Client::connect(&format!("{url}?token={token}"))
                    .await
                    .unwrap();
                c.recv_type("welcome").await;
                c.ws.close(None).await.unwrap();
                n += 1;
            }
            n
        }
    });
    for i in 1..=30 {
        // Successes are broadcast (without the request id); failures are
        // errors carrying it.
        let text = format!("draft {i}");
        amira
            .send(json!({"type": "edit_message", "request_id": format!("e{i}"), "room_id": "r", "message_id": id, "text": text}))
            .await;
        let r = amira
            .recv_where("edit outcome", |m| {
                m["type"] == "error" || m["message"]["text"] == text.as_str()
            })
            .await;
        assert_eq!(r["type"], "message_updated", "edit {i}: {r}");
        amira
            .send(json!({"type": "mark_read", "request_id": format!("r{i}"), "room_id": "r", "seq": i}))
            .await;
        let r = amira
            .recv_where("mark_read outcome", |m| {
                m["type"] == "error" || (m["type"] == "read_receipt" && m["seq"] == i)
            })
            .await;
        assert_eq!(r["type"], "read_receipt", "mark_read {i}: {r}");
        amira.say("r", &format!("m{i}"), "hi").await;
    }
    stop.store(true, Ordering::Relaxed);
    assert!(churn.await.unwrap() > 0, "others connected meanwhile");
}

#[tokio::test]
async fn tenant_staff_see_only_people_they_share_rooms_with() {
    let server = TestServer::start().await;
    server.room("globex-room", "gina", &[]).await;
    let mut gina = server.client("gina", "applicant").await;
    let mut acme_admin = server
        .client_with(Claims {
            tenant: Some("acme".into()),
            ..common::claims("ada", "admin")
        })
        .await;
    let mut global_admin = server.client("root", "admin").await;
    assert!(
        get_presence(&mut acme_admin, &["gina"]).await.is_empty(),
        "tenant staff see a stranger's presence"
    );
    let seen = get_presence(&mut global_admin, &["gina"]).await;
    assert_eq!(seen[0]["status"], "online");
    // A successful set_presence with a request id is answered with `ok`.
    let ok = gina
        .request(json!({"type": "set_presence", "status": "busy"}))
        .await;
    assert_eq!(ok["type"], "ok");
}
