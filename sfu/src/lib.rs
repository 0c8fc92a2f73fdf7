//! earshot's embedded selective forwarding unit (audio).
//!
//! Not built yet: voice calls (signaling relay and the webrtc-rs based
//! forwarder) are the next piece of work. This crate exists so the workspace
//! has its final shape; it exports nothing.
//!
//! # Layout
//! - `lib.rs`: this placeholder.
