//! Tests of the provider's domain core against a real store, on a fresh
//! SQLite file and a fresh PostgreSQL database each (`backend_tests!`).

mod api_tokens;
mod keys;

use sigil_store::{DatabaseUrl, PoolOptions, Store};
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

/// Runs `f` to completion on a runtime of its own, as a node's start-up does.
pub(crate) fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime builds").block_on(f)
}
