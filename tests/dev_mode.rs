//! Dev mode and the first-run experience: the demo app is served at `/`,
//! tokens are minted over HTTP and by `earshot token`, and neither works
//! outside dev mode.

mod common;

use common::{Client, TestServer};
use serde_json::{json, Value};

#[tokio::test]
async fn demo_app_is_served_at_the_root() {
    let server = TestServer::start().await;
    let res = reqwest::get(server.http("/")).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = res.text().await.unwrap();
    assert!(html.contains("<title>earshot</title>") && html.contains("/app.js"));
    // The app and the SDK it imports are ES modules: browsers run them only
    // with a JavaScript content type.
    for path in ["/app.js", "/earshot.js", "/lib/rest.js"] {
        let js = reqwest::get(server.http(path)).await.unwrap();
        assert_eq!(js.status(), 200, "{path}");
        let kind = js.headers()["content-type"].to_str().unwrap().to_string();
        assert!(kind.contains("javascript"), "{path}: {kind}");
        if path == "/lib/rest.js" {
            assert!(js.text().await.unwrap().contains("/api/dev/token"));
        }
    }
}

#[tokio::test]
async fn dev_mode_mints_tokens_the_socket_accepts() {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let config: Value = http
        .get(server.http("/api/dev/config"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["dev"], true);
    assert_eq!(config["monitor_roles"], json!(["admin"]));
    let res = http
        .post(server.http("/api/dev/token"))
        .json(&json!({"user": "alice", "name": "Alice", "role": "professional"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["claims"]["role"], "professional");
    let mut c = Client::connect(&format!(
        "{}?token={}",
        server.ws_url(),
        body["token"].as_str().unwrap()
    ))
    .await
    .unwrap();
    let welcome = c.recv_type("welcome").await;
    assert_eq!(welcome["user"]["name"], "Alice");
    let bad = http
        .post(server.http("/api/dev/token"))
        .json(&json!({"user": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn production_mode_mints_nothing() {
    let server = TestServer::with(|c| c.dev = false).await;
    let res = reqwest::Client::new()
        .post(server.http("/api/dev/token"))
        .json(&json!({"user": "alice"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let config: Value = reqwest::get(server.http("/api/dev/config"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["dev"], false);
}

#[tokio::test]
async fn token_subcommand_prints_a_token_the_server_accepts() {
    let dir = tempfile::tempdir().unwrap();
    // Dev mode with no secret: both the CLI and the server use the secret
    // generated under the data dir.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_earshot"))
        .args([
            "token",
            "--user",
            "alice",
            "--name",
            "Alice",
            "--role",
            "applicant",
            "--dev",
            "--data-dir",
        ])
        .arg(dir.path())
        .env_remove("EARSHOT_JWT_SECRET")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(token.split('.').count(), 3);
    let server = TestServer::boot(earshot::Config {
        data_dir: dir.path().to_path_buf(),
        dev: true,
        media: false,
        ..Default::default()
    })
    .await;
    let mut c = Client::connect(&format!("{}?token={token}", server.ws_url()))
        .await
        .expect("token accepted");
    assert_eq!(c.recv_type("welcome").await["user"]["id"], "alice");
}
