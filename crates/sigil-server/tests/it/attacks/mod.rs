//! Sigil tried as an attacker would: a registered client, a signed-in user
//! or a provisioning token, each reaching for more than it was given. One
//! module per class of attack; every test runs against the real server on
//! SQLite and PostgreSQL.
//!
//! - `exchange`: token exchange as a way up — another client's refresh and
//!   ID tokens, scopes beyond the client's own, actors that are not the
//!   caller, trusted issuers that fail open, lifetimes that grow;
//! - `audience`: a token for one API presented at another;
//! - `clients`: another client's codes, credentials in the wrong place,
//!   authentication schemes in any letter case;
//! - `principals`: deactivated, deleted and demoted principals whose tokens
//!   still look valid, and rights per group handed to oneself;
//! - `forms`: the browser's forms — lockout by concurrency, logout and
//!   consent CSRF, repeated and control-character parameters, sessions
//!   left live, cookie prefixes and form-action;
//! - `races`: one-time values consumed concurrently;
//! - `input`: passwords, secrets and URLs a hostile client sends.

mod audience;
mod clients;
mod exchange;
mod forms;
mod input;
mod principals;
mod races;

use serde_json::Value;

use crate::cli;
use crate::oidc::RP;

/// The claims of a JWT, unverified (the server's own checks are under test).
pub(crate) fn claims(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap())
        .unwrap()
}

/// Registers a confidential client with `args` on top of its id; returns
/// its secret.
pub(crate) fn client(db: &sigil_testkit::TestDb, id: &str, args: &[&str]) -> String {
    let mut all = vec!["client", "add", "--id", id];
    all.extend_from_slice(args);
    let out = cli(db, &all);
    out.lines().find_map(|l| l.strip_prefix("client_secret: ")).unwrap().to_owned()
}

/// A relying party that signs users in without asking for consent, with
/// the given scopes registered.
pub(crate) fn relying_party(db: &sigil_testkit::TestDb, id: &str, scopes: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "--redirect-uri",
        RP,
        "--skip-consent",
        "--grant-type",
        "authorization_code",
        "--grant-type",
        "refresh_token",
        "--scope",
        scopes,
    ];
    args.extend_from_slice(extra);
    client(db, id, &args)
}
