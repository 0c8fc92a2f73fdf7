//! Room ids are scoped by tenant.
//!
//! Two tenants may each have a room `visa-2`; they are different rooms. A
//! room is stored and addressed internally by its *key*: the id itself for
//! rooms outside any tenant, `{tenant}/{id}` for a tenant's room. `/` is
//! allowed neither in room ids nor in tenant names, so a key names exactly
//! one (tenant, id) pair.
//!
//! Every id a caller gives is turned into a key with the caller's own tenant
//! ([`scoped`]) at the edge (socket frames, HTTP paths, token grants), so a
//! caller of one tenant can name no other tenant's room. Everything sent back
//! shows the id as its tenant's users know it ([`local`], applied by serde on
//! every `room_id` field of the wire types). An identity with no tenant (a
//! global key, a global operator) addresses a tenant's room by its full key,
//! `acme/visa-2`.

use serde::Serializer;

/// The character between a tenant and a room id in a key.
pub const SEPARATOR: char = '/';

/// The key of room `id` as named by a caller of `tenant`.
pub fn scoped(tenant: Option<&str>, id: &str) -> String {
    match tenant {
        Some(tenant) => format!("{tenant}{SEPARATOR}{id}"),
        None => id.to_owned(),
    }
}

/// The id a room's own tenant knows it by.
pub fn local(key: &str) -> &str {
    key.split_once(SEPARATOR).map_or(key, |(_, id)| id)
}

/// The tenant a key belongs to, if any.
pub fn tenant_of(key: &str) -> Option<&str> {
    key.split_once(SEPARATOR).map(|(tenant, _)| tenant)
}

/// Whether `tenant` can be part of a key.
pub fn valid_tenant(tenant: &str) -> bool {
    !tenant.is_empty()
        && tenant.len() <= 128
        && !tenant.contains(SEPARATOR)
        && !tenant.chars().any(char::is_control)
}

/// serde `serialize_with` for a room key: writes its [`local`] id.
pub fn serialize_local<S: Serializer>(key: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(local(key))
}

/// [`serialize_local`] for an optional key.
pub fn serialize_local_opt<S: Serializer>(key: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match key {
        Some(key) => s.serialize_str(local(key)),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tenants_get_their_own_namespace() {
        assert_eq!(scoped(Some("acme"), "visa-2"), "acme/visa-2");
        assert_eq!(scoped(None, "visa-2"), "visa-2");
        assert_ne!(
            scoped(Some("acme"), "visa-2"),
            scoped(Some("beta"), "visa-2")
        );
        assert_eq!(local("acme/visa-2"), "visa-2");
        assert_eq!(local("visa-2"), "visa-2");
        assert_eq!(tenant_of("acme/visa-2"), Some("acme"));
        assert_eq!(tenant_of("visa-2"), None);
        assert!(!valid_tenant("a/b"));
        assert!(!valid_tenant(""));
        assert!(valid_tenant("acme"));
    }

    proptest! {
        #[test]
        fn a_key_round_trips(tenant in "[a-z0-9_.-]{1,20}", id in "[A-Za-z0-9_.:@-]{1,40}") {
            let key = scoped(Some(&tenant), &id);
            prop_assert_eq!(local(&key), id.as_str());
            prop_assert_eq!(tenant_of(&key), Some(tenant.as_str()));
        }

        #[test]
        fn a_caller_cannot_name_another_tenants_key(mine in "[a-z]{1,8}", theirs in "[a-z]{1,8}", id in "\\PC{0,40}") {
            // Whatever a caller of `mine` sends, the key stays in `mine`.
            prop_assume!(mine != theirs);
            let key = scoped(Some(&mine), &id);
            prop_assert_eq!(tenant_of(&key), Some(mine.as_str()));
        }
    }
}
