//! `sigil user update`, `group show`, `client show`, `--json` on every list
//! and show command, and `sigil completions`. JSON field names are part of
//! the CLI's contract (docs/operations.md), so the tests pin them; no JSON
//! output ever carries a secret, a digest or a password hash.

use std::process::Command;

use serde_json::Value;
use sigil_testkit::process::run;
use sigil_testkit::{TestDb, backend_tests};

use crate::oidc::PASSWORD;
use crate::{cli, cli_fails};

backend_tests!(
    user_update_changes_what_it_names_and_refuses_bad_input,
    every_list_and_show_speaks_json_without_secrets,
    group_show_names_members_and_parents,
    client_show_prints_settings_but_never_the_secret,
);

/// `sigil args...` (which must succeed), its stdout read as JSON.
fn json(db: &TestDb, args: &[&str]) -> Value {
    let out = cli(db, args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("sigil {args:?} printed no JSON ({e}): {out}"))
}

/// The keys of a JSON object, sorted.
fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

fn user_update_changes_what_it_names_and_refuses_bad_input(db: &TestDb) {
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
            "--nickname",
            "Babs",
        ],
    );
    let updated = cli(
        db,
        &[
            "user",
            "update",
            "--username",
            "BJensen",
            "--display-name",
            "Babs Jensen",
            "--email",
            "babs@example.com",
            "--email",
            "barbara@example.org",
            "--locale",
            "en-GB",
            "--zoneinfo",
            "Europe/Zurich",
            "--phone-number",
            "tel:+41-22-767-6111",
            "--nickname",
            "",
        ],
    );
    assert_eq!(updated.trim(), "updated user bjensen");
    let user = json(db, &["user", "show", "--username", "bjensen", "--json"]);
    assert_eq!(user["display_name"], "Babs Jensen");
    assert_eq!(user["given_name"], "Barbara", "what is not named stays");
    assert_eq!(user["family_name"], "Jensen");
    assert_eq!(user["nickname"], Value::Null, "an empty value clears");
    assert_eq!(user["emails"], serde_json::json!(["babs@example.com", "barbara@example.org"]));
    assert_eq!(user["phone_numbers"], serde_json::json!(["tel:+41-22-767-6111"]));
    assert_eq!(user["locale"], "en-GB");
    assert_eq!(user["zoneinfo"], "Europe/Zurich");
    assert_eq!(user["password_set"], true, "the password is untouched");

    let before = cli(db, &["user", "show", "--username", "bjensen", "--json"]);
    let unknown = cli_fails(db, 1, &["user", "update", "--username", "ghost", "--locale", "de-CH"]);
    assert!(unknown.stderr.contains("no user `ghost`"), "{}", unknown.stderr);
    for bad in ["plainaddress", "a@", "a b@example.com"] {
        let ran = cli_fails(
            db,
            1,
            &["user", "update", "--username", "bjensen", "--email", "ok@example.com", "--email", bad],
        );
        assert!(ran.stderr.contains("not an e-mail address"), "{bad}: {}", ran.stderr);
    }
    cli_fails(db, 2, &["user", "update", "--username", "bjensen"]);
    cli_fails(db, 2, &["user", "update", "--display-name", "Nobody"]);
    cli_fails(db, 2, &["user", "update", "--username", "bjensen", "--password", "x"]);
    assert_eq!(
        cli(db, &["user", "show", "--username", "bjensen", "--json"]),
        before,
        "refusals change nothing"
    );
}

fn every_list_and_show_speaks_json_without_secrets(db: &TestDb) {
    cli(db, &["user", "add", "--username", "alice", "--password", PASSWORD, "--group", "staff"]);
    let added = cli(
        db,
        &[
            "client",
            "add",
            "--id",
            "hr-sync",
            "--grant-type",
            "client_credentials",
            "--scope",
            "scim:read scim:write",
        ],
    );
    let secret = added.lines().find_map(|l| l.strip_prefix("client_secret: ")).unwrap().to_owned();
    cli(db, &["admin", "grant", "service-account", "--client", "hr-sync"]);
    let created = cli(db, &["token", "create", "--client", "hr-sync", "--scope", "scim:read"]);
    let token = created.lines().find_map(|l| l.strip_prefix("token: ")).unwrap().to_owned();
    cli(db, &["role", "add", "--client", "hr-sync", "--name", "reader", "--description", "Reads"]);
    cli(db, &["keys", "rotate"]);

    let cases: &[(&[&str], &[&str])] = &[
        (&["user", "list", "--json"], &["active", "display_name", "emails", "groups", "id", "username"]),
        (&["group", "list", "--json"], &["groups", "id", "name", "users"]),
        (
            &["client", "list", "--json"],
            &[
                "access_token_signed_response_alg",
                "always_groups_claim",
                "audiences",
                "created",
                "exchange_audiences",
                "exchange_impersonation",
                "exchange_refresh_tokens",
                "grant_types",
                "id",
                "id_token_signed_response_alg",
                "jwks",
                "jwks_uri",
                "last_modified",
                "name",
                "post_logout_redirect_uris",
                "redirect_uris",
                "refresh_without_offline_access",
                "require_pkce",
                "scopes",
                "skip_consent",
                "token_endpoint_auth_method",
                "type",
            ],
        ),
        (&["keys", "list", "--json"], &["activated", "alg", "created", "kid", "retired", "state"]),
        (
            &["token", "list", "--json"],
            &["client", "created", "expires", "id", "last_used", "name", "revoked", "scopes", "state"],
        ),
        (&["role", "list", "--json"], &["client", "description", "name"]),
        (&["admin", "list", "--json"], &["id", "kind", "name", "role"]),
    ];
    let mut printed = String::new();
    for (args, fields) in cases {
        let listed = json(db, args);
        let items = listed.as_array().unwrap_or_else(|| panic!("{args:?} lists an array: {listed}"));
        assert!(!items.is_empty(), "{args:?} lists something");
        for item in items {
            assert_eq!(keys(item), *fields, "{args:?}");
        }
        printed.push_str(&cli(db, args));
    }
    let user = json(db, &["user", "show", "--username", "alice", "--json"]);
    assert_eq!(
        keys(&user),
        [
            "active",
            "created",
            "display_name",
            "emails",
            "family_name",
            "given_name",
            "groups",
            "id",
            "last_modified",
            "locale",
            "nickname",
            "password_set",
            "phone_numbers",
            "username",
            "zoneinfo"
        ]
    );
    let client = json(db, &["client", "show", "--id", "hr-sync", "--json"]);
    assert_eq!(keys(&client), cases[2].1, "show and list describe a client alike");
    let group = json(db, &["group", "show", "--name", "staff", "--json"]);
    assert_eq!(
        keys(&group),
        ["created", "external_id", "groups", "id", "last_modified", "member_of", "name", "users"]
    );
    printed.push_str(&format!("{user}{client}{group}"));

    let tokens = json(db, &["token", "list", "--json"]);
    assert_eq!(tokens[0]["scopes"], serde_json::json!(["scim:read"]));
    assert_eq!(tokens[0]["state"], "active");
    assert_eq!(json(db, &["admin", "list", "--json"])[0]["kind"], "client");
    assert_eq!(json(db, &["user", "list", "--json"])[0]["active"], true);
    for secret_thing in [secret.as_str(), token.as_str(), "argon2", "secret_hash", "digest", "password_hash"]
    {
        assert!(!printed.contains(secret_thing), "JSON shows {secret_thing:?}: {printed}");
    }
}

fn group_show_names_members_and_parents(db: &TestDb) {
    cli(db, &["user", "add", "--username", "alice", "--password", PASSWORD, "--group", "engineering"]);
    cli(db, &["group", "add", "--name", "staff"]);
    // Groups join groups over SCIM; here straight through the store.
    let store = sigil_store::Store::open(
        &sigil_store::DatabaseUrl::parse(db.url()).unwrap(),
        &sigil_store::PoolOptions::default(),
    )
    .unwrap();
    let now = store.now();
    store
        .write_blocking(move |conn| {
            use sigil_store::groups::{self, Member};
            let staff = groups::find_by_display_name(conn, "staff")?.unwrap();
            let engineering = groups::find_by_display_name(conn, "engineering")?.unwrap();
            groups::add_member(conn, &staff.id, &Member::Group(engineering.id), now)
        })
        .unwrap();

    let engineering = json(db, &["group", "show", "--name", "Engineering", "--json"]);
    assert_eq!(engineering["name"], "engineering");
    assert_eq!(engineering["users"], serde_json::json!(["alice"]));
    assert_eq!(engineering["member_of"], serde_json::json!(["staff"]));
    let staff = json(db, &["group", "show", "--name", "staff", "--json"]);
    assert_eq!(staff["users"], serde_json::json!([]));
    assert_eq!(staff["groups"], serde_json::json!(["engineering"]));
    let text = cli(db, &["group", "show", "--name", "staff"]);
    assert!(text.lines().any(|l| l == "groups:        engineering"), "{text}");
    assert!(text.contains(staff["id"].as_str().unwrap()), "{text}");

    let unknown = cli_fails(db, 1, &["group", "show", "--name", "ghosts"]);
    assert!(unknown.stderr.contains("no group `ghosts`"), "{}", unknown.stderr);
    cli_fails(db, 2, &["group", "show"]);
}

fn client_show_prints_settings_but_never_the_secret(db: &TestDb) {
    let added = cli(
        db,
        &[
            "client",
            "add",
            "--id",
            "web",
            "--name",
            "The Web App",
            "--redirect-uri",
            "https://app.example.com/cb",
            "--skip-consent",
        ],
    );
    let secret = added.lines().find_map(|l| l.strip_prefix("client_secret: ")).unwrap().to_owned();
    let text = cli(db, &["client", "show", "--id", "web"]);
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}:")))
            .unwrap_or_else(|| panic!("no {key} in {text}"))
            .trim()
            .to_owned()
    };
    assert_eq!(field("id"), "web");
    assert_eq!(field("name"), "The Web App");
    assert_eq!(field("type"), "confidential");
    assert_eq!(field("redirect_uris"), "https://app.example.com/cb");
    assert_eq!(field("skip_consent"), "true");
    let shown = json(db, &["client", "show", "--id", "web", "--json"]);
    assert_eq!(shown["grant_types"], serde_json::json!(["authorization_code", "refresh_token"]));
    assert_eq!(shown["token_endpoint_auth_method"], "client_secret_basic");
    for printed in [&text, &shown.to_string()] {
        assert!(!printed.contains(&secret) && !printed.contains("secret_hash"), "{printed}");
    }
    let unknown = cli_fails(db, 1, &["client", "show", "--id", "ghost"]);
    assert!(unknown.stderr.contains("no client `ghost`"), "{}", unknown.stderr);
    cli_fails(db, 2, &["client", "show"]);
}

/// `sigil completions SHELL` in an empty directory with no configuration.
fn completions(dir: &std::path::Path, shell: &str) -> sigil_testkit::process::Ran {
    let mut command = Command::new(crate::bin());
    for (name, _) in std::env::vars() {
        if name.starts_with("SIGIL_") {
            command.env_remove(name);
        }
    }
    command.current_dir(dir).args(["completions", shell]);
    run(command)
}

#[test]
fn completions_are_generated_for_bash_zsh_and_fish() {
    let dir = tempfile::tempdir().unwrap();
    let bash = completions(dir.path(), "bash");
    assert!(bash.status.success(), "{}", bash.stderr);
    // Load the script into a real bash and ask it to complete `sigil user `.
    let script = dir.path().join("sigil.bash");
    std::fs::write(&script, &bash.stdout).unwrap();
    let completed = Command::new("bash")
        .arg("-c")
        .arg(
            r#"source "$1"; COMP_WORDS=(sigil user ""); COMP_CWORD=2; COMP_LINE="sigil user "; \
               COMP_POINT=${#COMP_LINE}; _sigil sigil "" user; echo "${COMPREPLY[@]}""#,
        )
        .arg("bash")
        .arg(&script)
        .output()
        .unwrap();
    assert!(completed.status.success(), "{}", String::from_utf8_lossy(&completed.stderr));
    let words = String::from_utf8_lossy(&completed.stdout).into_owned();
    for word in ["add", "list", "show", "update", "disable", "enable", "remove", "set-password"] {
        assert!(words.split_whitespace().any(|w| w == word), "bash completes `{word}`: {words}");
    }

    let zsh = completions(dir.path(), "zsh");
    assert!(zsh.status.success() && zsh.stdout.starts_with("#compdef sigil"), "{}", zsh.stderr);
    let fish = completions(dir.path(), "fish");
    assert!(fish.status.success() && fish.stdout.contains("complete -c sigil"), "{}", fish.stderr);
    for script in [&bash.stdout, &zsh.stdout, &fish.stdout] {
        assert!(script.contains("set-password") && script.contains("completions"), "every command is in");
    }

    let unknown = completions(dir.path(), "tcsh");
    assert_eq!(unknown.status.code(), Some(2), "{}", unknown.stderr);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no database was created, only our script");
}
