//! Typed configuration for the signaling layer. Filled in by the server
//! binary; this crate never reads files or the environment.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct SignalingConfig {
    /// Roles that may join any room of their tenant (scope).
    pub staff_roles: Vec<String>,
    /// Longest accepted message text, in characters.
    pub max_text_chars: usize,
    /// A typing indicator expires this long after the last `typing` start.
    pub typing_timeout: Duration,
    /// Frames queued per connection before it counts as a slow consumer.
    pub outbound_queue: usize,
    /// Sustained client frames per second per connection.
    pub rate_per_sec: u32,
    /// Burst size of the per-connection token bucket.
    pub rate_burst: u32,
    /// Largest page `get_messages` returns.
    pub max_page: u32,
    /// Most missed messages sent with `room_joined`; beyond it `has_more` is set.
    pub max_recovery: u32,
    /// Most writes committed in one transaction (group commit).
    pub group_commit_max: usize,
    /// A call nobody is in ends after this long.
    pub call_empty_timeout: Duration,
    /// Callees who have not answered by then missed the call.
    pub ring_timeout: Duration,
    /// A participant whose microphone sends no sound this long while others
    /// speak gets `no_audio_sent`.
    pub issue_no_audio_after: Duration,
    /// STUN server URLs handed to clients.
    pub stun_urls: Vec<String>,
    /// TURN server URLs handed to clients, with time-limited credentials.
    pub turn_urls: Vec<String>,
    /// Shared secret of the TURN server's REST API (coturn `static-auth-secret`).
    pub turn_secret: Option<String>,
    /// Lifetime of TURN credentials.
    pub turn_ttl: Duration,
    /// The assistant's delay and backends.
    pub assistant: crate::assistant::AssistantConfig,
    /// Roles that may watch every ongoing call's quality (`monitor_subscribe`).
    pub monitor_roles: Vec<String>,
    /// How often each call samples its participants' quality.
    pub quality_interval: Duration,
    /// Consecutive samples a new quality level needs before it is announced.
    pub quality_hysteresis: u32,
    // --- limits: rooms, calls and REST ---
    /// Calls one user may start per minute, across their devices (0: no limit).
    pub call_start_per_minute: u32,
    /// Rooms per page of the room list when the client asks for none.
    pub room_list_page: u32,
    /// Largest room-list page a client may ask for.
    pub room_list_max_page: u32,
    // --- limits: connection memory ---
    /// Bytes queued to one connection (not yet written to its socket) before
    /// it is closed as a slow consumer (1013).
    pub outbound_max_bytes: usize,
    /// Most bytes of messages in one history reply (`room_joined` recovery,
    /// `messages`); past it the reply is cut and `has_more` set.
    pub history_max_bytes: usize,
}

impl Default for SignalingConfig {
    fn default() -> Self {
        SignalingConfig {
            staff_roles: vec!["professional".into(), "admin".into(), "staff".into()],
            max_text_chars: 4000,
            typing_timeout: Duration::from_secs(5),
            outbound_queue: 512,
            rate_per_sec: 20,
            rate_burst: 40,
            max_page: 200,
            max_recovery: 500,
            group_commit_max: 1024,
            call_empty_timeout: Duration::from_secs(30),
            ring_timeout: Duration::from_secs(45),
            issue_no_audio_after: Duration::from_secs(6),
            stun_urls: vec![],
            turn_urls: vec![],
            turn_secret: None,
            turn_ttl: Duration::from_secs(3600),
            assistant: crate::assistant::AssistantConfig::default(),
            monitor_roles: vec!["admin".into()],
            quality_interval: Duration::from_secs(2),
            quality_hysteresis: 2,
            // --- limits: rooms, calls and REST ---
            call_start_per_minute: 10,
            room_list_page: 50,
            room_list_max_page: 200,
            // --- limits: connection memory ---
            outbound_max_bytes: 1024 * 1024,
            history_max_bytes: 256 * 1024,
        }
    }
}

/// Who is on the other end of a connection or HTTP request, from their token.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub user_id: String,
    pub name: Option<String>,
    pub role: String,
    /// The scope a staff role applies to; `None` means every room.
    pub tenant: Option<String>,
    /// Rooms the token explicitly grants, beyond membership.
    pub room_grants: Vec<String>,
    /// When the token stops being honoured (Unix seconds: its `exp` plus the
    /// clock leeway): an open connection is closed then unless it presented
    /// a fresh token. `None`: never.
    pub expires_at: Option<u64>,
}

impl Identity {
    /// The key of the room this identity calls `id` (see [`crate::room_key`]).
    pub fn room_key(&self, id: &str) -> String {
        crate::room_key::scoped(self.tenant.as_deref(), id)
    }

    pub fn is_staff(&self, config: &SignalingConfig) -> bool {
        config.staff_roles.iter().any(|r| r == &self.role)
    }

    pub fn is_monitor(&self, config: &SignalingConfig) -> bool {
        config.monitor_roles.iter().any(|r| r == &self.role)
    }

    pub fn user_ref(&self) -> crate::protocol::UserRef {
        crate::protocol::UserRef {
            id: self.user_id.clone(),
            name: self.name.clone(),
            role: Some(self.role.clone()),
        }
    }
}
