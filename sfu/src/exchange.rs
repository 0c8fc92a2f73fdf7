//! [`Exchange`]: where one participant's offer/answer exchange with the
//! server stands, the same for both engines. The server sends at most one
//! offer at a time; track changes meanwhile are offered once its answer
//! arrives; a client offer while the server's is outstanding is glare, and
//! the server keeps its own (the client rolls back).

/// One participant's exchange state.
#[derive(Debug, Default)]
pub(crate) struct Exchange {
    /// The first offer/answer exchange is done.
    negotiated: bool,
    /// We sent an offer and wait for the answer.
    offering: bool,
    /// Tracks changed since the last offer.
    dirty: bool,
}

impl Exchange {
    /// Our offer is outstanding (a client offer now is glare).
    pub fn offering(&self) -> bool {
        self.offering
    }

    /// The client's offer was answered; true for the first one.
    pub fn answered(&mut self) -> bool {
        !std::mem::replace(&mut self.negotiated, true)
    }

    pub fn negotiated(&self) -> bool {
        self.negotiated
    }

    /// The participant's tracks changed: an offer is due.
    pub fn changed(&mut self) {
        self.dirty = true;
    }

    pub fn dirty(&self) -> bool {
        self.dirty
    }

    /// Whether an offer can go now (one is due, none is outstanding, the
    /// first exchange is done); if so, it counts as sent.
    pub fn offer_now(&mut self) -> bool {
        if !self.dirty || self.offering || !self.negotiated {
            return false; // stays dirty; offered after the answer
        }
        self.offering = true;
        self.dirty = false;
        true
    }

    /// The offer [`Exchange::offer_now`] allowed could not be made: it is
    /// due again.
    pub fn offer_failed(&mut self) {
        self.offering = false;
        self.dirty = true;
    }

    /// The client's answer to our offer was taken.
    pub fn answer_arrived(&mut self) {
        self.offering = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_offer_at_a_time_and_changes_meanwhile_wait_for_the_answer() {
        let mut x = Exchange::default();
        x.changed();
        assert!(
            !x.offer_now(),
            "nothing is offered before the first exchange"
        );
        assert!(x.answered(), "the first answer");
        assert!(!x.answered(), "and only the first");
        assert!(x.offer_now());
        assert!(x.offering(), "a client offer now collides");
        x.changed();
        assert!(!x.offer_now(), "one offer at a time");
        x.answer_arrived();
        assert!(!x.offering());
        assert!(
            x.dirty() && x.offer_now(),
            "the change is offered after the answer"
        );
        x.offer_failed();
        assert!(
            !x.offering() && x.offer_now(),
            "a failed offer is due again"
        );
        x.answer_arrived();
        assert!(!x.offer_now(), "nothing left to offer");
    }
}
