//! Hostile or careless input at the edges, against the running server and
//! the real `sigil` command: passwords a guesser tries first (NIST SP
//! 800-63B §5.1.1.2), client secrets judged by an honest strength estimate,
//! secrets that look like flags, and `profile` / `picture` URLs that would
//! run script in a relying party's page. Every refusal has the spec's
//! shape (RFC 7644 §3.12 `invalidValue`, or one line on stderr and exit 1)
//! and stores nothing.

use std::io::{Read, Write};
use std::process::Stdio;

use serde_json::{Value, json};
use sigil_testkit::process::{Ran, Server, run, sigil};
use sigil_testkit::{TestDb, backend_tests};

use crate::oidc::rp_http;
use crate::scim::{Scim, assert_error, token};
use crate::scim_patch::patch_body;

backend_tests!(
    scim_passwords_follow_the_policy_on_create_replace_patch_and_bulk,
    scim_password_policy_follows_the_configuration,
    cli_passwords_follow_the_policy_and_write_nothing_when_refused,
    cli_accepts_random_hex_and_base64url_secrets_and_explains_refusals,
    cli_takes_secrets_that_start_with_a_dash,
    scim_profile_and_photo_urls_must_be_web_urls,
);

/// Runs `sigil args...` against `db` with `env` set and `stdin` as its
/// standard input.
fn sigil_with(db: &TestDb, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Ran {
    let mut command = sigil(crate::bin(), db);
    command.args(args).envs(env.iter().copied());
    let Some(input) = stdin else { return run(command) };
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run sigil {args:?}: {e}"));
    // A command refused before it reads its input (a usage error) has
    // closed it: the refusal is what the caller checks, not the write.
    if let Err(e) = child.stdin.take().unwrap().write_all(input.as_bytes()) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "writing to sigil {args:?}: {e}");
    }
    let output = child.wait_with_output().unwrap();
    Ran {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into(),
        stderr: String::from_utf8_lossy(&output.stderr).into(),
    }
}

fn succeeds(ran: Ran, what: &str) -> Ran {
    assert!(ran.status.success(), "{what}: {:?} {}{}", ran.status, ran.stderr, ran.stdout);
    ran
}

/// The CLI's refusal: exit status 1 and one line on stderr containing `why`.
fn refused(ran: &Ran, why: &str, what: &str) {
    assert_eq!(ran.status.code(), Some(1), "{what}: {:?} {}{}", ran.status, ran.stderr, ran.stdout);
    assert_eq!(ran.stderr.trim_end().lines().count(), 1, "{what}: one line of reason: {:?}", ran.stderr);
    assert!(ran.stderr.starts_with("error: ") && ran.stderr.contains(why), "{what}: {:?}", ran.stderr);
}

/// Everything an operator can see of users and clients.
fn snapshot(db: &TestDb) -> String {
    let users = succeeds(sigil_with(db, &["user", "list"], &[], None), "user list").stdout;
    let clients = succeeds(sigil_with(db, &["client", "list"], &[], None), "client list").stdout;
    format!("{users}\n{clients}")
}

/// `bytes` random bytes from the kernel, as lowercase hex.
fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom").unwrap().read_exact(&mut buffer).unwrap();
    buffer.iter().map(|b| format!("{b:02x}")).collect()
}

fn writer<'a>(db: &TestDb, server: &'a Server) -> Scim<'a> {
    Scim { server, http: rp_http(), token: token(db, server, "provisioner", "scim:write") }
}

fn user_count(scim: &Scim<'_>) -> u64 {
    scim.list(&[]).get("totalResults").and_then(Value::as_u64).unwrap()
}

/// Sends `body` and expects RFC 7644 §3.12's 400 `invalidValue` with a
/// detail containing `why`.
fn invalid_value(scim: &Scim<'_>, method: &str, path: &str, body: &Value, why: &str) {
    let (status, _, answer) = scim.send(method, path, Some(body), &[]);
    assert_error(status, &answer, 400, Some("invalidValue"));
    let detail = answer["detail"].as_str().unwrap();
    assert!(detail.contains(why), "{method} {path} {body}: {detail}");
}

fn scim_passwords_follow_the_policy_on_create_replace_patch_and_bulk(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let scim = writer(db, &server);
    for (password, why) in [
        ("x", "at least 8 characters"),
        ("pässwö", "at least 8 characters"), // 8 bytes, but 6 characters
        ("seven77", "at least 8 characters"),
        ("password1", "most commonly used"),
        ("PASSWORD1", "most commonly used"),
        ("trustno1", "most commonly used"),
        ("aaaaaaaaaa", "repeated or sequential"),
        ("tourguide", "user name"),
    ] {
        let body = json!({ "userName": "TourGuide", "password": password });
        invalid_value(&scim, "POST", "/Users", &body, why);
    }
    assert_eq!(user_count(&scim), 0, "no refused user was stored");

    // Characters, not bytes: eight of them pass however many bytes they take.
    let (status, _, created) =
        scim.send("POST", "/Users", Some(&json!({ "userName": "bjensen", "password": "pässwörd" })), &[]);
    assert_eq!(status, 201, "{created}");
    let user = format!("/Users/{}", created["id"].as_str().unwrap());
    let version = created["meta"]["version"].clone();

    let weak = json!({ "userName": "bjensen", "password": "12345678" });
    invalid_value(&scim, "PUT", &user, &weak, "most commonly used");
    let weak = patch_body(json!([{ "op": "replace", "path": "password", "value": "short" }]));
    invalid_value(&scim, "PATCH", &user, &weak, "at least 8 characters");
    let weak = patch_body(json!([{ "op": "replace", "value": { "password": "iloveyou" } }]));
    invalid_value(&scim, "PATCH", &user, &weak, "most commonly used");
    let (_, _, unchanged) = scim.get(&user);
    assert_eq!(unchanged["meta"]["version"], version, "refused writes change nothing");

    // /Bulk goes through the same writes: the operation fails, alone.
    let request = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [{ "method": "POST", "path": "/Users", "bulkId": "weak",
                         "data": { "userName": "alice", "password": "qwerty" } }]
    });
    let (status, _, answer) = scim.send("POST", "/Bulk", Some(&request), &[]);
    assert_eq!(status, 200, "{answer}");
    let result = &answer["Operations"][0];
    assert_eq!((&result["status"], &result["response"]["scimType"]), (&json!("400"), &json!("invalidValue")));
    assert_eq!(user_count(&scim), 1);

    let good = patch_body(json!([{ "op": "replace", "path": "password", "value": "a long passphrase" }]));
    let (status, _, answer) = scim.send("PATCH", &user, Some(&good), &[]);
    assert_eq!(status, 200, "{answer}");
}

fn scim_password_policy_follows_the_configuration(db: &TestDb) {
    let env = [("SIGIL_PASSWORDS_MIN_LENGTH", "16"), ("SIGIL_PASSWORDS_REFUSE_COMMON", "false")];
    let server = Server::start(crate::bin(), db, &env);
    let scim = writer(db, &server);
    let body = json!({ "userName": "bjensen", "password": "t1meMa$heen-15c" });
    invalid_value(&scim, "POST", "/Users", &body, "at least 16 characters");
    // The list is off: a common password of the required length passes.
    let body = json!({ "userName": "bjensen", "password": "1234567890123456" });
    let (status, _, answer) = scim.send("POST", "/Users", Some(&body), &[]);
    assert_eq!(status, 201, "{answer}");
}

fn cli_passwords_follow_the_policy_and_write_nothing_when_refused(db: &TestDb) {
    let before = snapshot(db);
    fn add(user: &str) -> [&str; 7] {
        ["user", "add", "--username", user, "--password-stdin", "--group", "staff"]
    }
    for (password, why) in [
        ("x", "at least 8 characters"),
        ("", "at least 8 characters"),
        ("日本語のパス", "at least 8 characters"),
        ("password", "most commonly used"),
        ("Baseball", "most commonly used"),
        ("87654321", "most commonly used"),
        ("abcdefghijk", "repeated or sequential"),
        ("bjensen", "at least 8 characters"),
    ] {
        let ran = sigil_with(db, &add("bjensen"), &[], Some(&format!("{password}\n")));
        refused(&ran, why, password);
    }
    let ran = sigil_with(db, &add("carol.jones"), &[], Some("Carol.Jones\n"));
    refused(&ran, "user name", "the user name as password");
    let ran = sigil_with(db, &["user", "add", "--username", "bjensen", "--password", "secret1"], &[], None);
    refused(&ran, "at least 8 characters", "--password");
    let stricter = [("SIGIL_PASSWORDS_MIN_LENGTH", "12")];
    let ran = sigil_with(db, &add("bjensen"), &stricter, Some("t1meMa$heen\n"));
    refused(&ran, "at least 12 characters", "a configured minimum");
    assert_eq!(snapshot(db), before, "no user, no group was written");

    let ran = sigil_with(db, &add("bjensen"), &[], Some("pässwörd\n"));
    succeeds(ran, "eight characters in ten bytes");
    let no_list = [("SIGIL_PASSWORDS_REFUSE_COMMON", "false")];
    succeeds(sigil_with(db, &add("carol"), &no_list, Some("password\n")), "the list switched off");
}

fn cli_accepts_random_hex_and_base64url_secrets_and_explains_refusals(db: &TestDb) {
    let store = sigil_store::Store::open(
        &sigil_store::DatabaseUrl::parse(db.url()).unwrap(),
        &sigil_store::PoolOptions::default(),
    )
    .unwrap();
    let register = |id: &str, secret: &str| {
        let args =
            ["client", "add", "--id", id, "--secret", secret, "--redirect-uri", "https://a.example/cb"];
        sigil_with(db, &args, &[], None)
    };
    // `openssl rand -hex 32` output that happens to use only 13 of the 16
    // hex digits (no 1, 7 or c), as about one in four such secrets leaves
    // at least one out; then fresh ones of both kinds.
    let mut secrets = vec!["0f6e9b8a3d2e54f06b9ad8e3f2a45b60d9e8fa0b3e6d4f2895a0be3d6f8094ae".to_owned()];
    secrets.extend((0..6).map(|_| random_hex(32)));
    secrets.extend((0..4).map(|_| sigil_store::secret::PlainSecret::generate().unwrap().expose().to_owned()));
    for (i, secret) in secrets.iter().enumerate() {
        let id = format!("client-{i}");
        succeeds(register(&id, secret), secret);
        let client = store.read_blocking(move |c| sigil_store::clients::get(c, &id)).unwrap();
        assert!(client.secret_hash.unwrap().matches(secret), "{secret} is the client's secret");
    }

    // A refusal's estimate agrees with the decision: below 256 bits.
    let before = snapshot(db);
    for (secret, estimate) in [
        (random_hex(32)[..63].to_owned(), "about 252 bits"),
        (random_hex(16), "about 128 bits"),
        ("hunter2hunter2".to_owned(), "about 72 bits"),
    ] {
        let ran = register("weak", &secret);
        refused(&ran, "too weak", &secret);
        assert!(ran.stderr.contains(estimate), "{secret}: {}", ran.stderr);
    }
    let ran = register("weak", &"0123456789abcdef".repeat(5));
    refused(&ran, "16 characters repeated", "a repeated pattern");
    assert_eq!(snapshot(db), before);
}

fn cli_takes_secrets_that_start_with_a_dash(db: &TestDb) {
    let secret = format!("-{}", &sigil_store::secret::PlainSecret::generate().unwrap().expose()[1..]);
    let add = |id: &str, extra: &[&str], stdin: Option<&str>| {
        let mut args = vec!["client", "add", "--id", id, "--redirect-uri", "https://a.example/cb"];
        args.extend_from_slice(extra);
        sigil_with(db, &args, &[], stdin)
    };
    succeeds(add("spaced", &["--secret", &secret], None), "--secret -...");
    succeeds(add("joined", &[&format!("--secret={secret}")], None), "--secret=-...");
    succeeds(add("piped", &["--secret-stdin"], Some(&format!("{secret}\n"))), "--secret-stdin");
    let store = sigil_store::Store::open(
        &sigil_store::DatabaseUrl::parse(db.url()).unwrap(),
        &sigil_store::PoolOptions::default(),
    )
    .unwrap();
    for id in ["spaced", "joined", "piped"] {
        let client = store.read_blocking(move |c| sigil_store::clients::get(c, id)).unwrap();
        assert!(client.secret_hash.unwrap().matches(&secret), "{id} keeps the secret as given");
    }
    // A secret given both ways is a usage error, not a silent choice.
    let both = add("both", &["--secret", &secret, "--secret-stdin"], Some("x\n"));
    assert_eq!(both.status.code(), Some(2), "{}", both.stderr);
}

fn scim_profile_and_photo_urls_must_be_web_urls(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let scim = writer(db, &server);
    let bad_urls = [
        "javascript:alert(document.cookie)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "//evil.example/me.png",
        "https:evil.example",
        "http://evil.example/me.png",
        "https://trusted.example@evil.example/",
    ];
    for url in bad_urls {
        let body = json!({ "userName": "bjensen", "profileUrl": url });
        invalid_value(&scim, "POST", "/Users", &body, "profileUrl");
        let body = json!({ "userName": "bjensen", "photos": [{ "value": url, "type": "photo" }] });
        invalid_value(&scim, "POST", "/Users", &body, "photos");
    }
    assert_eq!(user_count(&scim), 0, "no refused user was stored");

    let good = json!({
        "userName": "bjensen",
        "profileUrl": "https://login.example.com/bjensen",
        "photos": [{ "value": "https://photos.example.com/bjensen.jpg", "type": "photo" },
                   { "value": "http://127.0.0.1:8080/thumb.png", "type": "thumbnail" }]
    });
    let (status, _, created) = scim.send("POST", "/Users", Some(&good), &[]);
    assert_eq!(status, 201, "{created}");
    let user = format!("/Users/{}", created["id"].as_str().unwrap());
    let version = created["meta"]["version"].clone();
    for url in bad_urls {
        let body = json!({ "userName": "bjensen", "profileUrl": url });
        invalid_value(&scim, "PUT", &user, &body, "profileUrl");
        let body = patch_body(json!([{ "op": "replace", "path": "profileUrl", "value": url }]));
        invalid_value(&scim, "PATCH", &user, &body, "profileUrl");
        let body = patch_body(json!([{ "op": "add", "path": "photos", "value": [{ "value": url }] }]));
        invalid_value(&scim, "PATCH", &user, &body, "photos");
    }
    let (_, _, unchanged) = scim.get(&user);
    assert_eq!(unchanged["meta"]["version"], version, "refused writes change nothing");
    assert_eq!(unchanged["profileUrl"], "https://login.example.com/bjensen");
}
