//! Finding people (`GET /api/users`): staff find the users of their own
//! tenant by name or id, applicants find their tenant's staff, nobody finds
//! anyone of another tenant, and bad queries get typed errors.

mod common;

use common::tenancy::of;
use common::TestServer;
use earshot::auth::Claims;
use serde_json::Value;

/// Connect once (the server learns a user's name, role and tenant then).
async fn known(server: &TestServer, tenant: Option<&str>, user: &str, name: &str, role: &str) {
    let claims = Claims {
        name: Some(name.into()),
        tenant: tenant.map(str::to_string),
        ..common::claims(user, role)
    };
    let c = server.client_with(claims).await;
    drop(c);
}

fn ids(body: &Value) -> Vec<&str> {
    body["users"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn staff_find_their_tenants_people_and_applicants_find_staff() {
    let server = TestServer::start().await;
    known(&server, Some("acme"), "omar", "Omar Said", "professional").await;
    known(
        &server,
        Some("acme"),
        "olga",
        "Olga Petrova",
        "professional",
    )
    .await;
    known(&server, Some("acme"), "amira", "Amira Haddad", "applicant").await;
    known(&server, Some("acme"), "sam", "Samir 100%_off", "applicant").await;
    known(
        &server,
        Some("globex"),
        "oscar",
        "Oscar Globex",
        "professional",
    )
    .await;
    known(&server, Some("globex"), "gus", "Gus Globex", "applicant").await;
    known(&server, None, "root", "Root", "admin").await;

    let omar = server.token_with(of("acme", "omar", "professional"));
    let (status, body) = server.get(&omar, "/api/users").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        ids(&body),
        ["amira", "olga", "sam"],
        "acme only, by name, not himself"
    );
    let amira = &body["users"][0];
    assert_eq!(amira["name"], "Amira Haddad");
    assert_eq!(amira["role"], "applicant");
    assert_eq!(amira["presence"], "offline");
    assert!(amira["last_seen"].as_i64().is_some(), "{amira}");

    // Search by part of a name or id, any case; wildcards are plain text.
    let (_, body) = server.get(&omar, "/api/users?q=HADD").await;
    assert_eq!(ids(&body), ["amira"]);
    let (_, body) = server.get(&omar, "/api/users?q=ol").await;
    assert_eq!(ids(&body), ["olga"]);
    let (_, body) = server.get(&omar, "/api/users?q=%25_").await;
    assert_eq!(ids(&body), ["sam"], "`%_` matched literally");
    let (_, body) = server.get(&omar, "/api/users?q=globex").await;
    assert_eq!(
        ids(&body),
        Vec::<&str>::new(),
        "another tenant's people are never found"
    );
    let (_, body) = server.get(&omar, "/api/users?limit=1").await;
    assert_eq!(ids(&body), ["amira"]);

    // An applicant finds the staff of her tenant, online ones shown so.
    let _online = server.client_with(of("acme", "olga", "professional")).await;
    let amira = server.token_with(of("acme", "amira", "applicant"));
    let (_, body) = server.get(&amira, "/api/users").await;
    assert_eq!(ids(&body), ["olga", "omar"]);
    assert_eq!(body["users"][0]["presence"], "online");
    let (_, body) = server.get(&amira, "/api/users?q=sam").await;
    assert_eq!(
        ids(&body),
        Vec::<&str>::new(),
        "other applicants stay private"
    );

    // Staff without a tenant find everyone.
    let root = server.token("root", "admin");
    let (_, body) = server.get(&root, "/api/users?q=globex").await;
    assert_eq!(ids(&body), ["gus", "oscar"]);

    // Bad queries: typed errors.
    for path in [
        "/api/users?limit=0",
        "/api/users?limit=51",
        "/api/users?color=red",
    ] {
        let (status, body) = server.get(&omar, path).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("BAD_REQUEST")),
            "{path}: {body}"
        );
    }
    let long = "x".repeat(101);
    let (status, _) = server.get(&omar, &format!("/api/users?q={long}")).await;
    assert_eq!(status, 400);
    let (status, _) = server.get("not-a-token", "/api/users").await;
    assert_eq!(status, 401);
}

/// A profile is written at connect when it changed (a new name in the
/// token), and a reconnect with the same profile leaves it as it is.
#[tokio::test]
async fn a_new_name_in_the_token_is_what_the_directory_shows() {
    let server = TestServer::start().await;
    known(&server, Some("acme"), "omar", "Omar Said", "professional").await;
    known(&server, Some("acme"), "olga", "Olga Petrova", "admin").await;
    let admin = server.token_with(Claims {
        tenant: Some("acme".into()),
        ..common::claims("olga", "admin")
    });
    let name_of_omar = |body: &Value| {
        body["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["id"] == "omar")
            .map(|u| u["name"].clone())
    };
    let (_, body) = server.get(&admin, "/api/users?q=omar").await;
    assert_eq!(name_of_omar(&body), Some("Omar Said".into()), "{body}");
    known(
        &server,
        Some("acme"),
        "omar",
        "Omar S. Said",
        "professional",
    )
    .await;
    let (_, body) = server.get(&admin, "/api/users?q=omar").await;
    assert_eq!(name_of_omar(&body), Some("Omar S. Said".into()), "{body}");
    known(
        &server,
        Some("acme"),
        "omar",
        "Omar S. Said",
        "professional",
    )
    .await;
    let (_, body) = server.get(&admin, "/api/users?q=omar").await;
    assert_eq!(name_of_omar(&body), Some("Omar S. Said".into()), "{body}");
}
