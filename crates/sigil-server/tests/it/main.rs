//! End-to-end tests of the `sigil` binary: its commands as an operator types
//! them, and the HTTP server on an ephemeral port, on SQLite and PostgreSQL.

mod admin;
mod api_tokens;
mod attacks;
mod audit;
mod authlib;
mod basic_op;
mod cli;
mod cli_json;
mod cli_ops;
mod config;
mod copy;
mod deploy;
mod docs;
mod exchange;
mod lifecycle;
mod limits;
mod metrics;
mod oauth;
mod oidc;
mod openapi;
mod password_reset;
mod policy;
mod proxies;
mod python;
mod roles;
mod scim;
mod scim_bulk;
mod scim_clients;
mod scim_cursor;
mod scim_details;
mod scim_group_patch;
mod scim_groups;
mod scim_patch;
mod scim_race;
mod scim_testers;
mod server;
mod tls;

use std::path::Path;

/// The binary under test.
pub(crate) fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_sigil"))
}

/// Runs `sigil args...` against `db`; it must succeed. Returns its stdout.
pub(crate) fn cli(db: &sigil_testkit::TestDb, args: &[&str]) -> String {
    let mut command = sigil_testkit::process::sigil(bin(), db);
    command.args(args);
    let ran = sigil_testkit::process::run(command);
    assert!(ran.status.success(), "sigil {args:?}: {}", ran.stderr);
    ran.stdout
}

/// Runs `sigil args...` against `db`; it must fail with exit status `code`,
/// and with one line on stderr when refusing (status 1).
pub(crate) fn cli_fails(db: &sigil_testkit::TestDb, code: i32, args: &[&str]) -> sigil_testkit::process::Ran {
    let mut command = sigil_testkit::process::sigil(bin(), db);
    command.args(args);
    let ran = sigil_testkit::process::run(command);
    assert_eq!(ran.status.code(), Some(code), "sigil {args:?}: {}{}", ran.stdout, ran.stderr);
    if code == 1 {
        assert_eq!(ran.stderr.trim_end().lines().count(), 1, "one line of reason: {:?}", ran.stderr);
        assert!(ran.stderr.starts_with("error: "), "{:?}", ran.stderr);
    }
    ran
}
