//! Connection limits: sockets per user, connections per IP and in total
//! (with a reserve that keeps health checks and admins getting through), and
//! a deadline for the request head so that silent or half-sent requests do
//! not hold a connection.

mod common;

use std::time::Duration;

use common::{Client, TestServer, WAIT};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite;

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nhost: earshot\r\n\r\n";
const HEALTHZ_CLOSE: &[u8] = b"GET /healthz HTTP/1.1\r\nhost: earshot\r\nconnection: close\r\n\r\n";

/// Read one HTTP response (head and a `content-length` body) from `s`.
async fn read_response(s: &mut TcpStream) -> Option<(u16, String)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    let read = async {
        loop {
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let head = text[..end].to_ascii_lowercase();
                let len = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map(|v| v.trim().parse::<usize>().unwrap())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    let status = text[9..12].parse().unwrap();
                    return Some((status, text[end + 4..end + 4 + len].to_string()));
                }
            }
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    };
    tokio::time::timeout(WAIT, read)
        .await
        .expect("a response in time")
}

/// A new connection sends `request`; its response.
async fn http(server: &TestServer, request: &[u8]) -> (TcpStream, Option<(u16, String)>) {
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let res = read_response(&mut s).await;
    (s, res)
}

fn typed(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|_| panic!("a JSON error body: {body}"))
}

/// The refusal of a WebSocket upgrade: status and typed body.
fn refusal(err: tungstenite::Error) -> (u16, Value) {
    match err {
        tungstenite::Error::Http(res) => {
            let body = res.body().clone().unwrap_or_default();
            (
                res.status().as_u16(),
                serde_json::from_slice(&body).unwrap(),
            )
        }
        other => panic!("expected an HTTP refusal, got {other:?}"),
    }
}

/// Retry `f` until it returns Some, up to `WAIT`.
async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut f: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn one_user_gets_a_bounded_number_of_sockets() {
    let server = TestServer::with(|c| c.max_sockets_per_user = 2).await;
    let mut first = server.client("amira", "applicant").await;
    let mut second = server.client("amira", "applicant").await;
    let token = server.token("amira", "applicant");

    // A third socket with the token at the upgrade: 429 and a typed body.
    let url = format!("{}?token={token}", server.ws_url());
    let err = Client::connect(&url)
        .await
        .err()
        .expect("third socket refused");
    let (status, body) = refusal(err);
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["code"], "RATE_LIMITED", "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("limit 2"),
        "{body}"
    );

    // A third socket that authenticates by message: a typed error, then close.
    let mut third = Client::connect(&server.ws_url()).await.unwrap();
    third
        .send(json!({"type": "authenticate", "token": token}))
        .await;
    let err = third.recv().await;
    assert_eq!(err["type"], "error", "{err}");
    assert_eq!(err["code"], "RATE_LIMITED", "{err}");
    assert_eq!(third.closed().await.0, 1008);

    // The first two still work, and other users are not affected.
    first.sync().await;
    second.sync().await;
    let mut omar = server.client("omar", "professional").await;
    omar.sync().await;

    // Once one closes, the user may open another.
    second.ws.close(None).await.unwrap();
    let mut again = eventually("a socket after one closed", || async {
        Client::connect(&url).await.ok()
    })
    .await;
    assert_eq!(again.recv_type("welcome").await["user"]["id"], "amira");
}

#[tokio::test]
async fn one_address_gets_a_bounded_number_of_connections() {
    let server = TestServer::with(|c| c.max_connections_per_ip = 3).await;
    let mut held = vec![];
    for _ in 0..3 {
        let (s, res) = http(&server, HEALTHZ).await;
        assert_eq!(res.unwrap().0, 200);
        held.push(s); // kept alive: still counted
    }
    let (_, res) = http(&server, HEALTHZ).await;
    let (status, body) = res.expect("an answer, not a dropped connection");
    assert_eq!(status, 429, "{body}");
    assert_eq!(typed(&body)["code"], "RATE_LIMITED");
    assert!(body.contains("this address"), "{body}");

    // Closing one frees its place.
    held.pop();
    eventually("a connection after one closed", || async {
        let (_, res) = http(&server, HEALTHZ_CLOSE).await;
        (res?.0 == 200).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_full_server_still_answers_health_checks_and_admins() {
    let server = TestServer::with(|c| {
        c.max_connections = 6;
        c.connection_reserve = 2;
        c.max_connections_per_ip = 0;
    })
    .await;
    // Four sockets fill the WebSocket share (6 - 2 reserved).
    let mut users = vec![];
    for u in ["u1", "u2", "u3", "u4"] {
        users.push(server.client(u, "customer").await);
    }
    let url = format!(
        "{}?token={}",
        server.ws_url(),
        server.token("u5", "customer")
    );
    let (status, body) = refusal(Client::connect(&url).await.err().expect("refused"));
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "UNAVAILABLE", "{body}");

    // Health checks get through on the reserve, and so do admins.
    let (_, res) = http(&server, HEALTHZ_CLOSE).await;
    assert_eq!(res.unwrap(), (200, "ok".to_string()));
    let mut admin = server.client("root", "admin").await;
    admin.sync().await;

    // Past the connection cap itself, new connections get a typed 503.
    let mut held = vec![];
    let body = loop {
        assert!(held.len() <= 1, "the cap of 6 connections was not enforced");
        let (s, res) = http(&server, HEALTHZ).await;
        let (status, body) = res.expect("an answer, not a dropped connection");
        if status == 503 {
            break body;
        }
        assert_eq!(status, 200);
        held.push(s);
    };
    assert_eq!(typed(&body)["code"], "UNAVAILABLE");

    // Everyone connected carries on; a closed socket frees its place.
    for u in &mut users {
        u.sync().await;
    }
    users.pop().unwrap().ws.close(None).await.unwrap();
    eventually("a health check after a socket closed", || async {
        let (_, res) = http(&server, HEALTHZ_CLOSE).await;
        (res?.0 == 200).then_some(())
    })
    .await;
}

#[tokio::test]
async fn silent_and_half_sent_requests_are_cut_off_after_the_header_timeout() {
    let server = TestServer::with(|c| {
        c.header_timeout = Duration::from_millis(500);
        c.max_connections_per_ip = 3;
    })
    .await;
    let started = Instant::now();
    let mut half = TcpStream::connect(server.addr).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nhost: earshot\r\n")
        .await
        .unwrap();
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    // A complete request on a third connection is answered meanwhile.
    let (mut idle, res) = http(&server, HEALTHZ).await;
    assert_eq!(res.unwrap().0, 200);
    // The address is at its cap of 3 now.
    let (_, res) = http(&server, HEALTHZ).await;
    assert_eq!(res.unwrap().0, 429);

    // All three are closed by the server: half a header, nothing at all,
    // and an idle keep-alive connection.
    for (what, s) in [
        ("half", &mut half),
        ("silent", &mut silent),
        ("idle", &mut idle),
    ] {
        let mut buf = [0u8; 256];
        let end = tokio::time::timeout(WAIT, async {
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => continue,
                }
            }
        })
        .await;
        assert!(end.is_ok(), "the {what} connection was left open");
    }
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "closed before the timeout"
    );

    // Their places are free again.
    let (_, res) = http(&server, HEALTHZ_CLOSE).await;
    assert_eq!(res.unwrap().0, 200);
}
