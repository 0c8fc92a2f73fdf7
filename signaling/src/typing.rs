//! Typing indicators that expire on their own, as a plain type driven by
//! `Instant`s so the expiry logic is tested without sockets or sleeps.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Who is typing in one room, and until when.
#[derive(Debug)]
pub struct TypingTracker {
    timeout: Duration,
    until: HashMap<String, Instant>,
}

impl TypingTracker {
    pub fn new(timeout: Duration) -> Self {
        TypingTracker {
            timeout,
            until: HashMap::new(),
        }
    }

    /// The user started (or is still) typing. True if this is news to others.
    pub fn start(&mut self, user_id: &str, now: Instant) -> bool {
        self.until
            .insert(user_id.to_string(), now + self.timeout)
            .is_none()
    }

    /// The user stopped typing (or sent their message). True if they were typing.
    pub fn stop(&mut self, user_id: &str) -> bool {
        self.until.remove(user_id).is_some()
    }

    /// Remove and return everyone whose indicator has expired by `now`.
    pub fn expire(&mut self, now: Instant) -> Vec<String> {
        let mut gone: Vec<String> = self
            .until
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(u, _)| u.clone())
            .collect();
        gone.sort();
        for u in &gone {
            self.until.remove(u);
        }
        gone
    }

    /// When the next indicator expires, if anyone is typing.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.until.values().min().copied()
    }

    pub fn is_typing(&self, user_id: &str) -> bool {
        self.until.contains_key(user_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_refresh_and_expire() {
        let t0 = Instant::now();
        let mut t = TypingTracker::new(Duration::from_secs(5));
        assert!(t.start("a", t0));
        assert!(
            !t.start("a", t0 + Duration::from_secs(3)),
            "refresh is not news"
        );
        assert!(t.start("b", t0 + Duration::from_secs(1)));
        assert_eq!(t.next_deadline(), Some(t0 + Duration::from_secs(6)));
        assert!(t.expire(t0 + Duration::from_secs(5)).is_empty());
        assert_eq!(t.expire(t0 + Duration::from_secs(6)), vec!["b".to_string()]);
        assert!(t.is_typing("a"));
        assert_eq!(t.expire(t0 + Duration::from_secs(8)), vec!["a".to_string()]);
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn stop_clears() {
        let mut t = TypingTracker::new(Duration::from_secs(5));
        let now = Instant::now();
        t.start("a", now);
        assert!(t.stop("a"));
        assert!(!t.stop("a"));
        assert!(t.expire(now + Duration::from_secs(60)).is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn expires_under_paused_tokio_time() {
        let mut t = TypingTracker::new(Duration::from_secs(5));
        t.start("a", tokio::time::Instant::now().into_std());
        let deadline = t.next_deadline().unwrap();
        tokio::time::sleep_until(deadline.into()).await;
        assert_eq!(
            t.expire(tokio::time::Instant::now().into_std()),
            vec!["a".to_string()]
        );
    }
}
