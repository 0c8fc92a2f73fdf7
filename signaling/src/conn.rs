//! The handle through which rooms, presence and the API reach one connection.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::error::ErrorCode;
use crate::protocol::{Frame, MessageView, ServerMessage};

static NEXT_CONN_ID: AtomicU64 = AtomicU64::new(1);

/// WebSocket close code for a client that cannot keep up ("try again later").
pub const CLOSE_SLOW_CONSUMER: u16 = 1013;
/// When to retry a history request refused for pending output.
const HISTORY_RETRY_MS: u64 = 1000;
/// What a history reply carries besides its messages (the room, its
/// members), allowed for when deciding whether it would fit.
const HISTORY_REPLY_EXTRA: usize = 16 * 1024;

/// A connection as seen from the rest of the server: an outbound queue
/// bounded both in frames and in bytes, plus a way to close it. Cloning is
/// cheap.
///
/// The byte bound is what keeps a client that never reads from holding
/// memory: every queued frame counts its size (a broadcast frame shared by
/// many connections counts once in each) until the writer takes it off the
/// queue and calls [`ConnHandle::dequeued`].
#[derive(Clone, Debug)]
pub struct ConnHandle {
    inner: Arc<ConnInner>,
}

#[derive(Debug)]
struct ConnInner {
    id: u64,
    user_id: String,
    tx: mpsc::Sender<Frame>,
    closed: CancellationToken,
    close_reason: OnceLock<(u16, String)>,
    connected_at: i64,
    /// Frames the client sent / frames queued to it, for the server API.
    frames_in: AtomicU64,
    frames_out: AtomicU64,
    /// Bytes of the frames queued and not yet taken by the writer.
    pending_bytes: AtomicUsize,
    /// Most bytes that may be pending; past it the connection is closed.
    max_bytes: usize,
}

impl ConnHandle {
    /// A new handle and the receiving end of its outbound queue, bounded in
    /// frames only (see [`ConnHandle::with_limits`]).
    pub fn new(user_id: String, queue: usize) -> (ConnHandle, mpsc::Receiver<Frame>) {
        Self::with_limits(user_id, queue, usize::MAX)
    }

    /// A new handle whose queue holds at most `queue` frames and `max_bytes`
    /// bytes. One frame bigger than `max_bytes` still goes out when nothing
    /// else is pending (replies are bounded where they are built).
    pub fn with_limits(
        user_id: String,
        queue: usize,
        max_bytes: usize,
    ) -> (ConnHandle, mpsc::Receiver<Frame>) {
        let (tx, rx) = mpsc::channel(queue.max(1));
        let inner = ConnInner {
            id: NEXT_CONN_ID.fetch_add(1, Ordering::Relaxed),
            user_id,
            tx,
            closed: CancellationToken::new(),
            close_reason: OnceLock::new(),
            connected_at: crate::store::now_ms(),
            frames_in: AtomicU64::new(0),
            frames_out: AtomicU64::new(0),
            pending_bytes: AtomicUsize::new(0),
            max_bytes,
        };
        (
            ConnHandle {
                inner: Arc::new(inner),
            },
            rx,
        )
    }

    pub fn id(&self) -> u64 {
        self.inner.id
    }

    pub fn user_id(&self) -> &str {
        &self.inner.user_id
    }

    pub fn connected_at(&self) -> i64 {
        self.inner.connected_at
    }

    /// Count one frame received from the client.
    pub fn count_in(&self) {
        self.inner.frames_in.fetch_add(1, Ordering::Relaxed);
    }

    /// Frames received from the client so far.
    pub fn frames_in(&self) -> u64 {
        self.inner.frames_in.load(Ordering::Relaxed)
    }

    /// Frames queued to the client so far.
    pub fn frames_out(&self) -> u64 {
        self.inner.frames_out.load(Ordering::Relaxed)
    }

    /// Queue a frame without waiting. A full queue (in frames or in bytes)
    /// means the client is not reading: it is disconnected rather than
    /// allowed to stall the sender or hold memory.
    pub fn send(&self, frame: Frame) -> bool {
        let len = frame.0.len();
        // One atomic add per frame, undone below if the frame is not queued.
        let before = self.inner.pending_bytes.fetch_add(len, Ordering::Relaxed);
        if before > 0 && before.saturating_add(len) > self.inner.max_bytes {
            self.inner.pending_bytes.fetch_sub(len, Ordering::Relaxed);
            self.close(
                CLOSE_SLOW_CONSUMER,
                "slow consumer: outbound bytes over the limit",
            );
            return false;
        }
        match self.inner.tx.try_send(frame) {
            Ok(()) => {
                self.inner.frames_out.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.inner.pending_bytes.fetch_sub(len, Ordering::Relaxed);
                self.close(CLOSE_SLOW_CONSUMER, "slow consumer: outbound queue full");
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.inner.pending_bytes.fetch_sub(len, Ordering::Relaxed);
                false
            }
        }
    }

    /// The writer took `frame` off the queue: its bytes no longer count.
    pub fn dequeued(&self, frame: &Frame) {
        self.inner
            .pending_bytes
            .fetch_sub(frame.0.len(), Ordering::Relaxed);
    }

    /// Bytes queued to the client and not yet taken by the writer.
    pub fn pending_bytes(&self) -> usize {
        self.inner.pending_bytes.load(Ordering::Relaxed)
    }

    /// Whether a reply of up to `reply_bytes` would be queued (the same rule
    /// as [`ConnHandle::send`]). History requests are refused, before any
    /// storage query, when not.
    pub fn has_room_for(&self, reply_bytes: usize) -> bool {
        let pending = self.pending_bytes();
        pending == 0 || pending.saturating_add(reply_bytes) <= self.inner.max_bytes
    }

    /// Whether to serve a history request whose messages take up to
    /// `history_bytes`: not while the reply (plus the room and its members)
    /// would not fit the pending output. Then the client is told, with
    /// `RATE_LIMITED` and a retry hint, and no storage query is made.
    pub fn admit_history(&self, history_bytes: usize, request_id: &Option<String>) -> bool {
        if self.has_room_for(history_bytes.saturating_add(HISTORY_REPLY_EXTRA)) {
            return true;
        }
        self.send(
            ServerMessage::Error {
                code: ErrorCode::RateLimited,
                message: "too much output waiting to be read; read it before asking for history"
                    .into(),
                request_id: request_id.clone(),
                retry_after_ms: Some(HISTORY_RETRY_MS),
            }
            .to_frame(),
        );
        false
    }

    /// Ask the transport to close this connection with a code and reason.
    /// The first reason given wins.
    pub fn close(&self, code: u16, reason: &str) {
        let _ = self.inner.close_reason.set((code, reason.to_string()));
        self.inner.closed.cancel();
    }

    /// Resolves when someone called [`ConnHandle::close`].
    pub fn closed(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.inner.closed.cancelled()
    }

    pub fn is_closed(&self) -> bool {
        self.inner.closed.is_cancelled()
    }

    pub fn close_reason(&self) -> Option<(u16, String)> {
        self.inner.close_reason.get().cloned()
    }
}

/// Which end of a history page to keep when it is cut to its byte bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The oldest messages (catching up after a sequence number).
    Oldest,
    /// The newest messages (a page before a point, shown newest last).
    Newest,
}

/// Cut `messages` (ascending by seq) so that their JSON stays within about
/// `max_bytes`, keeping at least one. Returns whether any were dropped, so
/// the reply can set `has_more` and the client fetch the rest page by page.
pub fn fit_history(messages: &mut Vec<MessageView>, max_bytes: usize, keep: Keep) -> bool {
    let mut total = 0usize;
    let mut fits = 0usize;
    let n = messages.len();
    for i in 0..n {
        let m = match keep {
            Keep::Oldest => &messages[i],
            Keep::Newest => &messages[n - 1 - i],
        };
        total = total.saturating_add(json_len(m) + 1);
        if total > max_bytes && fits > 0 {
            break;
        }
        fits += 1;
    }
    if fits == n {
        return false;
    }
    match keep {
        Keep::Oldest => messages.truncate(fits),
        Keep::Newest => {
            messages.drain(..n - fits);
        }
    }
    true
}

/// Length of a value's JSON, without keeping the bytes.
fn json_len(value: &impl serde::Serialize) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_queue_closes_the_connection() {
        let (conn, _rx) = ConnHandle::new("u".into(), 2);
        let f = ServerMessage::Pong {
            request_id: None,
            ts: None,
            server_time: 0,
        }
        .to_frame();
        assert!(conn.send(f.clone()));
        assert!(conn.send(f.clone()));
        assert!(!conn.is_closed());
        assert!(!conn.send(f));
        assert!(conn.is_closed());
        assert_eq!(conn.close_reason().unwrap().0, CLOSE_SLOW_CONSUMER);
    }

    fn pong() -> Frame {
        ServerMessage::Pong {
            request_id: None,
            ts: None,
            server_time: 0,
        }
        .to_frame()
    }

    #[test]
    fn bytes_over_the_bound_close_the_connection_and_dequeued_bytes_free_it() {
        let f = pong();
        let len = f.0.len();
        let (conn, mut rx) = ConnHandle::with_limits("u".into(), 100, len * 2);
        assert!(conn.send(f.clone()));
        assert!(conn.send(f.clone()));
        assert_eq!(conn.pending_bytes(), len * 2);
        assert!(!conn.has_room_for(1));
        assert!(ConnHandle::with_limits("v".into(), 1, 1)
            .0
            .has_room_for(len));
        let taken = rx.try_recv().unwrap();
        conn.dequeued(&taken);
        assert_eq!(conn.pending_bytes(), len);
        assert!(conn.has_room_for(len));
        assert!(conn.send(f.clone()));
        assert!(!conn.is_closed());
        assert!(!conn.send(f));
        assert!(conn.is_closed());
        assert_eq!(conn.pending_bytes(), len * 2);
        assert_eq!(conn.close_reason().unwrap().0, CLOSE_SLOW_CONSUMER);
    }

    #[test]
    fn one_frame_bigger_than_the_bound_goes_out_alone() {
        let (conn, _rx) = ConnHandle::with_limits("u".into(), 100, 4);
        assert!(conn.send(pong()));
        assert!(!conn.send(pong()));
        assert!(conn.is_closed());
    }

    #[test]
    fn history_is_cut_to_its_byte_bound_from_the_right_end() {
        let views: Vec<MessageView> = (1..=10)
            .map(|seq| {
                serde_json::from_value(serde_json::json!({
                    "id": format!("m{seq}"), "room_id": "r", "seq": seq,
                    "sender": {"id": "u"}, "client_msg_id": format!("c{seq}"),
                    "message_type": "text", "text": "x".repeat(1000), "created_at": 0
                }))
                .unwrap()
            })
            .collect();
        let one = views.iter().map(json_len).max().unwrap() + 1;
        let mut oldest = views.clone();
        assert!(fit_history(&mut oldest, one * 3, Keep::Oldest));
        assert_eq!(oldest.iter().map(|m| m.seq).collect::<Vec<_>>(), [1, 2, 3]);
        let mut newest = views.clone();
        assert!(fit_history(&mut newest, one * 3, Keep::Newest));
        assert_eq!(newest.iter().map(|m| m.seq).collect::<Vec<_>>(), [8, 9, 10]);
        let mut tiny = views.clone();
        assert!(fit_history(&mut tiny, 1, Keep::Oldest));
        assert_eq!(tiny.len(), 1, "at least one message, so paging moves on");
        let mut all = views.clone();
        assert!(!fit_history(&mut all, usize::MAX, Keep::Newest));
        assert_eq!(all.len(), 10);
    }
}
