//! Token verification (and minting in dev mode), and the `AuthUser` extractor.
//!
//! Only the configured algorithm is accepted, so `alg: none` and HS/RS
//! confusion (an RS256 public key used as an HS256 secret) are refused.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::AppError;
use crate::AppState;
use earshot_signaling::{room_key, Identity};

/// The claims earshot reads from a token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `applicant`, `professional`, `admin`, `customer`, `staff`, ...
    #[serde(default = "default_role")]
    pub role: String,
    /// The scope staff roles apply to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Rooms this token grants access to beyond membership.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rooms: Vec<String>,
    pub exp: u64,
    #[serde(default)]
    pub iat: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
}

fn default_role() -> String {
    "user".into()
}

impl Claims {
    pub fn identity(&self) -> Identity {
        Identity {
            user_id: self.sub.clone(),
            name: self.name.clone(),
            role: self.role.clone(),
            tenant: self.tenant.clone(),
            // A grant names a room of the token's own tenant.
            room_grants: self
                .rooms
                .iter()
                .map(|room| room_key::scoped(self.tenant.as_deref(), room))
                .collect(),
            expires_at: Some(self.exp),
        }
    }
}

/// Why a token was refused. The message is safe to send to the client.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("missing token")]
    Missing,
    #[error("token expired")]
    Expired,
    #[error("token not valid yet (`nbf` is in the future)")]
    NotYetValid,
    #[error("invalid token: {0}")]
    Invalid(String),
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read key file {path}: {err}")]
    Read { path: String, err: std::io::Error },
    #[error("bad key: {0}")]
    Key(#[from] jsonwebtoken::errors::Error),
}

/// Verifies tokens; in dev mode with HS256 it also mints them.
#[derive(Clone)]
pub struct Auth {
    decoding: DecodingKey,
    encoding: Option<EncodingKey>,
    validation: Validation,
    algorithm: Algorithm,
}

impl Auth {
    pub fn from_config(config: &Config) -> Result<Auth, KeyError> {
        let algorithm = match config.jwt_algorithm.as_str() {
            "RS256" => Algorithm::RS256,
            "ES256" => Algorithm::ES256,
            _ => Algorithm::HS256,
        };
        let (decoding, encoding) = match algorithm {
            Algorithm::HS256 => {
                let secret = match &config.jwt_secret {
                    Some(s) => s.clone().into_bytes(),
                    None => dev_secret(&config.data_dir)?,
                };
                (
                    DecodingKey::from_secret(&secret),
                    Some(EncodingKey::from_secret(&secret)),
                )
            }
            _ => {
                let path = config
                    .jwt_public_key_file
                    .as_deref()
                    .unwrap_or(Path::new(""));
                let pem = std::fs::read(path).map_err(|err| KeyError::Read {
                    path: path.display().to_string(),
                    err,
                })?;
                let key = if algorithm == Algorithm::RS256 {
                    DecodingKey::from_rsa_pem(&pem)?
                } else {
                    DecodingKey::from_ec_pem(&pem)?
                };
                (key, None)
            }
        };
        let mut validation = Validation::new(algorithm);
        validation.leeway = config.jwt_leeway.as_secs();
        validation.set_required_spec_claims(&["exp", "sub"]);
        // A token whose `nbf` is still ahead (beyond the leeway) is refused.
        validation.validate_nbf = true;
        if let Some(iss) = &config.jwt_issuer {
            validation.set_issuer(&[iss]);
        }
        match &config.jwt_audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        Ok(Auth {
            decoding,
            encoding: if config.dev { encoding } else { None },
            validation,
            algorithm,
        })
    }

    pub fn verify(&self, token: &str) -> Result<Identity, AuthError> {
        use jsonwebtoken::errors::ErrorKind;
        // RFC 7515 §4.1.11: a token naming extensions in `crit` must be
        // refused by a recipient that does not understand them; earshot
        // understands none.
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| AuthError::Invalid(e.to_string()))?;
        if header.crit.is_some() {
            return Err(AuthError::Invalid(
                "critical header extensions (`crit`) are not supported".into(),
            ));
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                ErrorKind::ImmatureSignature => AuthError::NotYetValid,
                ErrorKind::InvalidSignature => AuthError::Invalid("bad signature".into()),
                ErrorKind::InvalidAlgorithm => AuthError::Invalid("algorithm not accepted".into()),
                _ => AuthError::Invalid(e.to_string()),
            })?;
        check_subject(&data.claims.sub)?;
        if let Some(tenant) = &data.claims.tenant {
            if !room_key::valid_tenant(tenant) {
                return Err(AuthError::Invalid(format!(
                    "`tenant` must be 1 to 128 bytes with no `{}` or control characters",
                    room_key::SEPARATOR
                )));
            }
        }
        let mut identity = data.claims.identity();
        // Honoured, like at verification, until `exp` plus the leeway.
        identity.expires_at = Some(data.claims.exp.saturating_add(self.validation.leeway));
        Ok(identity)
    }

    /// [`Auth::verify`] for a session checking a refreshed token.
    pub fn verifier(&self) -> earshot_signaling::expiry::TokenVerifier {
        let auth = self.clone();
        std::sync::Arc::new(move |token: &str| auth.verify(token).map_err(|e| e.to_string()))
    }

    /// Mint a token (dev mode only).
    pub fn mint(&self, claims: &Claims) -> Option<String> {
        let key = self.encoding.as_ref()?;
        jsonwebtoken::encode(&Header::new(self.algorithm), claims, key).ok()
    }

    pub fn can_mint(&self) -> bool {
        self.encoding.is_some()
    }
}

/// User ids the server itself speaks as: a token may not claim them.
pub const RESERVED_SUBJECTS: [&str; 2] = ["system", "assistant"];

/// A token's `sub`: 1 to 128 bytes, no control characters, not an id the
/// server uses for its own messages.
fn check_subject(sub: &str) -> Result<(), AuthError> {
    if sub.is_empty() || sub.len() > 128 {
        return Err(AuthError::Invalid("`sub` must be 1 to 128 bytes".into()));
    }
    if sub.chars().any(char::is_control) {
        return Err(AuthError::Invalid(
            "`sub` must not contain control characters".into(),
        ));
    }
    if RESERVED_SUBJECTS
        .iter()
        .any(|r| r.eq_ignore_ascii_case(sub.trim()))
    {
        return Err(AuthError::Invalid(format!(
            "`sub` {sub:?} is reserved for the server"
        )));
    }
    Ok(())
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The dev-mode signing secret, created on first use under the data dir so
/// that `earshot token` and the running server agree.
fn dev_secret(data_dir: &Path) -> Result<Vec<u8>, KeyError> {
    let path = data_dir.join("dev-jwt-secret");
    let read_err = |err| KeyError::Read {
        path: path.display().to_string(),
        err,
    };
    if let Ok(existing) = std::fs::read(&path) {
        if existing.len() >= 32 {
            return Ok(existing);
        }
    }
    std::fs::create_dir_all(data_dir).map_err(read_err)?;
    let secret: String = rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(48)
        .map(char::from)
        .collect();
    std::fs::write(&path, &secret).map_err(read_err)?;
    Ok(secret.into_bytes())
}

/// The caller of an HTTP endpoint, from `Authorization: Bearer`.
pub struct AuthUser(pub Identity);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Verified already by the REST rate limiter: no second signature check.
        if let Some(crate::http::rate_limit::Verified(identity)) = parts.extensions.get().cloned() {
            return Ok(AuthUser(identity));
        }
        let token = bearer(&parts.headers).ok_or(AppError::Auth(AuthError::Missing))?;
        Ok(AuthUser(state.auth.verify(token)?))
    }
}

/// The bearer token of a request, if any.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Who is calling an endpoint of the server API (a product backend).
#[derive(Debug, Clone)]
pub enum ServiceCaller {
    /// One of the configured keys: `api_keys` (global, `tenant` is `None`)
    /// or `tenant_api_keys` (scoped to `tenant`).
    ApiKey { tenant: Option<String> },
    /// A token whose role is one of `api_roles`; scoped to its `tenant`
    /// claim when it has one.
    Token(Identity),
}

impl ServiceCaller {
    /// For logs and `updated_by` columns: never the key itself.
    pub fn label(&self) -> String {
        match self {
            ServiceCaller::ApiKey { tenant: None } => "api-key".into(),
            ServiceCaller::ApiKey { tenant: Some(t) } => format!("api-key:{t}"),
            ServiceCaller::Token(id) => id.user_id.clone(),
        }
    }

    /// The tenant this caller is confined to; `None`: every tenant.
    pub fn tenant(&self) -> Option<&str> {
        match self {
            ServiceCaller::ApiKey { tenant } => tenant.as_deref(),
            ServiceCaller::Token(id) => id.tenant.as_deref(),
        }
    }

    /// Whether a resource of `tenant` is within this caller's reach: global
    /// callers reach everything, scoped callers only their own tenant's.
    pub fn reaches(&self, tenant: Option<&str>) -> bool {
        match self.tenant() {
            None => true,
            Some(mine) => tenant == Some(mine),
        }
    }
}

/// The caller of an endpoint open to both product backends and users.
#[derive(Debug, Clone)]
pub enum Caller {
    Service(ServiceCaller),
    User(Identity),
}

/// Which configured key `presented` is: `None` if none; else the tenant of
/// the key (`Some(None)` for a global key). Every key is compared in full,
/// in time independent of where (and whether) it matches.
fn match_api_key(config: &Config, presented: &str) -> Option<Option<String>> {
    use subtle::{ConditionallySelectable, ConstantTimeEq};
    // 0: no match; 1: a global key; 2 + i: tenant_api_keys[i].
    let mut found = 0u64;
    for key in &config.api_keys {
        let eq = key.as_bytes().ct_eq(presented.as_bytes());
        found = u64::conditional_select(&found, &1, eq);
    }
    for (i, entry) in config.tenant_api_keys.iter().enumerate() {
        let eq = entry.key.as_bytes().ct_eq(presented.as_bytes());
        found = u64::conditional_select(&found, &(2 + i as u64), eq);
    }
    match found {
        0 => None,
        1 => Some(None),
        n => Some(Some(
            config.tenant_api_keys[(n - 2) as usize].tenant.clone(),
        )),
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let api_key = parts
            .headers
            .get("x-api-key")
            .map(|v| v.to_str().unwrap_or("").trim());
        if let Some(key) = api_key {
            return match match_api_key(&state.config, key) {
                Some(tenant) => Ok(Caller::Service(ServiceCaller::ApiKey { tenant })),
                None => Err(AppError::Auth(AuthError::Invalid("unknown API key".into()))),
            };
        }
        let token = bearer(&parts.headers).ok_or(AppError::Auth(AuthError::Missing))?;
        if let Some(tenant) = match_api_key(&state.config, token) {
            return Ok(Caller::Service(ServiceCaller::ApiKey { tenant }));
        }
        let identity = state.auth.verify(token)?;
        if state.config.api_roles.contains(&identity.role) {
            Ok(Caller::Service(ServiceCaller::Token(identity)))
        } else {
            Ok(Caller::User(identity))
        }
    }
}

impl FromRequestParts<AppState> for ServiceCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        match Caller::from_request_parts(parts, state).await? {
            Caller::Service(caller) => Ok(caller),
            Caller::User(_) => Err(AppError::Forbidden(format!(
                "the server API takes an API key or a token with role {}",
                state.config.api_roles.join(" or ")
            ))),
        }
    }
}

#[cfg(test)]
mod api_key_tests {
    use super::match_api_key;
    use crate::config::{Config, TenantApiKey};

    #[test]
    fn only_configured_keys_match_with_their_tenant() {
        let config = Config {
            api_keys: vec![
                "k1-0123456789abcdef".to_string(),
                "k2-0123456789abcdef".to_string(),
            ],
            tenant_api_keys: vec![TenantApiKey {
                key: "acme-0123456789abcdef".into(),
                tenant: "acme".into(),
            }],
            ..Config::default()
        };
        assert_eq!(match_api_key(&config, "k2-0123456789abcdef"), Some(None));
        assert_eq!(
            match_api_key(&config, "acme-0123456789abcdef"),
            Some(Some("acme".to_string()))
        );
        assert_eq!(match_api_key(&config, "k2-0123456789abcde"), None);
        assert_eq!(match_api_key(&config, ""), None);
        assert_eq!(match_api_key(&Config::default(), "anything"), None);
    }
}
