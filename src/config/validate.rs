//! The configuration's checks: settings that cannot work are refused at
//! start, with a message naming the key.

use std::time::Duration;

use super::{Config, ConfigError};

impl Config {
    /// Reject settings that cannot work.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_string()));
        match self.jwt_algorithm.as_str() {
            "HS256" => {
                if self.jwt_secret.is_none() && !self.dev {
                    return bad("jwt_secret is required for HS256 outside dev mode");
                }
                if self.jwt_secret.as_ref().is_some_and(|s| s.len() < 16) {
                    return bad("jwt_secret must be at least 16 bytes");
                }
            }
            "RS256" | "ES256" => {
                if self.jwt_public_key_file.is_none() {
                    return bad("jwt_public_key_file is required for RS256/ES256");
                }
            }
            other => {
                return Err(ConfigError::Invalid(format!(
                    "jwt_algorithm {other} is not one of HS256, RS256, ES256"
                )))
            }
        }
        if self.max_frame_bytes < 1024 {
            return bad("max_frame_bytes must be at least 1024");
        }
        if self.max_text_chars == 0
            || self.outbound_queue == 0
            || self.rate_per_sec == 0
            || self.rate_burst == 0
        {
            return bad(
                "max_text_chars, outbound_queue, rate_per_sec and rate_burst must be positive",
            );
        }
        if !self.turn_urls.is_empty() && self.turn_secret.is_none() {
            return bad(
                "turn_urls need turn_secret (coturn's static-auth-secret) to issue credentials",
            );
        }
        if self.idle_timeout <= self.ping_interval {
            return bad("idle_timeout must be longer than ping_interval");
        }
        if self.api_keys.iter().any(|k| k.len() < 16) {
            return bad("api_keys must be at least 16 bytes each");
        }
        // --- tenant isolation ---
        if self.tenant_api_keys.iter().any(|k| k.key.len() < 16) {
            return bad("tenant_api_keys: every key must be at least 16 bytes");
        }
        if self
            .tenant_api_keys
            .iter()
            .any(|k| !earshot_signaling::room_key::valid_tenant(&k.tenant))
        {
            return bad("tenant_api_keys: every tenant must be 1 to 128 bytes, without `/` or control characters");
        }
        {
            let mut keys: Vec<&str> = self.api_keys.iter().map(String::as_str).collect();
            keys.extend(self.tenant_api_keys.iter().map(|k| k.key.as_str()));
            keys.sort_unstable();
            if keys.windows(2).any(|w| w[0] == w[1]) {
                return bad("a key appears twice in api_keys / tenant_api_keys");
            }
        }
        if self.upload_max_bytes == 0 || self.upload_max_bytes > 1 << 30 {
            return bad("upload_max_bytes must be between 1 byte and 1 GiB");
        }
        // --- limits: uploads ---
        if self.thumbnail_workers == 0 || self.thumbnail_workers > 64 {
            return bad("thumbnail_workers must be between 1 and 64");
        }
        if self.thumbnail_max_decode_bytes < 1024 * 1024 {
            return bad("thumbnail_max_decode_bytes must be at least 1 MiB");
        }
        if self.upload_orphan_grace < Duration::from_secs(1) {
            return bad("upload_orphan_grace must be at least 1s");
        }
        // --- limits: assistant ---
        if self.assistant_llm_per_minute == 0 {
            return bad("assistant_llm_per_minute must be at least 1 (leave assistant_llm_url unset for FAQ only)");
        }
        if self
            .assistant_llm_url
            .as_ref()
            .is_some_and(|u| !(u.starts_with("http://") || u.starts_with("https://")))
        {
            return bad("assistant_llm_url must be an http:// or https:// URL");
        }
        if let Some([first, last]) = self.media_port_range {
            if first == 0 || first > last {
                return bad("media_port_range must be [first, last] with 0 < first <= last");
            }
        }
        if self.media_failed_timeout < self.media_disconnected_timeout {
            return bad("media_failed_timeout must not be shorter than media_disconnected_timeout");
        }
        if self.room_list_page == 0 || self.room_list_max_page < self.room_list_page {
            return bad("room_list_page must be positive and at most room_list_max_page");
        }
        if (self.rest_user_per_minute > 0 && self.rest_user_burst == 0)
            || (self.rest_ip_per_minute > 0 && self.rest_ip_burst == 0)
        {
            return bad(
                "rest_user_burst and rest_ip_burst must be positive when their limit is on",
            );
        }
        if self.quality_interval < Duration::from_millis(100) {
            return bad("quality_interval must be at least 100ms");
        }
        if !self.webhook_urls.is_empty() {
            if self.webhook_secret.as_ref().is_none_or(|s| s.len() < 16) {
                return bad("webhook_urls need a webhook_secret of at least 16 bytes");
            }
            for url in &self.webhook_urls {
                match reqwest::Url::parse(url) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                    _ => {
                        return Err(ConfigError::Invalid(format!(
                            "webhook URL {url} is not an http(s) URL"
                        )))
                    }
                }
            }
            if self.webhook_max_attempts == 0 {
                return bad("webhook_max_attempts must be at least 1");
            }
        }
        // --- limits: connections and memory ---
        if self.outbound_max_bytes < 64 * 1024 {
            return bad("outbound_max_bytes must be at least 64 KiB");
        }
        if self.history_max_bytes < 16 * 1024
            || self.history_max_bytes > self.outbound_max_bytes / 2
        {
            return bad(
                "history_max_bytes must be at least 16 KiB and at most half of outbound_max_bytes",
            );
        }
        if self.max_sockets_per_user == 0 {
            return bad("max_sockets_per_user must be at least 1");
        }
        if self.connection_reserve >= self.max_connections {
            return bad("connection_reserve must be smaller than max_connections");
        }
        if self.header_timeout < Duration::from_millis(100) {
            return bad("header_timeout must be at least 100ms");
        }
        Ok(())
    }
}
