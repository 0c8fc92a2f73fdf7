//! Token expiry on open connections.
//!
//! A connection is only as good as the token it was opened with: when the
//! token's `exp` passes, the connection is closed with [`TOKEN_EXPIRED`],
//! unless the client sent `authenticate` again with a fresh token for the
//! same user, which moves the deadline (see `Session`). The transport that
//! knows how to verify tokens hands a [`TokenVerifier`] to the session, and
//! watches the session's deadline ([`Session::expires_at`], turned into a
//! timer with [`instant_of`]) in the loop that reads the socket: no task or
//! channel per connection.
//!
//! [`Session::expires_at`]: crate::Session::expires_at

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::config::Identity;
use crate::error::{Result, SignalError};

/// The close code of a connection whose token expired.
pub const TOKEN_EXPIRED: u16 = 4001;

/// Verifies a token presented on an open connection; the error is a
/// message safe to show the client.
pub type TokenVerifier = Arc<dyn Fn(&str) -> Result<Identity, String> + Send + Sync>;

/// The monotonic instant of a wall-clock time in Unix seconds.
pub fn instant_of(unix_secs: u64) -> Instant {
    let now_ms = crate::store::now_ms().max(0) as u64;
    let left = unix_secs.saturating_mul(1000).saturating_sub(now_ms);
    Instant::now() + Duration::from_millis(left)
}

/// `authenticate` on an open connection: a fresh token for the same user,
/// role, tenant and room grants moves the deadline. Returns the new expiry
/// (ms since the epoch). Without a verifier the transport cannot check
/// tokens, and a second `authenticate` is a plain bad request.
pub(crate) fn refresh(
    verifier: Option<&TokenVerifier>,
    identity: &mut Identity,
    token: &str,
) -> Result<Option<i64>> {
    let Some(verify) = verifier else {
        return Err(SignalError::BadRequest("already authenticated".into()));
    };
    let fresh = verify(token).map_err(SignalError::Unauthenticated)?;
    if !same_principal(&fresh, identity) {
        return Err(SignalError::Unauthenticated(
            "the new token is for another user, role, tenant or set of rooms; \
             reconnect with it instead"
                .into(),
        ));
    }
    tracing::debug!(user = %identity.user_id, "token refreshed on an open connection");
    identity.expires_at = fresh.expires_at;
    Ok(expires_ms(fresh.expires_at))
}

/// Whether a refreshed token speaks for the same principal as the
/// connection's: same user, role, tenant and room grants.
fn same_principal(fresh: &Identity, current: &Identity) -> bool {
    let sorted = |grants: &[String]| {
        let mut g = grants.to_vec();
        g.sort();
        g.dedup();
        g
    };
    fresh.user_id == current.user_id
        && fresh.role == current.role
        && fresh.tenant == current.tenant
        && sorted(&fresh.room_grants) == sorted(&current.room_grants)
}

/// A token expiry in Unix seconds as milliseconds, like `server_time`.
pub(crate) fn expires_ms(expires_at: Option<u64>) -> Option<i64> {
    expires_at.map(|s| i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX))
}
