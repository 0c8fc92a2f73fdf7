//! earshot's realtime layer: the socket protocol, rooms, sessions, presence
//! and the durable message store. Transport-agnostic: the server binary owns
//! the WebSocket and HTTP edges and feeds text frames into [`Session`]s.
//!
//! # Layout
//! - [`protocol`]: the wire types, one serde enum per direction
//!   ([`protocol::ClientMessage`], [`protocol::ServerMessage`]) and the frame parser.
//! - [`error`]: stable [`ErrorCode`]s and the crate's [`SignalError`].
//! - [`config`]: typed [`SignalingConfig`] and the caller's [`Identity`].
//! - [`conn`]: [`ConnHandle`], a connection's bounded outbound queue.
//! - [`session`]: [`Session`], one connection's request handling.
//! - [`access`]: who may read a room's history, enter a room, see presence.
//! - [`expiry`]: closing a connection when its token expires, unless refreshed.
//! - [`room`]: one task per active room, found through [`room::RoomRegistry`].
//! - [`room_events`]: the live room list: rooms added, removed, updated.
//! - [`room_key`]: room ids scoped by tenant: the key a room is stored under.
//! - [`room_list`]: a user's room list, a page at a time.
//! - [`call`]: one task per call: lifecycle, p2p relay, SFU signaling, ICE servers.
//! - [`hub`]: who is connected, and presence aggregated across devices.
//! - [`limit`]: per-key (user, IP) rate limits.
//! - [`monitor`]: monitoring subscribers (live view of ongoing calls).
//! - [`metrics`]: Prometheus metrics this layer updates.
//! - [`events`]: [`events::CallEvent`]s for webhooks, on a bounded [`events::EventSink`].
//! - [`quality`]: per-participant call quality (MOS, levels) from SFU measurements and client reports.
//! - [`typing`]: expiring typing indicators as a plain, time-driven type.
//! - [`store`]: SQLite storage and the group-commit [`store::Writer`].
//! - [`notify`]: notifications (stored, delivered live or on connect) and
//!   custom events, to a user, a room or everyone.
//! - [`assistant`]: automatic answers (FAQ matcher, optional LLM backend) and
//!   the per-room timing that decides when it speaks.

mod access;
pub mod assistant;
pub mod call;
pub mod config;
pub mod conn;
pub mod error;
pub mod events;
pub mod expiry;
pub mod hub;
pub mod limit;
pub mod metrics;
pub mod monitor;
pub mod notify;
pub mod protocol;
pub mod quality;
pub mod room;
pub mod room_events;
pub mod room_key;
pub mod room_list;
pub mod session;
pub mod store;
pub mod typing;

use std::sync::Arc;

use tokio_util::task::TaskTracker;

pub use config::{Identity, SignalingConfig};
pub use conn::ConnHandle;
pub use error::{ErrorCode, SignalError};
pub use session::Session;

/// The realtime layer's shared state: one per server.
pub struct Signaling {
    pub config: Arc<SignalingConfig>,
    pub store: store::Store,
    pub hub: Arc<hub::Hub>,
    pub rooms: room::RoomRegistry,
    pub calls: call::CallRegistry,
    /// The embedded SFU, if media is enabled.
    pub sfu: Option<earshot_sfu::Sfu>,
    /// The assistant's backends, shared by every room.
    pub assistant: Arc<assistant::Assistant>,
    pub monitors: monitor::Monitors,
    pub metrics: metrics::Metrics,
    pub events: events::EventSink,
}

/// What [`Signaling::start`] needs besides its configuration.
pub struct Parts {
    pub store: store::Store,
    /// Room tasks are spawned on it so shutdown can wait for them.
    pub tracker: TaskTracker,
    pub sfu: Option<earshot_sfu::Sfu>,
    pub metrics: metrics::Metrics,
    pub events: events::EventSink,
}

impl Signaling {
    /// Wire up the hub, the room registry and the presence task.
    pub fn start(config: SignalingConfig, parts: Parts) -> Arc<Signaling> {
        let Parts {
            store,
            tracker,
            sfu,
            metrics,
            events,
        } = parts;
        let config = Arc::new(config);
        let (hub, changes) = hub::Hub::new();
        let hub = Arc::new(hub);
        tokio::spawn(hub::run_presence(hub.clone(), store.clone(), changes));
        let assistant = Arc::new(assistant::Assistant::new(config.assistant.clone()));
        let deps = room::RoomDeps {
            config: config.clone(),
            store: store.clone(),
            hub: hub.clone(),
            assistant: assistant.clone(),
            metrics: metrics.clone(),
        };
        let rooms = room::RoomRegistry::new(deps, tracker);
        let calls = call::CallRegistry::new(config.call_start_per_minute);
        Arc::new(Signaling {
            config,
            store,
            hub,
            rooms,
            calls,
            sfu,
            assistant,
            monitors: monitor::Monitors::default(),
            metrics,
            events,
        })
    }
}
