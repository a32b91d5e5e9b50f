//! Signing-key states move by conditional update only.

use sigil_store::keys::{self, KeyState, SigningKey};
use sigil_testkit::{TestDb, backend_tests};

use crate::support;

backend_tests!(key_transitions_are_conditional, one_of_twenty_moves_of_a_key_wins);

fn next_key(kid: &str, now: chrono::NaiveDateTime) -> SigningKey {
    SigningKey {
        kid: kid.into(),
        alg: "RS256".into(),
        state: KeyState::Next,
        private_pem: "-----BEGIN PRIVATE KEY-----".into(),
        public_jwk: "{}".into(),
        created: now,
        activated_at: None,
        retired_at: None,
    }
}

fn key_transitions_are_conditional(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    let key = next_key("k1", now);
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

/// Twenty nodes moving one key from next to active at once: one moves it,
/// the others change nothing, and the activation time is the winner's.
fn one_of_twenty_moves_of_a_key_wins(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    store.write_blocking(|c| keys::insert(c, &next_key("k1", now))).unwrap();
    let results = support::race_nodes(db, 20, |store, i| {
        let at = now + chrono::TimeDelta::seconds(i64::try_from(i).unwrap());
        store.write_blocking(|c| keys::transition(c, "k1", KeyState::Next, KeyState::Active, at))
    });
    let moved: Vec<usize> = (0..20).filter(|&i| matches!(results[i], Ok(true))).collect();
    assert_eq!(moved.len(), 1, "{results:?}");
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let key = store.read_blocking(keys::list).unwrap().remove(0);
    assert_eq!(key.state, KeyState::Active);
    let winner = i64::try_from(moved[0]).unwrap();
    assert_eq!(key.activated_at, Some(now + chrono::TimeDelta::seconds(winner)));
}
