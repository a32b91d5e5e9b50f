//! What the store tests share: a migrated store per test database, writers
//! released at once on one record (on one store, or on one store per node),
//! how their outcomes are judged, and the records many tests start from.

use std::fmt::Debug;

use chrono::NaiveDateTime;
use sigil_store::clients::Client;
use sigil_store::secret::PlainSecret;
use sigil_store::users::{self, User};
use sigil_store::{DatabaseUrl, PoolOptions, Store, StoreError};
use sigil_testkit::TestDb;

/// Opens the store in `db`, as a node does, without migrating it.
pub(crate) fn connect(db: &TestDb) -> Store {
    let url = DatabaseUrl::parse(db.url()).expect("test URL parses");
    Store::open(&url, &PoolOptions::default()).expect("store opens")
}

/// Opens and migrates the store in `db`.
pub(crate) fn open(db: &TestDb) -> Store {
    let store = connect(db);
    store.migrate().expect("migrations apply");
    store
}

/// Runs `write(store, i)` for `i` in `0..n` on `n` threads released
/// together; returns each result in `i` order.
pub(crate) fn race<T: Send>(store: &Store, n: usize, write: impl Fn(&Store, usize) -> T + Sync) -> Vec<T> {
    sigil_testkit::race(n, |i| write(store, i))
}

/// [`race`] with every writer on a `Store` of its own, opened on `db` before
/// the start, as separate nodes would be: no pool or connection shared.
pub(crate) fn race_nodes<T: Send>(
    db: &TestDb,
    n: usize,
    write: impl Fn(&Store, usize) -> T + Sync,
) -> Vec<T> {
    let nodes: Vec<Store> = (0..n).map(|_| connect(db)).collect();
    sigil_testkit::race(n, |i| write(&nodes[i], i))
}

/// Exactly one `Ok`; every other result an error `lost` accepts as the
/// clean answer of a writer that came second. Returns the winner.
pub(crate) fn one_winner<T: Debug>(
    results: &[Result<T, StoreError>],
    lost: impl Fn(&StoreError) -> bool,
) -> usize {
    let winners: Vec<usize> = (0..results.len()).filter(|&i| results[i].is_ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for result in results {
        if let Err(e) = result {
            assert!(lost(e), "{results:?}");
        }
    }
    winners[0]
}

/// `n` users named `{prefix}0`, `{prefix}1`, …; their ids in that order.
pub(crate) fn users_named(store: &Store, prefix: &str, n: usize) -> Vec<String> {
    store
        .write_blocking(|c| {
            (0..n)
                .map(|i| {
                    Ok::<_, StoreError>(users::insert(c, User::new(format!("{prefix}{i}")), store.now())?.id)
                })
                .collect()
        })
        .unwrap()
}

/// A confidential web client with every list filled.
pub(crate) fn client(id: &str, now: NaiveDateTime) -> Client {
    Client {
        id: id.into(),
        name: Some("Web app".into()),
        secret_hash: Some(PlainSecret::new("x".repeat(43)).hash()),
        is_public: false,
        redirect_uris: vec!["https://app.example.com/cb".into(), "https://app.example.com/cb2".into()],
        post_logout_redirect_uris: vec!["https://app.example.com/".into()],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        scopes: vec!["openid".into(), "profile".into()],
        audiences: vec![],
        token_endpoint_auth_method: "client_secret_basic".into(),
        id_token_signed_response_alg: "RS256".into(),
        require_pkce: true,
        skip_consent: false,
        jwks: None,
        jwks_uri: Some("https://app.example.com/jwks".into()),
        access_token_signed_response_alg: "ES256".into(),
        refresh_without_offline_access: true,
        exchange_audiences: vec!["https://api.example.com".into()],
        exchange_impersonation: false,
        exchange_refresh_tokens: true,
        always_groups_claim: true,
        created: now,
        last_modified: now,
    }
}
