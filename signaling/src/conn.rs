//! The handle through which rooms, presence and the API reach one connection.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::protocol::Frame;

static NEXT_CONN_ID: AtomicU64 = AtomicU64::new(1);

/// WebSocket close code for a client that cannot keep up ("try again later").
pub const CLOSE_SLOW_CONSUMER: u16 = 1013;

/// A connection as seen from the rest of the server: a bounded outbound
/// queue plus a way to close it. Cloning is cheap.
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
}

impl ConnHandle {
    /// A new handle and the receiving end of its outbound queue.
    pub fn new(user_id: String, queue: usize) -> (ConnHandle, mpsc::Receiver<Frame>) {
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

    /// Queue a frame without waiting. A full queue means the client is not
    /// reading: it is disconnected rather than allowed to stall the sender.
    pub fn send(&self, frame: Frame) -> bool {
        match self.inner.tx.try_send(frame) {
            Ok(()) => {
                self.inner.frames_out.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.close(CLOSE_SLOW_CONSUMER, "slow consumer: outbound queue full");
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ServerMessage;

    #[test]
    fn full_queue_closes_the_connection() {
        let (conn, _rx) = ConnHandle::new("u".into(), 2);
        let f = ServerMessage::Pong {
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
}
