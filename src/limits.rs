//! Connection limits at the edge.
//!
//! - Open TCP connections, in total and per peer IP, counted at accept
//!   ([`Limits::accept`]). A connection that upgrades to a WebSocket keeps
//!   its [`TcpSlot`] until the socket closes.
//! - Open WebSockets, in total and per user, counted at upgrade
//!   ([`Limits::open_socket`], [`SocketSlot::claim_user`]). The WebSocket
//!   cap is `max_connections - connection_reserve`, so the last slots stay
//!   free for plain HTTP (health checks, the server API) and for sockets of
//!   `api_roles` users (admins), who may use the reserve.
//!
//! Every slot gives itself back when dropped.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::config::Config;
use crate::error::status_for;
use earshot_signaling::ErrorCode;

/// A connection or socket refused for a limit, said plainly.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum LimitError {
    #[error("the server is at its connection limit; try again later")]
    ServerFull,
    #[error("too many connections from this address (limit {0})")]
    TooManyFromIp(usize),
    #[error("too many open sockets for this user (limit {0}); close one first")]
    TooManyForUser(usize),
}

impl LimitError {
    pub fn code(&self) -> ErrorCode {
        match self {
            LimitError::ServerFull => ErrorCode::Unavailable,
            LimitError::TooManyFromIp(_) | LimitError::TooManyForUser(_) => ErrorCode::RateLimited,
        }
    }

    pub fn status(&self) -> StatusCode {
        status_for(self.code())
    }

    /// The typed body every refusal carries: `{"code", "message"}`.
    pub fn body(&self) -> serde_json::Value {
        json!({ "code": self.code(), "message": self.to_string() })
    }
}

impl IntoResponse for LimitError {
    fn into_response(self) -> Response {
        (self.status(), Json(self.body())).into_response()
    }
}

/// The counters. A std Mutex guards the two maps on purpose: each critical
/// section is one map update at accept, upgrade or close, never across an
/// `.await` and never on the per-message path.
#[derive(Debug)]
pub struct Limits {
    max_tcp: usize,
    max_per_ip: usize,
    max_sockets: usize,
    max_per_user: usize,
    tcp: AtomicUsize,
    sockets: AtomicUsize,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    per_user: Mutex<HashMap<String, usize>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned counter map is still a usable counter map.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Take one from `n`, checked against `max` (`0`: no limit).
fn take(n: &AtomicUsize, max: usize) -> bool {
    let before = n.fetch_add(1, Ordering::AcqRel);
    if max != 0 && before >= max {
        n.fetch_sub(1, Ordering::AcqRel);
        return false;
    }
    true
}

/// Count one more under `key` unless it is at `max` (`0`: no limit).
fn take_keyed<K: std::hash::Hash + Eq>(map: &Mutex<HashMap<K, usize>>, key: K, max: usize) -> bool {
    let mut map = lock(map);
    let n = map.entry(key).or_insert(0);
    if max != 0 && *n >= max {
        return false;
    }
    *n += 1;
    true
}

fn give_keyed<K: std::hash::Hash + Eq>(map: &Mutex<HashMap<K, usize>>, key: &K) {
    let mut map = lock(map);
    if let Some(n) = map.get_mut(key) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            map.remove(key);
        }
    }
}

impl Limits {
    pub fn new(config: &Config) -> Arc<Limits> {
        Arc::new(Limits {
            max_tcp: config.max_connections,
            max_per_ip: config.max_connections_per_ip,
            max_sockets: config
                .max_connections
                .saturating_sub(config.connection_reserve)
                .max(1),
            max_per_user: config.max_sockets_per_user,
            tcp: AtomicUsize::new(0),
            sockets: AtomicUsize::new(0),
            per_ip: Mutex::new(HashMap::new()),
            per_user: Mutex::new(HashMap::new()),
        })
    }

    /// Admit a new TCP connection from `ip`, or say why not.
    pub fn accept(self: &Arc<Self>, ip: IpAddr) -> Result<TcpSlot, LimitError> {
        if !take(&self.tcp, self.max_tcp) {
            return Err(LimitError::ServerFull);
        }
        if !take_keyed(&self.per_ip, ip, self.max_per_ip) {
            self.tcp.fetch_sub(1, Ordering::AcqRel);
            return Err(LimitError::TooManyFromIp(self.max_per_ip));
        }
        Ok(TcpSlot {
            limits: self.clone(),
            ip,
        })
    }

    /// Admit a new WebSocket (user not known yet). `privileged` sockets
    /// (admins) may use the reserve, up to the TCP cap.
    pub fn open_socket(self: &Arc<Self>, privileged: bool) -> Result<SocketSlot, LimitError> {
        let max = if privileged {
            self.max_tcp
        } else {
            self.max_sockets
        };
        if !take(&self.sockets, max) {
            return Err(LimitError::ServerFull);
        }
        Ok(SocketSlot {
            limits: self.clone(),
            user: None,
        })
    }

    /// Open TCP connections (WebSockets included).
    pub fn tcp_open(&self) -> usize {
        self.tcp.load(Ordering::Relaxed)
    }

    /// Open WebSockets.
    pub fn sockets_open(&self) -> usize {
        self.sockets.load(Ordering::Relaxed)
    }
}

/// One admitted TCP connection; gives its slot back when dropped.
#[derive(Debug)]
pub struct TcpSlot {
    limits: Arc<Limits>,
    ip: IpAddr,
}

impl Drop for TcpSlot {
    fn drop(&mut self) {
        self.limits.tcp.fetch_sub(1, Ordering::AcqRel);
        give_keyed(&self.limits.per_ip, &self.ip);
    }
}

/// One admitted WebSocket; gives its slots back when dropped.
#[derive(Debug)]
pub struct SocketSlot {
    limits: Arc<Limits>,
    user: Option<String>,
}

impl SocketSlot {
    /// Count this socket against `user`'s cap, or say why not.
    pub fn claim_user(&mut self, user: &str) -> Result<(), LimitError> {
        if self.user.is_some() {
            return Ok(());
        }
        let max = self.limits.max_per_user;
        if !take_keyed(&self.limits.per_user, user.to_string(), max) {
            return Err(LimitError::TooManyForUser(max));
        }
        self.user = Some(user.to_string());
        Ok(())
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        self.limits.sockets.fetch_sub(1, Ordering::AcqRel);
        if let Some(user) = &self.user {
            give_keyed(&self.limits.per_user, user);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(f: impl FnOnce(&mut Config)) -> Arc<Limits> {
        let mut c = Config::default();
        f(&mut c);
        Limits::new(&c)
    }

    #[test]
    fn tcp_slots_are_capped_in_total_and_per_ip_and_given_back() {
        let l = limits(|c| {
            c.max_connections = 3;
            c.max_connections_per_ip = 2;
            c.connection_reserve = 1;
        });
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let s1 = l.accept(a).unwrap();
        let _s2 = l.accept(a).unwrap();
        assert_eq!(l.accept(a).unwrap_err(), LimitError::TooManyFromIp(2));
        let _s3 = l.accept(b).unwrap();
        assert_eq!(l.accept(b).unwrap_err(), LimitError::ServerFull);
        drop(s1);
        assert_eq!(l.tcp_open(), 2);
        let _s4 = l.accept(a).unwrap();
    }

    #[test]
    fn sockets_are_capped_per_user_and_the_reserve_is_for_admins() {
        let l = limits(|c| {
            c.max_connections = 4;
            c.connection_reserve = 1;
            c.max_sockets_per_user = 2;
        });
        let mut s1 = l.open_socket(false).unwrap();
        let mut s2 = l.open_socket(false).unwrap();
        s1.claim_user("u").unwrap();
        s2.claim_user("u").unwrap();
        let mut s3 = l.open_socket(false).unwrap();
        assert_eq!(
            s3.claim_user("u").unwrap_err(),
            LimitError::TooManyForUser(2)
        );
        s3.claim_user("v").unwrap();
        assert_eq!(l.open_socket(false).unwrap_err(), LimitError::ServerFull);
        let _admin = l.open_socket(true).unwrap();
        drop(s1);
        let mut s4 = l.open_socket(true).unwrap();
        s4.claim_user("u").unwrap();
        drop((s2, s3, s4));
        assert_eq!(l.sockets_open(), 1);
    }
}
