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
    /// A server fault; the detail goes to the log, not to the client.
    #[error("internal error")]
    Internal(String),
    // --- limits: uploads ---
    /// Too many requests of one kind; retry after the given time.
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after: std::time::Duration,
    },
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
            AppError::Internal(_) => ErrorCode::Internal,
            AppError::RateLimited { .. } => ErrorCode::RateLimited,
            AppError::Busy { .. } => ErrorCode::Unavailable,
            AppError::QuotaExceeded(_) => ErrorCode::QuotaExceeded,
            AppError::InsufficientStorage(_) => ErrorCode::InsufficientStorage,
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
        let body = Json(json!({ "code": code, "message": self.message() }));
        let mut res = (status_for(code), body).into_response();
        if let AppError::RateLimited { retry_after, .. } | AppError::Busy { retry_after, .. } =
            &self
        {
            // Whole seconds, rounded up: `Retry-After: 0` would invite a storm.
            let secs = retry_after.as_millis().div_ceil(1000).max(1) as u64;
            res.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        res
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
