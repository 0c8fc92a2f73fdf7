//! Per-user and per-IP limits at the HTTP edge: REST requests, and room
//! creation by non-staff users.
//!
//! Every `/api/` request except the server API (`/api/server/`, product
//! backends with an API key) and the WebSocket upgrade (`/ws`, limited per
//! frame on the socket) takes a token from its client IP's bucket and, when
//! it carries a valid bearer token, from its user's bucket. Over either:
//! `429` with `Retry-After` and a typed `RATE_LIMITED` body, before the
//! handler runs; other users and IPs are unaffected.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::bearer;
use crate::error::AppError;
use crate::{AppState, Config};
use earshot_signaling::limit::KeyedLimit;

/// The server's keyed limiters, built once from the configuration.
pub struct Limits {
    rest_user: KeyedLimit<String>,
    rest_ip: KeyedLimit<IpAddr>,
    trust_forwarded_for: bool,
    /// Room creations per non-staff user, per minute and per hour.
    pub(super) rooms_minute: KeyedLimit<String>,
    pub(super) rooms_hour: KeyedLimit<String>,
}

impl Limits {
    pub fn new(config: &Config) -> Limits {
        Limits {
            rest_user: KeyedLimit::per_minute(config.rest_user_per_minute, config.rest_user_burst),
            rest_ip: KeyedLimit::per_minute(config.rest_ip_per_minute, config.rest_ip_burst),
            trust_forwarded_for: config.rest_trust_forwarded_for,
            rooms_minute: KeyedLimit::per_minute(config.room_create_per_minute, 0),
            rooms_hour: KeyedLimit::with_period(
                config.room_create_per_hour,
                Duration::from_secs(3600),
                0,
            ),
        }
    }

    /// The client's address: the peer, or behind a trusted proxy the last
    /// `X-Forwarded-For` entry (the one the proxy itself appended).
    fn client_ip(&self, req: &Request) -> Option<IpAddr> {
        if self.trust_forwarded_for {
            let forwarded = req
                .headers()
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|ip| ip.trim().parse::<IpAddr>().ok())
                .next_back();
            if forwarded.is_some() {
                return forwarded;
            }
        }
        req.extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
    }
}

/// The identity of a request's bearer token, verified once by [`limit`].
#[derive(Clone)]
pub struct Verified(pub earshot_signaling::Identity);

/// Whether a path counts against the REST limits.
fn limited(path: &str) -> bool {
    path.starts_with("/api/") && !path.starts_with("/api/server/")
}

fn too_many(what: &str, retry_after: Duration) -> Response {
    AppError::RateLimited {
        message: format!("too many requests {what}; slow down"),
        retry_after,
    }
    .into_response()
}

/// The middleware: refuse over-limit requests with a typed 429.
pub async fn limit(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if !limited(req.uri().path()) {
        return next.run(req).await;
    }
    let limits = &state.limits;
    if let Some(ip) = limits.client_ip(&req) {
        if let Err(wait) = limits.rest_ip.check(&ip) {
            tracing::debug!(%ip, "REST request refused: IP rate limit");
            return too_many("from this address", wait);
        }
    }
    // Only a verified token names a user: a forged one must not drain
    // someone else's bucket. Invalid tokens get their 401 from the handler.
    let identity = bearer(req.headers()).and_then(|t| state.auth.verify(t).ok());
    if let Some(identity) = identity {
        if let Err(wait) = limits.rest_user.check(&identity.user_id) {
            tracing::debug!(user = %identity.user_id, "REST request refused: user rate limit");
            return too_many("for this user", wait);
        }
        // The handler's `AuthUser` takes this instead of verifying again.
        req.extensions_mut().insert(Verified(identity));
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::limited;

    #[test]
    fn the_server_api_and_static_files_are_not_limited_here() {
        assert!(limited("/api/rooms"));
        assert!(limited("/api/uploads/x"));
        assert!(!limited("/api/server/notify/all"));
        assert!(!limited("/ws"));
        assert!(!limited("/index.html"));
    }
}
