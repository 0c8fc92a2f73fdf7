//! Webhooks: every [`CallEvent`] is POSTed as JSON to each configured URL,
//! signed with HMAC-SHA256, and retried with exponential backoff.
//!
//! Each delivery carries:
//! - `X-Earshot-Event`: the event name (`call.started`, `call.ended`,
//!   `call.quality_degraded`);
//! - `X-Earshot-Delivery`: the event id (the same on every retry, so the
//!   receiver can drop duplicates);
//! - `X-Earshot-Timestamp`: Unix seconds when the event was created;
//! - `X-Earshot-Signature`: `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
//!
//! A 2xx answer is success; anything else (or no answer within
//! `webhook_timeout`) is retried after `webhook_retry_base`, then twice as
//! long each time, up to `webhook_max_attempts` attempts in all. Deliveries
//! run concurrently (up to a limit), so one slow receiver delays nothing else.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use earshot_signaling::events::CallEvent;
use earshot_signaling::store::now_ms;

/// Deliveries in flight at once, over every URL.
const MAX_IN_FLIGHT: usize = 64;

/// Where and how to deliver.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    pub urls: Vec<String>,
    pub secret: String,
    pub max_attempts: u32,
    pub retry_base: Duration,
    pub timeout: Duration,
}

/// `sha256=<hex>` of `"<timestamp>.<body>"` under `secret`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length: `new_from_slice` cannot fail.
    let mut mac = match <Hmac<Sha256>>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The JSON body of one event.
pub fn body(id: &str, created_at_ms: i64, event: &CallEvent) -> Vec<u8> {
    let doc = json!({
        "id": id,
        "event": event.name(),
        "created_at": created_at_ms,
        // Room ids in `data` are the tenant's own: this says whose.
        "tenant": event.tenant(),
        "data": event,
    });
    serde_json::to_vec(&doc).unwrap_or_default()
}

/// Deliver events until the channel closes or `shutdown` fires; on
/// shutdown, deliveries in flight get one last chance within `grace`.
pub async fn run(
    config: WebhookConfig,
    mut events: mpsc::Receiver<CallEvent>,
    shutdown: CancellationToken,
) {
    let client = match reqwest::Client::builder().timeout(config.timeout).build() {
        Ok(c) => c,
        Err(err) => {
            tracing::error!(%err, "cannot build the webhook HTTP client; webhooks are off");
            return;
        }
    };
    let config = Arc::new(config);
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let tracker = TaskTracker::new();
    loop {
        let event = tokio::select! {
            _ = shutdown.cancelled() => break,
            e = events.recv() => match e { Some(e) => e, None => break },
        };
        let id = uuid::Uuid::now_v7().to_string();
        let created = now_ms();
        let payload = Arc::new(body(&id, created, &event));
        for url in &config.urls {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                return;
            };
            let job = Delivery {
                client: client.clone(),
                config: config.clone(),
                url: url.clone(),
                id: id.clone(),
                name: event.name(),
                timestamp: created / 1000,
                body: payload.clone(),
            };
            let stop = shutdown.clone();
            tracker.spawn(async move {
                job.deliver(stop).await;
                drop(permit);
            });
        }
    }
    tracker.close();
    let _ = tokio::time::timeout(Duration::from_secs(5), tracker.wait()).await;
}

struct Delivery {
    client: reqwest::Client,
    config: Arc<WebhookConfig>,
    url: String,
    id: String,
    name: &'static str,
    timestamp: i64,
    body: Arc<Vec<u8>>,
}

impl Delivery {
    async fn deliver(self, shutdown: CancellationToken) {
        let signature = signature(self.config.secret.as_bytes(), self.timestamp, &self.body);
        let mut wait = self.config.retry_base;
        for attempt in 1..=self.config.max_attempts {
            let result = self
                .client
                .post(&self.url)
                .header("content-type", "application/json")
                .header("x-earshot-event", self.name)
                .header("x-earshot-delivery", &self.id)
                .header("x-earshot-timestamp", self.timestamp.to_string())
                .header("x-earshot-signature", &signature)
                .body(self.body.as_ref().clone())
                .send()
                .await;
            let outcome = match result {
                Ok(resp) if resp.status().is_success() => {
                    tracing::debug!(url = %self.url, event = self.name, attempt, "webhook delivered");
                    return;
                }
                Ok(resp) => format!("status {}", resp.status().as_u16()),
                Err(err) => err.to_string(),
            };
            if attempt == self.config.max_attempts {
                tracing::warn!(url = %self.url, event = self.name, delivery = %self.id,
                    attempts = attempt, %outcome, "webhook delivery failed; giving up");
                return;
            }
            tracing::info!(url = %self.url, event = self.name, attempt, %outcome,
                retry_in_ms = wait.as_millis() as u64, "webhook delivery failed; will retry");
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
            wait = wait.saturating_mul(2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Expected value computed independently (Python's hmac module).
        assert_eq!(
            signature(b"webhook-secret-0123", 1_700_000_000, br#"{"a":1}"#),
            "sha256=74e1b170a115de6222ee93674d5b49b9a9dee9bb819fcb83c8eb2c446e76b037"
        );
        assert_ne!(
            signature(b"webhook-secret-0123", 1_700_000_001, br#"{"a":1}"#),
            signature(b"webhook-secret-0123", 1_700_000_000, br#"{"a":1}"#)
        );
    }
}
