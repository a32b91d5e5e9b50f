//! Many writers on one store: none fails with a lock error, none is lost.

use std::thread;

use sigil_store::groups::{self, Member};
use sigil_store::users::{self, User};
use sigil_testkit::{TestDb, backend_tests};

backend_tests!(concurrent_read_then_write_transactions_all_commit);

/// Four threads each run read-then-write transactions against one group.
/// On SQLite a plain `BEGIN` loses most of these to "database is locked";
/// the store's write transactions take the lock up front and queue instead.
fn concurrent_read_then_write_transactions_all_commit(db: &TestDb) {
    let store = crate::open(db);
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
