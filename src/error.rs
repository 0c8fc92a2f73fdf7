//! `AppError`: every failure at the HTTP edge, as a status and a typed body
//! `{"code": "...", "message": "..."}` with the same codes as the socket.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::auth::AuthError;
use earshot_signaling::{ErrorCode, SignalError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Signal(#[from] SignalError),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMedia(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{method} is not allowed on {path}")]
    MethodNotAllowed { method: String, path: String },
    /// Over a rate limit: 429 with `Retry-After`.
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after: std::time::Duration,
    },
    /// A server fault; the detail goes to the log, not to the client.
    #[error("internal error")]
    Internal(String),
    // --- limits: uploads ---
    /// The server is busy with work of this kind; retry after the given time.
    #[error("{message}")]
    Busy {
        message: String,
        retry_after: std::time::Duration,
    },
    #[error("{0}")]
    QuotaExceeded(String),
    #[error("{0}")]
    InsufficientStorage(String),
}

impl AppError {
    fn code(&self) -> ErrorCode {
        match self {
            AppError::Auth(_) => ErrorCode::Unauthenticated,
            AppError::Signal(e) => e.code(),
            AppError::BadRequest(_) => ErrorCode::BadRequest,
            AppError::NotFound(_) => ErrorCode::NotFound,
            AppError::Forbidden(_) => ErrorCode::AccessDenied,
            AppError::PayloadTooLarge(_) => ErrorCode::PayloadTooLarge,
            AppError::UnsupportedMedia(_) => ErrorCode::UnsupportedMediaType,
            AppError::Unauthenticated(_) => ErrorCode::Unauthenticated,
            AppError::MethodNotAllowed { .. } => ErrorCode::MethodNotAllowed,
            AppError::RateLimited { .. } => ErrorCode::RateLimited,
            AppError::Internal(_) => ErrorCode::Internal,
            AppError::Busy { .. } => ErrorCode::Unavailable,
            AppError::QuotaExceeded(_) => ErrorCode::QuotaExceeded,
            AppError::InsufficientStorage(_) => ErrorCode::InsufficientStorage,
        }
    }

    fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            AppError::RateLimited { retry_after, .. } | AppError::Busy { retry_after, .. } => {
                Some(*retry_after)
            }
            AppError::Signal(e) => e.retry_after(),
            _ => None,
        }
    }

    fn message(&self) -> String {
        match self {
            AppError::Signal(e) => e.public_message(),
            AppError::Internal(_) => "internal error".into(),
            other => other.to_string(),
        }
    }
}

pub fn status_for(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorCode::AccessDenied => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::BadRequest | ErrorCode::NotJoined => StatusCode::BAD_REQUEST,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::MessageTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::QuotaExceeded => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::InsufficientStorage => StatusCode::INSUFFICIENT_STORAGE,
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let code = self.code();
        if code == ErrorCode::Internal {
            tracing::error!(error = ?self, "request failed");
        }
        if let Some(wait) = self.retry_after() {
            let ms = wait.as_millis().max(1) as u64;
            let body =
                Json(json!({ "code": code, "message": self.message(), "retry_after_ms": ms }));
            // Whole seconds, rounded up: never earlier than the bucket allows.
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return (
                status_for(code),
                [(axum::http::header::RETRY_AFTER, secs.max(1).to_string())],
                body,
            )
                .into_response();
        }
        let body = Json(json!({ "code": code, "message": self.message() }));
        (status_for(code), body).into_response()
    }
}

impl From<JsonRejection> for AppError {
    fn from(r: JsonRejection) -> Self {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return AppError::PayloadTooLarge(r.body_text());
        }
        AppError::BadRequest(r.body_text())
    }
}

impl From<QueryRejection> for AppError {
    fn from(r: QueryRejection) -> Self {
        AppError::BadRequest(r.body_text())
    }
}

impl From<PathRejection> for AppError {
    fn from(r: PathRejection) -> Self {
        AppError::BadRequest(r.body_text())
    }
}
