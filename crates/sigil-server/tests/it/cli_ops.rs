//! `sigil --version` and the day-to-day operator commands: showing,
//! disabling, enabling, removing users and setting their passwords, and
//! managing groups. Refusals print one line and change nothing.

use std::io::Write;
use std::process::{Command, Stdio};

use sigil_testkit::process::{Ran, Server, run, sigil};
use sigil_testkit::{TestDb, backend_tests};

use crate::cli;
use crate::lifecycle::Rp;
use crate::oidc::{PASSWORD, browser, rp_http, setup};

backend_tests!(
    user_show_prints_one_user_and_refuses_an_unknown_one,
    disabled_user_loses_their_tokens_and_enabled_signs_in_again,
    removed_user_loses_their_tokens,
    set_password_applies_the_policy_and_the_user_signs_in_with_it,
    user_commands_refuse_unknown_users_and_bad_usage,
    groups_are_added_listed_filled_emptied_and_removed,
    group_commands_refuse_unknown_names_and_bad_usage,
    log_level_is_validated_like_every_other_key,
    a_listing_into_a_closed_pipe_ends_quietly,
);

const SCOPE: &str = "openid profile offline_access";

fn sigil_in(db: &TestDb, args: &[&str]) -> Command {
    let mut command = sigil(crate::bin(), db);
    command.args(args);
    command
}

/// Runs `sigil args...`; it must fail with `code` and one line on stderr.
fn fails(db: &TestDb, code: i32, args: &[&str]) -> Ran {
    let ran = run(sigil_in(db, args));
    assert_eq!(ran.status.code(), Some(code), "sigil {args:?}: {}{}", ran.stdout, ran.stderr);
    if code == 1 {
        assert_eq!(ran.stderr.trim_end().lines().count(), 1, "one line of reason: {:?}", ran.stderr);
        assert!(ran.stderr.starts_with("error: "), "{:?}", ran.stderr);
    }
    ran
}

/// Runs `sigil args...` with `input` on standard input.
fn with_stdin(db: &TestDb, args: &[&str], input: &str) -> Ran {
    let mut command = sigil_in(db, args);
    let mut child =
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    Ran {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into(),
        stderr: String::from_utf8_lossy(&output.stderr).into(),
    }
}

/// Everything an operator can see of users and groups.
fn snapshot(db: &TestDb) -> String {
    let users = cli(db, &["user", "list"]);
    let shown: Vec<String> = users
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1))
        .map(|name| cli(db, &["user", "show", "--username", name]))
        .collect();
    format!("{users}\n{}\n{}", cli(db, &["group", "list"]), shown.join("\n"))
}

fn user_show_prints_one_user_and_refuses_an_unknown_one(db: &TestDb) {
    cli(
        db,
        &[
            "user",
            "add",
            "--username",
            "bjensen",
            "--password",
            PASSWORD,
            "--email",
            "bjensen@example.com",
            "--given-name",
            "Barbara",
            "--family-name",
            "Jensen",
            "--group",
            "staff",
        ],
    );
    let shown = cli(db, &["user", "show", "--username", "BJENSEN"]);
    let field = |key: &str| {
        shown
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}:")))
            .unwrap_or_else(|| panic!("no {key} in {shown}"))
            .trim()
            .to_owned()
    };
    assert_eq!(field("username"), "bjensen");
    assert_eq!(field("display name"), "Barbara Jensen");
    assert_eq!(field("emails"), "bjensen@example.com");
    assert_eq!(field("groups"), "staff");
    assert_eq!(field("active"), "yes");
    assert_eq!(field("password"), "set");
    assert!(!shown.contains("argon2"), "never the hash: {shown}");
    let ran = fails(db, 1, &["user", "show", "--username", "ghost"]);
    assert!(ran.stderr.contains("no user `ghost`"), "{}", ran.stderr);
}

fn disabled_user_loses_their_tokens_and_enabled_signs_in_again(db: &TestDb) {
    let secret = setup(db);
    cli(db, &["client", "update", "--id", "web", "--scope", SCOPE]);
    let server = Server::start(crate::bin(), db, &[]);
    let web = Rp { server: &server, http: rp_http(), id: "web", secret };
    let (_, tokens) = web.tokens(&browser(), SCOPE);
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(web.userinfo(&access), 200);

    assert_eq!(cli(db, &["user", "disable", "--username", "Alice"]).trim(), "disabled user alice");
    assert!(cli(db, &["user", "show", "--username", "alice"]).contains("active:       no"));
    assert_eq!(web.userinfo(&access), 401, "the access token died with the account");
    let (status, body) = web.post("/token", &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");

    assert_eq!(cli(db, &["user", "enable", "--username", "alice"]).trim(), "enabled user alice");
    assert_eq!(web.userinfo(&access), 401, "what was revoked stays revoked");
    let (_, again) = web.tokens(&browser(), SCOPE);
    assert_eq!(web.userinfo(again["access_token"].as_str().unwrap()), 200, "signed in afresh");
}

fn removed_user_loses_their_tokens(db: &TestDb) {
    let secret = setup(db);
    cli(db, &["client", "update", "--id", "web", "--scope", SCOPE]);
    cli(db, &["user", "add", "--username", "bob", "--password", PASSWORD, "--group", "staff"]);
    let server = Server::start(crate::bin(), db, &[]);
    let web = Rp { server: &server, http: rp_http(), id: "web", secret };
    let (_, tokens) = web.tokens_as(&browser(), "bob", PASSWORD, SCOPE);
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    let removed = cli(db, &["user", "remove", "--username", "bob"]);
    assert!(removed.starts_with("removed user bob ("), "{removed}");
    assert_eq!(web.userinfo(&access), 401);
    let (status, body) = web.post("/token", &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    let list = cli(db, &["user", "list"]);
    assert!(!list.contains("bob"), "{list}");
    assert!(list.contains("alice"), "only bob went: {list}");
}

fn set_password_applies_the_policy_and_the_user_signs_in_with_it(db: &TestDb) {
    const NEW: &str = "a brand new passphrase 42";
    let secret = setup(db);
    let before = snapshot(db);
    for weak in ["short", "alice", ""] {
        let ran = with_stdin(db, &["user", "set-password", "--username", "alice", "--password-stdin"], weak);
        assert_eq!(ran.status.code(), Some(1), "{weak:?}: {}", ran.stderr);
        assert_eq!(ran.stderr.trim_end().lines().count(), 1, "{:?}", ran.stderr);
    }
    assert_eq!(snapshot(db), before, "a refused password changes nothing");
    let ran = with_stdin(
        db,
        &["user", "set-password", "--username", "alice", "--password-stdin"],
        &format!("{NEW}\n"),
    );
    assert!(ran.status.success(), "{}", ran.stderr);
    assert_eq!(ran.stdout.trim(), "set the password of user alice");

    let store = sigil_store::Store::open(
        &sigil_store::DatabaseUrl::parse(db.url()).unwrap(),
        &sigil_store::PoolOptions::default(),
    )
    .unwrap();
    let alice = store.read_blocking(|c| sigil_store::users::find_by_user_name(c, "alice")).unwrap().unwrap();
    let hash = alice.password_hash.unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(sigil_store::password::verify_password(NEW, &hash));
    assert!(!sigil_store::password::verify_password(PASSWORD, &hash), "the old one no longer works");

    let server = Server::start(crate::bin(), db, &[]);
    let web = Rp { server: &server, http: rp_http(), id: "web", secret };
    let (_, tokens) = web.tokens_as(&browser(), "alice", NEW, "openid offline_access");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(web.userinfo(&access), 200);

    // Setting the password again (a reset after a compromise) signs out
    // whoever held her tokens.
    let ran = with_stdin(
        db,
        &["user", "set-password", "--username", "alice", "--password-stdin"],
        "yet another passphrase 43\n",
    );
    assert!(ran.status.success(), "{}", ran.stderr);
    assert_eq!(web.userinfo(&access), 401);
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, body) = web.post("/token", &[("grant_type", "refresh_token"), ("refresh_token", refresh)]);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
}

fn user_commands_refuse_unknown_users_and_bad_usage(db: &TestDb) {
    cli(db, &["user", "add", "--username", "alice", "--password", PASSWORD]);
    let before = snapshot(db);
    for command in ["show", "disable", "enable", "remove"] {
        let ran = fails(db, 1, &["user", command, "--username", "ghost"]);
        assert!(ran.stderr.contains("no user `ghost`"), "{command}: {}", ran.stderr);
        fails(db, 2, &["user", command]);
    }
    let ran = with_stdin(
        db,
        &["user", "set-password", "--username", "ghost", "--password-stdin"],
        "a brand new passphrase 42\n",
    );
    assert_eq!(ran.status.code(), Some(1), "{}", ran.stderr);
    assert!(ran.stderr.contains("no user `ghost`"), "{}", ran.stderr);
    fails(db, 2, &["user", "set-password", "--username", "alice"]);
    fails(db, 2, &["user", "set-password", "--username", "alice", "--password", "x"]);
    assert_eq!(snapshot(db), before, "refusals change nothing");
}

/// `sigil args...` run in `dir`, with no configuration but `env`.
fn sigil_bare(dir: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> Ran {
    let mut command = Command::new(crate::bin());
    for (name, _) in std::env::vars() {
        if name.starts_with("SIGIL_") || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    command.current_dir(dir).envs(env.iter().copied()).args(args);
    run(command)
}

#[test]
fn only_serve_and_migrate_create_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = dir.path().join("data").join("sigil.db");
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let url = elsewhere.to_str().unwrap();
    let commands: &[&[&str]] = &[
        &["user", "list"],
        &["user", "list", "--json"],
        &["user", "show", "--username", "alice"],
        &["user", "add", "--username", "alice", "--password", PASSWORD],
        &["user", "update", "--username", "alice", "--display-name", "A"],
        &["user", "disable", "--username", "alice"],
        &["user", "remove", "--username", "alice"],
        &["group", "add", "--name", "staff"],
        &["group", "member", "add", "--group", "staff", "--user", "alice"],
        &["group", "list"],
        &["group", "show", "--name", "staff"],
        &["client", "list"],
        &["client", "show", "--id", "web"],
        &["client", "add", "--id", "web", "--redirect-uri", "https://a.example.com/cb"],
        &["keys", "list"],
        &["keys", "rotate"],
        &["token", "list"],
        &["role", "list"],
        &["admin", "list"],
    ];
    for (env, path) in
        [(vec![("SIGIL_DATABASE_URL", url)], elsewhere.clone()), (vec![], dir.path().join("sigil.db"))]
    {
        for args in commands {
            let ran = sigil_bare(dir.path(), &env, args);
            assert_eq!(ran.status.code(), Some(1), "{args:?}: {}{}", ran.stdout, ran.stderr);
            assert_eq!(ran.stderr.trim_end().lines().count(), 1, "one line: {:?}", ran.stderr);
            let named = format!("error: there is no database at {} (", path.display());
            assert!(ran.stderr.starts_with(&named), "{args:?} names the path: {}", ran.stderr);
            assert!(ran.stdout.is_empty(), "{args:?}: {}", ran.stdout);
            assert!(!path.exists(), "{args:?} created {}", path.display());
        }
    }
    let migrated = sigil_bare(dir.path(), &[("SIGIL_DATABASE_URL", url)], &["migrate"]);
    assert!(migrated.status.success(), "{}", migrated.stderr);
    assert!(elsewhere.exists(), "migrate creates the database");
    let listed = sigil_bare(dir.path(), &[("SIGIL_DATABASE_URL", url)], &["user", "list"]);
    assert!(listed.status.success(), "{}", listed.stderr);
    assert!(!dir.path().join("sigil.db").exists(), "nothing was created in the working directory");
}

/// A PostgreSQL database is created by its administrator, never by Sigil:
/// a missing one is refused by every command, `migrate` and `serve` too,
/// with one line naming it.
#[test]
fn a_missing_postgresql_database_is_refused_naming_it() {
    let Some(db) = TestDb::postgres() else { return };
    let (server, rest) = db.url().rsplit_once('/').unwrap();
    let name = format!("{}_missing", rest.split('?').next().unwrap());
    let url = format!("{server}/{name}");
    let dir = tempfile::tempdir().unwrap();
    for args in [&["user", "list"][..], &["group", "add", "--name", "staff"], &["migrate"], &["serve"]] {
        let ran =
            sigil_bare(dir.path(), &[("SIGIL_DATABASE_URL", &url), ("SIGIL_BIND", "127.0.0.1:0")], args);
        assert_eq!(ran.status.code(), Some(1), "{args:?}: {}{}", ran.stdout, ran.stderr);
        assert_eq!(ran.stderr.trim_end().lines().count(), 1, "one line: {:?}", ran.stderr);
        assert!(
            ran.stderr.contains(&format!("database \"{name}\" does not exist")),
            "{args:?}: {}",
            ran.stderr
        );
    }
}

#[test]
fn version_prints_the_workspace_version() {
    let output = Command::new(crate::bin()).arg("--version").output().unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.trim(), format!("sigil {}", env!("CARGO_PKG_VERSION")));
    assert_ne!(env!("CARGO_PKG_VERSION"), "0.0.0", "the workspace has a real version");
}

/// The `group list` line of the group `name`.
fn group_line(db: &TestDb, name: &str) -> Option<String> {
    cli(db, &["group", "list"])
        .lines()
        .skip(1)
        .find(|l| l.split_whitespace().nth(1) == Some(name))
        .map(str::to_owned)
}

fn groups_are_added_listed_filled_emptied_and_removed(db: &TestDb) {
    cli(db, &["user", "add", "--username", "alice", "--password", PASSWORD]);
    cli(db, &["user", "add", "--username", "bob", "--password", PASSWORD]);
    let added = cli(db, &["group", "add", "--name", "staff"]);
    assert!(added.starts_with("created group staff ("), "{added}");
    cli(db, &["group", "add", "--name", "ops"]);
    assert!(cli(db, &["group", "list"]).starts_with("ID"), "a header first");
    assert_eq!(group_line(db, "staff").unwrap().split_whitespace().count(), 2, "no members yet");

    assert_eq!(
        cli(db, &["group", "member", "add", "--group", "STAFF", "--user", "Alice"]).trim(),
        "added alice to group staff"
    );
    cli(db, &["group", "member", "add", "--group", "staff", "--user", "bob"]);
    let again = cli(db, &["group", "member", "add", "--group", "staff", "--user", "bob"]);
    assert_eq!(again.trim(), "bob is already a member of group staff");
    assert!(group_line(db, "staff").unwrap().ends_with(" alice,bob"), "{:?}", group_line(db, "staff"));
    assert!(cli(db, &["user", "show", "--username", "bob"]).contains("groups:       staff"));

    let removed = cli(db, &["group", "member", "remove", "--group", "staff", "--user", "alice"]);
    assert_eq!(removed.trim(), "removed alice from group staff");
    assert!(group_line(db, "staff").unwrap().ends_with(" bob"));

    assert!(cli(db, &["group", "remove", "--name", "Staff"]).starts_with("removed group staff ("));
    assert_eq!(group_line(db, "staff"), None);
    assert!(group_line(db, "ops").is_some(), "only staff went");
    let bob = cli(db, &["user", "show", "--username", "bob"]);
    assert!(bob.contains("groups:       \n") || bob.lines().any(|l| l.trim_end() == "groups:"), "{bob}");
}

fn group_commands_refuse_unknown_names_and_bad_usage(db: &TestDb) {
    cli(db, &["user", "add", "--username", "alice", "--password", PASSWORD]);
    cli(db, &["group", "add", "--name", "staff"]);
    cli(db, &["user", "add", "--username", "bob", "--password", PASSWORD, "--group", "staff"]);
    let before = snapshot(db);
    let cases: &[(&[&str], &str)] = &[
        (&["group", "add", "--name", "STAFF"], "already exists"),
        (&["group", "remove", "--name", "ghosts"], "no group `ghosts`"),
        (&["group", "member", "add", "--group", "ghosts", "--user", "alice"], "no group `ghosts`"),
        (&["group", "member", "add", "--group", "staff", "--user", "ghost"], "no user `ghost`"),
        (&["group", "member", "remove", "--group", "ghosts", "--user", "bob"], "no group `ghosts`"),
        (&["group", "member", "remove", "--group", "staff", "--user", "ghost"], "no user `ghost`"),
        (&["group", "member", "remove", "--group", "staff", "--user", "alice"], "not a member"),
    ];
    for (args, expected) in cases {
        let ran = fails(db, 1, args);
        assert!(ran.stderr.contains(expected), "{args:?}: {}", ran.stderr);
    }
    for args in [
        &["group", "add"][..],
        &["group", "remove"],
        &["group", "member", "add", "--group", "staff"],
        &["group", "member", "remove", "--user", "bob"],
        &["group", "frobnicate"],
    ] {
        fails(db, 2, args);
    }
    assert_eq!(snapshot(db), before, "refusals change nothing");
}

fn log_level_is_validated_like_every_other_key(db: &TestDb) {
    for bad in ["loud", "info,sigil=loud"] {
        let ran = run({
            let mut command = sigil_in(db, &["user", "list"]);
            command.env("SIGIL_LOG_LEVEL", bad);
            command
        });
        assert_eq!(ran.status.code(), Some(2), "{bad}: {}", ran.stderr);
        assert_eq!(ran.stderr.trim_end().lines().count(), 1, "one line: {:?}", ran.stderr);
        assert!(ran.stderr.contains("`log.level` (from SIGIL_LOG_LEVEL)"), "{}", ran.stderr);
        assert!(ran.stdout.is_empty(), "nothing ran: {}", ran.stdout);
    }
    for good in ["debug", "WARN", "info,sigil=debug"] {
        let ran = run({
            let mut command = sigil_in(db, &["user", "list"]);
            command.env("SIGIL_LOG_LEVEL", good);
            command
        });
        assert!(ran.status.success(), "{good}: {}", ran.stderr);
    }
}

/// `sigil user list | head -0`: the reader is gone before the listing is
/// written. The command ends with status 0 and says nothing, like any Unix
/// filter, instead of a panic about a broken pipe.
fn a_listing_into_a_closed_pipe_ends_quietly(db: &TestDb) {
    cli(db, &["user", "add", "--username", "alice", "--password", PASSWORD]);
    for args in [&["user", "list"][..], &["user", "list", "--json"], &["group", "list"], &["client", "list"]]
    {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out =
            sigil_in(db, args).stdin(Stdio::null()).stdout(writer).stderr(Stdio::piped()).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "sigil {args:?}: {:?} {stderr}", out.status);
        assert!(!stderr.contains("panicked"), "sigil {args:?}: {stderr}");
    }
    // A command that has nothing to print to a closed pipe still fails as before.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = sigil_in(db, &["user", "show", "--username", "nobody"]).stdout(writer).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
}
