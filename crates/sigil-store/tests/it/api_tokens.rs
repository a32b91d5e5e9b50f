//! API tokens: found by their whole digest with their client's scopes and
//! roles in one query, revoked once, their last use moved at most once a
//! minute, and gone with their client.

use chrono::{NaiveDateTime, TimeDelta};
use sigil_store::admin_grants::{self, Grantee};
use sigil_store::api_tokens::{self, NewApiToken};
use sigil_store::secret::HashedSecret;
use sigil_store::{Store, StoreError, clients};
use sigil_testkit::{TestDb, backend_tests};

use crate::support;

backend_tests!(
    a_token_is_found_by_its_whole_digest_with_its_clients_scopes_and_roles,
    tokens_are_listed_by_client_oldest_first,
    twenty_revocations_at_once_revoke_once,
    the_last_use_moves_at_most_once_a_minute,
    tokens_go_with_their_client,
    digests_are_unique,
);

/// A client registered for SCIM, with a token `secret` valid for a year.
fn client_with_token(store: &Store, client: &str, secret: &str) -> String {
    let now = store.now();
    store
        .write_blocking(|c| {
            if clients::get(c, client).is_err() {
                let mut registered = support::client(client, now);
                registered.scopes = vec!["scim:read".into(), "scim:write".into()];
                clients::insert(c, registered, now)?;
            }
            let token = api_tokens::insert(c, new_token(client, secret, now + TimeDelta::days(365)), now)?;
            Ok::<_, StoreError>(token.id)
        })
        .unwrap()
}

fn new_token(client: &str, secret: &str, expires_at: NaiveDateTime) -> NewApiToken {
    NewApiToken {
        id: sigil_store::new_id(),
        client_id: client.into(),
        token_hash: HashedSecret::of(secret),
        scope: "scim:read scim:write".into(),
        name: Some("Entra ID provisioning".into()),
        expires_at,
    }
}

fn a_token_is_found_by_its_whole_digest_with_its_clients_scopes_and_roles(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    let id = client_with_token(&store, "entra", "sigil_at_one");
    let find = |hash: &str| store.read_blocking(|c| api_tokens::find(c, hash)).unwrap();
    let found = find(HashedSecret::of("sigil_at_one").as_str()).expect("found by its digest");
    assert_eq!((found.token.id.as_str(), found.token.client_id.as_str()), (id.as_str(), "entra"));
    assert_eq!(found.token.scope, "scim:read scim:write");
    assert_eq!(found.client_scopes, ["scim:read", "scim:write"]);
    assert!(found.client_roles.is_empty(), "no role granted yet");
    assert!(found.token_hash.matches("sigil_at_one"));
    assert!(found.token.is_live(now) && found.token.use_is_due(now));

    // Roles come along in the same query, one row each, sorted.
    let entra = Grantee::Client("entra".into());
    store
        .write_blocking(|c| {
            admin_grants::grant(c, "service-account", &entra, now)?;
            admin_grants::grant(c, "auditor", &entra, now)
        })
        .unwrap();
    let found = find(HashedSecret::of("sigil_at_one").as_str()).unwrap();
    assert_eq!(found.client_roles, ["auditor", "service-account"]);
    assert_eq!(found.token.id, id, "several grants still name one token");

    // Only the whole digest finds it: not another token's, not one that
    // differs in its last digit, not a prefix.
    let digest = HashedSecret::of("sigil_at_one").as_str().to_owned();
    let mut near = digest.clone();
    let last = if near.ends_with('0') { "1" } else { "0" };
    near.replace_range(63.., last);
    for other in [HashedSecret::of("sigil_at_two").as_str(), &near, &digest[..32], ""] {
        assert!(find(other).is_none(), "{other}");
    }
}

fn tokens_are_listed_by_client_oldest_first(db: &TestDb) {
    let store = support::open(db);
    let first = client_with_token(&store, "entra", "sigil_at_a");
    let other = client_with_token(&store, "okta", "sigil_at_b");
    let second = client_with_token(&store, "entra", "sigil_at_c");
    let ids = |client: Option<&str>| -> Vec<String> {
        store.read_blocking(|c| api_tokens::list(c, client)).unwrap().into_iter().map(|t| t.id).collect()
    };
    let mut entra = ids(Some("entra"));
    let mut expected = vec![first.clone(), second.clone()];
    // Two tokens made in the same microsecond are ordered by id.
    entra.sort();
    expected.sort();
    assert_eq!(entra, expected);
    assert_eq!(ids(Some("okta")), [other]);
    assert_eq!(ids(None).len(), 3);
    assert!(ids(Some("nobody")).is_empty());
    let shown = store.read_blocking(|c| api_tokens::get(c, &first)).unwrap();
    assert_eq!(shown.name.as_deref(), Some("Entra ID provisioning"));
    assert!(matches!(store.read_blocking(|c| api_tokens::get(c, "no-such-id")), Err(StoreError::NotFound)));
}

/// Twenty revocations of one token, each on a node of its own: one
/// revokes it, the others find it revoked; an unknown id is not found.
fn twenty_revocations_at_once_revoke_once(db: &TestDb) {
    let store = support::open(db);
    let id = client_with_token(&store, "entra", "sigil_at_doomed");
    let now = store.now();
    let results =
        support::race_nodes(db, 20, |store, _| store.write_blocking(|c| api_tokens::revoke(c, &id, now)));
    let revoked = results.iter().filter(|r| matches!(r, Ok(true))).count();
    let found = results.iter().filter(|r| matches!(r, Ok(false))).count();
    assert_eq!((revoked, found), (1, 19), "{results:?}");
    let token = store.read_blocking(|c| api_tokens::get(c, &id)).unwrap();
    assert_eq!(token.revoked_at, Some(now));
    assert!(!token.is_live(now));
    let found = store.read_blocking(|c| api_tokens::find(c, HashedSecret::of("sigil_at_doomed").as_str()));
    assert!(
        found.unwrap().is_some_and(|f| f.token.revoked_at.is_some()),
        "a revoked token is still found, revoked"
    );
    let unknown = store.write_blocking(|c| api_tokens::revoke(c, "no-such-id", now));
    assert!(matches!(unknown, Err(StoreError::NotFound)), "{unknown:?}");
}

fn the_last_use_moves_at_most_once_a_minute(db: &TestDb) {
    let store = support::open(db);
    let id = client_with_token(&store, "entra", "sigil_at_busy");
    let start = store.now();
    let touch = |at: NaiveDateTime| store.write_blocking(|c| api_tokens::touch(c, &id, at)).unwrap();
    let last = || store.read_blocking(|c| api_tokens::get(c, &id)).unwrap().last_used_at;
    assert_eq!(last(), None);
    assert!(touch(start), "the first use is recorded");
    assert!(!touch(start + TimeDelta::seconds(30)), "half a minute later, nothing is written");
    assert!(!touch(start + TimeDelta::seconds(60)), "a minute to the microsecond is not older");
    assert_eq!(last(), Some(start));
    let later = start + TimeDelta::seconds(61);
    assert!(touch(later));
    assert_eq!(last(), Some(later));
    let token = store.read_blocking(|c| api_tokens::get(c, &id)).unwrap();
    assert!(
        !token.use_is_due(later + TimeDelta::seconds(59)) && token.use_is_due(later + TimeDelta::seconds(61))
    );

    // Twenty requests on twenty nodes at once, a minute and more on: one write.
    let burst = later + TimeDelta::minutes(2);
    let results =
        support::race_nodes(db, 20, |store, _| store.write_blocking(|c| api_tokens::touch(c, &id, burst)));
    assert_eq!(results.iter().filter(|r| matches!(r, Ok(true))).count(), 1, "{results:?}");
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(last(), Some(burst));
}

fn tokens_go_with_their_client(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    client_with_token(&store, "gone", "sigil_at_orphan");
    assert!(store.write_blocking(|c| clients::delete(c, "gone")).unwrap());
    let found = store.read_blocking(|c| api_tokens::find(c, HashedSecret::of("sigil_at_orphan").as_str()));
    assert!(found.unwrap().is_none());
    assert!(store.read_blocking(|c| api_tokens::list(c, None)).unwrap().is_empty());
    let orphan = store.write_blocking(|c| {
        api_tokens::insert(c, new_token("gone", "sigil_at_late", now + TimeDelta::days(1)), now)
    });
    assert!(matches!(orphan, Err(StoreError::NotFound)), "{orphan:?}");
}

fn digests_are_unique(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    client_with_token(&store, "entra", "sigil_at_same");
    let again = store.write_blocking(|c| {
        api_tokens::insert(c, new_token("entra", "sigil_at_same", now + TimeDelta::days(1)), now)
    });
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    assert_eq!(store.read_blocking(|c| api_tokens::list(c, None)).unwrap().len(), 1);
}
