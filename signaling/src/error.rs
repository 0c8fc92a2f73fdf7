//! Stable error codes and the crate's error type.

use serde::{Deserialize, Serialize};

/// Error codes sent to clients in `error` messages and HTTP bodies. Stable:
/// clients match on them.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    Unauthenticated,
    AccessDenied,
    NotFound,
    BadRequest,
    RateLimited,
    MessageTooLarge,
    NotJoined,
    Conflict,
    Unavailable,
    Internal,
    /// An HTTP body (an upload) over its limit.
    PayloadTooLarge,
    /// An upload whose content is not an allowed type.
    UnsupportedMediaType,
    /// An HTTP route called with a method it does not take.
    MethodNotAllowed,
    // --- limits: uploads ---
    /// An upload that would take its uploader past `upload_quota_bytes`.
    QuotaExceeded,
    /// The server's disk is below `upload_min_free_bytes`: uploads wait.
    InsufficientStorage,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::AccessDenied => "ACCESS_DENIED",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::BadRequest => "BAD_REQUEST",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::MessageTooLarge => "MESSAGE_TOO_LARGE",
            ErrorCode::NotJoined => "NOT_JOINED",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::Unavailable => "UNAVAILABLE",
            ErrorCode::Internal => "INTERNAL",
            ErrorCode::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ErrorCode::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            ErrorCode::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ErrorCode::QuotaExceeded => "QUOTA_EXCEEDED",
            ErrorCode::InsufficientStorage => "INSUFFICIENT_STORAGE",
        }
    }
}

/// Errors from the signaling layer; each maps to one [`ErrorCode`].
#[derive(Debug, thiserror::Error)]
pub enum SignalError {
    #[error("{0}")]
    BadRequest(String),
    #[error("you do not have access to this room")]
    AccessDenied,
    /// Access denied for a reason other than room access, said plainly.
    #[error("{0}")]
    Denied(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("join the room first")]
    NotJoined,
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the server is shutting down")]
    Unavailable,
    /// Over a per-user limit (call starts, ...); try again after `retry_after`.
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after: std::time::Duration,
    },
    /// The database refused a write (disk full, I/O error): nothing of the
    /// write was stored and it is safe to send again.
    #[error("the write could not be stored (storage failure); nothing was saved, try again")]
    StorageFailed,
    /// A token presented on an open connection was refused.
    #[error("{0}")]
    Unauthenticated(String),
    #[error("storage error")]
    Storage(#[from] sqlx::Error),
    #[error("storage error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl SignalError {
    pub fn code(&self) -> ErrorCode {
        match self {
            SignalError::BadRequest(_) => ErrorCode::BadRequest,
            SignalError::AccessDenied | SignalError::Denied(_) => ErrorCode::AccessDenied,
            SignalError::NotFound(_) => ErrorCode::NotFound,
            SignalError::NotJoined => ErrorCode::NotJoined,
            SignalError::TooLarge(_) => ErrorCode::MessageTooLarge,
            SignalError::Conflict(_) => ErrorCode::Conflict,
            SignalError::RateLimited { .. } => ErrorCode::RateLimited,
            SignalError::Unavailable | SignalError::StorageFailed => ErrorCode::Unavailable,
            SignalError::Unauthenticated(_) => ErrorCode::Unauthenticated,
            SignalError::Storage(_) | SignalError::Migrate(_) => ErrorCode::Internal,
        }
    }

    /// How long to wait before trying again, for rate limits.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            SignalError::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// The message safe to show a client (storage details stay in the logs).
    pub fn public_message(&self) -> String {
        match self {
            SignalError::Storage(_) | SignalError::Migrate(_) => "internal storage error".into(),
            other => other.to_string(),
        }
    }
}

pub type Result<T, E = SignalError> = std::result::Result<T, E>;
