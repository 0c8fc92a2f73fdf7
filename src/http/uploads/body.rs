//! The upload body under the server's own size limit, and the drain that
//! lets a refused client read its answer.
//!
//! Answering while the client is still sending, then closing, makes the
//! kernel reset the connection over the unread bytes, and the client often
//! sees the reset instead of the 413. So the body runs through [`Capped`]:
//! past the limit, or when the handler gives up early, what is left of the
//! body is parked, and the handler reads and discards it (up to a bound and
//! a time limit) before it answers.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, BodyDataStream, Bytes};
use futures_util::{Stream, StreamExt};

/// Longest the handler spends discarding a refused body.
const DRAIN_TIME: Duration = Duration::from_secs(10);

/// The body went past its limit.
#[derive(Debug, thiserror::Error)]
#[error("the request body exceeds its limit")]
pub struct Overflow;

/// What [`Capped`] leaves behind for the handler.
#[derive(Default)]
struct Shared {
    /// The unread rest of the body. A plain mutex: it is only taken and
    /// put back, never held across an await.
    rest: Mutex<Option<BodyDataStream>>,
    over: AtomicBool,
}

/// The handler's view of a capped body: whether it overflowed, and the
/// drain.
pub struct Leftover(Arc<Shared>);

/// A body that ends with [`Overflow`] after `max` bytes and parks its
/// unread rest when it overflows or is dropped.
struct Capped {
    inner: Option<BodyDataStream>,
    seen: u64,
    max: u64,
    shared: Arc<Shared>,
}

impl Capped {
    fn park(&mut self) {
        if let Some(inner) = self.inner.take() {
            if let Ok(mut rest) = self.shared.rest.lock() {
                *rest = Some(inner);
            }
        }
    }
}

impl Stream for Capped {
    type Item = Result<Bytes, axum::BoxError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        match inner.poll_next_unpin(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(chunk))) => {
                self.seen += chunk.len() as u64;
                if self.seen > self.max {
                    self.shared.over.store(true, Ordering::Relaxed);
                    self.park();
                    return Poll::Ready(Some(Err(Overflow.into())));
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(err))) => Poll::Ready(Some(Err(err.into()))),
            Poll::Ready(None) => {
                self.inner = None;
                Poll::Ready(None)
            }
        }
    }
}

impl Drop for Capped {
    fn drop(&mut self) {
        self.park();
    }
}

/// `body`, ending with [`Overflow`] after `max` bytes.
pub fn capped(body: Body, max: u64) -> (Body, Leftover) {
    let shared = Arc::new(Shared::default());
    let capped = Capped {
        inner: Some(body.into_data_stream()),
        seen: 0,
        max,
        shared: shared.clone(),
    };
    (Body::from_stream(capped), Leftover(shared))
}

impl Leftover {
    /// Whether the body went past its limit.
    pub fn overflowed(&self) -> bool {
        self.0.over.load(Ordering::Relaxed)
    }

    /// Read and discard what the handler left of the body (the capped body
    /// must be dropped by now), at most `bound` bytes.
    pub async fn drain(self, bound: u64) {
        let rest = self.0.rest.lock().ok().and_then(|mut r| r.take());
        if let Some(rest) = rest {
            drain(rest, bound).await;
        }
    }
}

/// Read and discard `body`, at most `bound` bytes and [`DRAIN_TIME`]; past
/// either the connection is simply closed.
pub async fn drain(mut body: BodyDataStream, bound: u64) {
    let mut read: u64 = 0;
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while let Some(Ok(chunk)) = body.next().await {
            read += chunk.len() as u64;
            if read > bound {
                break;
            }
        }
    })
    .await;
}
