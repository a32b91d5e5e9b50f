//! `sigil user|client|keys|migrate`: success paths, and bad input that must
//! exit non-zero with a one-line reason and leave the store as it was.

use sigil_testkit::process::{Ran, run, sigil};
use sigil_testkit::{TestDb, backend_tests};

backend_tests!(
    user_add_creates_user_and_missing_groups,
    duplicate_user_name_in_any_case_is_refused_and_store_unchanged,
    malformed_email_is_refused_and_store_unchanged,
    malformed_redirect_uri_is_refused_and_store_unchanged,
    generated_client_secret_is_printed_once_and_stored_as_digest,
    keys_rotate_promotes_the_published_next_key,
    migrate_reports_what_it_applied,
    client_update_and_remove_keep_the_rules,
);

fn ok(db: &TestDb, args: &[&str]) -> Ran {
    let ran = run({
        let mut c = sigil(crate::bin(), db);
        c.args(args);
        c
    });
    assert!(ran.status.success(), "sigil {args:?} failed ({:?}): {}{}", ran.status, ran.stderr, ran.stdout);
    ran
}

fn fails(db: &TestDb, args: &[&str]) -> Ran {
    let ran = run({
        let mut c = sigil(crate::bin(), db);
        c.args(args);
        c
    });
    assert!(!ran.status.success(), "sigil {args:?} should fail; printed {}", ran.stdout);
    assert_eq!(ran.stderr.trim_end().lines().count(), 1, "one line of reason: {:?}", ran.stderr);
    assert!(ran.stderr.starts_with("error: "), "{:?}", ran.stderr);
    ran
}

/// Everything an operator can see of the store.
fn snapshot(db: &TestDb) -> String {
    ["user", "client", "keys"]
        .iter()
        .map(|what| ok(db, &[what, "list"]).stdout)
        .collect::<Vec<_>>()
        .join("\n")
}

fn user_add_creates_user_and_missing_groups(db: &TestDb) {
    let ran = ok(
        db,
        &[
            "user",
            "add",
            "--username",
            "bjensen",
            "--password",
            "t1meMa$heen",
            "--email",
            "bjensen@example.com",
            "--given-name",
            "Barbara",
            "--family-name",
            "Jensen",
            "--group",
            "staff",
            "--group",
            "tour guides",
        ],
    );
    assert!(ran.stdout.starts_with("created user bjensen ("), "{}", ran.stdout);
    ok(db, &["user", "add", "--username", "carol", "--password", "tour guide 1967", "--group", "STAFF"]);
    let list = ok(db, &["user", "list"]).stdout;
    let bjensen = list.lines().find(|l| l.contains("bjensen")).expect("listed");
    assert!(bjensen.contains("Barbara Jensen") && bjensen.contains("bjensen@example.com"), "{bjensen}");
    assert!(bjensen.contains("staff,tour guides"), "{bjensen}");
    let carol = list.lines().find(|l| l.contains("carol")).expect("listed");
    assert!(carol.contains("staff") && !carol.contains("STAFF"), "the existing group was reused: {carol}");
}

fn duplicate_user_name_in_any_case_is_refused_and_store_unchanged(db: &TestDb) {
    ok(
        db,
        &[
            "user",
            "add",
            "--username",
            "BJensen",
            "--password",
            "tour guide 1967",
            "--email",
            "b@example.com",
        ],
    );
    let before = snapshot(db);
    for clash in ["bjensen", "BJENSEN", "BJensen"] {
        let ran = fails(
            db,
            &["user", "add", "--username", clash, "--password", "another tour guide", "--group", "new-group"],
        );
        assert!(ran.stderr.contains("already exists"), "{}", ran.stderr);
        assert_eq!(ran.status.code(), Some(1));
    }
    assert_eq!(snapshot(db), before, "no user and no group was added");
}

fn malformed_email_is_refused_and_store_unchanged(db: &TestDb) {
    ok(db, &["user", "add", "--username", "first", "--password", "tour guide 1967"]);
    let before = snapshot(db);
    for bad in ["plainaddress", "a@", "@example.com", "a b@example.com", "a@@example.com"] {
        let ran = fails(
            db,
            &["user", "add", "--username", "second", "--password", "tour guide 1967", "--email", bad],
        );
        assert!(ran.stderr.contains("not an e-mail address"), "{bad}: {}", ran.stderr);
    }
    assert_eq!(snapshot(db), before);
}

fn malformed_redirect_uri_is_refused_and_store_unchanged(db: &TestDb) {
    ok(db, &["client", "add", "--id", "good", "--redirect-uri", "https://app.example.com/cb"]);
    let before = snapshot(db);
    for bad in [
        "not a uri",
        "/cb",
        "https://app.example.com/cb#x",
        "javascript:alert(1)",
        "https://*.example.com/cb",
    ] {
        let ran = fails(
            db,
            &[
                "client",
                "add",
                "--id",
                "web",
                "--redirect-uri",
                "https://ok.example.com/cb",
                "--redirect-uri",
                bad,
            ],
        );
        assert!(ran.stderr.contains("redirect URI"), "{bad}: {}", ran.stderr);
    }
    let weak = fails(
        db,
        &["client", "add", "--id", "web", "--secret", "hunter2", "--redirect-uri", "https://a.example/cb"],
    );
    assert!(weak.stderr.contains("too weak"), "{}", weak.stderr);
    let dup = fails(db, &["client", "add", "--id", "good", "--redirect-uri", "https://app.example.com/cb"]);
    assert!(dup.stderr.contains("already exists"), "{}", dup.stderr);
    assert_eq!(snapshot(db), before);
}

fn generated_client_secret_is_printed_once_and_stored_as_digest(db: &TestDb) {
    let ran = ok(db, &["client", "add", "--id", "web", "--redirect-uri", "https://app.example.com/cb"]);
    let secret = ran
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("client_secret: "))
        .expect("the secret is printed")
        .to_owned();
    assert_eq!(secret.len(), 43, "256 bits, base64url");
    let list = ok(db, &["client", "list"]).stdout;
    assert!(!list.contains(&secret), "never shown again");
    let store = sigil_store::Store::open(
        &sigil_store::DatabaseUrl::parse(db.url()).unwrap(),
        &sigil_store::PoolOptions::default(),
    )
    .unwrap();
    let client = store.read_blocking(|c| sigil_store::clients::get(c, "web")).unwrap();
    let digest = client.secret_hash.expect("confidential");
    assert!(digest.matches(&secret));
    assert_ne!(digest.as_str(), secret, "the store keeps a digest, not the secret");
    let public =
        ok(db, &["client", "add", "--id", "spa", "--public", "--redirect-uri", "http://127.0.0.1:3000/cb"]);
    assert!(!public.stdout.contains("client_secret"), "{}", public.stdout);
}

fn keys_rotate_promotes_the_published_next_key(db: &TestDb) {
    ok(db, &["keys", "rotate"]);
    // One key set per algorithm; follow RS256's.
    let rs256 =
        |list: String| list.lines().filter(|l| l.contains(" RS256 ")).map(str::to_owned).collect::<Vec<_>>();
    let first = rs256(ok(db, &["keys", "list"]).stdout);
    let next_kid = first
        .iter()
        .find(|l| l.contains(" next "))
        .expect("a next key")
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let rotated = ok(db, &["keys", "rotate"]).stdout;
    assert!(rotated.contains(&format!("RS256: signing with {next_kid}")), "{rotated}");
    let after = rs256(ok(db, &["keys", "list"]).stdout);
    let state_of = |kid: &str| {
        after.iter().find(|l| l.starts_with(kid)).map(|l| l.split_whitespace().nth(2).unwrap().to_owned())
    };
    assert_eq!(state_of(&next_kid).as_deref(), Some("active"));
    assert_eq!(after.iter().filter(|l| l.contains(" retired ")).count(), 1);
    assert_eq!(after.iter().filter(|l| l.contains(" next ")).count(), 1);
}

fn migrate_reports_what_it_applied(db: &TestDb) {
    let first = ok(db, &["migrate"]).stdout;
    let expected =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations/sqlite")).unwrap().count();
    assert!(first.starts_with(&format!("applied {expected} migration(s)")), "{first}");
    assert!(first.contains("20261123000000"), "the initial migration is named: {first}");
    let second = ok(db, &["migrate"]).stdout;
    assert!(second.contains("is up to date"), "{second}");
}

fn client_update_and_remove_keep_the_rules(db: &TestDb) {
    let added =
        ok(db, &["client", "add", "--id", "web", "--redirect-uri", "https://a.example.com/cb"]).stdout;
    let old_secret = added.lines().find_map(|l| l.strip_prefix("client_secret: ")).unwrap().to_owned();
    ok(
        db,
        &[
            "client",
            "update",
            "--id",
            "web",
            "--redirect-uri",
            "https://b.example.com/cb",
            "--skip-consent",
            "true",
        ],
    );
    let list = ok(db, &["client", "list"]).stdout;
    assert!(
        list.contains("https://b.example.com/cb") && !list.contains("https://a.example.com/cb"),
        "{list}"
    );
    assert!(list.lines().any(|l| l.starts_with("web") && l.trim_end().ends_with("skip")), "{list}");

    ok(db, &["client", "add", "--id", "spa", "--public", "--redirect-uri", "http://127.0.0.1:3000/cb"]);
    let before = snapshot(db);
    fails(db, &["client", "update", "--id", "web", "--redirect-uri", "https://b.example.com/cb#frag"]);
    fails(db, &["client", "update", "--id", "spa", "--grant-type", "client_credentials"]);
    fails(db, &["client", "update", "--id", "spa", "--rotate-secret"]);
    fails(db, &["client", "update", "--id", "ghost", "--skip-consent", "true"]);
    assert_eq!(snapshot(db), before, "refused updates change nothing");

    let rotated = ok(db, &["client", "update", "--id", "web", "--rotate-secret"]).stdout;
    let new_secret = rotated.lines().find_map(|l| l.strip_prefix("client_secret: ")).unwrap().to_owned();
    let store = sigil_store::Store::open(
        &sigil_store::DatabaseUrl::parse(db.url()).unwrap(),
        &sigil_store::PoolOptions::default(),
    )
    .unwrap();
    let digest = store.read_blocking(|c| sigil_store::clients::get(c, "web")).unwrap().secret_hash.unwrap();
    assert!(digest.matches(&new_secret) && !digest.matches(&old_secret));

    assert_eq!(ok(db, &["client", "remove", "--id", "web"]).stdout.trim(), "removed client web");
    fails(db, &["client", "remove", "--id", "web"]);
    assert!(!ok(db, &["client", "list"]).stdout.contains("web "));
}
