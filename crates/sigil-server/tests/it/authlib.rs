//! A relying party nobody on the project wrote: Python's Authlib, through
//! `conformance/authlib-rp/rp.py`, signs in through the forms, validates
//! the ID token, calls userinfo and refreshes against the running server.
//!
//! The pinned packages are installed into a virtual environment under the
//! build directory on first use (`SIGIL_TEST_PYTHON` names a Python that
//! already has them).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use sigil_testkit::process::Server;
use sigil_testkit::{TestDb, backend_tests};

use crate::cli;
use crate::oidc::{PASSWORD, RP, setup};

backend_tests!(authlib_signs_in_validates_the_id_token_and_refreshes);

fn rp_dir() -> PathBuf {
    crate::python::conformance("authlib-rp")
}

/// A Python interpreter with `requirements.txt` installed.
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        if let Some(given) = std::env::var_os("SIGIL_TEST_PYTHON") {
            return PathBuf::from(given);
        }
        crate::python::venv("authlib-venv", &rp_dir().join("requirements.txt")).join("python")
    })
}

fn authlib_signs_in_validates_the_id_token_and_refreshes(db: &TestDb) {
    setup(db);
    // A client that is shown the consent page, as most third-party apps are.
    let out = cli(db, &["client", "add", "--id", "authlib", "--name", "Authlib RP", "--redirect-uri", RP]);
    let secret = out.lines().find_map(|l| l.strip_prefix("client_secret: ")).unwrap().to_owned();
    let server = Server::start(crate::bin(), db, &[]);
    let issuer = format!("http://{}", server.addr);
    let run = |secret: &str, password: &str| {
        Command::new(python())
            .arg(rp_dir().join("rp.py"))
            .arg(format!("--issuer={issuer}"))
            .arg("--client-id=authlib")
            .arg(format!("--client-secret={secret}"))
            .arg(format!("--redirect-uri={RP}"))
            .arg("--username=alice")
            .arg(format!("--password={password}"))
            .output()
            .unwrap()
    };
    let out = run(&secret, PASSWORD);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the Authlib relying party failed:\n{stdout}{stderr}");
    for step in ["ok discovery", "ok login", "ok token", "ok userinfo", "ok refresh"] {
        assert!(stdout.lines().any(|l| l.starts_with(step)), "missing `{step}` in:\n{stdout}");
    }

    // The script is a real check: it fails on a wrong password or secret.
    let wrong = run(&secret, "not the password");
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("FAIL login"));
    let wrong = run("not-the-secret", PASSWORD);
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("invalid_client"));
}
