//! One task owns each active room.
//!
//! A room task holds the room's subscribed connections, typing state and the
//! last broadcast sequence number. Everything that changes a room arrives on
//! its command channel ([`RoomCmd`]) through the [`RoomRegistry`]; writes go to
//! the group-commit writer and their results come back, in order, through a
//! queue of pending writes, so acks and broadcasts follow storage order.
//! Messages posted by the server API and the assistant's answers take the
//! same path ([`posts`](self)).
//!
//! # Layout
//! - `actor`: the [`Room`](self) task: loading, its loop, joins, leaves, commands.
//! - `completed`: what follows a committed (or failed) write: acks, broadcasts, receipts.
//! - `posts`: server-API messages, server entries' rewrites, the assistant.
//! - `activity`: `room_activity` for members who have not joined.
//! - `cmd`: [`RoomCmd`]; `registry`: [`RoomRegistry`], one task per active room.

mod activity;
mod actor;
mod cmd;
mod completed;
mod posts;
mod registry;

pub use actor::may_access;
pub use cmd::RoomCmd;
pub use registry::{RoomDeps, RoomRegistry};
