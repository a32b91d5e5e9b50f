//! `sigil serve` on an ephemeral port: health, readiness, request logs,
//! first-start defaults and graceful shutdown.

use std::process::Command;
use std::time::Duration;

use sigil_testkit::process::{Server, run, sigil};
use sigil_testkit::{TestDb, backend_tests};

backend_tests!(
    health_and_readiness_answer,
    first_start_creates_signing_keys_once,
    sigterm_stops_the_server_cleanly
);

fn get(url: &str) -> reqwest::blocking::Response {
    reqwest::blocking::Client::new().get(url).timeout(Duration::from_secs(10)).send().unwrap()
}

fn health_and_readiness_answer(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let health = get(&server.url("/healthz"));
    assert_eq!(health.status(), 200);
    assert!(health.headers().contains_key("x-request-id"));
    assert_eq!(health.json::<serde_json::Value>().unwrap()["status"], "ok");
    let ready = get(&server.url("/readyz"));
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<serde_json::Value>().unwrap()["status"], "ready");
    assert_eq!(get(&server.url("/no-such-path")).status(), 404);
}

fn first_start_creates_signing_keys_once(db: &TestDb) {
    let keys = || {
        let mut command = sigil(crate::bin(), db);
        command.args(["keys", "list"]);
        run(command).stdout
    };
    drop(Server::start(crate::bin(), db, &[]));
    let first = keys();
    for alg in ["RS256", "PS256", "ES256", "EdDSA"] {
        let of_alg = |state: &str| {
            first.lines().filter(|l| l.contains(&format!(" {alg} ")) && l.contains(state)).count()
        };
        assert_eq!((of_alg(" active "), of_alg(" next ")), (1, 1), "{alg}: {first}");
    }
    drop(Server::start(crate::bin(), db, &[]));
    assert_eq!(keys(), first, "a restart keeps the key set");
}

fn sigterm_stops_the_server_cleanly(db: &TestDb) {
    let mut server = Server::start(crate::bin(), db, &[("SIGIL_SHUTDOWN_TIMEOUT_SECONDS", "5")]);
    assert_eq!(get(&server.url("/healthz")).status(), 200);
    let status = server.terminate(Duration::from_secs(15)).expect("the server stopped within 15 s");
    assert!(status.success(), "exit status {status:?}");
    assert!(server.logs().contains("sigil stopped"), "{}", server.logs());
}

/// With no file and no environment (but a free port), the server keeps its
/// data in ./sigil.db and issues for http://127.0.0.1:<port>.
#[test]
fn starts_with_no_configuration_on_sigil_db_in_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(crate::bin());
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("SIGIL_")) {
        command.env_remove(name);
    }
    command.current_dir(dir.path()).args(["serve"]).env("SIGIL_BIND", "127.0.0.1:0");
    let server = Server::start_command(command, &[]);
    assert_eq!(get(&server.url("/healthz")).status(), 200);
    assert!(dir.path().join("sigil.db").exists(), "the embedded database was created");
    assert!(
        server.logs().contains(&format!("issuer=http://{} ", server.addr)),
        "the default issuer follows the bound address: {}",
        server.logs()
    );
}

/// Requests are logged with id, method, path, status and latency; query
/// strings, which can carry secrets, are not.
#[test]
fn requests_are_logged_without_query_strings() {
    let db = TestDb::sqlite();
    let server = Server::start(crate::bin(), &db, &[("SIGIL_LOG_FORMAT", "json")]);
    let response = reqwest::blocking::Client::new()
        .get(server.url("/healthz?client_secret=hunter2-secret&code=abc"))
        .header("x-request-id", "trace-me-42")
        .send()
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me-42");
    // The line is written after the response; give it a moment.
    let mut logs = String::new();
    for _ in 0..50 {
        logs = server.logs();
        if logs.contains("trace-me-42") {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let line = logs
        .lines()
        .find(|l| l.contains("trace-me-42"))
        .unwrap_or_else(|| panic!("no request line in {logs}"));
    let entry: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(entry["status"], 200, "{line}");
    assert!(entry["latency_ms"].is_number(), "{line}");
    assert_eq!(entry["span"]["method"], "GET", "{line}");
    assert_eq!(entry["span"]["path"], "/healthz", "{line}");
    assert!(!logs.contains("hunter2"), "a query string reached the log: {logs}");
}

/// `/readyz` turns 503 when the database goes away while `/healthz` stays 200.
#[test]
fn readiness_fails_when_the_database_is_gone() {
    let Some(db) = TestDb::postgres() else { return };
    let server = Server::start(crate::bin(), &db, &[("SIGIL_DATABASE_CONNECT_TIMEOUT_SECONDS", "1")]);
    assert_eq!(get(&server.url("/readyz")).status(), 200);
    drop(db); // drops the database, ending the server's connections
    assert_eq!(get(&server.url("/readyz")).status(), 503);
    assert_eq!(get(&server.url("/healthz")).status(), 200);
}
