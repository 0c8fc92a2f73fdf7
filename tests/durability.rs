//! No data loss: every message acknowledged before the server process is
//! killed with SIGKILL is in history after a restart on the same data dir.
//! Runs the real `earshot` binary as a child process.

mod common;

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

use common::{Client, SECRET};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

struct Proc {
    child: Child,
    addr: String,
}

/// Start the binary on an ephemeral port and read the bound address from its log.
async fn spawn(data_dir: &std::path::Path) -> Proc {
    let mut child = Command::new(env!("CARGO_BIN_EXE_earshot"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("EARSHOT_JWT_SECRET", SECRET)
        .env("EARSHOT_RATE_PER_SEC", "100000")
        .env("EARSHOT_RATE_BURST", "100000")
        .env("EARSHOT_MEDIA_BIND", "127.0.0.1:0")
        // An applicant creates the rooms naming other applicants.
        .env("EARSHOT_ROOM_CREATION", "open")
        .env("RUST_LOG", "info")
        .env_remove("EARSHOT_DEV")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn earshot");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.split("earshot listening addr=").nth(1) {
                return rest.split_whitespace().next().unwrap().to_string();
            }
        }
        panic!("earshot exited before listening");
    })
    .await
    .expect("earshot did not start");
    // Keep draining the log so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Proc { child, addr }
}

fn token(user: &str) -> String {
    token_as(user, "applicant")
}

/// Rooms with chosen ids are made by a service role (as a product does).
fn token_as(user: &str, role: &str) -> String {
    let config = earshot::Config {
        jwt_secret: Some(SECRET.into()),
        dev: true,
        ..Default::default()
    };
    let auth = earshot::auth::Auth::from_config(&config).unwrap();
    let now = earshot::auth::now_secs();
    auth.mint(&earshot::auth::Claims {
        sub: user.into(),
        name: None,
        role: role.into(),
        tenant: None,
        rooms: vec![],
        exp: now + 3600,
        iat: now,
        iss: None,
        aud: None,
    })
    .unwrap()
}

async fn client(addr: &str, user: &str) -> Client {
    let mut c = Client::connect(&format!("ws://{addr}/ws?token={}", token(user)))
        .await
        .expect("connect");
    c.user = user.into();
    c.recv_type("welcome").await;
    c
}

#[tokio::test]
async fn acked_messages_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let proc = spawn(dir.path()).await;
    let http = reqwest::Client::new();
    for room in ["d1", "d2"] {
        let res = http
            .post(format!("http://{}/api/rooms", proc.addr))
            .bearer_auth(token_as("writer0", "service"))
            .json(&json!({"id": room, "type": "ticket", "title": room, "participants": ["writer1", "writer2", "writer3"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    }

    // Four writers send as fast as acks come back, pipelined, into two rooms.
    let mut tasks = vec![];
    for w in 0..4 {
        let addr = proc.addr.clone();
        tasks.push(tokio::spawn(async move {
            let room = if w % 2 == 0 { "d1" } else { "d2" };
            let mut c = client(&addr, &format!("writer{w}")).await;
            c.join(room).await;
            let mut acked: Vec<Value> = vec![];
            let mut i = 0u32;
            loop {
                // Keep several sends in flight so kills land mid-batch.
                for _ in 0..8 {
                    i += 1;
                    let m = json!({"type": "send_message", "room_id": room, "client_msg_id": format!("w{w}-{i}"), "text": format!("message {i} from writer {w}")});
                    if c.ws_send(m).await.is_err() {
                        return acked;
                    }
                }
                loop {
                    match c.try_recv(Duration::from_secs(5)).await {
                        Some(m) if m["type"] == "message_ack" => {
                            acked.push(m);
                            if acked.len() as u32 % 8 == 0 {
                                break;
                            }
                        }
                        Some(_) => {}
                        None => return acked,
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut proc = proc;
    proc.child.start_kill().expect("SIGKILL");
    proc.child.wait().await.unwrap();
    let mut acked = vec![];
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    assert!(
        acked.len() > 50,
        "the writers got only {} acks before the kill",
        acked.len()
    );

    let proc = spawn(dir.path()).await;
    let mut stored: HashMap<String, i64> = HashMap::new();
    for room in ["d1", "d2"] {
        let mut before: Option<i64> = None;
        loop {
            let mut url = format!("http://{}/api/rooms/{room}/messages?limit=200", proc.addr);
            if let Some(b) = before {
                url.push_str(&format!("&before={b}"));
            }
            let page: Value = http
                .get(url)
                .bearer_auth(token("writer0"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let msgs = page["messages"].as_array().unwrap();
            for m in msgs {
                stored.insert(
                    m["id"].as_str().unwrap().to_string(),
                    m["seq"].as_i64().unwrap(),
                );
            }
            if !page["has_more"].as_bool().unwrap() {
                break;
            }
            before = msgs.first().and_then(|m| m["seq"].as_i64());
        }
    }
    for a in &acked {
        let id = a["message_id"].as_str().unwrap();
        assert_eq!(
            stored.get(id),
            a["seq"].as_i64().as_ref(),
            "acked message {id} lost or moved after SIGKILL"
        );
    }
    drop(proc);
}
