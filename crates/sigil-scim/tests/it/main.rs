//! Tests of the SCIM crate against real stores: every test in a
//! `backend_tests!` list runs on a fresh SQLite file and on a fresh
//! PostgreSQL database.

mod filters;

use sigil_store::{DatabaseUrl, PoolOptions, Store};
use sigil_testkit::TestDb;

/// Opens and migrates the store in `db`.
pub(crate) fn open(db: &TestDb) -> Store {
    let url = DatabaseUrl::parse(db.url()).expect("test URL parses");
    let store = Store::open(&url, &PoolOptions::default()).expect("store opens");
    store.migrate().expect("migrations apply");
    store
}
