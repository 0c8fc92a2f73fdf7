//! Authentication: a valid token works in the URL, in an `Authorization`
//! header or as the first message; anything else is refused (401 before the
//! upgrade, close 1008 after it), including `alg: none`, expired tokens,
//! foreign keys and HS/RS confusion.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{claims, Client, TestServer, WAIT};
use earshot::auth::{now_secs, Claims};
use futures_util::{SinkExt, StreamExt};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn sign(alg: Algorithm, key: &EncodingKey, claims: &Claims) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, key).expect("sign")
}

fn b64url(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// An unsigned token: `{"alg":"none"}` header, the claims, empty signature.
fn alg_none(claims: &Claims) -> String {
    let header = b64url(br#"{"alg":"none","typ":"JWT"}"#);
    let body = b64url(serde_json::to_string(claims).unwrap().as_bytes());
    format!("{header}.{body}.")
}

/// Try the upgrade with `token` in the URL; the HTTP status of a refusal.
async fn upgrade_refused(server: &TestServer, token: &str) -> u16 {
    let url = format!("{}?token={token}", server.ws_url());
    match tokio_tungstenite::connect_async(url).await {
        Ok(_) => panic!("token was accepted: {token}"),
        Err(WsError::Http(res)) => res.status().as_u16(),
        Err(e) => panic!("unexpected error: {e}"),
    }
}

/// The refusal body, from a real upgrade request made with reqwest.
async fn upgrade_refusal_body(server: &TestServer, token: &str) -> (u16, Value) {
    let res = reqwest::Client::new()
        .get(server.ws_url().replace("ws://", "http://"))
        .bearer_auth(token)
        .header("connection", "Upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .expect("upgrade request");
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

enum First {
    Text(Value),
    Close(u16, String),
}

/// The next frame the server sends: a JSON message or the close.
async fn first(c: &mut Client) -> First {
    loop {
        match tokio::time::timeout(WAIT, c.ws.next())
            .await
            .expect("no frame")
        {
            Some(Ok(Message::Text(t))) => return First::Text(serde_json::from_str(&t).unwrap()),
            Some(Ok(Message::Close(f))) => {
                let f = f.expect("close frame has a code");
                return First::Close(u16::from(f.code), f.reason.to_string());
            }
            Some(Ok(_)) => continue,
            other => panic!("socket ended without a close frame: {other:?}"),
        }
    }
}

/// Connect without a token and send `authenticate`; the welcome, or the close.
async fn by_message(server: &TestServer, token: &str) -> Result<Value, (u16, String)> {
    let mut c = Client::connect(&server.ws_url()).await.expect("connect");
    c.send(json!({"type": "authenticate", "token": token}))
        .await;
    match first(&mut c).await {
        First::Text(w) => Ok(w),
        First::Close(code, reason) => Err((code, reason)),
    }
}

#[tokio::test]
async fn valid_token_works_in_url_header_or_first_message() {
    let server = TestServer::start().await;
    server.room("r1", "amira", &[]).await;
    let token = server.token("amira", "applicant");

    // In the URL.
    let mut by_url = server.client("amira", "applicant").await;
    assert_eq!(by_url.join("r1").await["room"]["id"], "r1");

    // In the upgrade request's Authorization header.
    let mut req = server.ws_url().into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let mut by_header = Client::connect_request(req).await.expect("header auth");
    let w = by_header.recv_type("welcome").await;
    assert_eq!(w["user"]["id"], "amira");
    assert_eq!(w["user"]["name"], "Amira");
    by_header.user = "amira".into();
    by_header.join("r1").await;

    // As the first message.
    let mut by_msg = Client::connect(&server.ws_url()).await.unwrap();
    by_msg.user = "amira".into();
    by_msg
        .send(json!({"type": "authenticate", "token": token}))
        .await;
    let w = by_msg.recv().await;
    assert_eq!(w["type"], "welcome", "{w}");
    assert_eq!(w["user"]["id"], "amira");
    assert!(w["connection_id"].as_str().is_some_and(|s| !s.is_empty()));
    by_msg.join("r1").await;
    // Authenticating again on the open socket refreshes the token: no disconnect.
    let again = by_msg
        .request(json!({"type": "authenticate", "token": token}))
        .await;
    assert_eq!(again["type"], "token_refreshed", "{again}");
    by_msg.join("r1").await;

    // A token expired by less than the 30 s leeway still works (clock skew).
    let skewed = server.token_with(Claims {
        exp: now_secs() - 5,
        ..claims("omar", "applicant")
    });
    let w = by_message(&server, &skewed).await.expect("within leeway");
    assert_eq!(w["user"]["id"], "omar");
}

/// Tokens an HS256 server must refuse, with a label for failure messages.
fn bad_hs256_tokens(server: &TestServer) -> Vec<(&'static str, String)> {
    let c = claims("mallory", "admin");
    let other_key = EncodingKey::from_secret(b"some-other-secret-0123456789abcd");
    vec![
        ("garbage", "not-a-jwt".to_string()),
        ("three garbage parts", "aaa.bbb.ccc".to_string()),
        (
            "expired beyond leeway",
            server.token_with(Claims {
                exp: now_secs() - 120,
                ..c.clone()
            }),
        ),
        ("wrong secret", sign(Algorithm::HS256, &other_key, &c)),
        ("alg none", alg_none(&c)),
        (
            "empty sub",
            server.token_with(Claims {
                sub: String::new(),
                ..c.clone()
            }),
        ),
    ]
}

#[tokio::test]
async fn bad_tokens_are_refused_before_upgrade_with_401() {
    let server = TestServer::start().await;
    let none = alg_none(&claims("x", "admin"));
    assert!(
        none.starts_with("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."),
        "{none}"
    );
    for (what, token) in bad_hs256_tokens(&server) {
        assert_eq!(upgrade_refused(&server, &token).await, 401, "{what}");
        let (status, body) = upgrade_refusal_body(&server, &token).await;
        assert_eq!(status, 401, "{what} in header: {body}");
        assert_eq!(body["code"], "UNAUTHENTICATED", "{what}: {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}"
        );
    }
    let expired = server.token_with(Claims {
        exp: now_secs() - 120,
        ..claims("a", "applicant")
    });
    let (_, body) = upgrade_refusal_body(&server, &expired).await;
    assert!(
        body["message"].as_str().unwrap().contains("expired"),
        "{body}"
    );
}

#[tokio::test]
async fn bad_token_in_authenticate_message_closes_with_1008() {
    let server = TestServer::start().await;
    for (what, token) in bad_hs256_tokens(&server) {
        let (code, reason) = by_message(&server, &token).await.expect_err(what);
        assert_eq!(code, 1008, "{what}");
        assert!(!reason.is_empty(), "{what}: close reason says why");
    }
}

#[tokio::test]
async fn silence_or_another_first_message_closes_with_1008() {
    let server = TestServer::with(|c| c.auth_timeout = Duration::from_millis(300)).await;

    let started = tokio::time::Instant::now();
    let mut silent = Client::connect(&server.ws_url()).await.unwrap();
    let First::Close(code, reason) = first(&mut silent).await else {
        panic!("an unauthenticated socket got a message");
    };
    assert_eq!(code, 1008);
    assert!(reason.contains("timeout"), "{reason}");
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "closed before auth_timeout"
    );

    for frame in [
        json!({"type": "join_room", "room_id": "r"}).to_string(),
        json!({"type": "ping"}).to_string(),
        "hello".to_string(),
    ] {
        let mut c = Client::connect(&server.ws_url()).await.unwrap();
        c.send_raw(&frame).await;
        let First::Close(code, reason) = first(&mut c).await else {
            panic!("{frame} before authenticating was answered");
        };
        assert_eq!(code, 1008, "{frame}");
        assert!(reason.contains("authenticate"), "{frame}: {reason}");
    }
    let mut c = Client::connect(&server.ws_url()).await.unwrap();
    let token = server.token("amira", "applicant");
    c.ws.send(Message::binary(token.into_bytes()))
        .await
        .unwrap();
    let First::Close(code, reason) = first(&mut c).await else {
        panic!("a binary frame authenticated");
    };
    assert_eq!(code, 1008);
    assert!(
        reason.contains("authenticate"),
        "told to authenticate: {reason}"
    );
}

#[tokio::test]
async fn rest_needs_a_valid_bearer_token() {
    let server = TestServer::start().await;
    let good = server.token("amira", "applicant");
    let (status, _) = server
        .call(Method::GET, Some(&good), "/api/rooms", None)
        .await;
    assert_eq!(status, 200);

    let (status, body) = server.call(Method::GET, None, "/api/rooms", None).await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "UNAUTHENTICATED");
    assert!(body["message"].is_string());
    for (what, token) in bad_hs256_tokens(&server) {
        let (status, body) = server
            .call(Method::GET, Some(&token), "/api/rooms", None)
            .await;
        assert_eq!(status, 401, "{what}");
        assert_eq!(body["code"], "UNAUTHENTICATED", "{what}");
    }
    // A non-bearer scheme is not a token.
    let res = reqwest::Client::new()
        .get(server.http("/api/rooms"))
        .header("authorization", format!("Basic {good}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // A refused write changes nothing.
    let body = json!({"id": "sneaky", "type": "t", "title": "T"});
    let (status, _) = server
        .call(Method::POST, Some("garbage"), "/api/rooms", Some(body))
        .await;
    assert_eq!(status, 401);
    let (status, _) = server.get(&good, "/api/rooms/sneaky").await;
    assert_eq!(status, 404, "the refused request did not create the room");
}

#[tokio::test]
async fn rs256_server_accepts_rs256_only() {
    let server = TestServer::with(|c| {
        c.jwt_algorithm = "RS256".into();
        c.jwt_public_key_file = Some(fixture("rs256-public.pem"));
    })
    .await;
    let c = claims("amira", "applicant");
    let private = std::fs::read(fixture("rs256-private.pem")).unwrap();
    let good = sign(
        Algorithm::RS256,
        &EncodingKey::from_rsa_pem(&private).unwrap(),
        &c,
    );

    let url = format!("{}?token={good}", server.ws_url());
    let mut amira = Client::connect(&url).await.expect("RS256 token accepted");
    assert_eq!(amira.recv_type("welcome").await["user"]["id"], "amira");
    assert_eq!(
        by_message(&server, &good).await.unwrap()["user"]["id"],
        "amira"
    );
    let (status, _) = server
        .call(Method::GET, Some(&good), "/api/rooms", None)
        .await;
    assert_eq!(status, 200);

    // HS/RS confusion: the public key (which anyone may have) as an HMAC secret.
    let public = std::fs::read(fixture("rs256-public.pem")).unwrap();
    let es_private = std::fs::read(fixture("es256-private.pem")).unwrap();
    let forged = [
        (
            "HS256 keyed with the public key",
            sign(Algorithm::HS256, &EncodingKey::from_secret(&public), &c),
        ),
        (
            "HS256 with the old shared secret",
            sign(
                Algorithm::HS256,
                &EncodingKey::from_secret(common::SECRET.as_bytes()),
                &c,
            ),
        ),
        (
            "ES256",
            sign(
                Algorithm::ES256,
                &EncodingKey::from_ec_pem(&es_private).unwrap(),
                &c,
            ),
        ),
        ("alg none", alg_none(&c)),
    ];
    for (what, token) in forged {
        assert_eq!(upgrade_refused(&server, &token).await, 401, "{what}");
        let (code, _) = by_message(&server, &token).await.expect_err(what);
        assert_eq!(code, 1008, "{what}");
        let (status, body) = server
            .call(Method::GET, Some(&token), "/api/rooms", None)
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("UNAUTHENTICATED")),
            "{what}"
        );
    }
}

#[tokio::test]
async fn es256_server_accepts_es256_only() {
    let server = TestServer::with(|c| {
        c.jwt_algorithm = "ES256".into();
        c.jwt_public_key_file = Some(fixture("es256-public.pem"));
    })
    .await;
    let c = claims("omar", "professional");
    let private = std::fs::read(fixture("es256-private.pem")).unwrap();
    let good = sign(
        Algorithm::ES256,
        &EncodingKey::from_ec_pem(&private).unwrap(),
        &c,
    );
    let url = format!("{}?token={good}", server.ws_url());
    let mut omar = Client::connect(&url).await.expect("ES256 token accepted");
    let w = omar.recv_type("welcome").await;
    assert_eq!(w["user"]["id"], "omar");
    assert_eq!(w["user"]["role"], "professional");

    let public = std::fs::read(fixture("es256-public.pem")).unwrap();
    let rs_private = std::fs::read(fixture("rs256-private.pem")).unwrap();
    let forged = [
        (
            "HS256 keyed with the public key",
            sign(Algorithm::HS256, &EncodingKey::from_secret(&public), &c),
        ),
        (
            "RS256",
            sign(
                Algorithm::RS256,
                &EncodingKey::from_rsa_pem(&rs_private).unwrap(),
                &c,
            ),
        ),
        ("alg none", alg_none(&c)),
    ];
    for (what, token) in forged {
        assert_eq!(upgrade_refused(&server, &token).await, 401, "{what}");
    }
}
