//! When the assistant speaks in one room: a plain type driven by stored
//! messages, staff presence and `Instant`s, owned by the room's task.
//!
//! A question from a member who is not staff starts a wait of `delay`. A
//! message from staff, or staff joining the room, cancels it (and any answer
//! being prepared); so does disabling the assistant. When the wait is over
//! the room asks the backend, and posts the answer only if it is still
//! wanted ([`RoomAssistant::accept`]).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::protocol::{MessageType, MessageView};

/// A member's question waiting for an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    pub message_id: String,
    pub text: String,
    /// The message's `lang` tag, if it had one.
    pub lang: Option<String>,
}

#[derive(Debug)]
struct Waiting {
    token: u64,
    question: Question,
    due: Instant,
}

/// One room's assistant state.
#[derive(Debug)]
pub struct RoomAssistant {
    enabled: bool,
    delay: Duration,
    waiting: Option<Waiting>,
    /// Answers being prepared, by token.
    answering: HashSet<u64>,
    next_token: u64,
}

impl RoomAssistant {
    pub fn new(enabled: bool, delay: Duration) -> RoomAssistant {
        RoomAssistant {
            enabled,
            delay,
            waiting: None,
            answering: HashSet::new(),
            next_token: 0,
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
        if !enabled {
            self.cancel();
        }
    }

    fn cancel(&mut self) {
        self.waiting = None;
        self.answering.clear();
    }

    /// A message was stored in the room. `from_staff`: its sender has a
    /// staff role; `staff_present`: a staff member has joined the room.
    pub fn on_message(
        &mut self,
        m: &MessageView,
        from_staff: bool,
        staff_present: bool,
        now: Instant,
    ) {
        if m.ai || matches!(m.message_type, MessageType::System | MessageType::Call) {
            return;
        }
        if from_staff {
            // A professional answered: nothing is left for the assistant.
            self.cancel();
            return;
        }
        if !self.enabled || staff_present || m.text.trim().is_empty() {
            return;
        }
        self.next_token += 1;
        self.waiting = Some(Waiting {
            token: self.next_token,
            question: Question {
                message_id: m.id.clone(),
                text: m.text.clone(),
                lang: m.lang.clone(),
            },
            due: now + self.delay,
        });
    }

    /// Staff joined the room: the assistant stays silent while they are in it.
    pub fn on_staff_present(&mut self) {
        self.cancel();
    }

    /// When the waiting question is due.
    pub fn deadline(&self) -> Option<Instant> {
        self.waiting.as_ref().map(|w| w.due)
    }

    /// The waiting question, if its time has come; the room then asks the
    /// backend and hands the answer back with the token.
    pub fn take_due(&mut self, now: Instant) -> Option<(u64, Question)> {
        if self.waiting.as_ref().is_none_or(|w| w.due > now) {
            return None;
        }
        let w = self.waiting.take()?;
        self.answering.insert(w.token);
        Some((w.token, w.question))
    }

    /// Whether the answer for `token` may still be posted (consumes it).
    pub fn accept(&mut self, token: u64) -> bool {
        self.answering.remove(&token) && self.enabled
    }

    /// Something is pending: the room must not retire meanwhile.
    pub fn busy(&self) -> bool {
        self.waiting.is_some() || !self.answering.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::UserRef;

    fn msg(id: &str, text: &str) -> MessageView {
        MessageView {
            id: id.into(),
            room_id: "r".into(),
            seq: 1,
            sender: UserRef {
                id: "amira".into(),
                name: None,
                role: Some("applicant".into()),
            },
            client_msg_id: id.into(),
            message_type: MessageType::Text,
            text: text.into(),
            reply_to: None,
            refs: None,
            metadata: None,
            lang: None,
            created_at: 0,
            edited_at: None,
            deleted: false,
            attachments: vec![],
            ai: false,
        }
    }

    const DELAY: Duration = Duration::from_secs(30);

    #[test]
    fn a_question_is_due_after_the_delay() {
        let t0 = Instant::now();
        let mut a = RoomAssistant::new(true, DELAY);
        a.on_message(&msg("q1", "How long does it take?"), false, false, t0);
        assert_eq!(a.deadline(), Some(t0 + DELAY));
        assert!(a.take_due(t0 + DELAY - Duration::from_millis(1)).is_none());
        let (token, q) = a.take_due(t0 + DELAY).unwrap();
        assert_eq!(q.message_id, "q1");
        assert!(a.busy());
        assert!(a.accept(token));
        assert!(!a.accept(token), "an answer is posted once");
        assert!(!a.busy());
    }

    #[test]
    fn a_professional_answer_cancels_waiting_and_preparing() {
        let t0 = Instant::now();
        let mut a = RoomAssistant::new(true, DELAY);
        a.on_message(&msg("q1", "documents?"), false, false, t0);
        a.on_message(
            &msg("p1", "Send your passport"),
            true,
            false,
            t0 + Duration::from_secs(5),
        );
        assert_eq!(a.deadline(), None);
        // Answered while the backend was already working: the answer is dropped.
        a.on_message(&msg("q2", "fees?"), false, false, t0);
        let (token, _) = a.take_due(t0 + DELAY).unwrap();
        a.on_message(&msg("p2", "300 AED"), true, false, t0 + DELAY);
        assert!(!a.accept(token));
    }

    #[test]
    fn silent_when_disabled_staff_present_or_nothing_to_answer() {
        let t0 = Instant::now();
        let mut off = RoomAssistant::new(false, DELAY);
        off.on_message(&msg("q", "fees?"), false, false, t0);
        assert_eq!(off.deadline(), None);

        let mut a = RoomAssistant::new(true, DELAY);
        a.on_message(&msg("q", "fees?"), false, true, t0);
        assert_eq!(a.deadline(), None, "a professional is in the room");
        a.on_message(&msg("f", "  "), false, false, t0);
        assert_eq!(a.deadline(), None, "files only");
        let mut ai = msg("x", "I am the assistant");
        ai.ai = true;
        a.on_message(&ai, false, false, t0);
        assert_eq!(a.deadline(), None);

        a.on_message(&msg("q", "fees?"), false, false, t0);
        a.on_staff_present();
        assert_eq!(a.deadline(), None);

        a.on_message(&msg("q", "fees?"), false, false, t0);
        let (token, _) = a.take_due(t0 + DELAY).unwrap();
        a.set_enabled(false);
        assert!(!a.accept(token));
    }

    #[test]
    fn the_latest_question_waits_its_own_delay() {
        let t0 = Instant::now();
        let mut a = RoomAssistant::new(true, DELAY);
        a.on_message(&msg("q1", "one"), false, false, t0);
        a.on_message(
            &msg("q2", "two"),
            false,
            false,
            t0 + Duration::from_secs(10),
        );
        assert_eq!(a.deadline(), Some(t0 + Duration::from_secs(10) + DELAY));
        let (_, q) = a.take_due(t0 + Duration::from_secs(40)).unwrap();
        assert_eq!(q.message_id, "q2");
    }
}
