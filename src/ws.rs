//! The WebSocket edge: authentication at upgrade or by first message, the
//! reader (frames into the session, heartbeat, size limits) and the writer
//! (the connection's bounded queue, pings, closing with a reason).

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Extension, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::time::{interval_at, sleep_until, Instant, MissedTickBehavior};
use tracing::{debug, info};

use crate::auth::{bearer, AuthError};
use crate::error::AppError;
use crate::limits::SocketSlot;
use crate::serve::ConnSlot;
use crate::AppState;
use earshot_signaling::protocol::{parse_client_frame, ClientMessage, Frame, ServerMessage};
use earshot_signaling::{expiry, ConnHandle, ErrorCode, Identity, Session};

/// Close codes used by the server.
pub mod close {
    pub const NORMAL: u16 = 1000;
    /// A malformed frame (RFC 6455 section 7.4.1).
    pub const PROTOCOL: u16 = 1002;
    /// A text frame that is not UTF-8.
    pub const BAD_DATA: u16 = 1007;
    pub const POLICY: u16 = 1008;
    pub const TOO_BIG: u16 = 1009;
    pub const RESTART: u16 = 1012;
    pub const IDLE: u16 = 4000;
}

/// Bytes read from the socket at a time: most chat frames fit, bigger ones
/// take a few reads, and an idle socket stays well under 10 KiB.
const READ_CHUNK: usize = 512;

#[derive(Deserialize)]
pub struct WsQuery {
    token: Option<String>,
}

/// `GET /ws`: a token in `?token=` or `Authorization: Bearer` is checked
/// before the upgrade (401 if bad); without one the client must send
/// `authenticate` first.
pub async fn upgrade(
    State(state): State<AppState>,
    Query(query): Query<WsQuery>,
    headers: HeaderMap,
    tcp: Option<Extension<ConnSlot>>,
    ws: WebSocketUpgrade,
) -> Result<Response, AppError> {
    let token = query.token.as_deref().or_else(|| bearer(&headers));
    let identity = match token {
        Some(t) => Some(state.auth.verify(t)?),
        None => None,
    };
    if state.shutdown.is_cancelled() {
        return Err(earshot_signaling::SignalError::Unavailable.into());
    }
    // Admins (token given here) may use the connection reserve.
    let privileged = identity
        .as_ref()
        .is_some_and(|i| state.config.api_roles.iter().any(|r| r == &i.role));
    let mut slot = match state.conn_limits.open_socket(privileged) {
        Ok(slot) => slot,
        Err(err) => return Ok(refused(err, identity.as_ref())),
    };
    if let Some(identity) = &identity {
        if let Err(err) = slot.claim_user(&identity.user_id) {
            return Ok(refused(err, Some(identity)));
        }
    }
    let slots = Slots {
        _tcp: tcp.map(|Extension(slot)| slot),
        socket: slot,
    };
    let max = state.config.max_frame_bytes;
    // Small read chunks: tungstenite zero-fills the whole chunk on every read,
    // and chat frames are small (larger ones still grow the buffer as needed).
    let ws = ws
        .max_message_size(max)
        .max_frame_size(max)
        .read_buffer_size(READ_CHUNK);
    let tracker = state.tracker.clone();
    Ok(ws.on_upgrade(move |socket| tracker.track_future(serve(state, socket, identity, slots))))
}

/// The connection's places under the caps, held until the socket closes.
struct Slots {
    _tcp: Option<ConnSlot>,
    socket: SocketSlot,
}

fn refused(err: crate::limits::LimitError, identity: Option<&Identity>) -> Response {
    // Debug, not info: a client retrying in a loop must not flood the log.
    debug!(user = identity.map(|i| i.user_id.as_str()), %err, "socket refused");
    axum::response::IntoResponse::into_response(err)
}

async fn serve(state: AppState, socket: WebSocket, identity: Option<Identity>, mut slots: Slots) {
    let (mut sink, mut stream) = socket.split();
    let identity = match identity {
        Some(identity) => identity,
        None => match authenticate_by_message(&state, &mut stream).await {
            Ok(identity) => identity,
            Err((code, reason)) => {
                if sink.send(close_message(code, &reason)).await.is_ok() {
                    await_close_reply(&mut stream).await;
                }
                return;
            }
        },
    };
    if let Err(err) = slots.socket.claim_user(&identity.user_id) {
        // Authenticated by message: the upgrade is done, so say it on the
        // socket (a typed error, then a policy close).
        debug!(user = %identity.user_id, %err, "socket refused");
        let error = ServerMessage::error(err.code(), err.to_string(), None).to_frame();
        let closed = async {
            sink.send(text_message(error)).await?;
            sink.send(close_message(close::POLICY, &err.to_string()))
                .await
        };
        if closed.await.is_ok() {
            await_close_reply(&mut stream).await;
        }
        return;
    }
    if let Err(err) = state
        .signaling
        .store
        .upsert_user(&identity.user_ref(), identity.tenant.as_deref())
        .await
    {
        tracing::warn!(%err, "cannot record user profile");
    }
    let (conn, queue) = ConnHandle::with_limits(
        identity.user_id.clone(),
        state.config.outbound_queue,
        state.config.outbound_max_bytes,
    );
    info!(user = %identity.user_id, conn = conn.id(), role = %identity.role, "connected");
    let heartbeat_ms = state.config.ping_interval.as_millis() as u64;
    let session = Session::open(
        state.signaling.clone(),
        identity,
        conn.clone(),
        heartbeat_ms,
    )
    .with_verifier(state.token_verifier.clone());
    // Every call going on that concerns the user, so a device back from an
    // outage drops calls that ended meanwhile and rings for one that rings.
    state.signaling.send_active_calls(&conn).await;
    // Registered with the hub by `Session::open`, so nothing notified from
    // here on is missed: deliver what was stored while no device was online.
    if let Err(err) = state.signaling.deliver_pending_notifications(&conn).await {
        tracing::warn!(%err, user = conn.user_id(), "cannot deliver pending notifications");
    }
    let writer = write_loop(&state, &conn, queue, &mut sink);
    // Leave the rooms and go offline as soon as the connection is closed,
    // without waiting for the writer: a client that stopped reading can hold
    // the writer up for as long as the close frame takes to get through.
    let reader = async {
        read_loop(&state, &conn, session, &mut stream)
            .await
            .close()
            .await
    };
    let (close_sent, ()) = tokio::join!(writer, reader);
    if close_sent {
        await_close_reply(&mut stream).await;
    }
    let (code, reason) = conn
        .close_reason()
        .unwrap_or((close::NORMAL, String::new()));
    info!(conn = conn.id(), code, reason = %reason, "disconnected");
    release_memory();
}

/// Hand memory freed by closed connections back to the system. glibc keeps
/// freed pages in its arenas, so a burst of large queues would otherwise stay
/// in the process's RSS after the clients left. At most once every few
/// seconds, on a blocking thread.
fn release_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::sync::atomic::{AtomicU64, Ordering};
        static LAST: AtomicU64 = AtomicU64::new(0);
        let now = earshot_signaling::store::now_ms() as u64;
        let last = LAST.load(Ordering::Relaxed);
        if now.saturating_sub(last) < 5_000
            || LAST
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        tokio::task::spawn_blocking(|| {
            // SAFETY: malloc_trim only returns free memory to the system.
            unsafe { libc::malloc_trim(0) };
        });
    }
}

async fn authenticate_by_message(
    state: &AppState,
    stream: &mut SplitStream<WebSocket>,
) -> Result<Identity, (u16, String)> {
    let deadline = Instant::now() + state.config.auth_timeout;
    loop {
        let next = tokio::select! {
            _ = state.shutdown.cancelled() => {
                return Err((close::RESTART, "server shutting down".into()))
            }
            next = tokio::time::timeout_at(deadline, stream.next()) => next,
        };
        let text = match next {
            Err(_) => return Err((close::POLICY, "authentication timeout".into())),
            Ok(None) | Ok(Some(Err(_))) => {
                return Err((
                    close::POLICY,
                    "connection closed before authentication".into(),
                ))
            }
            Ok(Some(Ok(Message::Text(text)))) => text,
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            Ok(Some(Ok(_))) => return Err((close::POLICY, "send `authenticate` first".into())),
        };
        return match parse_client_frame(&text) {
            Ok(frame) => match frame.message {
                ClientMessage::Authenticate { token } => state
                    .auth
                    .verify(&token)
                    .map_err(|e: AuthError| (close::POLICY, e.to_string())),
                _ => Err((close::POLICY, "send `authenticate` first".into())),
            },
            Err(_) => Err((close::POLICY, "send `authenticate` first".into())),
        };
    }
}

fn close_message(code: u16, reason: &str) -> Message {
    // Close reasons are limited to 123 bytes by the protocol.
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from(&reason[..end]),
    }))
}

fn text_message(frame: Frame) -> Message {
    // Frames are serde_json output, so the UTF-8 check always passes.
    match Utf8Bytes::try_from(frame.0) {
        Ok(text) => Message::Text(text),
        Err(_) => Message::Text(Utf8Bytes::from_static("{}")),
    }
}

/// Drain the connection's queue into the socket, send pings, and close the
/// socket with the reason given to [`ConnHandle::close`] or at shutdown.
async fn write_loop(
    state: &AppState,
    conn: &ConnHandle,
    mut queue: tokio::sync::mpsc::Receiver<Frame>,
    sink: &mut SplitSink<WebSocket, Message>,
) -> bool {
    let period = state.config.ping_interval;
    let mut pings = interval_at(Instant::now() + period, period);
    pings.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // Built once, not per loop turn: both wait on shared cancellation
    // tokens, and re-registering with them on every frame is measurable.
    let stop = async {
        tokio::select! {
            biased;
            _ = conn.closed() => {}
            _ = state.shutdown.cancelled() => conn.close(close::RESTART, "server shutting down"),
        }
    };
    tokio::pin!(stop);
    let sent = state.signaling.metrics.frames.with_label_values(&["out"]);
    let outcome = loop {
        tokio::select! {
            biased;
            _ = &mut stop => break None,
            frame = queue.recv() => {
                let Some(frame) = frame else { break None };
                conn.dequeued(&frame);
                let write = async {
                    sink.feed(text_message(frame)).await?;
                    let mut n = 1;
                    // Batch whatever else is queued into one flush.
                    while let Ok(frame) = queue.try_recv() {
                        conn.dequeued(&frame);
                        sink.feed(text_message(frame)).await?;
                        n += 1;
                    }
                    sent.inc_by(n);
                    sink.flush().await
                };
                // A client that stopped reading blocks the write; once it is
                // closed (as a slow consumer, say) stop waiting for it.
                tokio::select! {
                    biased;
                    _ = &mut stop => break None,
                    res = write => if res.is_err() { break Some(()) },
                }
            }
            _ = pings.tick() => {
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    break Some(());
                }
            }
        }
    };
    if outcome.is_some() {
        conn.close(close::NORMAL, "socket error");
        return false;
    }
    let (code, reason) = conn
        .close_reason()
        .unwrap_or((close::NORMAL, String::new()));
    let send = async {
        let sent = sink.send(close_message(code, &reason)).await.is_ok();
        let _ = sink.close().await;
        sent
    };
    tokio::time::timeout(Duration::from_secs(2), send)
        .await
        .unwrap_or(false)
}

/// After sending our Close, read (and drop) what the client still sends until
/// its Close comes back. Dropping a socket with unread input makes the kernel
/// reset the connection, and the reset can destroy our Close frame (and its
/// code) before the client has read it.
async fn await_close_reply(stream: &mut SplitStream<WebSocket>) {
    let drain = async {
        while let Some(Ok(msg)) = stream.next().await {
            if matches!(msg, Message::Close(_)) {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
}

/// A deadline that never comes (a token without `exp`).
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(30 * 365 * 24 * 3600)
}

/// Feed client frames to the session until the socket closes, the client is
/// silent past the idle timeout, or someone closes the connection.
async fn read_loop(
    state: &AppState,
    conn: &ConnHandle,
    mut session: Session,
    stream: &mut SplitStream<WebSocket>,
) -> Session {
    let idle = state.config.idle_timeout;
    let closed = conn.closed();
    tokio::pin!(closed);
    let silence = sleep_until(Instant::now() + idle);
    tokio::pin!(silence);
    // The token's deadline, watched here rather than by a task of its own
    // (an idle socket stays small); a refresh on the socket moves it.
    let mut deadline = session.expires_at();
    let expiry = sleep_until(deadline.map_or_else(far_future, expiry::instant_of));
    tokio::pin!(expiry);
    let received = state.signaling.metrics.frames.with_label_values(&["in"]);
    loop {
        let next = tokio::select! {
            biased;
            _ = &mut closed => break,
            _ = &mut expiry, if deadline.is_some() => {
                info!(conn = conn.id(), user = conn.user_id(), "token expired; closing");
                conn.close(expiry::TOKEN_EXPIRED, "token expired");
                break;
            }
            _ = &mut silence => {
                conn.close(close::IDLE, "heartbeat timeout");
                break;
            }
            next = stream.next() => next,
        };
        silence.as_mut().reset(Instant::now() + idle);
        match next {
            Some(Ok(Message::Text(text))) => {
                received.inc();
                session.handle_text(&text).await;
                if session.expires_at() != deadline {
                    deadline = session.expires_at();
                    expiry
                        .as_mut()
                        .reset(deadline.map_or_else(far_future, expiry::instant_of));
                }
            }
            Some(Ok(Message::Binary(_))) => {
                let msg = ServerMessage::error(
                    ErrorCode::BadRequest,
                    "binary frames are not supported; send JSON text",
                    None,
                );
                conn.send(msg.to_frame());
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            Some(Ok(Message::Close(_))) | None => {
                conn.close(close::NORMAL, "client closed");
                break;
            }
            Some(Err(err)) => {
                debug!(conn = conn.id(), error = %err, "read error");
                let (code, reason) = read_error_close(err);
                conn.close(code, reason);
                break;
            }
        }
    }
    session
}

/// The close code and reason for a read error, as RFC 6455 section 7.4.1
/// assigns them: 1009 for a message over the size limit, 1007 for text that
/// is not UTF-8, 1002 for any other framing fault.
fn read_error_close(err: axum::Error) -> (u16, &'static str) {
    use tokio_tungstenite::tungstenite::Error;
    match err.into_inner().downcast::<Error>().map(|e| *e) {
        Ok(Error::Capacity(_)) => (close::TOO_BIG, "message too big"),
        Ok(Error::Utf8(_)) => (close::BAD_DATA, "invalid UTF-8 in a text message"),
        Ok(Error::Io(_) | Error::ConnectionClosed | Error::AlreadyClosed) => {
            (close::NORMAL, "socket error")
        }
        Ok(_) | Err(_) => (close::PROTOCOL, "protocol error"),
    }
}
