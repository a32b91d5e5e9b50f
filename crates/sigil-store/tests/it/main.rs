//! Store tests. Every test in the `backend_tests!` lists runs twice, on a
//! fresh SQLite file and on a fresh PostgreSQL database.

mod admin_grants;
mod clients;
mod concurrency;
mod crash;
mod groups;
mod indexes;
mod keys;
mod schema;
mod tokens;
mod users;
mod versions;
mod writer;

use sigil_store::{DatabaseUrl, PoolOptions, Store};
use sigil_testkit::TestDb;

/// Opens and migrates the store in `db`.
pub(crate) fn open(db: &TestDb) -> Store {
    let url = DatabaseUrl::parse(db.url()).expect("test URL parses");
    let store = Store::open(&url, &PoolOptions::default()).expect("store opens");
    store.migrate().expect("migrations apply");
    store
}
