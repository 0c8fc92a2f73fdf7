//! The server's one typed configuration: defaults, then a TOML file, then
//! `EARSHOT_*` environment variables, then command-line flags; checked once
//! at startup.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use earshot_signaling::SignalingConfig;

/// Everything the server can be told. Field names are the TOML keys; the
/// environment variable is `EARSHOT_` + the name in capitals.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Where the SQLite database and other data live.
    pub data_dir: PathBuf,
    /// Development mode: mints tokens (`POST /api/dev/token`, the demo's
    /// login) and generates a signing secret under `data_dir` if none is set.
    pub dev: bool,
    /// Static files served at `/` (the demo app).
    pub web_dir: PathBuf,

    /// HS256 shared secret.
    pub jwt_secret: Option<String>,
    /// PEM public key for RS256 / ES256 tokens.
    pub jwt_public_key_file: Option<PathBuf>,
    /// `HS256`, `RS256` or `ES256`.
    pub jwt_algorithm: String,
    /// Required `iss` claim, if set.
    pub jwt_issuer: Option<String>,
    /// Required `aud` claim, if set.
    pub jwt_audience: Option<String>,
    /// Time allowed for the first `authenticate` message.
    #[serde(with = "humantime_serde")]
    pub auth_timeout: Duration,
    /// Roles that may join any room of their tenant.
    pub staff_roles: Vec<String>,

    /// Largest WebSocket message accepted, in bytes (bigger: close 1009).
    pub max_frame_bytes: usize,
    /// Longest chat message text, in characters.
    pub max_text_chars: usize,
    /// Sustained client frames per second per connection.
    pub rate_per_sec: u32,
    /// Burst of the per-connection token bucket.
    pub rate_burst: u32,
    /// Frames queued per connection before it is dropped as a slow consumer.
    pub outbound_queue: usize,
    /// How often the server sends WebSocket pings.
    #[serde(with = "humantime_serde")]
    pub ping_interval: Duration,
    /// A connection silent for this long is dropped.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// Typing indicators expire after this long without a refresh.
    #[serde(with = "humantime_serde")]
    pub typing_timeout: Duration,
    /// How long shutdown waits for connections to close.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// Log as JSON lines instead of text.
    pub log_json: bool,
    /// Runtime worker threads (default: one per core).
    pub worker_threads: Option<usize>,

    /// Run the embedded SFU (server-mode calls).
    pub media: bool,
    /// How the SFU moves media: `direct` (its own ICE-lite/DTLS/SRTP
    /// transport, the default) or `peer_connection` (a webrtc-rs peer
    /// connection per participant).
    pub media_engine: earshot_sfu::Engine,
    /// The SFU's single UDP socket (all peers share it).
    pub media_bind: SocketAddr,
    /// Instead: a UDP port of its own for every participant, from this
    /// inclusive range (`[first, last]`), on each candidate IP.
    pub media_port_range: Option<[u16; 2]>,
    /// Only these IPs become host ICE candidates (empty: every interface).
    pub media_candidate_ips: Vec<std::net::IpAddr>,
    /// Offer loopback candidates (local testing).
    pub media_include_loopback: bool,
    /// Public IPs to advertise for a 1:1 NAT.
    pub media_public_ips: Vec<String>,
    /// Receive/send buffer of the SFU's UDP socket in bytes (0: system default).
    pub media_socket_buffer: usize,
    /// Silence after which a participant's media counts as disconnected...
    #[serde(with = "humantime_serde")]
    pub media_disconnected_timeout: Duration,
    /// ...and as failed: the participant is removed from the call.
    #[serde(with = "humantime_serde")]
    pub media_failed_timeout: Duration,
    /// A call nobody is in ends after this long.
    #[serde(with = "humantime_serde")]
    pub call_empty_timeout: Duration,
    /// Callees who have not answered by then missed the call.
    #[serde(with = "humantime_serde")]
    pub ring_timeout: Duration,
    /// A call participant whose microphone sends no sound this long while
    /// others speak gets the `no_audio_sent` issue.
    #[serde(with = "humantime_serde")]
    pub issue_no_audio_after: Duration,
    /// STUN URLs handed to clients.
    pub stun_urls: Vec<String>,
    /// TURN URLs handed to clients (with `turn_secret`).
    pub turn_urls: Vec<String>,
    /// coturn `static-auth-secret` for time-limited TURN credentials.
    pub turn_secret: Option<String>,
    #[serde(with = "humantime_serde")]
    pub turn_ttl: Duration,

    /// Keys a product backend presents to the server API
    /// (`Authorization: Bearer <key>` or `X-Api-Key`).
    pub api_keys: Vec<String>,
    /// Token roles that may use the server API instead of a key.
    pub api_roles: Vec<String>,
    /// Largest upload, in bytes.
    pub upload_max_bytes: u64,
    /// MIME types (sniffed from the content) that may be uploaded.
    pub upload_mime_types: Vec<String>,
    /// How long a question waits for a professional before the assistant answers.
    #[serde(with = "humantime_serde")]
    pub assistant_delay: Duration,
    /// The assistant's FAQ (JSON).
    pub assistant_faq_file: Option<PathBuf>,
    /// OpenAI-compatible chat-completions URL; unset: FAQ only.
    pub assistant_llm_url: Option<String>,
    pub assistant_llm_model: String,
    pub assistant_llm_key: Option<String>,
    /// Time allowed for the LLM; past it the FAQ answers.
    #[serde(with = "humantime_serde")]
    pub assistant_llm_timeout: Duration,
    // Call-quality monitoring
    /// Roles that may watch every ongoing call (socket `monitor_subscribe`,
    /// `GET /api/monitor/calls`).
    pub monitor_roles: Vec<String>,
    /// How often each call samples its participants' quality.
    #[serde(with = "humantime_serde")]
    pub quality_interval: Duration,
    /// Consecutive samples a new quality level needs before it is announced.
    pub quality_hysteresis: u32,
    /// Bearer token `GET /metrics` requires; unset: the endpoint is open.
    pub metrics_token: Option<String>,

    // Webhooks
    /// URLs that receive call events (POST, JSON, HMAC-signed).
    pub webhook_urls: Vec<String>,
    /// HMAC-SHA256 key for the `X-Earshot-Signature` header.
    pub webhook_secret: Option<String>,
    /// Delivery attempts per event and URL (the first one included).
    pub webhook_max_attempts: u32,
    /// Wait before the first retry; doubles with each further attempt.
    #[serde(with = "humantime_serde")]
    pub webhook_retry_base: Duration,
    /// Time limit of one delivery attempt.
    #[serde(with = "humantime_serde")]
    pub webhook_timeout: Duration,

    // --- limits: uploads ---
    /// Thumbnails decoded at once (each on a blocking thread).
    pub thumbnail_workers: usize,
    /// How long an upload waits for a free thumbnail worker before it is
    /// refused with 503 `UNAVAILABLE` and `Retry-After`.
    #[serde(with = "humantime_serde")]
    pub thumbnail_queue_wait: Duration,
    /// Most memory one image may decode to (width × height × bytes per
    /// pixel, read from its header before decoding); larger images are
    /// stored without a thumbnail.
    pub thumbnail_max_decode_bytes: u64,
    /// Bytes of uploads one user may keep stored (0: no quota).
    pub upload_quota_bytes: u64,
    /// Uploads one user may start per minute (0: no limit).
    pub upload_rate_per_minute: u32,
    /// Uploads never attached to a message are deleted after this long.
    #[serde(with = "humantime_serde")]
    pub upload_orphan_grace: Duration,
    /// Uploads are refused (507) while the data disk has less free space
    /// than this, so messages can still be written.
    pub upload_min_free_bytes: u64,

    // --- limits: assistant ---
    /// LLM requests per tenant per minute; past it the FAQ answers.
    pub assistant_llm_per_minute: u32,
    // --- limits: rooms, calls and REST ---
    /// Who may create rooms and add members: `staff`, `with_staff` or `open`
    /// (see [`RoomCreation`]).
    pub room_creation: RoomCreation,
    /// Rooms a non-staff user may create per minute (0: no limit).
    pub room_create_per_minute: u32,
    /// Rooms a non-staff user may create per hour (0: no limit).
    pub room_create_per_hour: u32,
    /// Most rooms a non-staff user may have created in total (0: no limit).
    pub room_max_created_per_user: u32,
    /// Calls one user may start per minute, across their devices (0: no limit).
    pub call_start_per_minute: u32,
    /// Rooms per page of `GET /api/rooms` and `list_rooms` when none is asked for.
    pub room_list_page: u32,
    /// Largest page of the room list a client may ask for.
    pub room_list_max_page: u32,
    /// REST requests per minute per authenticated user (0: no limit).
    pub rest_user_per_minute: u32,
    /// Burst of the per-user REST bucket.
    pub rest_user_burst: u32,
    /// REST requests per minute per client IP (0: no limit).
    pub rest_ip_per_minute: u32,
    /// Burst of the per-IP REST bucket.
    pub rest_ip_burst: u32,
    /// Take the client IP from the last `X-Forwarded-For` entry (only behind
    /// a reverse proxy that sets it).
    pub rest_trust_forwarded_for: bool,

    // --- tenant isolation ---
    /// Server-API keys scoped to one tenant (`[[tenant_api_keys]]` with
    /// `key` and `tenant`): they reach only that tenant's rooms and users.
    /// Keys in `api_keys` stay global.
    pub tenant_api_keys: Vec<TenantApiKey>,

    // --- limits: connections and memory ---
    /// Bytes queued to one WebSocket and not yet written before it is closed
    /// as a slow consumer (1013).
    pub outbound_max_bytes: usize,
    /// Most bytes of messages in one history reply (`room_joined`,
    /// `messages`); past it the reply is cut and `has_more` set.
    pub history_max_bytes: usize,
    /// Open TCP connections (HTTP and WebSocket) the server accepts; past it
    /// new connections get a 503 and are closed.
    pub max_connections: usize,
    /// Open TCP connections from one IP address (0: no limit). Behind a
    /// reverse proxy every client has the proxy's address: raise or disable.
    pub max_connections_per_ip: usize,
    /// Open WebSockets of one user (all devices); past it: 429.
    pub max_sockets_per_user: usize,
    /// Connections kept for plain HTTP (health checks, the server API) and
    /// for sockets of `api_roles` users: WebSocket upgrades are refused (503)
    /// once `max_connections - connection_reserve` sockets are open.
    pub connection_reserve: usize,
    /// Time a client has to send a complete HTTP request head, also the
    /// longest an idle keep-alive connection is kept.
    #[serde(with = "humantime_serde")]
    pub header_timeout: Duration,

    // --- limits: tokens ---
    /// Clock skew tolerated on `exp` and `nbf`: a token is honoured (and an
    /// open socket kept) until `exp` plus this.
    #[serde(with = "humantime_serde")]
    pub jwt_leeway: Duration,
}

/// Who may create rooms and add members to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomCreation {
    /// Only staff roles create rooms and add members.
    Staff,
    /// Staff as with `staff`; anyone else may create rooms too, but every
    /// other member they name must be known as staff of their own tenant.
    #[default]
    WithStaff,
    /// Anyone names anyone (trusted deployments only).
    Open,
}

/// A server-API key that acts for one tenant only.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TenantApiKey {
    /// At least 16 bytes, like the keys of `api_keys`.
    pub key: String,
    /// The tenant (as tokens carry it in `tenant`) the key acts for.
    pub tenant: String,
}

/// Uploads allowed by default: images, PDF and common audio (voice notes).
pub const DEFAULT_UPLOAD_TYPES: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "application/pdf",
    "audio/ogg",
    "audio/opus",
    "video/webm",
    "audio/m4a",
    "video/mp4",
    "audio/mpeg",
    "audio/aac",
    "audio/x-wav",
];

impl Default for Config {
    fn default() -> Self {
        let signaling = SignalingConfig::default();
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            dev: false,
            web_dir: PathBuf::from("web"),
            jwt_secret: None,
            jwt_public_key_file: None,
            jwt_algorithm: "HS256".into(),
            jwt_issuer: None,
            jwt_audience: None,
            auth_timeout: Duration::from_secs(5),
            staff_roles: signaling.staff_roles,
            max_frame_bytes: 64 * 1024,
            max_text_chars: signaling.max_text_chars,
            rate_per_sec: signaling.rate_per_sec,
            rate_burst: signaling.rate_burst,
            outbound_queue: signaling.outbound_queue,
            ping_interval: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(60),
            typing_timeout: signaling.typing_timeout,
            shutdown_grace: Duration::from_secs(10),
            log_json: false,
            worker_threads: None,
            media: true,
            media_engine: earshot_sfu::Engine::default(),
            media_bind: SocketAddr::from(([0, 0, 0, 0], 40000)),
            media_port_range: None,
            media_candidate_ips: vec![],
            media_include_loopback: false,
            media_public_ips: vec![],
            media_socket_buffer: earshot_sfu::SfuConfig::default().socket_buffer,
            media_disconnected_timeout: earshot_sfu::SfuConfig::default().ice_disconnected_timeout,
            media_failed_timeout: earshot_sfu::SfuConfig::default().ice_failed_timeout,
            call_empty_timeout: signaling.call_empty_timeout,
            ring_timeout: signaling.ring_timeout,
            issue_no_audio_after: signaling.issue_no_audio_after,
            stun_urls: vec![],
            turn_urls: vec![],
            turn_secret: None,
            turn_ttl: signaling.turn_ttl,
            api_keys: vec![],
            api_roles: vec!["admin".into(), "service".into()],
            upload_max_bytes: 10 * 1024 * 1024,
            upload_mime_types: DEFAULT_UPLOAD_TYPES.iter().map(|s| s.to_string()).collect(),
            assistant_delay: signaling.assistant.delay,
            assistant_faq_file: Some(PathBuf::from("assistant/faq.json")),
            assistant_llm_url: None,
            assistant_llm_model: "gpt-4o-mini".into(),
            assistant_llm_key: None,
            assistant_llm_timeout: Duration::from_secs(10),
            monitor_roles: signaling.monitor_roles,
            quality_interval: signaling.quality_interval,
            quality_hysteresis: signaling.quality_hysteresis,
            metrics_token: None,
            webhook_urls: vec![],
            webhook_secret: None,
            webhook_max_attempts: 6,
            webhook_retry_base: Duration::from_secs(1),
            webhook_timeout: Duration::from_secs(10),
            // --- limits: uploads ---
            thumbnail_workers: 2,
            thumbnail_queue_wait: Duration::from_secs(2),
            thumbnail_max_decode_bytes: 96 * 1024 * 1024,
            upload_quota_bytes: 1024 * 1024 * 1024,
            upload_rate_per_minute: 30,
            upload_orphan_grace: Duration::from_secs(24 * 3600),
            upload_min_free_bytes: 1024 * 1024 * 1024,
            // --- limits: assistant ---
            assistant_llm_per_minute: signaling.assistant.llm_per_minute,
            // --- limits: rooms, calls and REST ---
            room_creation: RoomCreation::default(),
            room_create_per_minute: 10,
            room_create_per_hour: 60,
            room_max_created_per_user: 200,
            call_start_per_minute: signaling.call_start_per_minute,
            room_list_page: signaling.room_list_page,
            room_list_max_page: signaling.room_list_max_page,
            rest_user_per_minute: 1200,
            rest_user_burst: 300,
            rest_ip_per_minute: 2400,
            rest_ip_burst: 600,
            rest_trust_forwarded_for: false,
            // --- tenant isolation ---
            tenant_api_keys: vec![],
            // --- limits: connections and memory ---
            outbound_max_bytes: signaling.outbound_max_bytes,
            history_max_bytes: signaling.history_max_bytes,
            max_connections: 10_000,
            max_connections_per_ip: 256,
            max_sockets_per_user: 16,
            connection_reserve: 100,
            header_timeout: Duration::from_secs(10),
            // --- limits: tokens ---
            jwt_leeway: Duration::from_secs(30),
        }
    }
}

/// A configuration that cannot be used, said plainly.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Defaults, then `file` (if given, or `earshot.toml` if present), then
    /// `EARSHOT_*` variables, then `overrides` (command-line flags).
    pub fn load(file: Option<&Path>, overrides: impl Serialize) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                if !path.exists() {
                    return Err(ConfigError::Invalid(format!(
                        "config file {} not found",
                        path.display()
                    )));
                }
                figment = figment.merge(Toml::file(path));
            }
            None => figment = figment.merge(Toml::file("earshot.toml")),
        }
        // An `EARSHOT_*` variable that names no setting is left out (and
        // named in a warning at start, see `unknown_env_vars`): the
        // environment is shared with other programs. A file's unknown key
        // is still an error: the file is earshot's own.
        let names = Config::setting_names();
        let config: Config = figment
            .merge(
                Env::prefixed("EARSHOT_")
                    .filter(move |key| names.contains(&key.as_str().to_lowercase())),
            )
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(Box::new)?;
        config.validate()?;
        Ok(config)
    }

    /// Every setting's name (`listen`, `data_dir`, ...).
    pub fn setting_names() -> std::collections::HashSet<String> {
        serde_json::to_value(Config::default())
            .ok()
            .and_then(|v| v.as_object().map(|o| o.keys().cloned().collect()))
            .unwrap_or_default()
    }

    /// `EARSHOT_*` variables in this process's environment that name no
    /// setting (ignored; `main` warns about each).
    pub fn unknown_env_vars() -> Vec<String> {
        let names = Config::setting_names();
        let mut out: Vec<String> = std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .filter(|k| {
                k.strip_prefix("EARSHOT_")
                    .is_some_and(|name| !names.contains(&name.to_lowercase()))
            })
            .collect();
        out.sort();
        out
    }

    /// The part of the configuration the SFU crate takes.
    pub fn sfu(&self) -> earshot_sfu::SfuConfig {
        earshot_sfu::SfuConfig {
            engine: self.media_engine,
            bind: self.media_bind,
            port_range: self.media_port_range.map(|[a, b]| (a, b)),
            candidate_ips: self.media_candidate_ips.clone(),
            include_loopback: self.media_include_loopback,
            public_ips: self.media_public_ips.clone(),
            socket_buffer: self.media_socket_buffer,
            ice_disconnected_timeout: self.media_disconnected_timeout,
            ice_failed_timeout: self.media_failed_timeout,
        }
    }

    /// The part of the configuration the signaling crate takes.
    pub fn signaling(&self) -> SignalingConfig {
        SignalingConfig {
            staff_roles: self.staff_roles.clone(),
            max_text_chars: self.max_text_chars,
            typing_timeout: self.typing_timeout,
            outbound_queue: self.outbound_queue,
            rate_per_sec: self.rate_per_sec,
            rate_burst: self.rate_burst,
            call_empty_timeout: self.call_empty_timeout,
            ring_timeout: self.ring_timeout,
            issue_no_audio_after: self.issue_no_audio_after,
            stun_urls: self.stun_urls.clone(),
            turn_urls: self.turn_urls.clone(),
            turn_secret: self.turn_secret.clone(),
            turn_ttl: self.turn_ttl,
            monitor_roles: self.monitor_roles.clone(),
            quality_interval: self.quality_interval,
            quality_hysteresis: self.quality_hysteresis.max(1),
            // --- limits: rooms, calls and REST ---
            call_start_per_minute: self.call_start_per_minute,
            room_list_page: self.room_list_page,
            room_list_max_page: self.room_list_max_page,
            outbound_max_bytes: self.outbound_max_bytes,
            history_max_bytes: self.history_max_bytes,
            ..SignalingConfig::default()
        }
    }

    /// The assistant's settings, with the FAQ file read and checked. A
    /// missing FAQ file leaves the built-in backend without entries.
    pub fn assistant(&self) -> Result<earshot_signaling::assistant::AssistantConfig, ConfigError> {
        use earshot_signaling::assistant::{AssistantConfig, Faq, LlmConfig};
        let faq = match &self.assistant_faq_file {
            Some(path) => match std::fs::read_to_string(path) {
                Ok(text) => Faq::from_json(&text).map_err(|e| {
                    ConfigError::Invalid(format!("assistant_faq_file {}: {e}", path.display()))
                })?,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                    tracing::warn!(path = %path.display(), "assistant FAQ file not found; the FAQ backend has no entries");
                    Faq::default()
                }
                Err(err) => {
                    return Err(ConfigError::Invalid(format!(
                        "assistant_faq_file {}: {err}",
                        path.display()
                    )))
                }
            },
            None => Faq::default(),
        };
        Ok(AssistantConfig {
            delay: self.assistant_delay,
            faq,
            llm: self.assistant_llm_url.as_ref().map(|url| LlmConfig {
                url: url.clone(),
                model: self.assistant_llm_model.clone(),
                api_key: self.assistant_llm_key.clone(),
                timeout: self.assistant_llm_timeout,
            }),
            llm_per_minute: self.assistant_llm_per_minute,
        })
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("earshot.db")
    }
}

mod validate;

#[cfg(test)]
// figment's Jail closures return its (large) error type by value; fine in tests.
#[allow(clippy::result_large_err)]
mod tests;
