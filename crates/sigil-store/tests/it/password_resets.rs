//! Password reset links: one live link per user, redeemed at most once
//! even by twenty nodes at the same moment, never after it expires, and
//! redeeming writes the password and ends the user's sessions together.

use chrono::TimeDelta;
use sigil_store::grants::{self, Session};
use sigil_store::password_resets::{self, issue, reset_password};
use sigil_store::secret::PlainSecret;
use sigil_store::users::{self, User};
use sigil_store::{StoreError, copy};
use sigil_testkit::{TestDb, backend_tests};

use crate::support;

backend_tests!(
    one_of_twenty_nodes_redeeming_one_link_sets_the_password,
    a_link_is_spent_by_expiry_a_newer_link_or_a_disabled_user,
    redeeming_a_link_ends_the_users_sessions,
);

fn one_of_twenty_nodes_redeeming_one_link_sets_the_password(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    let token = PlainSecret::generate().unwrap();
    let hash = token.hash();
    let user = store
        .write_blocking(|c| {
            let user = users::insert(c, User::new("alice"), now)?;
            issue(c, &user.id, &hash, now + TimeDelta::hours(1), now)?;
            Ok::<_, StoreError>(user)
        })
        .unwrap();
    let results = support::race_nodes(db, 20, |store, i| {
        store.write_blocking(|c| reset_password(c, &hash, format!("hash-{i}"), now))
    });
    let winners: Vec<usize> = (0..20).filter(|&i| matches!(results[i], Ok(Some(_)))).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(results.iter().all(Result::is_ok), "latecomers are answered, not failed: {results:?}");
    let stored = store.read_blocking(|c| users::get(c, &user.id)).unwrap();
    assert_eq!(stored.password_hash, Some(format!("hash-{}", winners[0])));
    assert_eq!(stored.meta.version, 2, "one write of the user");
    let links = store.read_blocking(|c| password_resets::of_user(c, &user.id)).unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].used_at, Some(now));
}

fn a_link_is_spent_by_expiry_a_newer_link_or_a_disabled_user(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    let (first, second, expired) = (
        PlainSecret::generate().unwrap(),
        PlainSecret::generate().unwrap(),
        PlainSecret::generate().unwrap(),
    );
    let (first, second, expired) = (first.hash(), second.hash(), expired.hash());
    let (alice, bob) = store
        .write_blocking(|c| {
            let alice = users::insert(c, User::new("alice"), now)?.id;
            let bob = users::insert(c, User::new("bob"), now)?.id;
            issue(c, &alice, &first, now + TimeDelta::hours(1), now)?;
            issue(c, &alice, &second, now + TimeDelta::hours(1), now)?;
            issue(c, &bob, &expired, now - TimeDelta::seconds(1), now - TimeDelta::hours(1))?;
            Ok::<_, StoreError>((alice, bob))
        })
        .unwrap();
    let live = |hash| store.read_blocking(|c| password_resets::live_user(c, hash, now)).unwrap();
    assert_eq!(live(&first), None, "a newer link revokes the one before");
    assert_eq!(live(&second), Some(alice.clone()));
    assert_eq!(live(&expired), None);
    let redeem = |hash| store.write_blocking(|c| reset_password(c, hash, "new".into(), now)).unwrap();
    assert!(redeem(&first).is_none());
    assert!(redeem(&expired).is_none());
    assert_eq!(store.read_blocking(|c| users::get(c, &bob)).unwrap().password_hash, None);
    // Issuing for a user who is not there is refused.
    let ghost = store.write_blocking(|c| issue(c, "ghost", &first, now + TimeDelta::hours(1), now));
    assert!(matches!(ghost, Err(StoreError::NotFound)), "{ghost:?}");
    // A disabled user's link sets nothing.
    store
        .write_blocking(|c| {
            let mut user = users::get(c, &alice)?;
            user.active = false;
            users::update(c, user, None, now)
        })
        .unwrap();
    assert!(redeem(&second).is_none());
    assert_eq!(store.read_blocking(|c| users::get(c, &alice)).unwrap().password_hash, None);
    // A removed user takes their links along.
    store.write_blocking(|c| users::delete(c, &alice, now)).unwrap();
    assert!(store.read_blocking(|c| password_resets::of_user(c, &alice)).unwrap().is_empty());
    assert!(copy::TABLES.iter().any(|t| t.name == "password_resets"));
}

fn redeeming_a_link_ends_the_users_sessions(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    let hash = PlainSecret::generate().unwrap().hash();
    let user = store
        .write_blocking(|c| {
            let user = users::insert(c, User::new("alice"), now)?.id;
            let session = Session {
                id_hash: "session-1".into(),
                user_id: user.clone(),
                auth_time: now,
                amr: "pwd".into(),
                created: now,
                expires_at: now + TimeDelta::hours(8),
                ended_at: None,
            };
            grants::insert_session(c, &session)?;
            issue(c, &user, &hash, now + TimeDelta::hours(1), now)?;
            Ok::<_, StoreError>(user)
        })
        .unwrap();
    let set = store.write_blocking(|c| reset_password(c, &hash, "new".into(), now)).unwrap();
    assert_eq!(set.map(|u| u.id), Some(user));
    assert!(store.read_blocking(|c| grants::live_session(c, "session-1", now)).unwrap().is_none());
}
