//! Many writers on one store: none fails with a lock error, none is lost.

use std::thread;

use chrono::TimeDelta;
use sigil_store::grants;

use sigil_store::groups::{self, Member};
use sigil_store::throttle::{self, Limit};
use sigil_store::users::{self, User};
use sigil_store::{Store, StoreError};
use sigil_testkit::{TestDb, backend_tests};

use crate::support;

backend_tests!(
    concurrent_read_then_write_transactions_all_commit,
    concurrent_attempts_never_exceed_the_limit,
    concurrent_nodes_agree_on_one_server_secret,
);

/// Four threads each run read-then-write transactions against one group.
/// On SQLite a plain `BEGIN` loses most of these to "database is locked";
/// the store's write transactions take the lock up front and queue instead.
fn concurrent_read_then_write_transactions_all_commit(db: &TestDb) {
    let store = support::open(db);
    let group = store.write_blocking(|c| groups::find_or_create(c, "crowd", store.now())).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let store = store.clone();
            let group_id = group.id.clone();
            thread::spawn(move || {
                for i in 0..25 {
                    store
                        .write_blocking(|c| {
                            let user = users::insert(c, User::new(format!("t{t}-u{i}")), store.now())?;
                            groups::add_member(c, &group_id, &Member::User(user.id), store.now())
                        })
                        .unwrap_or_else(|e| panic!("thread {t} write {i}: {e}"));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(store.read_blocking(users::count).unwrap(), 100);
    assert_eq!(store.read_blocking(|c| groups::members(c, &group.id)).unwrap().len(), 100);
    assert_eq!(store.read_blocking(|c| groups::get(c, &group.id)).unwrap().meta.version, 101);
}

/// Counts an attempt the way a caller must: again after a conflict on the
/// key's first row.
fn reserve(store: &Store, key: &str, limit: &Limit) -> Option<throttle::Reserved> {
    for _ in 0..5 {
        match store.write_blocking(|c| throttle::reserve(c, key, store.now(), limit)) {
            Err(StoreError::Conflict(_)) => {}
            other => return other.unwrap(),
        }
    }
    panic!("the first attempt kept conflicting");
}

/// Forty attempts on one key at once: exactly the allowed five are counted,
/// the rest find the key locked; a released attempt lifts the lock it set.
fn concurrent_attempts_never_exceed_the_limit(db: &TestDb) {
    let store = support::open(db);
    let limit = Limit { allowed: 5, window: TimeDelta::minutes(15), first_lock: TimeDelta::seconds(30) };
    let results = support::race(&store, 40, |store, _| reserve(store, "account:x", &limit));
    let granted: Vec<_> = results.into_iter().flatten().collect();
    assert_eq!(granted.len(), 5, "{granted:?}");
    assert!(reserve(&store, "account:x", &limit).is_none(), "locked");
    // The fifth attempt set the lock; giving it back lifts it.
    for reserved in &granted {
        store.write_blocking(|c| throttle::release(c, reserved)).unwrap();
    }
    assert!(reserve(&store, "account:x", &limit).is_some(), "released");
    store.write_blocking(|c| throttle::clear(c, "account:x")).unwrap();
}

/// Nodes racing to create the form key, each on its own store: one secret
/// is kept, every loser is told so by a conflict, and all of them read the
/// kept one back.
fn concurrent_nodes_agree_on_one_server_secret(db: &TestDb) {
    support::open(db);
    let results = support::race_nodes(db, 8, |store, i| {
        let mine = format!("secret-{i}");
        let created = store.write_blocking(|c| grants::create_server_secret(c, "forms", &mine, store.now()));
        (created, store.read_blocking(|c| grants::server_secret(c, "forms")).unwrap().unwrap())
    });
    let (created, kept): (Vec<_>, Vec<_>) = results.into_iter().unzip();
    let winner = support::one_winner(&created, |e| matches!(e, StoreError::Conflict(_)));
    for (i, kept) in kept.iter().enumerate() {
        assert_eq!(kept, &format!("secret-{winner}"), "node {i}: {created:?}");
    }
}
