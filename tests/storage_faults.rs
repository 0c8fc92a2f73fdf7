//! Storage faults: a write the database refuses (disk full, I/O error) is
//! answered with a typed error and no ack, nothing of it is stored, and
//! once the database accepts writes again every write succeeds, without a
//! restart and without gaps in the room's sequence numbers.
//!
//! The fault is injected from a second SQLite connection to the same file:
//! a trigger that makes every message insert fail. `RAISE(ROLLBACK)` ends
//! the whole transaction inside SQLite, which is what SQLite does itself
//! when a commit hits a full disk or an I/O error; `RAISE(ABORT)` fails the
//! statement only.

mod common;

use std::str::FromStr;
use std::time::Duration;

use common::{Client, TestServer};
use serde_json::{json, Value};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, SqliteConnection};

async fn db(server: &TestServer) -> SqliteConnection {
    let path = server.config.database_path();
    SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .unwrap()
        .busy_timeout(Duration::from_secs(10))
        .connect()
        .await
        .expect("open the database")
}

async fn fault(conn: &mut SqliteConnection, raise: &str) {
    let sql = format!(
        "CREATE TRIGGER injected_fault BEFORE INSERT ON messages \
         BEGIN SELECT RAISE({raise}, 'database or disk is full'); END"
    );
    sqlx::query(&sql).execute(&mut *conn).await.expect("inject");
}

async fn heal(conn: &mut SqliteConnection) {
    sqlx::query("DROP TRIGGER injected_fault")
        .execute(&mut *conn)
        .await
        .expect("heal");
}

async fn send(c: &mut Client, cid: &str) -> Value {
    c.request(json!({"type": "send_message", "room_id": "r1", "client_msg_id": cid, "text": cid}))
        .await
}

#[tokio::test]
async fn a_failed_write_gets_a_typed_error_and_storage_recovers_without_a_restart() {
    let server = TestServer::start().await;
    server.room("r1", "ann", &["bob"]).await;
    let mut ann = server.client("ann", "applicant").await;
    let mut bob = server.client("bob", "applicant").await;
    ann.join("r1").await;
    bob.join("r1").await;
    let mut conn = db(&server).await;
    let mut acked: Vec<String> = vec![];
    let mut refused: Vec<String> = vec![];
    for cid in ["a1", "a2", "a3"] {
        ann.say("r1", cid, cid).await;
        acked.push(cid.into());
    }
    for (round, raise) in ["ROLLBACK", "ABORT", "ROLLBACK"].iter().enumerate() {
        fault(&mut conn, raise).await;
        // Several failed batches, so that more than one pooled connection
        // has seen a failure.
        for i in 0..6 {
            let cid = format!("fault-{round}-{i}");
            let r = send(&mut ann, &cid).await;
            assert_eq!(r["type"], "error", "a write during the fault: {r}");
            assert_eq!(r["code"], "UNAVAILABLE", "{r}");
            let text = r["message"].as_str().unwrap();
            assert!(text.contains("could not be stored"), "{r}");
            assert!(!text.contains("shutting down"), "{r}");
            refused.push(cid);
        }
        heal(&mut conn).await;
        for i in 0..30 {
            let cid = format!("ok-{round}-{i}");
            let r = send(&mut ann, &cid).await;
            assert_eq!(
                r["type"], "message_ack",
                "write {i} after the fault cleared: {r}"
            );
            acked.push(cid);
        }
    }

    // History holds exactly the acknowledged messages, numbered 1..=n.
    let (status, page) = server
        .get(&ann.token, "/api/rooms/r1/messages?limit=200")
        .await;
    assert_eq!(status, 200, "{page}");
    let messages = page["messages"].as_array().unwrap();
    let cids: Vec<&str> = messages
        .iter()
        .map(|m| m["client_msg_id"].as_str().unwrap())
        .collect();
    assert_eq!(cids, acked, "history is every acked message, in order");
    let seqs: Vec<i64> = messages
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(
        seqs,
        (1..=acked.len() as i64).collect::<Vec<_>>(),
        "no gaps"
    );

    // The other member saw exactly the stored messages, nothing refused.
    let mut seen = vec![];
    while seen.len() < acked.len() {
        let m = bob.recv_type("message").await;
        seen.push(m["message"]["client_msg_id"].as_str().unwrap().to_string());
    }
    assert_eq!(seen, acked);
    assert!(refused.iter().all(|c| !seen.contains(c)));
    server.stop().await;
}

#[tokio::test]
async fn a_failed_transaction_outside_the_writer_does_not_poison_later_writes() {
    let server = TestServer::start().await;
    server.room("r1", "ann", &[]).await;
    let mut ann = server.client("ann", "applicant").await;
    ann.join("r1").await;
    let mut conn = db(&server).await;
    sqlx::query(
        "CREATE TRIGGER injected_fault BEFORE INSERT ON room_members \
         BEGIN SELECT RAISE(ROLLBACK, 'database or disk is full'); END",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    // Staff: rooms with chosen ids, naming anyone.
    let token = server.token("ann", "professional");
    for i in 0..6 {
        let res = reqwest::Client::new()
            .post(server.http("/api/rooms"))
            .bearer_auth(&token)
            .json(&json!({"id": format!("f{i}"), "type": "application", "title": "x", "participants": ["bob"]}))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap();
        assert!(
            status >= 500,
            "room creation during the fault: {status} {body}"
        );
        assert!(body["code"].is_string(), "{body}");
    }
    heal(&mut conn).await;
    for i in 0..30 {
        let cid = format!("after-{i}");
        let r = send(&mut ann, &cid).await;
        assert_eq!(
            r["type"], "message_ack",
            "write {i} after the fault cleared: {r}"
        );
    }
    server.stop().await;
}
