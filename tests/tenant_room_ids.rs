//! Room ids are scoped by tenant: two tenants' products may each make a
//! room `visa-2`; each tenant's users, tokens and keys reach only their own,
//! under the id they know it by, and a global key names a tenant's room
//! `tenant/id`. Rooms stored before ids were scoped move to their tenant.

mod common;

use std::str::FromStr;

use common::tenancy::{of, product_room, send, server, As, ACME_KEY};
use common::{Client, TestServer};
use earshot::auth::Claims;
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::ConnectOptions;

/// A tenant's applicant whose token grants the room `visa-2`.
fn granted(tenant: &str, user: &str) -> Claims {
    Claims {
        rooms: vec!["visa-2".into()],
        ..of(tenant, user, "applicant")
    }
}

/// The texts of the chat messages `c` received so far.
async fn texts(c: &mut Client) -> Vec<String> {
    c.sync()
        .await
        .into_iter()
        .filter(|m| m["type"] == "message")
        .map(|m| {
            assert_eq!(m["message"]["room_id"], "visa-2", "{m}");
            m["message"]["text"].as_str().unwrap().to_string()
        })
        .collect()
}

#[tokio::test]
async fn two_tenants_each_have_their_own_room_under_the_same_id() {
    let server = server().await;
    // Both products choose `visa-2`: neither is refused, neither learns of
    // the other.
    product_room(&server, "acme", "visa-2", "consul", &[]).await;
    product_room(&server, "globex", "visa-2", "gail", &[]).await;

    let mut amira = server.client_with(granted("acme", "amira")).await;
    let mut gus = server.client_with(granted("globex", "gus")).await;
    let a = amira.join("visa-2").await;
    let g = gus.join("visa-2").await;
    assert_eq!(
        (&a["room"]["id"], &a["room"]["tenant"]),
        (&json!("visa-2"), &json!("acme"))
    );
    assert_eq!(
        (&g["room"]["id"], &g["room"]["tenant"]),
        (&json!("visa-2"), &json!("globex"))
    );
    assert_eq!(a["room"]["created_by"], "consul");
    assert_eq!(g["room"]["created_by"], "gail");

    let ack = amira.say("visa-2", "a1", "acme: my bank statement").await;
    assert_eq!(ack["room_id"], "visa-2", "{ack}");
    gus.say("visa-2", "g1", "globex: my passport").await;
    assert_eq!(texts(&mut amira).await, ["acme: my bank statement"]);
    assert_eq!(texts(&mut gus).await, ["globex: my passport"]);

    // Over HTTP too: each reads only their own room's history.
    let (status, body) = server.get(&gus.token, "/api/rooms/visa-2/messages").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["room_id"], "visa-2");
    let history: Vec<&str> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["globex: my passport"]);
    let (_, room) = server.get(&amira.token, "/api/rooms/visa-2").await;
    assert_eq!(room["room"]["tenant"], "acme");
    let members: Vec<&str> = room["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        members,
        ["consul", "amira"],
        "globex's Gail and Gus are not in acme's room"
    );
    let (_, list) = server.get(&amira.token, "/api/rooms").await;
    let rooms = list["rooms"].as_array().unwrap();
    assert_eq!(rooms.len(), 1, "{list}");
    assert_eq!(rooms[0]["room"]["id"], "visa-2");
    assert_eq!(rooms[0]["room"]["tenant"], "acme");

    // A tenant's key posts into its own `visa-2`.
    let (status, body) = send(
        &server,
        &As::Key(ACME_KEY),
        Method::POST,
        "/api/server/rooms/visa-2/messages",
        Some(json!({"text": "acme: documents received"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["message"]["room_id"], "visa-2", "{body}");
    assert_eq!(texts(&mut amira).await, ["acme: documents received"]);
    assert_eq!(texts(&mut gus).await, Vec::<String>::new());

    // A global key names a tenant's room by its key; the bare id is no
    // room of any tenant.
    let (status, body) = server
        .api(
            Method::POST,
            "/api/server/rooms/globex%2Fvisa-2/messages",
            Some(json!({"text": "globex: appointment at 10:00"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(texts(&mut gus).await, ["globex: appointment at 10:00"]);
    assert_eq!(texts(&mut amira).await, Vec::<String>::new());
    let (status, body) = server
        .api(
            Method::POST,
            "/api/server/rooms/visa-2/messages",
            Some(json!({"text": "nobody"})),
        )
        .await;
    assert_eq!(
        (status, &body["code"]),
        (404, &json!("NOT_FOUND")),
        "{body}"
    );

    // A caller cannot spell its way into another tenant's key.
    let r = gus
        .request(json!({"type": "join_room", "room_id": "acme/visa-2"}))
        .await;
    assert_eq!(r["code"], "NOT_FOUND", "{r}");
    let (status, _) = server
        .get(&gus.token, "/api/rooms/acme%2Fvisa-2/messages")
        .await;
    assert_eq!(status, 404);
    let (status, _) = send(
        &server,
        &As::Key(ACME_KEY),
        Method::POST,
        "/api/server/rooms/globex%2Fvisa-2/messages",
        Some(json!({"text": "x"})),
    )
    .await;
    assert_eq!(status, 404);

    // Within one tenant an id is still taken once.
    let pro = server.token_with(of("globex", "gail", "professional"));
    let (status, body) = send(
        &server,
        &As::Token(&pro),
        Method::POST,
        "/api/rooms",
        Some(json!({"id": "visa-2", "type": "application", "title": "again"})),
    )
    .await;
    assert_eq!((status, &body["code"]), (409, &json!("CONFLICT")), "{body}");
}

#[tokio::test]
async fn a_tenant_name_that_could_break_a_room_key_is_refused() {
    let server = server().await;
    let token = server.token_with(of("acme/visa-2", "mallory", "professional"));
    let (status, body) = server.get(&token, "/api/rooms").await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("tenant"),
        "{body}"
    );
}

#[tokio::test]
async fn rooms_stored_before_ids_were_scoped_move_to_their_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::with(|c| c.data_dir = dir.path().to_path_buf()).await;
    product_room(&server, "acme", "visa-9", "consul", &["amira"]).await;
    let mut amira = server.client_with(of("acme", "amira", "applicant")).await;
    amira.join("visa-9").await;
    amira.say("visa-9", "m1", "sent before the upgrade").await;
    drop(amira);
    let config = server.config.clone();
    server.stop().await;

    // Put the database back the way the previous release stored it: the
    // tenant's room under its bare id, and the scoping migration not run.
    let path = config.database_path();
    let mut db = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .unwrap()
        .foreign_keys(false)
        .connect()
        .await
        .unwrap();
    for (sql, rows) in [
        ("UPDATE rooms SET id = 'visa-9' WHERE id = 'acme/visa-9'", 1),
        (
            "UPDATE room_members SET room_id = 'visa-9' WHERE room_id = 'acme/visa-9'",
            2,
        ),
        (
            "UPDATE messages SET room_id = 'visa-9' WHERE room_id = 'acme/visa-9'",
            1,
        ),
        ("DELETE FROM _sqlx_migrations WHERE version = 7", 1),
    ] {
        let done = sqlx::query(sql).execute(&mut db).await.unwrap();
        assert_eq!(done.rows_affected(), rows, "{sql}");
    }
    drop(db);

    let server = TestServer::boot(config).await;
    let mut amira = server.client_with(of("acme", "amira", "applicant")).await;
    let joined = amira
        .request(json!({"type": "join_room", "room_id": "visa-9", "since_seq": 0}))
        .await;
    assert_eq!(joined["type"], "room_joined", "{joined}");
    assert_eq!(joined["room"]["id"], "visa-9");
    let missed: Vec<&Value> = joined["missed"].as_array().unwrap().iter().collect();
    assert_eq!(missed.len(), 1, "{joined}");
    assert_eq!(missed[0]["text"], "sent before the upgrade");
    let (_, list) = server.get(&amira.token, "/api/rooms").await;
    assert_eq!(list["rooms"][0]["room"]["id"], "visa-9", "{list}");
    // The room moved to its key: a global operator finds it there, and the
    // bare id names no room any more.
    let mut operator = server.client("ops", "admin").await;
    let r = operator
        .request(json!({"type": "join_room", "room_id": "visa-9"}))
        .await;
    assert_eq!(r["code"], "NOT_FOUND", "{r}");
    let r = operator.join("acme/visa-9").await;
    assert_eq!(r["last_seq"], 1, "{r}");
    server.stop().await;
}
