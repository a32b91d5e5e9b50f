//! Signing-key states move by conditional update only.

use sigil_store::keys::{self, KeyState, SigningKey};
use sigil_testkit::{TestDb, backend_tests};

backend_tests!(key_transitions_are_conditional);

fn key_transitions_are_conditional(db: &TestDb) {
    let store = crate::open(db);
    let now = store.now();
    let key = SigningKey {
        kid: "k1".into(),
        alg: "RS256".into(),
        state: KeyState::Next,
        private_pem: "-----BEGIN PRIVATE KEY-----".into(),
        public_jwk: "{}".into(),
        created: now,
        activated_at: None,
        retired_at: None,
    };
    store.write_blocking(|c| keys::insert(c, &key)).unwrap();
    assert!(!format!("{key:?}").contains("PRIVATE"), "Debug hides the private key");
    assert!(
        store.write_blocking(|c| keys::transition(c, "k1", KeyState::Next, KeyState::Active, now)).unwrap()
    );
    assert!(
        !store.write_blocking(|c| keys::transition(c, "k1", KeyState::Next, KeyState::Active, now)).unwrap(),
        "a second node's identical move changes nothing"
    );
    let listed = store.read_blocking(keys::list).unwrap();
    assert_eq!(listed[0].state, KeyState::Active);
    assert_eq!(listed[0].activated_at, Some(now));
    let later = now + chrono::TimeDelta::hours(1);
    assert!(
        store
            .write_blocking(|c| keys::transition(c, "k1", KeyState::Active, KeyState::Retired, now))
            .unwrap()
    );
    assert_eq!(store.write_blocking(|c| keys::delete_retired_before(c, now)).unwrap(), 0);
    assert_eq!(store.write_blocking(|c| keys::delete_retired_before(c, later)).unwrap(), 1);
    assert!(store.read_blocking(keys::list).unwrap().is_empty());
}
