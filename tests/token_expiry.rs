//! Tokens: an open socket lives no longer than its token unless the client
//! refreshes it on the socket, and tokens the server cannot fully honour
//! (`nbf` ahead, `crit` extensions, a `sub` with control characters or one
//! of the server's own ids) are refused.

mod common;

use std::time::Duration;

use common::{claims, Client, TestServer, SECRET};
use earshot::auth::now_secs;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

/// base64url without padding (RFC 7515).
fn b64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// An HS256 JWT signed with the test secret, header and claims as given.
fn jwt(header: Value, claims: Value) -> String {
    let signing = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(signing.as_bytes());
    format!("{signing}.{}", b64(&mac.finalize().into_bytes()))
}

fn hs256() -> Value {
    json!({"alg": "HS256", "typ": "JWT"})
}

fn body(sub: &str) -> Value {
    json!({"sub": sub, "role": "applicant", "exp": now_secs() + 3600, "iat": now_secs()})
}

/// The status and error body of a REST call and of a socket upgrade with `token`.
async fn refused(server: &TestServer, token: &str) -> (u16, String) {
    let (status, body) = server.get(token, "/api/rooms").await;
    let url = format!("{}?token={}", server.ws_url(), token);
    match Client::connect(&url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            assert_eq!(res.status(), 401, "upgrade with a refused token")
        }
        Err(e) => panic!("upgrade: {e}"),
        Ok(_) => panic!("the socket accepted a token the REST API refused"),
    }
    (
        status,
        body["message"].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test]
async fn a_hand_made_token_is_accepted_so_the_refusals_below_are_about_their_one_flaw() {
    let server = TestServer::start().await;
    let (status, body) = server.get(&jwt(hs256(), body("ann")), "/api/rooms").await;
    assert_eq!(status, 200, "{body}");
    server.stop().await;
}

#[tokio::test]
async fn a_token_not_valid_yet_is_refused() {
    let server = TestServer::start().await;
    let mut claims = body("ann");
    claims["nbf"] = json!(now_secs() + 600);
    let (status, message) = refused(&server, &jwt(hs256(), claims)).await;
    assert_eq!(status, 401);
    assert!(message.contains("not valid yet"), "{message}");
    server.stop().await;
}

#[tokio::test]
async fn a_token_with_critical_extensions_is_refused() {
    let server = TestServer::start().await;
    let header = json!({"alg": "HS256", "typ": "JWT", "crit": ["x-bound"], "x-bound": true});
    let (status, message) = refused(&server, &jwt(header, body("ann"))).await;
    assert_eq!(status, 401);
    assert!(message.contains("crit"), "{message}");
    server.stop().await;
}

#[tokio::test]
async fn a_subject_with_control_characters_or_a_server_id_is_refused() {
    let server = TestServer::start().await;
    for sub in ["ann\u{0}", "ann\nsystem", "\u{7f}bob"] {
        let (status, message) = refused(&server, &jwt(hs256(), body(sub))).await;
        assert_eq!(status, 401, "{sub:?}");
        assert!(message.contains("control characters"), "{sub:?}: {message}");
    }
    for sub in ["system", "assistant", "System", "ASSISTANT"] {
        let (status, message) = refused(&server, &jwt(hs256(), body(sub))).await;
        assert_eq!(status, 401, "{sub:?}");
        assert!(message.contains("reserved"), "{sub:?}: {message}");
    }
    server.stop().await;
}

/// A server without clock leeway: a socket closes exactly at `exp`.
async fn strict() -> TestServer {
    TestServer::with(|c| c.jwt_leeway = Duration::ZERO).await
}

/// A client whose token expires two seconds from now.
async fn short_lived(server: &TestServer, user: &str) -> (Client, u64) {
    let mut c = claims(user, "applicant");
    c.exp = now_secs() + 2;
    let exp = c.exp;
    let mut client = server.client_with(c).await;
    let rooms = client.request(json!({"type": "list_rooms"})).await;
    assert_eq!(rooms["type"], "rooms", "usable before expiry");
    (client, exp)
}

#[tokio::test]
async fn a_socket_is_closed_when_its_token_expires() {
    let server = strict().await;
    let mut c = claims("ann", "applicant");
    c.exp = now_secs() + 2;
    let exp = c.exp;
    let token = server.token_with(c);
    let mut client = Client::connect(&format!("{}?token={token}", server.ws_url()))
        .await
        .unwrap();
    let welcome = client.recv_type("welcome").await;
    assert_eq!(welcome["token_expires_at"], json!(exp * 1000));
    let (code, reason) = client.closed().await;
    assert_eq!((code, reason.as_str()), (4001, "token expired"));
    assert!(now_secs() >= exp - 1, "closed at expiry, not before");
    server.stop().await;
}

#[tokio::test]
async fn the_clock_leeway_applies_to_open_sockets_too() {
    // Default leeway (30 s): a token that expired 5 s ago is still honoured,
    // and the socket it opens lasts until exp + 30 s, not a moment less.
    let server = TestServer::start().await;
    let mut c = claims("ann", "applicant");
    c.exp = now_secs() - 5;
    let exp = c.exp;
    let token = server.token_with(c);
    let mut client = Client::connect(&format!("{}?token={token}", server.ws_url()))
        .await
        .unwrap();
    let welcome = client.recv_type("welcome").await;
    assert_eq!(welcome["token_expires_at"], json!((exp + 30) * 1000));
    client.user = "ann".into();
    let rooms = client.request(json!({"type": "list_rooms"})).await;
    assert_eq!(rooms["type"], "rooms", "{rooms}");
    server.stop().await;
}

#[tokio::test]
async fn a_refreshed_token_keeps_the_socket_open_past_the_first_expiry() {
    let server = strict().await;
    server.room("r1", "ann", &[]).await;
    let (mut ann, exp) = short_lived(&server, "ann").await;
    ann.join("r1").await;
    let fresh = server.token("ann", "applicant");
    let r = ann
        .request(json!({"type": "authenticate", "token": fresh}))
        .await;
    assert_eq!(r["type"], "token_refreshed", "{r}");
    assert!(
        r["token_expires_at"].as_u64().unwrap() > (exp + 60) * 1000,
        "{r}"
    );
    // Wait until well past the first token's expiry.
    while now_secs() <= exp + 1 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    ann.say("r1", "after-expiry", "still here").await;
    server.stop().await;
}

#[tokio::test]
async fn a_refresh_with_another_users_token_is_refused_and_the_socket_still_expires() {
    let server = strict().await;
    let (mut ann, exp) = short_lived(&server, "ann").await;
    let r = ann
        .request(json!({"type": "authenticate", "token": server.token("bob", "applicant")}))
        .await;
    assert_eq!(r["type"], "error", "{r}");
    assert_eq!(r["code"], "UNAUTHENTICATED", "{r}");
    // Another role for the same user is refused too.
    let r = ann
        .request(json!({"type": "authenticate", "token": server.token("ann", "admin")}))
        .await;
    assert_eq!(r["code"], "UNAUTHENTICATED", "{r}");
    // A refused refresh leaves the connection working until its deadline.
    let rooms = ann.request(json!({"type": "list_rooms"})).await;
    assert_eq!(rooms["type"], "rooms");
    let (code, _) = ann.closed().await;
    assert_eq!(code, 4001);
    assert!(now_secs() >= exp - 1);
    server.stop().await;
}

#[tokio::test]
async fn a_refresh_with_an_expired_or_forged_token_is_refused() {
    let server = strict().await;
    let (mut ann, _) = short_lived(&server, "ann").await;
    let mut old = claims("ann", "applicant");
    old.exp = now_secs() - 3600;
    let r = ann
        .request(json!({"type": "authenticate", "token": server.token_with(old)}))
        .await;
    assert_eq!(r["code"], "UNAUTHENTICATED", "{r}");
    assert_eq!(r["message"], "token expired");
    let r = ann
        .request(json!({"type": "authenticate", "token": "not.a.token"}))
        .await;
    assert_eq!(r["code"], "UNAUTHENTICATED", "{r}");
    server.stop().await;
}
