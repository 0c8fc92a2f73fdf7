//! Tests of the configuration: sources, precedence and validation.

use super::*;

#[test]
fn defaults_need_a_secret_outside_dev() {
    let c = Config::default();
    assert!(c.validate().is_err());
    let c = Config {
        dev: true,
        ..Config::default()
    };
    assert!(c.validate().is_ok());
}

#[test]
fn turn_urls_need_a_secret() {
    let c = Config {
        dev: true,
        turn_urls: vec!["turn:t.example:3478".into()],
        ..Config::default()
    };
    assert!(c.validate().is_err());
    let c = Config {
        turn_secret: Some("s".into()),
        ..c
    };
    assert!(c.validate().is_ok());
}

#[test]
fn env_and_flags_layer_over_defaults() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "earshot.toml",
            "listen = \"127.0.0.1:9000\"\nmax_text_chars = 10\ndev = true\n",
        )?;
        jail.set_env("EARSHOT_MAX_TEXT_CHARS", "20");
        #[derive(Serialize)]
        struct Flags {
            typing_timeout: &'static str,
        }
        let c = Config::load(
            None,
            Flags {
                typing_timeout: "2s",
            },
        )
        .map_err(|e| e.to_string())?;
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.max_text_chars, 20);
        assert_eq!(c.typing_timeout, Duration::from_secs(2));
        Ok(())
    });
}

#[test]
fn a_media_port_range_is_read_from_the_environment_and_checked() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("EARSHOT_DEV", "true");
        jail.set_env("EARSHOT_MEDIA_PORT_RANGE", "[41000, 41999]");
        #[derive(Serialize)]
        struct NoFlags {}
        let c = Config::load(None, NoFlags {}).map_err(|e| e.to_string())?;
        assert_eq!(c.media_port_range, Some([41000, 41999]));
        assert_eq!(c.sfu().port_range, Some((41000, 41999)));
        for bad in ["[42000, 41000]", "[0, 10]"] {
            jail.set_env("EARSHOT_MEDIA_PORT_RANGE", bad);
            let err = Config::load(None, NoFlags {}).unwrap_err().to_string();
            assert!(err.contains("media_port_range"), "{bad}: {err}");
        }
        Ok(())
    });
}

#[test]
fn the_media_engine_is_direct_unless_the_peer_connection_one_is_chosen() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("EARSHOT_DEV", "true");
        #[derive(Serialize)]
        struct NoFlags {}
        let c = Config::load(None, NoFlags {}).map_err(|e| e.to_string())?;
        assert_eq!(c.sfu().engine, earshot_sfu::Engine::Direct);
        jail.set_env("EARSHOT_MEDIA_ENGINE", "peer_connection");
        let c = Config::load(None, NoFlags {}).map_err(|e| e.to_string())?;
        assert_eq!(c.sfu().engine, earshot_sfu::Engine::PeerConnection);
        jail.set_env("EARSHOT_MEDIA_ENGINE", "fastest");
        let err = Config::load(None, NoFlags {}).unwrap_err().to_string();
        assert!(
            err.contains("fastest") || err.contains("media_engine"),
            "{err}"
        );
        Ok(())
    });
}

#[test]
fn connection_and_memory_limits_are_checked() {
    let ok = Config {
        dev: true,
        ..Config::default()
    };
    assert!(ok.validate().is_ok());
    let bad = [
        Config {
            history_max_bytes: ok.outbound_max_bytes,
            ..ok.clone()
        },
        Config {
            outbound_max_bytes: 1024,
            ..ok.clone()
        },
        Config {
            connection_reserve: ok.max_connections,
            ..ok.clone()
        },
        Config {
            max_sockets_per_user: 0,
            ..ok.clone()
        },
        Config {
            header_timeout: Duration::ZERO,
            ..ok.clone()
        },
    ];
    for c in bad {
        assert!(c.validate().is_err(), "{c:?}");
    }
}

#[test]
fn unknown_environment_variables_are_named_and_ignored() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("EARSHOT_NOT_A_SETTING", "1");
        jail.set_env("EARSHOT_LISTEN", "127.0.0.1:9001");
        jail.set_env("EARSHOT_DEV", "true");
        #[derive(Serialize)]
        struct NoFlags {}
        let c = Config::load(None, NoFlags {}).map_err(|e| e.to_string())?;
        assert_eq!(
            c.listen.to_string(),
            "127.0.0.1:9001",
            "known ones still apply"
        );
        let unknown = Config::unknown_env_vars();
        assert!(
            unknown.contains(&"EARSHOT_NOT_A_SETTING".to_string()),
            "{unknown:?}"
        );
        assert!(!unknown.iter().any(|v| v == "EARSHOT_LISTEN"));
        Ok(())
    });
}

#[test]
fn unknown_keys_are_refused() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("earshot.toml", "lisen = \"127.0.0.1:9000\"\n")?;
        #[derive(Serialize)]
        struct NoFlags {}
        assert!(Config::load(None, NoFlags {}).is_err());
        Ok(())
    });
}

// --- tenant isolation ---
#[test]
fn tenant_api_keys_are_read_from_toml_and_env_and_checked() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "earshot.toml",
            "dev = true\napi_keys = [\"global-key-0123456789\"]\n\
             [[tenant_api_keys]]\nkey = \"acme-key-0123456789\"\ntenant = \"acme\"\n",
        )?;
        #[derive(Serialize)]
        struct NoFlags {}
        let c = Config::load(None, NoFlags {}).map_err(|e| e.to_string())?;
        assert_eq!(c.api_keys, ["global-key-0123456789"]);
        assert_eq!(
            c.tenant_api_keys,
            [TenantApiKey {
                key: "acme-key-0123456789".into(),
                tenant: "acme".into()
            }]
        );
        jail.set_env(
            "EARSHOT_TENANT_API_KEYS",
            "[{key=\"globex-key-0123456789\", tenant=\"globex\"}]",
        );
        let c = Config::load(None, NoFlags {}).map_err(|e| e.to_string())?;
        assert_eq!(c.tenant_api_keys[0].tenant, "globex");
        for bad in [
            "[{key=\"short\", tenant=\"globex\"}]",
            "[{key=\"globex-key-0123456789\", tenant=\"\"}]",
            "[{key=\"globex-key-0123456789\", tenant=\"glo/bex\"}]",
            "[{key=\"global-key-0123456789\", tenant=\"globex\"}]",
        ] {
            jail.set_env("EARSHOT_TENANT_API_KEYS", bad);
            let err = Config::load(None, NoFlags {}).unwrap_err().to_string();
            assert!(err.contains("tenant_api_keys"), "{bad}: {err}");
        }
        Ok(())
    });
}
