//! `sigil copy` and `sigil backup` with the real binary: a store filled
//! through a running server moves to PostgreSQL, and the server started
//! there signs with the same keys, accepts the tokens issued before the
//! move and serves the same SCIM resources; a live SQLite store's backup
//! is a store a server starts on; refusals print one line and write
//! nothing.

use openidconnect::PkceCodeChallenge;
use serde_json::{Value, json};
use sigil_testkit::process::Server;
use sigil_testkit::{Backend, TestDb, backend_tests};
use url::Url;

use crate::lifecycle::Rp;
use crate::oidc::{PASSWORD, RP, browser, code_from, rp_http, setup, sign_in};
use crate::scim::Scim;
use crate::{cli, cli_fails};

backend_tests!(
    copy_refuses_a_target_with_rows_a_bad_url_and_itself,
    backup_of_a_live_store_is_a_store_a_server_starts_on,
    backup_refuses_an_existing_file,
);

const SCOPE: &str = "openid profile email offline_access";

/// What a store filled through a running server holds, as its clients
/// see it: tokens issued, a SCIM user and its ETag, the published keys.
struct Issued {
    secret: String,
    access: String,
    refresh: String,
    scim_token: String,
    scim_user: String,
    etag: String,
    body: Value,
    jwks: Value,
}

/// Fills `db` through a server: alice signs in to `web` with the code
/// flow and PKCE and gets a refresh token; a provisioning client creates
/// a SCIM user. Returns what was issued and the port the server used.
fn populate(db: &TestDb) -> (Issued, u16) {
    let secret = setup(db);
    cli(db, &["client", "update", "--id", "web", "--scope", SCOPE, "--require-pkce", "true"]);
    let server = Server::start(crate::bin(), db, &[]);
    let web = Rp { server: &server, http: rp_http(), id: "web", secret: secret.clone() };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let params = [
        ("client_id", "web"),
        ("redirect_uri", RP),
        ("response_type", "code"),
        ("scope", SCOPE),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let url = Url::parse_with_params(&server.url("/authorize"), &params).unwrap();
    let code = code_from(&sign_in(&server, &browser(), url.as_str(), PASSWORD));
    let (status, tokens) = web.post(
        "/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", RP),
            ("code_verifier", verifier.secret()),
        ],
    );
    assert_eq!(status, 200, "{tokens}");
    let scim_token = crate::scim::token(db, &server, "provisioner", "scim:read scim:write");
    let scim = Scim { server: &server, http: rp_http(), token: scim_token.clone() };
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
        "addresses": [{"locality": "Hollywood", "country": "US"}],
    });
    let (status, _, created) = scim.send("POST", "/Users", Some(&user), &[]);
    assert_eq!(status, 201, "{created}");
    let scim_user = created["id"].as_str().unwrap().to_owned();
    let (status, headers, body) = scim.get(&format!("/Users/{scim_user}"));
    assert_eq!(status, 200, "{body}");
    let issued = Issued {
        secret,
        access: tokens["access_token"].as_str().unwrap().to_owned(),
        refresh: tokens["refresh_token"].as_str().expect("offline_access").to_owned(),
        scim_token,
        scim_user,
        etag: headers["etag"].to_str().unwrap().to_owned(),
        body,
        jwks: jwks(&server),
    };
    (issued, server.addr.port())
}

fn jwks(server: &Server) -> Value {
    rp_http().get(server.url("/jwks")).send().unwrap().json().unwrap()
}

/// A server on `db` at `port`: the issuer, `http://127.0.0.1:<port>`, is
/// the one the tokens were issued by.
fn restart(db: &TestDb, port: u16, env: &[(&str, &str)]) -> Server {
    let bind = format!("127.0.0.1:{port}");
    let mut all = vec![("SIGIL_BIND", bind.as_str())];
    all.extend_from_slice(env);
    Server::start(crate::bin(), db, &all)
}

/// The server on the moved store honours everything issued before the
/// move and works as the old one did.
fn check_moved(server: &Server, issued: &Issued) {
    assert_eq!(jwks(server), issued.jwks, "the same signing keys");
    let web = Rp { server, http: rp_http(), id: "web", secret: issued.secret.clone() };
    assert_eq!(web.userinfo(&issued.access), 200, "an access token issued before the move");
    let (status, refreshed) =
        web.post("/token", &[("grant_type", "refresh_token"), ("refresh_token", &issued.refresh)]);
    assert_eq!(status, 200, "a refresh token issued before the move: {refreshed}");
    assert_eq!(web.userinfo(refreshed["access_token"].as_str().unwrap()), 200);
    let (status, body) =
        web.post("/token", &[("grant_type", "refresh_token"), ("refresh_token", &issued.refresh)]);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "rotated: used once");

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let params = [
        ("client_id", "web"),
        ("redirect_uri", RP),
        ("response_type", "code"),
        ("scope", SCOPE),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let url = Url::parse_with_params(&server.url("/authorize"), &params).unwrap();
    let code = code_from(&sign_in(server, &browser(), url.as_str(), PASSWORD));
    let (status, fresh) = web.post(
        "/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", RP),
            ("code_verifier", verifier.secret()),
        ],
    );
    assert_eq!(status, 200, "a new sign-in: {fresh}");
    assert_eq!(web.userinfo(fresh["access_token"].as_str().unwrap()), 200);

    let scim = Scim { server, http: rp_http(), token: issued.scim_token.clone() };
    let (status, headers, body) = scim.get(&format!("/Users/{}", issued.scim_user));
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["etag"].to_str().unwrap(), issued.etag, "the same version");
    assert_eq!(body, issued.body, "the same resource");
}

/// The case: a SQLite store filled through the server moves to
/// PostgreSQL with `sigil copy`, and a server on PostgreSQL carries on.
#[test]
fn sqlite_store_moves_to_postgres_and_the_server_carries_on() {
    let Some(target) = TestDb::postgres() else { return };
    let source = TestDb::sqlite();
    let (issued, port) = populate(&source);
    let out = cli(&source, &["copy", "--to", target.url()]);
    assert!(out.starts_with("copied "), "{out}");
    let rows = |table: &str| -> u64 {
        let line = out.lines().find(|l| l.split_whitespace().next() == Some(table)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    assert_eq!(rows("users"), 2, "{out}");
    assert!(rows("signing_keys") >= 1 && rows("refresh_tokens") >= 1 && rows("server_secrets") >= 1, "{out}");
    let server = restart(&target, port, &[]);
    check_moved(&server, &issued);
}

/// And back: the same code path from PostgreSQL to SQLite, with `--json`.
#[test]
fn postgres_store_moves_to_sqlite() {
    let Some(source) = TestDb::postgres() else { return };
    let (issued, port) = populate(&source);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("moved.db");
    let out = cli(&source, &["copy", "--to", file.to_str().unwrap(), "--json"]);
    let report: Value = serde_json::from_str(&out).unwrap();
    // The fields docs/operations.md lists.
    let mut fields: Vec<&str> = report.as_object().unwrap().keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["from", "rows", "tables", "to"], "{report}");
    assert_eq!(report["tables"]["users"], 2, "{report}");
    let total: u64 = report["tables"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(report["rows"], total, "{report}");
    assert!(!report["from"].as_str().unwrap().is_empty());
    assert_eq!(report["to"], format!("sqlite:{}", file.display()));
    let target = TestDb::sqlite();
    let file = file.to_str().unwrap();
    let server = restart(&target, port, &[("SIGIL_DATABASE_URL", file)]);
    check_moved(&server, &issued);
}

fn copy_refuses_a_target_with_rows_a_bad_url_and_itself(db: &TestDb) {
    setup(db);
    let target = TestDb::on(db.backend()).unwrap();
    cli(&target, &["migrate"]);
    cli(&target, &["client", "add", "--id", "there", "--redirect-uri", RP]);
    let before = cli(&target, &["client", "list"]);
    let ran = cli_fails(db, 1, &["copy", "--to", target.url()]);
    assert!(ran.stderr.contains("is not empty (table clients has rows)"), "{}", ran.stderr);
    assert_eq!(cli(&target, &["client", "list"]), before, "nothing written");
    assert!(!cli(&target, &["user", "list"]).contains("alice"));

    let ran = cli_fails(db, 1, &["copy", "--to", "mysql://db.example.com/sigil"]);
    assert!(ran.stderr.contains("unsupported scheme `mysql`"), "{}", ran.stderr);
    let ran = cli_fails(db, 1, &["copy", "--to", "postgres://sigil:hunter2@127.0.0.1:1/sigil"]);
    assert!(ran.stderr.contains("postgres://sigil:***@127.0.0.1:1/sigil"), "{}", ran.stderr);
    assert!(!ran.stderr.contains("hunter2"), "{}", ran.stderr);
    let ran = cli_fails(db, 1, &["copy", "--to", db.url()]);
    assert!(ran.stderr.contains("is the configured database itself"), "{}", ran.stderr);
    let ran = cli_fails(db, 2, &["copy"]);
    assert!(ran.stderr.contains("--to"), "{}", ran.stderr);
}

fn backup_of_a_live_store_is_a_store_a_server_starts_on(db: &TestDb) {
    let (issued, port) = populate(db);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.db");
    let file_arg = file.to_str().unwrap();
    if db.backend() == Backend::Postgres {
        let ran = cli_fails(db, 1, &["backup", file_arg]);
        assert!(ran.stderr.contains("pg_dump"), "{}", ran.stderr);
        assert!(!file.exists());
        return;
    }
    // Taken while a server runs on the store and writes to it.
    let live = restart(db, port, &[]);
    let web = Rp { server: &live, http: rp_http(), id: "web", secret: issued.secret.clone() };
    assert_eq!(web.userinfo(&issued.access), 200);
    let out = cli(db, &["backup", file_arg]);
    assert_eq!(out.trim(), format!("backed up sqlite:{} to {file_arg}", db.url()));
    drop(live);
    let backup_db = TestDb::sqlite();
    let server = restart(&backup_db, port, &[("SIGIL_DATABASE_URL", file_arg)]);
    check_moved(&server, &issued);
}

fn backup_refuses_an_existing_file(db: &TestDb) {
    setup(db);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.db");
    std::fs::write(&file, b"precious").unwrap();
    let ran = cli_fails(db, 1, &["backup", file.to_str().unwrap()]);
    let expected = match db.backend() {
        Backend::Sqlite => "exists; a backup goes to a new file",
        Backend::Postgres => "pg_dump",
    };
    assert!(ran.stderr.contains(expected), "{}", ran.stderr);
    assert_eq!(std::fs::read(&file).unwrap(), b"precious");
}
