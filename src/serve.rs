//! The accept loop: HTTP/1.1 with upgrades (WebSockets) on each admitted
//! TCP connection, a deadline for every request head, connection caps, and
//! a graceful stop.
//!
//! - Every connection must send a complete request head within
//!   `header_timeout`, and an idle keep-alive connection is closed after the
//!   same time: a client that connects and says nothing (or half a header)
//!   does not hold a socket for long.
//! - A connection over `max_connections` or `max_connections_per_ip` gets a
//!   short typed HTTP error (503 / 429) and is closed.
//! - At shutdown, HTTP connections finish their request in flight and
//!   close; WebSockets are closed by their own tasks (close 1012).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;
use tracing::{debug, warn};

use crate::limits::{LimitError, Limits, TcpSlot};

/// Refused connections answered at once; past it they are just closed
/// (each answer holds a socket for up to [`REFUSAL_LINGER`]).
const REFUSALS_IN_FLIGHT: usize = 64;
/// How long a refused connection may take to send its request and read the
/// answer.
const REFUSAL_LINGER: Duration = Duration::from_millis(500);

/// Serve `router` on `listener` until `shutdown` is cancelled, then let the
/// HTTP connections finish their request in flight (WebSockets are closed by
/// their own tasks). Returns when the last HTTP connection is done.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Arc<Limits>,
    header_timeout: Duration,
    shutdown: CancellationToken,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let connections = TaskTracker::new();
    let refusals = Arc::new(Semaphore::new(REFUSALS_IN_FLIGHT));
    loop {
        let accepted = tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                if is_connection_error(&err) {
                    continue;
                }
                // Out of file descriptors, most likely: wait for some to close.
                warn!(%err, "accept failed");
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_millis(100)) => continue,
                }
            }
        };
        let slot = match limits.accept(peer.ip()) {
            Ok(slot) => Arc::new(slot),
            Err(err) => {
                refuse(stream, peer, err, &refusals);
                continue;
            }
        };
        let service = {
            let (router, slot) = (router.clone(), ConnSlot(slot.clone()));
            service_fn(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(slot.clone());
                // The peer address, for per-IP limits in handlers.
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                router.clone().oneshot(req)
            })
        };
        let builder = builder.clone();
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            let conn = builder
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(conn);
            let result = tokio::select! {
                result = conn.as_mut() => result,
                _ = shutdown.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(err) = result {
                debug!(%peer, %err, "connection ended with an error");
            }
            drop(slot);
        });
    }
    connections.close();
    connections.wait().await;
}

/// The TCP connection's slot, handed to every request on it: a WebSocket
/// keeps it until the socket closes, so upgraded connections stay counted.
#[derive(Clone, Debug)]
pub struct ConnSlot(pub Arc<TcpSlot>);

/// Answer a refused connection with a typed HTTP error and close it, without
/// letting refusals pile up.
fn refuse(mut stream: TcpStream, peer: SocketAddr, err: LimitError, refusals: &Arc<Semaphore>) {
    debug!(%peer, %err, "connection refused");
    let Ok(permit) = refusals.clone().try_acquire_owned() else {
        return;
    };
    tokio::spawn(async move {
        let body = err.body().to_string();
        let status = err.status();
        let response = format!(
            "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
            status.as_u16(),
            status.canonical_reason().unwrap_or(""),
            body.len(),
            body
        );
        let answer = async {
            // Read the request head first (or what arrives of it): closing
            // with unread input would reset the connection and lose the answer.
            let mut buf = [0u8; 2048];
            let _ = tokio::time::timeout(REFUSAL_LINGER / 2, stream.read(&mut buf)).await;
            stream.write_all(response.as_bytes()).await?;
            stream.shutdown().await
        };
        let _ = tokio::time::timeout(REFUSAL_LINGER, answer).await;
        drop(permit);
    });
}

/// Errors of one connection that do not affect the listener.
fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}
