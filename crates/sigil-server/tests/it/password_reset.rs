//! `sigil user reset-link` and the page behind the link: the operator
//! prints a one-time link, the user chooses a password there. The link is
//! used once, expires, dies when a new one is issued, sets only its own
//! user's password, ends the user's sessions and tokens, and never shows
//! up in the server's log.

use openidconnect::reqwest::blocking::{Client as Http, Response};
use sigil_store::password_resets;
use sigil_store::secret::PlainSecret;
use sigil_store::users::{self, User};
use sigil_store::{DatabaseUrl, PoolOptions, Store};
use sigil_testkit::process::{Server, run, sigil};
use sigil_testkit::{TestDb, backend_tests, race};
use url::Url;

use crate::lifecycle::Rp;
use crate::oidc::{PASSWORD, RP, browser, field, rp_http, setup, sign_in};
use crate::{cli, cli_fails};

backend_tests!(
    a_reset_link_sets_the_password_once_and_signs_the_user_out,
    reset_links_expire_and_a_new_one_revokes_the_one_before,
    a_reset_link_changes_only_its_own_user,
    the_reset_form_refuses_a_forged_or_missing_csrf_token,
    concurrent_posts_of_one_link_set_the_password_once,
    reset_link_refuses_unknown_and_disabled_users_and_bad_lifetimes,
    posts_to_one_link_are_throttled_like_sign_ins,
);

const NEW: &str = "a brand new passphrase 42";

fn store(db: &TestDb) -> Store {
    Store::open(&DatabaseUrl::parse(db.url()).unwrap(), &PoolOptions::default()).unwrap()
}

/// Prints a link for `username` and returns its token.
fn link_token(db: &TestDb, username: &str) -> String {
    let out = cli(db, &["user", "reset-link", "--username", username]);
    assert_eq!(out.lines().count(), 1, "one line: {out}");
    let url = Url::parse(out.trim()).unwrap();
    assert_eq!(url.path(), "/reset", "{url}");
    let token = url.query_pairs().find(|(k, _)| k == "token").map(|(_, v)| v.into_owned()).unwrap();
    assert_eq!(token.len(), 43, "256 bits: {url}");
    token
}

fn page_url(server: &Server, token: &str) -> String {
    Url::parse_with_params(&server.url("/reset"), &[("token", token)]).unwrap().to_string()
}

/// Opens the link; the form is shown. Returns the form's CSRF token.
fn open_form(server: &Server, browser: &Http, token: &str) -> String {
    let page = browser.get(page_url(server, token)).send().unwrap();
    assert_eq!(page.status(), 200);
    check_headers(&page);
    let html = page.text().unwrap();
    assert!(html.contains("<label for=\"password\">") && html.contains("<label for=\"confirm\">"), "{html}");
    assert!(html.contains("action=\"reset\""), "a relative action keeps an issuer's path");
    assert_eq!(field(&html, "token"), token);
    field(&html, "csrf")
}

fn check_headers(page: &Response) {
    for (header, value) in
        [("cache-control", "no-store"), ("referrer-policy", "no-referrer"), ("x-frame-options", "DENY")]
    {
        assert_eq!(page.headers()[header], value, "{header}");
    }
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
}

fn post(server: &Server, browser: &Http, form: &[(&str, &str)]) -> (u16, String) {
    let response = browser.post(server.url("/reset")).form(form).send().unwrap();
    let status = response.status().as_u16();
    check_headers(&response);
    (status, response.text().unwrap())
}

fn set(server: &Server, browser: &Http, token: &str, csrf: &str, password: &str) -> (u16, String) {
    post(server, browser, &[("csrf", csrf), ("token", token), ("password", password), ("confirm", password)])
}

const INVALID: &str = "This link is not valid";
const DONE: &str = "Your password is set";

/// Whether `username` signs in with `password` at the client `web`.
fn signs_in(server: &Server, username: &str, password: &str) -> bool {
    let params = [("client_id", "web"), ("redirect_uri", RP), ("response_type", "code"), ("scope", "openid")];
    let url = Url::parse_with_params(&server.url("/authorize"), &params).unwrap();
    let landed = crate::oidc::sign_in_as(server, &browser(), url.as_str(), username, password);
    landed.status().is_redirection() && landed.headers()["location"].to_str().unwrap().starts_with(RP)
}

fn outcomes(db: &TestDb) -> Vec<String> {
    let filter = sigil_store::audit::Filter {
        kind: Some(sigil_store::audit::Kind::PasswordReset),
        ..Default::default()
    };
    let mut events = store(db).read_blocking(|c| sigil_store::audit::list(c, &filter, None, 100)).unwrap();
    events.reverse();
    events.into_iter().map(|e| e.outcome).collect()
}

fn a_reset_link_sets_the_password_once_and_signs_the_user_out(db: &TestDb) {
    let secret = setup(db);
    let server = Server::start(crate::bin(), db, &[]);
    let web = Rp { server: &server, http: rp_http(), id: "web", secret };
    let signed_in = browser();
    let (_, tokens) = web.tokens_as(&signed_in, "alice", PASSWORD, "openid offline_access");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(web.userinfo(&access), 200);

    let token = link_token(db, "alice");
    let user = browser();
    let csrf = open_form(&server, &user, &token);
    // A password the policy refuses, or two that differ, change nothing
    // and leave the link working.
    let (status, html) = set(&server, &user, &token, &csrf, "short");
    assert_eq!(status, 400);
    assert!(html.contains("the password is too short"), "{html}");
    let (status, html) = set(&server, &user, &token, &csrf, "alice");
    assert_eq!(status, 400);
    assert!(html.contains("too short") || html.contains("user name"), "{html}");
    let (status, html) = post(
        &server,
        &user,
        &[("csrf", &csrf), ("token", &token), ("password", NEW), ("confirm", "a brand new passphrase 43")],
    );
    assert_eq!(status, 400);
    assert!(html.contains("The two passwords differ"), "{html}");
    assert_eq!(web.userinfo(&access), 200, "nothing changed yet");
    assert_eq!(open_form(&server, &user, &token), csrf, "the link still works");

    let (status, html) = set(&server, &user, &token, &csrf, NEW);
    assert_eq!(status, 200, "{html}");
    assert!(html.contains(DONE), "{html}");

    // The user's tokens and sessions are gone.
    assert_eq!(web.userinfo(&access), 401);
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, body) = web.post("/token", &[("grant_type", "refresh_token"), ("refresh_token", refresh)]);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    let params = [("client_id", "web"), ("redirect_uri", RP), ("response_type", "code"), ("scope", "openid")];
    let url = Url::parse_with_params(&server.url("/authorize"), &params).unwrap();
    assert_eq!(signed_in.get(url.as_str()).send().unwrap().status(), 200, "the session ended: sign in again");
    assert!(sign_in(&server, &signed_in, url.as_str(), NEW).status().is_redirection());
    assert!(signs_in(&server, "alice", NEW));
    assert!(!signs_in(&server, "alice", PASSWORD), "the old password no longer works");

    // Replayed, the link is refused, as the form and as a post.
    let (status, html) = set(&server, &user, &token, &csrf, "yet another passphrase 44");
    assert_eq!(status, 400);
    assert!(html.contains(INVALID), "{html}");
    let page = user.get(page_url(&server, &token)).send().unwrap();
    assert_eq!(page.status(), 400);
    assert!(signs_in(&server, "alice", NEW));

    assert_eq!(outcomes(db), ["policy", "policy", "mismatch", "success", "invalid"]);
    let logs = server.logs();
    assert!(logs.contains("/reset"), "the requests are logged");
    assert!(!logs.contains(&token), "the token never reaches the log");
    assert!(!logs.contains(NEW));
}

fn reset_links_expire_and_a_new_one_revokes_the_one_before(db: &TestDb) {
    setup(db);
    let server = Server::start(crate::bin(), db, &[]);
    let first = link_token(db, "alice");
    let user = browser();
    let first_csrf = open_form(&server, &user, &first);
    let second = link_token(db, "alice");
    let unknown = PlainSecret::generate().unwrap();
    let invalid_page = |token: &str| {
        let page = user.get(page_url(&server, token)).send().unwrap();
        assert_eq!(page.status(), 400);
        check_headers(&page);
        page.text().unwrap()
    };
    let answer = invalid_page(unknown.expose());
    assert!(answer.contains(INVALID));
    assert_eq!(invalid_page(&first), answer, "a revoked link looks like an unknown one");
    assert_eq!(invalid_page(""), answer);
    let (status, html) = set(&server, &user, &first, &first_csrf, NEW);
    assert_eq!((status, html.contains(INVALID)), (400, true), "{html}");

    // The live link expires: the store is told it lapsed a second ago.
    let csrf = open_form(&server, &user, &second);
    let store = store(db);
    let hash = PlainSecret::new(second.clone()).hash();
    store
        .write_blocking(move |c| {
            let alice = users::find_by_user_name(c, "alice")?.unwrap();
            let now = chrono::Utc::now().naive_utc();
            password_resets::issue(c, &alice.id, &hash, now - chrono::TimeDelta::seconds(1), now)
        })
        .unwrap();
    assert_eq!(invalid_page(&second), answer, "an expired link looks like an unknown one");
    let (status, html) = set(&server, &user, &second, &csrf, NEW);
    assert_eq!((status, html.contains(INVALID)), (400, true), "{html}");
    assert!(signs_in(&server, "alice", PASSWORD), "nothing changed");
    assert!(!signs_in(&server, "alice", NEW));
}

fn a_reset_link_changes_only_its_own_user(db: &TestDb) {
    setup(db);
    cli(db, &["user", "add", "--username", "bob", "--password", "bob's own passphrase 1"]);
    // A user provisioned without a password gets their first one this way.
    let carol = store(db)
        .write_blocking(|c| users::insert(c, User::new("carol"), chrono::Utc::now().naive_utc()))
        .unwrap();
    assert!(carol.password_hash.is_none());
    let server = Server::start(crate::bin(), db, &[]);
    let token = link_token(db, "bob");
    let user = browser();
    let csrf = open_form(&server, &user, &token);
    // Naming another user in the form changes nothing: the link decides.
    let (status, _) = post(
        &server,
        &user,
        &[
            ("csrf", &csrf),
            ("token", &token),
            ("username", "alice"),
            ("user_id", "alice"),
            ("password", NEW),
            ("confirm", NEW),
        ],
    );
    assert_eq!(status, 200);
    assert!(signs_in(&server, "bob", NEW));
    assert!(signs_in(&server, "alice", PASSWORD));
    assert!(!signs_in(&server, "alice", NEW));

    let token = link_token(db, "carol");
    let csrf = open_form(&server, &user, &token);
    assert_eq!(set(&server, &user, &token, &csrf, "carol's first passphrase").0, 200);
    assert!(signs_in(&server, "carol", "carol's first passphrase"));
}

fn the_reset_form_refuses_a_forged_or_missing_csrf_token(db: &TestDb) {
    setup(db);
    cli(db, &["user", "add", "--username", "bob", "--password", "bob's own passphrase 1"]);
    let server = Server::start(crate::bin(), db, &[]);
    let token = link_token(db, "alice");
    let bob_token = link_token(db, "bob");
    let (victim, attacker) = (browser(), browser());
    let csrf = open_form(&server, &victim, &token);
    let attacker_csrf = open_form(&server, &attacker, &bob_token);
    let forged: [(&Http, &str, &str); 5] = [
        (&victim, "", &token),             // missing
        (&victim, "AAAA", &token),         // made up
        (&attacker, &csrf, &token),        // another browser's
        (&victim, &attacker_csrf, &token), // another link's, another browser's
        (&rp_http(), &csrf, &token),       // a cross-site post carries no cookie
    ];
    for (from, csrf, token) in forged {
        let (status, html) = set(&server, from, token, csrf, NEW);
        assert_eq!(status, 403, "{html}");
        assert!(html.contains("not sent by this site"), "{html}");
    }
    // The attacker's own form does not take another link either.
    let (status, _) = set(&server, &attacker, &token, &attacker_csrf, NEW);
    assert_eq!(status, 403);
    assert!(signs_in(&server, "alice", PASSWORD), "nothing changed");
    assert_eq!(set(&server, &victim, &token, &csrf, NEW).0, 200, "the link still works");
    assert_eq!(outcomes(db), ["forged", "forged", "forged", "forged", "forged", "forged", "success"]);
}

fn concurrent_posts_of_one_link_set_the_password_once(db: &TestDb) {
    setup(db);
    let server = Server::start(crate::bin(), db, &[]);
    let token = link_token(db, "alice");
    let user = browser();
    let csrf = open_form(&server, &user, &token);
    let passwords: Vec<String> = (0..20).map(|i| format!("concurrent passphrase {i:02}")).collect();
    let answers = race(20, |i| set(&server, &user, &token, &csrf, &passwords[i]));
    let winners: Vec<usize> = (0..20).filter(|&i| answers[i].0 == 200).collect();
    assert_eq!(winners.len(), 1, "{:?}", answers.iter().map(|a| a.0).collect::<Vec<_>>());
    for (i, (status, html)) in answers.iter().enumerate().filter(|(i, _)| *i != winners[0]) {
        assert!(*status == 400 && html.contains(INVALID) || *status == 429, "{i}: {status} {html}");
    }
    let alice = store(db).read_blocking(|c| users::find_by_user_name(c, "alice")).unwrap().unwrap();
    let hash = alice.password_hash.unwrap();
    let set_to: Vec<&String> =
        passwords.iter().filter(|p| sigil_store::password::verify_password(p, &hash)).collect();
    assert_eq!(set_to, [&passwords[winners[0]]]);
    assert_eq!(alice.meta.version, 2, "one write of the user");
}

fn reset_link_refuses_unknown_and_disabled_users_and_bad_lifetimes(db: &TestDb) {
    setup(db);
    let ran = cli_fails(db, 1, &["user", "reset-link", "--username", "ghost"]);
    assert!(ran.stderr.contains("no user `ghost`"), "{}", ran.stderr);
    for bad in ["1m", "4m", "8d", "169h", "abc", "10", "5x", ""] {
        let ran = cli_fails(db, 1, &["user", "reset-link", "--username", "alice", "--expires-in", bad]);
        assert!(ran.stderr.contains("--expires-in"), "{bad}: {}", ran.stderr);
    }
    cli_fails(db, 2, &["user", "reset-link"]);
    let alice = store(db).read_blocking(|c| users::find_by_user_name(c, "alice")).unwrap().unwrap();
    let none = store(db).read_blocking(move |c| password_resets::of_user(c, &alice.id)).unwrap();
    assert!(none.is_empty(), "a refusal issues nothing");

    // --json, the bounds themselves, and the issuer the server would use.
    let mut command = sigil(crate::bin(), db);
    command.env("SIGIL_ISSUER", "https://id.example.com/sigil").args([
        "user",
        "reset-link",
        "--username",
        "ALICE",
        "--expires-in",
        "5m",
        "--json",
    ]);
    let ran = run(command);
    assert!(ran.status.success(), "{}", ran.stderr);
    let shown: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    assert!(
        shown["url"].as_str().unwrap().starts_with("https://id.example.com/sigil/reset?token="),
        "{shown}"
    );
    let expires =
        chrono::NaiveDateTime::parse_from_str(shown["expires"].as_str().unwrap(), "%Y-%m-%dT%H:%M:%SZ")
            .unwrap();
    let left = expires - chrono::Utc::now().naive_utc();
    assert!(left > chrono::TimeDelta::minutes(4) && left <= chrono::TimeDelta::minutes(5), "{left}");
    cli(db, &["user", "reset-link", "--username", "alice", "--expires-in", "7d"]);
    let out = cli(db, &["user", "reset-link", "--username", "alice"]);
    assert!(out.starts_with("http://127.0.0.1:8080/reset?token="), "the bind address by default: {out}");

    // A disabled user gets no link, and the link they had stops working.
    let server = Server::start(crate::bin(), db, &[]);
    let token = link_token(db, "alice");
    let user = browser();
    let csrf = open_form(&server, &user, &token);
    cli(db, &["user", "disable", "--username", "alice"]);
    let ran = cli_fails(db, 1, &["user", "reset-link", "--username", "alice"]);
    assert!(ran.stderr.contains("disabled"), "{}", ran.stderr);
    assert_eq!(user.get(page_url(&server, &token)).send().unwrap().status(), 400);
    let (status, html) = set(&server, &user, &token, &csrf, NEW);
    assert_eq!((status, html.contains(INVALID)), (400, true), "{html}");
    cli(db, &["user", "enable", "--username", "alice"]);
    assert!(signs_in(&server, "alice", PASSWORD), "the password did not change");
}

fn posts_to_one_link_are_throttled_like_sign_ins(db: &TestDb) {
    setup(db);
    let server = Server::start(crate::bin(), db, &[]);
    let token = link_token(db, "alice");
    let user = browser();
    let csrf = open_form(&server, &user, &token);
    for _ in 0..10 {
        assert_eq!(set(&server, &user, &token, &csrf, "short").0, 400);
    }
    // Locked: even a good password is not looked at.
    let (status, html) = set(&server, &user, &token, &csrf, NEW);
    assert_eq!(status, 429, "{html}");
    assert!(html.contains("Too many attempts"), "{html}");
    assert!(signs_in(&server, "alice", PASSWORD), "nothing changed");
    let mut expected = vec!["policy"; 10];
    expected.push("throttled");
    assert_eq!(outcomes(db), expected);
}
