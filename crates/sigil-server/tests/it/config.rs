//! Bad configuration stops the binary with exit status 2 and one line that
//! names the key.

use sigil_testkit::TestDb;
use sigil_testkit::process::{run, sigil};

#[test]
fn bad_environment_value_exits_2_naming_the_key() {
    let db = TestDb::sqlite();
    for (var, value, key) in [
        ("SIGIL_BIND", "localhost", "`bind`"),
        ("SIGIL_ISSUER", "https://id.example.com/#frag", "`issuer`"),
        ("SIGIL_DATABASE_URL", "mysql://root@db/sigil", "`database.url`"),
        ("SIGIL_DATABASE_POOL_SIZE", "lots", "`database.pool_size`"),
        ("SIGIL_LOG_FORMAT", "xml", "`log.format`"),
        ("SIGIL_HTTP_TRUSTED_PROXIES", "10.0.0.1/8", "`http.trusted_proxies`"),
        ("SIGIL_METRICS_LISTEN", "9090", "`metrics.listen`"),
        // One of the pair alone: the message names the missing one.
        ("SIGIL_TLS_CERT_FILE", "cert.pem", "`tls.key_file`"),
    ] {
        let mut command = sigil(crate::bin(), &db);
        command.arg("serve").env(var, value);
        let ran = run(command);
        assert_eq!(ran.status.code(), Some(2), "{var}={value}: {}", ran.stderr);
        assert_eq!(ran.stderr.trim_end().lines().count(), 1, "{:?}", ran.stderr);
        assert!(ran.stderr.contains(key) && ran.stderr.contains(var), "{var}: {}", ran.stderr);
    }
}

#[test]
fn bad_file_value_exits_2_naming_the_key() {
    let db = TestDb::sqlite();
    let dir = db.dir().unwrap();
    for (text, key) in [
        ("[database]\npool_size = \"eight\"\n", "`database.pool_size`"),
        ("listen = \"127.0.0.1:1\"\n", "`listen`"),
        ("bind = \"127.0.0.1:99999\"\n", "`bind`"),
    ] {
        let path = dir.join("bad.toml");
        std::fs::write(&path, text).unwrap();
        let mut command = sigil(crate::bin(), &db);
        command.args(["--config", path.to_str().unwrap(), "migrate"]);
        let ran = run(command);
        assert_eq!(ran.status.code(), Some(2), "{text}: {}", ran.stderr);
        assert!(ran.stderr.contains(key), "{text}: {}", ran.stderr);
        assert_eq!(ran.stderr.trim_end().lines().count(), 1, "{:?}", ran.stderr);
    }
}

#[test]
fn reference_and_example_configs_are_valid() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let db = TestDb::sqlite();
    let mut checked = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let mut command = sigil(crate::bin(), &db);
            // The database URL is overridden so the check needs no server.
            command.args(["--config", path.to_str().unwrap(), "migrate"]);
            let ran = run(command);
            assert!(ran.status.success(), "{}: {}", path.display(), ran.stderr);
            checked += 1;
        }
    }
    assert!(checked >= 3, "reference, development and production files: found {checked}");
}

#[test]
fn unusable_database_fails_with_its_real_cause() {
    let db = TestDb::sqlite();
    let mut command = sigil(crate::bin(), &db);
    command.args(["user", "list"]).env("SIGIL_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none");
    let ran = run(command);
    assert_eq!(ran.status.code(), Some(1));
    assert!(ran.stderr.contains("cannot connect to postgres://nobody@127.0.0.1:1/none"), "{}", ran.stderr);
    assert_eq!(ran.stderr.trim_end().lines().count(), 1, "{:?}", ran.stderr);
}
