//! OAuth clients are kept whole, lists included.

use sigil_store::clients;
use sigil_store::{StoreError, Unique};
use sigil_testkit::{TestDb, backend_tests};

use crate::support;

backend_tests!(client_round_trips, client_id_is_unique, concurrent_updates_of_one_client_both_land);

fn client_round_trips(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    let written = store.write_blocking(|c| clients::insert(c, support::client("web", now), now)).unwrap();
    let read = store.read_blocking(|c| clients::get(c, "web")).unwrap();
    assert_eq!(read, written);
    assert!(read.secret_hash.unwrap().matches(&"x".repeat(43)));
    assert_eq!(store.read_blocking(clients::list).unwrap().len(), 1);
}

fn client_id_is_unique(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    store.write_blocking(|c| clients::insert(c, support::client("web", now), now)).unwrap();
    let err = store.write_blocking(|c| clients::insert(c, support::client("web", now), now)).unwrap_err();
    assert!(matches!(err, StoreError::Conflict(Unique::ClientId)), "{err:?}");
}

/// Two read-modify-writes of one client, the second reading while the
/// first holds its copy: under the row lock the second waits and reads the
/// first's change, so neither change is lost (READ COMMITTED would lose
/// one without it; SQLite's single writer serializes them anyway).
fn concurrent_updates_of_one_client_both_land(db: &TestDb) {
    use std::sync::{Arc, Barrier};
    let store = support::open(db);
    let now = store.now();
    store.write_blocking(|c| clients::insert(c, support::client("web", now), now)).unwrap();
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
