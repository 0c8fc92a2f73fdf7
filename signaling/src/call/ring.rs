//! Who a call rings and where each of them stands: the call's state
//! machine as a plain type, driven by the call task with times in ms and
//! tested without sockets.
//!
//! A call starts `ringing` with one [`InviteeView`] per member of the room
//! but the caller: `ringing`, or `busy` if they were in another call. A
//! callee's first device to join accepts for them (`accepted`; the call is
//! `active` from the first answer); `decline_call` declines; `ring_timeout`
//! turns whoever still rings `missed`; the end of the call turns them
//! `cancelled`. Once nobody rings and nobody answered, the call is over:
//! [`Ring::verdict`] says how.

use std::collections::BTreeMap;

use crate::error::{Result, SignalError};
use crate::protocol::{CallOutcome, CallState, InviteState, InviteeView};

/// Longest decline reason kept, in characters.
pub const MAX_REASON_CHARS: usize = 200;

#[derive(Debug, Clone)]
pub struct Ring {
    initiator: String,
    invitees: BTreeMap<String, InviteeView>,
    answered_at: Option<i64>,
}

impl Ring {
    /// A call by `initiator` ringing `invitees` (user id, already in another
    /// call) at `now` (ms).
    pub fn new(
        initiator: &str,
        invitees: impl IntoIterator<Item = (String, bool)>,
        now: i64,
    ) -> Ring {
        let invitees = invitees
            .into_iter()
            .filter(|(user, _)| user != initiator)
            .map(|(user_id, busy)| {
                let state = if busy {
                    InviteState::Busy
                } else {
                    InviteState::Ringing
                };
                let view = InviteeView {
                    user_id: user_id.clone(),
                    state,
                    reason: None,
                    at: now,
                };
                (user_id, view)
            })
            .collect();
        Ring {
            initiator: initiator.to_string(),
            invitees,
            answered_at: None,
        }
    }

    pub fn state(&self) -> CallState {
        if self.answered_at.is_some() {
            CallState::Active
        } else {
            CallState::Ringing
        }
    }

    pub fn answered_at(&self) -> Option<i64> {
        self.answered_at
    }

    pub fn invitees(&self) -> Vec<InviteeView> {
        self.invitees.values().cloned().collect()
    }

    /// Users whose devices should ring now.
    pub fn ringing(&self) -> impl Iterator<Item = &str> {
        self.invitees
            .values()
            .filter(|i| i.state == InviteState::Ringing)
            .map(|i| i.user_id.as_str())
    }

    pub fn anyone_ringing(&self) -> bool {
        self.ringing().next().is_some()
    }

    pub fn is_invited(&self, user: &str) -> bool {
        self.invitees.contains_key(user)
    }

    /// `user` joined the call. A callee accepts (whatever their state: a
    /// group call stays joinable after a decline or a miss), and the first
    /// answer makes the call active. Someone with access to the room who
    /// was not rung (staff, a member added since) joins as accepted too.
    /// Returns whether anything changed.
    pub fn joined(&mut self, user: &str, now: i64) -> bool {
        if user == self.initiator {
            return false;
        }
        let entry = self
            .invitees
            .entry(user.to_string())
            .or_insert_with(|| InviteeView {
                user_id: user.to_string(),
                state: InviteState::Ringing,
                reason: None,
                at: now,
            });
        if entry.state == InviteState::Accepted {
            return false;
        }
        entry.state = InviteState::Accepted;
        entry.reason = None;
        entry.at = now;
        self.answered_at.get_or_insert(now);
        true
    }

    /// `user` declines. Only a callee who is still being rung may.
    pub fn decline(&mut self, user: &str, reason: Option<String>, now: i64) -> Result<()> {
        if user == self.initiator {
            return Err(SignalError::Conflict(
                "you placed this call: cancel it with `cancel_call`".into(),
            ));
        }
        let Some(entry) = self.invitees.get_mut(user) else {
            return Err(SignalError::AccessDenied);
        };
        if entry.state != InviteState::Ringing {
            return Err(SignalError::Conflict(format!(
                "this call no longer rings for you (you are `{}`)",
                entry.state.as_str()
            )));
        }
        let reason = reason
            .map(|r| {
                r.chars()
                    .filter(|c| !c.is_control())
                    .take(MAX_REASON_CHARS)
                    .collect::<String>()
                    .trim()
                    .to_string()
            })
            .filter(|r| !r.is_empty());
        entry.state = InviteState::Declined;
        entry.reason = reason;
        entry.at = now;
        Ok(())
    }

    /// Whoever still rings at `now` missed the call; returns them.
    pub fn timed_out(&mut self, now: i64) -> Vec<String> {
        self.settle_ringing(InviteState::Missed, now)
    }

    /// The call ends: whoever still rings stops (`cancelled`); returns them.
    pub fn ended(&mut self, now: i64) -> Vec<String> {
        self.settle_ringing(InviteState::Cancelled, now)
    }

    fn settle_ringing(&mut self, to: InviteState, now: i64) -> Vec<String> {
        let mut out = vec![];
        for entry in self.invitees.values_mut() {
            if entry.state == InviteState::Ringing {
                entry.state = to;
                entry.at = now;
                out.push(entry.user_id.clone());
            }
        }
        out
    }

    /// Whether the call is over before anyone answered: nobody rings any
    /// more and nobody accepted. `None` while someone rings, once someone
    /// answered, or when the call rang nobody (a room of one).
    pub fn verdict(&self) -> Option<CallOutcome> {
        if self.answered_at.is_some() || self.invitees.is_empty() || self.anyone_ringing() {
            return None;
        }
        let states = || self.invitees.values().map(|i| i.state);
        Some(if states().all(|s| s == InviteState::Busy) {
            CallOutcome::Busy
        } else if states().any(|s| s == InviteState::Missed) {
            CallOutcome::Missed
        } else if states().any(|s| s == InviteState::Declined) {
            CallOutcome::Declined
        } else {
            CallOutcome::Cancelled
        })
    }

    /// How the call went, when it ends now for another reason (the caller
    /// hung up, everyone left, `end_call`).
    pub fn outcome_at_end(&self) -> CallOutcome {
        if self.answered_at.is_some() {
            CallOutcome::Completed
        } else {
            self.verdict().unwrap_or(CallOutcome::Cancelled)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_to_one() -> Ring {
        Ring::new(
            "amira",
            [("amira".into(), false), ("omar".into(), false)],
            0,
        )
    }

    fn state_of(ring: &Ring, user: &str) -> InviteState {
        ring.invitees()
            .into_iter()
            .find(|i| i.user_id == user)
            .unwrap()
            .state
    }

    #[test]
    fn the_caller_is_not_rung_and_an_answer_makes_the_call_active() {
        let mut ring = one_to_one();
        assert_eq!(ring.invitees().len(), 1);
        assert_eq!(ring.state(), CallState::Ringing);
        assert!(
            !ring.joined("amira", 5),
            "the caller joining answers nothing"
        );
        assert_eq!(ring.state(), CallState::Ringing);
        assert!(ring.joined("omar", 10));
        assert!(!ring.joined("omar", 11), "a second device changes nothing");
        assert_eq!(ring.state(), CallState::Active);
        assert_eq!(ring.answered_at(), Some(10));
        assert_eq!(state_of(&ring, "omar"), InviteState::Accepted);
        assert_eq!(ring.verdict(), None);
        assert_eq!(ring.outcome_at_end(), CallOutcome::Completed);
    }

    #[test]
    fn a_decline_ends_a_one_to_one_call_and_only_a_ringing_callee_may() {
        let mut ring = one_to_one();
        assert!(matches!(
            ring.decline("amira", None, 1),
            Err(SignalError::Conflict(_))
        ));
        assert!(matches!(
            ring.decline("eve", None, 1),
            Err(SignalError::AccessDenied)
        ));
        let long = format!("in a meeting\u{7}{}", "x".repeat(500));
        ring.decline("omar", Some(long), 2).unwrap();
        let omar = &ring.invitees()[0];
        assert_eq!(omar.state, InviteState::Declined);
        let reason = omar.reason.as_deref().unwrap();
        assert!(reason.starts_with("in a meetingx"), "control characters go");
        assert_eq!(reason.chars().count(), MAX_REASON_CHARS);
        assert!(matches!(
            ring.decline("omar", None, 3),
            Err(SignalError::Conflict(_))
        ));
        assert_eq!(ring.verdict(), Some(CallOutcome::Declined));
    }

    #[test]
    fn a_group_call_rings_on_until_everyone_answered_declined_or_timed_out() {
        let mut ring = Ring::new(
            "amira",
            [
                ("omar".into(), false),
                ("lina".into(), false),
                ("sam".into(), true),
            ],
            0,
        );
        assert_eq!(state_of(&ring, "sam"), InviteState::Busy);
        ring.decline("omar", Some("busy".into()), 1).unwrap();
        assert_eq!(ring.verdict(), None, "lina still rings");
        assert_eq!(ring.timed_out(45_000), ["lina"]);
        assert_eq!(ring.verdict(), Some(CallOutcome::Missed));
        // Declined and missed callees may still join a group call.
        assert!(ring.joined("omar", 46_000));
        assert_eq!(ring.state(), CallState::Active);
        assert_eq!(ring.verdict(), None);
    }

    #[test]
    fn everyone_busy_means_busy_and_an_end_cancels_whoever_rings() {
        let ring = Ring::new("amira", [("omar".into(), true)], 0);
        assert_eq!(ring.verdict(), Some(CallOutcome::Busy));
        let mut ring = one_to_one();
        assert_eq!(ring.ended(7), ["omar"]);
        assert_eq!(state_of(&ring, "omar"), InviteState::Cancelled);
        assert_eq!(ring.outcome_at_end(), CallOutcome::Cancelled);
        let alone = Ring::new("amira", [("amira".into(), false)], 0);
        assert_eq!(alone.verdict(), None, "a call that rang nobody waits");
    }
}
