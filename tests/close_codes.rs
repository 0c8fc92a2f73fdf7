//! Framing faults close the socket with the codes RFC 6455 (section 7.4.1)
//! assigns: 1002 for a malformed frame, 1007 for a text message that is not
//! UTF-8. The server stays up for everyone else.

mod common;

use common::{TestServer, WAIT};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// Upgrade a raw TCP connection as `user` (token in the query) and return it
/// right after the handshake, so the test can write raw frame bytes.
async fn raw_socket(server: &TestServer, user: &str) -> TcpStream {
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    let token = server.token(user, "customer");
    let req = format!(
        "GET /ws?token={token} HTTP/1.1\r\nhost: earshot\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\
         sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    // Read the response head byte by byte: nothing after it is consumed.
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        assert_eq!(s.read(&mut b).await.unwrap(), 1, "handshake cut short");
        head.push(b[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    s
}

/// A masked client frame with the given first byte and payload (< 126 bytes).
fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x12u8, 0x34, 0x56, 0x78];
    let mut out = vec![first, 0x80 | payload.len() as u8];
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

/// Send `bytes` and read what the server sends until its close frame.
async fn close_after(server: &TestServer, user: &str, bytes: &[u8]) -> (u16, String) {
    let mut s = raw_socket(server, user).await;
    s.write_all(bytes).await.unwrap();
    let mut ws = WebSocketStream::from_raw_socket(s, Role::Client, None).await;
    loop {
        match tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("closed in time")
        {
            Some(Ok(Message::Close(Some(f)))) => return (u16::from(f.code), f.reason.to_string()),
            Some(Ok(Message::Close(None))) => panic!("a close frame without a code"),
            Some(Ok(_)) => continue,
            other => panic!("no close frame: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_malformed_frame_closes_with_1002() {
    let server = TestServer::start().await;
    // FIN + RSV1 + text: a reserved bit no extension was agreed for.
    let (code, reason) = close_after(&server, "amira", &frame(0xC1, b"{}")).await;
    assert_eq!(code, 1002, "{reason}");
    // An unknown opcode (0x3).
    let (code, reason) = close_after(&server, "amira", &frame(0x83, b"")).await;
    assert_eq!(code, 1002, "{reason}");
    // Everyone else is fine.
    let mut omar = server.client("omar", "professional").await;
    omar.sync().await;
}

#[tokio::test]
async fn text_that_is_not_utf8_closes_with_1007() {
    let server = TestServer::start().await;
    let (code, reason) =
        close_after(&server, "amira", &frame(0x81, &[0x7b, 0xff, 0xfe, 0x7d])).await;
    assert_eq!(code, 1007, "{reason}");
    let mut omar = server.client("omar", "professional").await;
    omar.sync().await;
}
