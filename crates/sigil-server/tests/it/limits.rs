//! Limits that keep one node standing: start-up that does no needless work
//! on an existing database.

use std::time::Duration;

use sigil_testkit::process::{Server, run, sigil};
use sigil_testkit::{TestDb, backend_tests};

backend_tests!(a_second_start_creates_no_signing_keys);

/// Keys are generated only when missing: a restart on an existing key set
/// generates none (RSA keys cost hundreds of milliseconds each) and says so.
fn a_second_start_creates_no_signing_keys(db: &TestDb) {
    let keys = || {
        let mut command = sigil(crate::bin(), db);
        command.args(["keys", "list"]);
        run(command).stdout
    };
    let first = Server::start(crate::bin(), db, &[]);
    let logs = logs_with(&first, "signing keys");
    assert!(logs.contains("created signing keys"), "{logs}");
    drop(first);
    let listed = keys();
    let second = Server::start(crate::bin(), db, &[]);
    let logs = logs_with(&second, "signing keys");
    assert!(logs.contains("signing keys in place, none created"), "{logs}");
    assert!(!logs.contains("created signing keys"), "{logs}");
    drop(second);
    assert_eq!(keys(), listed, "a restart keeps the key set as it was");
}

/// The server's log once it holds `text` (stderr is read by another thread,
/// so a line written before start-up finished may arrive a moment later).
fn logs_with(server: &Server, text: &str) -> String {
    for _ in 0..250 {
        let logs = server.logs();
        if logs.contains(text) {
            return logs;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    server.logs()
}
