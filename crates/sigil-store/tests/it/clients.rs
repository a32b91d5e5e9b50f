//! OAuth clients are kept whole, lists included.

use sigil_store::clients::{self, Client};
use sigil_store::secret::PlainSecret;
use sigil_store::{StoreError, Unique};
use sigil_testkit::{TestDb, backend_tests};

backend_tests!(client_round_trips, client_id_is_unique);

pub(crate) fn client(id: &str, now: chrono::NaiveDateTime) -> Client {
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

fn client_round_trips(db: &TestDb) {
    let store = crate::open(db);
    let now = store.now();
    let written = store.write_blocking(|c| clients::insert(c, client("web", now), now)).unwrap();
    let read = store.read_blocking(|c| clients::get(c, "web")).unwrap();
    assert_eq!(read, written);
    assert!(read.secret_hash.unwrap().matches(&"x".repeat(43)));
    assert_eq!(store.read_blocking(clients::list).unwrap().len(), 1);
}

fn client_id_is_unique(db: &TestDb) {
    let store = crate::open(db);
    let now = store.now();
    store.write_blocking(|c| clients::insert(c, client("web", now), now)).unwrap();
    let err = store.write_blocking(|c| clients::insert(c, client("web", now), now)).unwrap_err();
    assert!(matches!(err, StoreError::Conflict(Unique::ClientId)), "{err:?}");
}
