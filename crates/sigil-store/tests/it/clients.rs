//! OAuth clients are kept whole, lists included.

use sigil_store::clients::{self, Client};
use sigil_store::secret::PlainSecret;
use sigil_store::{StoreError, Unique};
use sigil_testkit::{TestDb, backend_tests};

backend_tests!(client_round_trips, client_id_is_unique, concurrent_updates_of_one_client_both_land);

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

/// Two read-modify-writes of one client, the second reading while the
/// first holds its copy: under the row lock the second waits and reads the
/// first's change, so neither change is lost (READ COMMITTED would lose
/// one without it; SQLite's single writer serializes them anyway).
fn concurrent_updates_of_one_client_both_land(db: &TestDb) {
    use std::sync::{Arc, Barrier};
    let store = crate::open(db);
    let now = store.now();
    store.write_blocking(|c| clients::insert(c, client("web", now), now)).unwrap();
    let first_has_read = Arc::new(Barrier::new(2));
    let renamer = {
        let (store, first_has_read) = (store.clone(), first_has_read.clone());
        std::thread::spawn(move || {
            store
                .write_blocking(|c| {
                    clients::lock(c, "web")?;
                    let mut web = clients::get(c, "web")?;
                    first_has_read.wait();
                    // Give the other writer time to try its read meanwhile.
                    std::thread::sleep(std::time::Duration::from_millis(200));
                    web.name = Some("Renamed".into());
                    clients::update(c, web, now)
                })
                .unwrap()
        })
    };
    first_has_read.wait();
    store
        .write_blocking(|c| {
            clients::lock(c, "web")?;
            let mut web = clients::get(c, "web")?;
            web.skip_consent = true;
            clients::update(c, web, now)
        })
        .unwrap();
    renamer.join().unwrap();
    let web = store.read_blocking(|c| clients::get(c, "web")).unwrap();
    assert_eq!((web.name.as_deref(), web.skip_consent), (Some("Renamed"), true), "{web:?}");
}
