//! A user's own notifications over REST: list, mark read, mark all read;
//! and the check every notification `link` passes before it is stored.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApiPath, ApiQuery};
use crate::auth::AuthUser;
use crate::error::AppError;
use crate::AppState;
use earshot_signaling::protocol::NotificationView;

#[derive(Deserialize, IntoParams)]
pub struct ListParams {
    /// Only those not read yet.
    #[serde(default)]
    unread: Option<bool>,
    /// 1-200, default 50.
    #[serde(default)]
    limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct NotificationsResponse {
    /// Newest first.
    #[schema(value_type = Vec<Object>)]
    pub notifications: Vec<NotificationView>,
}

#[utoipa::path(get, path = "/api/notifications", tag = "notifications", params(ListParams),
    responses((status = 200, body = NotificationsResponse), (status = 401)), security(("bearer" = [])))]
/// `GET /api/notifications?unread=true&limit=50`: the caller's notifications.
pub async fn list(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Json<NotificationsResponse>, AppError> {
    let limit = p.limit.unwrap_or(50).clamp(1, 200);
    let notifications = state
        .signaling
        .store
        .notifications(&me.user_id, p.unread.unwrap_or(false), limit)
        .await?;
    Ok(Json(NotificationsResponse { notifications }))
}

#[derive(Serialize, ToSchema)]
pub struct NotificationResponse {
    #[schema(value_type = Object)]
    pub notification: NotificationView,
}

#[utoipa::path(post, path = "/api/notifications/{id}/read", tag = "notifications",
    params(("id" = String, Path)),
    responses((status = 200, body = NotificationResponse), (status = 404, description = "unknown, or someone else's")),
    security(("bearer" = [])))]
/// Mark one notification read (the first time counts).
pub async fn read(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<NotificationResponse>, AppError> {
    let notification = state
        .signaling
        .store
        .mark_notification_read(&me.user_id, &id)
        .await?
        .ok_or(AppError::NotFound("notification"))?;
    if let Some(read_at) = notification.read_at {
        // The user's other devices update their badges.
        state.signaling.notifications_read(
            &me.user_id,
            vec![notification.id.clone()],
            false,
            read_at,
        );
    }
    Ok(Json(NotificationResponse { notification }))
}

#[derive(Serialize, ToSchema)]
pub struct ReadAllResponse {
    /// How many were unread.
    pub updated: u64,
}

#[utoipa::path(post, path = "/api/notifications/read-all", tag = "notifications",
    responses((status = 200, body = ReadAllResponse)), security(("bearer" = [])))]
/// Mark every notification of the caller read.
pub async fn read_all(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
) -> Result<Json<ReadAllResponse>, AppError> {
    let (updated, read_at) = state
        .signaling
        .store
        .mark_all_notifications_read(&me.user_id)
        .await?;
    if updated > 0 {
        state
            .signaling
            .notifications_read(&me.user_id, Vec::new(), true, read_at);
    }
    Ok(Json(ReadAllResponse { updated }))
}

/// Longest accepted notification link, in bytes.
pub const MAX_LINK: usize = 2048;

/// Whether a notification `link` is safe to render as an `href`: an
/// absolute `http(s)://` URL with a host (and no user info, which only
/// serves to disguise the host), or a path on the app's own origin.
///
/// Browsers read `\` as `/` in web URLs and drop tabs and newlines, so
/// `/\evil.example` or `/<TAB>/evil.example` would leave the origin like
/// `//evil.example` does: a path must start with exactly one `/` and hold
/// no backslash or control character.
pub fn is_safe_link(link: &str) -> bool {
    if link.is_empty() || link.len() > MAX_LINK {
        return false;
    }
    if link.chars().any(|c| c.is_control() || c == '\\') {
        return false;
    }
    if let Some(rest) = link
        .strip_prefix("https://")
        .or_else(|| link.strip_prefix("http://"))
    {
        // The host as written, not one the parser digs out of `https:///host`.
        if rest.starts_with('/') {
            return false;
        }
        return url::Url::parse(link).is_ok_and(|u| {
            matches!(u.scheme(), "https" | "http")
                && u.host_str().is_some_and(|h| !h.is_empty())
                && u.username().is_empty()
                && u.password().is_none()
        });
    }
    link.starts_with('/') && !link.starts_with("//")
}

#[cfg(test)]
mod link_tests {
    use super::is_safe_link;
    use proptest::prelude::*;

    const ORIGIN: &str = "https://app.example/inbox/";

    #[test]
    fn known_links() {
        for ok in [
            "/",
            "/applications/123",
            "/a/b?c=d#e",
            "/%5Cnot-a-backslash",
            "https://example.org/app/123",
            "http://localhost:8080/x",
        ] {
            assert!(is_safe_link(ok), "{ok:?}");
        }
        for bad in [
            "/\\evil.example/phish",
            "\\\\evil.example",
            "//evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "https://good.example@evil.example/",
            "https:///evil.example",
            "https:\\\\evil.example",
            "javascript:alert(1)",
            "data:text/html,x",
            "evil.example",
            " /x",
            "",
        ] {
            assert!(!is_safe_link(bad), "{bad:?}");
        }
        assert!(!is_safe_link(&format!("/{}", "a".repeat(2048))));
    }

    fn link() -> impl Strategy<Value = String> {
        let start = prop::sample::select(vec![
            "/", "//", "/\\", "\\", "/.", "/..", "/%2F", "/%5C", "https://", "http:", "https:/", "",
        ]);
        (start, "[a-z./\\\\:@%?#\t\n \u{0}\u{7f}\u{85}]{0,16}")
            .prop_map(|(start, rest)| format!("{start}{rest}"))
    }

    proptest! {
        /// Every accepted path resolves, the way a browser resolves an
        /// `href` (WHATWG URL parsing), to the page's own origin.
        #[test]
        fn an_accepted_path_never_leaves_the_origin(link in link()) {
            prop_assume!(!link.starts_with("http"));
            if is_safe_link(&link) {
                let base = url::Url::parse(ORIGIN).unwrap();
                let resolved = base.join(&link).unwrap();
                prop_assert_eq!(resolved.origin(), base.origin(), "{:?} -> {}", link, resolved);
            }
        }

        /// Every accepted absolute link names its host plainly.
        #[test]
        fn an_accepted_absolute_link_has_a_plain_host(link in link()) {
            prop_assume!(link.starts_with("http"));
            if is_safe_link(&link) {
                let u = url::Url::parse(&link).unwrap();
                prop_assert!(u.host_str().is_some() && u.username().is_empty());
                prop_assert!(!link.contains('\\'));
            }
        }

        #[test]
        fn a_backslash_or_control_character_is_always_refused(
            link in link(),
            bad in prop::sample::select(vec!['\\', '\t', '\n', '\r', '\u{0}']),
            at in any::<prop::sample::Index>(),
        ) {
            let mut link = link;
            let i = at.index(link.len() + 1);
            let i = (0..=i).rev().find(|i| link.is_char_boundary(*i)).unwrap_or(0);
            link.insert(i, bad);
            prop_assert!(!is_safe_link(&link));
        }
    }
}
