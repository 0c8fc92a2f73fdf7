//! Notification links: only absolute http(s) URLs with a plain host and
//! paths on the app's own origin are stored. Links a browser would resolve
//! off-site although they look like paths (`/\evil.example`, `//evil.example`)
//! are refused with a typed error, and nothing is stored for them.

mod common;

use common::api::API_KEY;
use common::TestServer;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn links_a_browser_would_resolve_off_site_are_refused() {
    let server = TestServer::with(|c| c.api_keys = vec![API_KEY.into()]).await;
    let path = "/api/server/notify/user/amira";
    for bad in [
        "/\\evil.example/phish",
        "//evil.example/phish",
        "/\t/evil.example",
        "\\\\evil.example",
        "https://bank.example@evil.example/",
        "https:///evil.example",
    ] {
        let (status, err) = server
            .api(Method::POST, path, Some(json!({"title": "x", "link": bad})))
            .await;
        assert_eq!(
            (status, err["code"].as_str()),
            (400, Some("BAD_REQUEST")),
            "{bad:?}: {err}"
        );
        assert!(err["message"].as_str().unwrap().contains("`link`"), "{err}");
    }
    for good in ["/applications/123?tab=docs", "https://example.org/app/123"] {
        let (status, body) = server
            .api(
                Method::POST,
                path,
                Some(json!({"title": good, "link": good})),
            )
            .await;
        assert!((200..300).contains(&status), "{good:?}: {status} {body}");
    }
    let (status, list) = server
        .get(&server.token("amira", "applicant"), "/api/notifications")
        .await;
    assert_eq!(status, 200, "{list}");
    let mut links: Vec<&str> = list["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["link"].as_str().unwrap())
        .collect();
    links.sort();
    assert_eq!(
        links,
        ["/applications/123?tab=docs", "https://example.org/app/123"]
    );
    server.stop().await;
}
