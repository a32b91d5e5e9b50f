//! Attacks on the browser-facing flows: the sign-in and consent forms, the
//! authorization request they carry, sessions, logout, and the headers and
//! cookies of the pages. Each test tries the attack against the running
//! server and checks it is refused.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::{Arc, Barrier, mpsc};
use std::thread;
use std::time::Duration;

use openidconnect::reqwest::blocking::{Client as Http, RequestBuilder, Response};
use openidconnect::reqwest::redirect::Policy;
use serde_json::Value;
use sigil_testkit::process::Server;
use sigil_testkit::{TestDb, backend_tests};
use url::Url;

use crate::cli;
use crate::oidc::{
    OTHER_SECRET, PASSWORD, RP, browser, code_from, field, follow, location, rp_http, setup, sign_in,
    sign_in_as,
};

backend_tests!(
    a_burst_of_guesses_gets_no_more_password_checks_than_the_limit,
    logout_asks_unless_the_hint_is_this_sessions_id_token,
    repeated_authorization_parameters_are_refused,
    signing_in_again_ends_the_earlier_session,
    form_tokens_bind_the_session_and_the_request,
    control_characters_in_a_carried_request_get_an_error_page,
    pages_allow_form_targets_the_flow_needs_and_no_others,
    cookies_take_the_host_prefix_over_https,
);

const WRONG: &str = "The username or password is incorrect.";

/// An authorization request of `client` to [`RP`] for `openid`, with `extra`.
fn authorize_url(server: &Server, client: &str, extra: &[(&str, &str)]) -> String {
    let mut params = vec![("client_id", client), ("redirect_uri", RP), ("response_type", "code")];
    params.push(("scope", "openid"));
    params.extend_from_slice(extra);
    Url::parse_with_params(&server.url("/authorize"), &params).unwrap().to_string()
}

/// The tokens for `code`, redeemed by a confidential client.
fn redeem(server: &Server, client: &str, secret: &str, code: &str) -> Value {
    rp_http()
        .post(server.url("/token"))
        .basic_auth(client, Some(secret))
        .form(&[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", RP)])
        .send()
        .unwrap()
        .json()
        .unwrap()
}

/// A response's status, and whether it is Sigil's HTML error page.
fn is_html_error(response: Response) -> (u16, bool) {
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").and_then(|h| h.to_str().ok());
    let html = content_type.is_some_and(|t| t.starts_with("text/html"));
    let page = response.text().unwrap();
    (status, html && page.contains("This request cannot be completed"))
}

/// A browser whose cookies the test reads and plants itself. It writes the
/// `Cookie` header by hand, so it also sends `Secure` cookies over the
/// tests' plain http, and it keeps every cookie it is given. Each request
/// has a connection of its own: a kept-alive one that waited while a burst
/// was prepared may be closed by the server just as it is used.
struct Agent {
    http: Http,
    jar: RefCell<BTreeMap<String, String>>,
}

impl Agent {
    fn new() -> Self {
        let http = Http::builder()
            .redirect(Policy::none())
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Self { http, jar: RefCell::default() }
    }

    fn with(cookies: &[(&str, &str)]) -> Self {
        let agent = Self::new();
        for (name, value) in cookies {
            agent.set(name, value);
        }
        agent
    }

    fn set(&self, name: &str, value: &str) {
        self.jar.borrow_mut().insert(name.to_owned(), value.to_owned());
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.jar.borrow().get(name).cloned()
    }

    fn send(&self, request: RequestBuilder) -> Response {
        let header: Vec<String> = self.jar.borrow().iter().map(|(k, v)| format!("{k}={v}")).collect();
        let request = if header.is_empty() { request } else { request.header("cookie", header.join("; ")) };
        let response = request.send().unwrap();
        for set in response.headers().get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let pair = set.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                self.jar.borrow_mut().remove(name);
            } else {
                self.set(name, value);
            }
        }
        response
    }

    fn get(&self, url: &str) -> Response {
        self.send(self.http.get(url))
    }

    fn post(&self, url: &str, form: &[(&str, String)]) -> Response {
        self.send(self.http.post(url).form(form))
    }

    /// Signs in as `username` through the form shown for `url`; returns
    /// where the authorization endpoint then sends the browser.
    fn sign_in(&self, server: &Server, url: &str, username: &str) -> Response {
        let html = self.get(url).text().unwrap();
        let form = [
            ("csrf", field(&html, "csrf")),
            ("request", field(&html, "request")),
            ("username", username.to_owned()),
            ("password", PASSWORD.to_owned()),
        ];
        let posted = self.post(&server.url("/login"), &form);
        assert_eq!(posted.status(), 303, "{username} signs in");
        self.get(&follow(server, "/login", &posted))
    }
}

/// Finding: 40 wrong passwords in parallel ran ~39 password checks against
/// a limit of 5, and the right password inside the burst signed in.
fn a_burst_of_guesses_gets_no_more_password_checks_than_the_limit(db: &TestDb) {
    setup(db);
    let server = Server::start(crate::bin(), db, &[]);
    let url = authorize_url(&server, "web", &[]);
    // Every attempt's form first, so that the posts leave together.
    let mut prepared: Vec<(Agent, Vec<(&str, String)>)> = (0..41)
        .map(|i| {
            let agent = Agent::new();
            let html = agent.get(&url).text().unwrap();
            let password = if i == 40 { PASSWORD } else { "a wrong guess" };
            let form = vec![
                ("csrf", field(&html, "csrf")),
                ("request", field(&html, "request")),
                ("username", "alice".to_owned()),
                ("password", password.to_owned()),
            ];
            (agent, form)
        })
        .collect();
    let (right_agent, right_form) = prepared.pop().unwrap();
    let login = server.url("/login");
    let start = Arc::new(Barrier::new(prepared.len()));
    let (tx, rx) = mpsc::channel();
    let guesses: Vec<_> = prepared
        .into_iter()
        .map(|(agent, form)| {
            let (start, tx, login) = (Arc::clone(&start), tx.clone(), login.clone());
            thread::spawn(move || {
                start.wait();
                let response = agent.post(&login, &form);
                let status = response.status().as_u16();
                // The receiver is gone only when the test has failed already.
                let _ = tx.send((status, response.text().unwrap().contains(WRONG)));
            })
        })
        .collect();
    drop(tx);
    let (mut wrong, mut locked, mut right) = (0, 0, None);
    for (status, said_wrong) in rx {
        match status {
            200 if said_wrong => wrong += 1,
            429 => locked += 1,
            other => panic!("a guess was answered {other}"),
        }
        // Inside the burst, once the limit is reached: a 429 means the lock
        // is set, and so do five wrong answers.
        if right.is_none() && (locked > 0 || wrong >= 5) {
            right = Some(right_agent.post(&login, &right_form).status().as_u16());
        }
    }
    for guess in guesses {
        guess.join().unwrap();
    }
    assert!(wrong <= 5, "{wrong} guesses had their password checked (limit 5), {locked} were locked out");
    assert_eq!(wrong + locked, 40);
    assert_eq!(right, Some(429), "the right password inside the locked burst does not sign in");
    assert_eq!(sign_in(&server, &browser(), &url, PASSWORD).status(), 429, "still locked");
}

/// Finding: any Sigil-signed `id_token_hint` (another user's, another
/// session's, another client's, an access token) ended the browser's
/// session without asking (RP-Initiated Logout 1.0 §2, §4).
fn logout_asks_unless_the_hint_is_this_sessions_id_token(db: &TestDb) {
    setup(db);
    cli(db, &["user", "add", "--username", "bob", "--password", PASSWORD]);
    let bye = "https://rp.example.com/bye";
    let secret = super::client(
        db,
        "app",
        &["--redirect-uri", RP, "--post-logout-redirect-uri", bye, "--skip-consent"],
    );
    let server = Server::start(crate::bin(), db, &[]);
    let url = authorize_url(&server, "app", &[]);
    let tokens_of = |browser: &Http, user: &str| {
        let landed = sign_in_as(&server, browser, &url, user, PASSWORD);
        redeem(&server, "app", &secret, &code_from(&landed))
    };
    let earlier = tokens_of(&browser(), "alice");
    let bobs = tokens_of(&browser(), "bob");
    let victim = browser();
    let own = tokens_of(&victim, "alice");
    let silent = authorize_url(&server, "app", &[("prompt", "none")]);
    let signed_in = || location(&victim.get(&silent).send().unwrap()).contains("code=");
    let logout = |params: &[(&str, &str)]| {
        victim.get(Url::parse_with_params(&server.url("/logout"), params).unwrap()).send().unwrap()
    };
    let text = |tokens: &Value, name: &str| tokens[name].as_str().unwrap().to_owned();
    let abuses = [
        ("another user's ID token", text(&bobs, "id_token"), None),
        ("another session's ID token", text(&earlier, "id_token"), None),
        ("an access token", text(&own, "access_token"), None),
        ("an ID token for another client", text(&own, "id_token"), Some("web")),
    ];
    for (what, hint, client) in &abuses {
        let mut params = vec![("id_token_hint", hint.as_str())];
        params.extend(client.map(|c| ("client_id", c)));
        let response = logout(&params);
        assert_eq!(response.status(), 200, "{what}");
        assert!(response.text().unwrap().contains("<h1>Sign out?</h1>"), "{what}: the user is asked");
        assert!(signed_in(), "{what}: the session survives");
    }
    // The session's own ID token ends it without a question.
    let own_id = text(&own, "id_token");
    let done = logout(&[("id_token_hint", &own_id), ("client_id", "app"), ("post_logout_redirect_uri", bye)]);
    assert_eq!(done.status(), 302);
    assert_eq!(location(&done), bye);
    assert!(!signed_in(), "the session ended");
}

/// Finding: a repeated `state` at /authorize was silently dropped; RFC 6749
/// §3.1 says parameters MUST NOT be included more than once.
fn repeated_authorization_parameters_are_refused(db: &TestDb) {
    setup(db);
    let server = Server::start(crate::bin(), db, &[]);
    // The base request already has scope and response_type once.
    let cases: [&[(&str, &str)]; 4] = [
        &[("state", "s1"), ("state", "s2")],
        &[("state", "s1"), ("nonce", "n1"), ("nonce", "n2")],
        &[("state", "s1"), ("scope", "openid email")],
        &[("state", "s1"), ("response_type", "code")],
    ];
    for repeated in cases {
        let response = browser().get(authorize_url(&server, "web", repeated)).send().unwrap();
        assert_eq!(response.status(), 302, "{repeated:?}");
        let target = Url::parse(&location(&response)).unwrap();
        assert!(target.as_str().starts_with(RP), "{target}");
        let params: BTreeMap<_, _> = target.query_pairs().into_owned().collect();
        assert_eq!(
            params.get("error").map(String::as_str),
            Some("invalid_request"),
            "{repeated:?}: {target}"
        );
        assert!(params["error_description"].contains("repeated"), "{target}");
        if repeated.iter().filter(|(k, _)| *k == "state").count() > 1 {
            assert!(!params.contains_key("state"), "neither state is echoed: {target}");
        } else {
            assert_eq!(params.get("state").map(String::as_str), Some("s1"));
        }
    }
    // A repeated client_id or redirect_uri cannot be trusted: an error page.
    let twice = format!("{}&client_id=web", authorize_url(&server, "web", &[]));
    let (status, page) = is_html_error(browser().get(twice).send().unwrap());
    assert!(status == 400 && page);
}

/// Finding: signing in as B in a browser signed in as A left A's session
/// live in the store; only the cookie changed.
fn signing_in_again_ends_the_earlier_session(db: &TestDb) {
    setup(db);
    cli(db, &["user", "add", "--username", "bob", "--password", PASSWORD]);
    let server = Server::start(crate::bin(), db, &[]);
    let agent = Agent::new();
    let landed = agent.sign_in(&server, &authorize_url(&server, "web", &[]), "alice");
    assert!(location(&landed).contains("code="));
    let alices = agent.cookie("sigil_session").expect("a session cookie");
    let landed = agent.sign_in(&server, &authorize_url(&server, "web", &[("prompt", "login")]), "bob");
    assert!(location(&landed).contains("code="));
    let bobs = agent.cookie("sigil_session").unwrap();
    assert_ne!(alices, bobs);
    let silent = authorize_url(&server, "web", &[("prompt", "none")]);
    let replayed = Agent::with(&[("sigil_session", &alices)]).get(&silent);
    assert!(
        location(&replayed).contains("error=login_required"),
        "A's session ended: {}",
        location(&replayed)
    );
    let current = Agent::with(&[("sigil_session", &bobs)]).get(&silent);
    assert!(location(&current).contains("code="), "B's session works");
}

/// Finding: the CSRF check was a double-submit accepting any equal pair,
/// and the consent page's hidden request could be edited.
fn form_tokens_bind_the_session_and_the_request(db: &TestDb) {
    setup(db);
    let server = Server::start(crate::bin(), db, &[]);
    let url = authorize_url(&server, "other", &[]);
    let consent = server.url("/consent");
    let answer = |agent: &Agent, token: &str, request: &str| {
        let form =
            [("csrf", token.to_owned()), ("request", request.to_owned()), ("decision", "allow".into())];
        agent.post(&consent, &form)
    };
    let victim = Agent::new();
    let html = victim.sign_in(&server, &url, "alice").text().unwrap();
    assert!(html.contains("<h1>Allow access?</h1>"), "{html}");
    let (token, request) = (field(&html, "csrf"), field(&html, "request"));

    // The hidden request with a scope added: its token no longer fits.
    let widened = request.replace("scope=openid", "scope=openid+email");
    assert_ne!(widened, request);
    let (status, page) = is_html_error(answer(&victim, &token, &widened));
    assert!(status == 403 && page, "an edited request is refused ({status})");

    // Another session's token for the same request, planted with a
    // matching cookie as a double-submit check would want.
    let attacker = Agent::new();
    let theirs = field(&attacker.sign_in(&server, &url, "alice").text().unwrap(), "csrf");
    victim.set("sigil_csrf", &theirs);
    assert_eq!(answer(&victim, &theirs, &request).status(), 403, "another session's token is refused");
    assert_eq!(victim.get(&url).status(), 200, "nothing was consented: the page asks again");

    // A sign-in posted with any pair of equal values (login CSRF).
    let login_page = Agent::new().get(&authorize_url(&server, "web", &[])).text().unwrap();
    let planted = "A".repeat(43);
    let forger = Agent::with(&[("sigil_csrf", &planted)]);
    let forged = [
        ("csrf", planted.clone()),
        ("request", field(&login_page, "request")),
        ("username", "alice".to_owned()),
        ("password", PASSWORD.to_owned()),
    ];
    assert_eq!(forger.post(&server.url("/login"), &forged).status(), 403, "a forged sign-in is refused");

    // The page's own token grants exactly what the page showed.
    let allowed = answer(&victim, &token, &request);
    assert_eq!(allowed.status(), 303);
    let landed = victim.get(&follow(&server, "/consent", &allowed));
    let tokens = redeem(&server, "other", OTHER_SECRET, &code_from(&landed));
    assert_eq!(tokens["scope"], "openid", "{tokens}");
}

/// Finding: a CR or LF in the request a form carries gave a 500.
fn control_characters_in_a_carried_request_get_an_error_page(db: &TestDb) {
    setup(db);
    let server = Server::start(crate::bin(), db, &[]);
    let url = authorize_url(&server, "other", &[]);
    let agent = Agent::new();
    let html = agent.sign_in(&server, &url, "alice").text().unwrap();
    let (token, request) = (field(&html, "csrf"), field(&html, "request"));
    // In a value the request checks let through (a nonce), then a header.
    let broken = format!("{request}&nonce=a\r\nSet-Cookie: x=1");
    let answer = |agent: &Agent, token: &str| {
        let form = [("csrf", token.to_owned()), ("request", broken.clone()), ("decision", "allow".into())];
        agent.post(&server.url("/consent"), &form)
    };
    // With the session, and without any (a stranger's equal pair), and in
    // the sign-in form.
    let stranger = Agent::with(&[("sigil_csrf", "x")]);
    let login = [
        ("csrf", "x".to_owned()),
        ("request", broken.clone()),
        ("username", "alice".to_owned()),
        ("password", PASSWORD.to_owned()),
    ];
    let answers = [
        ("consent, signed in", is_html_error(answer(&agent, &token))),
        ("consent, signed out", is_html_error(answer(&stranger, "x"))),
        ("sign-in", is_html_error(stranger.post(&server.url("/login"), &login))),
    ];
    assert!(answers.iter().all(|(_, (status, page))| (400..500).contains(status) && *page), "{answers:?}");
    // Encoded in the authorization request itself: refused to the client.
    let response = browser().get(authorize_url(&server, "web", &[("state", "a\r\nb")])).send().unwrap();
    assert!(location(&response).contains("error=invalid_request"), "{}", location(&response));
}

/// The sources of a response's CSP `form-action`.
fn form_action(response: &Response) -> Vec<String> {
    let csp = response.headers()["content-security-policy"].to_str().unwrap();
    let directive = csp.split(';').map(str::trim).find_map(|d| d.strip_prefix("form-action "));
    directive.unwrap_or_else(|| panic!("no form-action in {csp}")).split(' ').map(str::to_owned).collect()
}

/// Whether `sources` let a form submission (or a redirect after one, which
/// browsers check too) reach `target`, as CSP matches origins.
fn allows(sources: &[String], server: &Server, target: &str) -> bool {
    let target = Url::parse(target).unwrap();
    let origin = target.origin().ascii_serialization();
    let own = Url::parse(&server.url("/")).unwrap().origin().ascii_serialization();
    sources.iter().any(|s| (s == "'self'" && origin == own) || *s == origin)
}

/// Finding: the pages' CSP had no `form-action`. It must still admit every
/// redirect the flow takes after a form: to the client after sign-in or
/// consent, to the post-logout URI after confirming.
fn pages_allow_form_targets_the_flow_needs_and_no_others(db: &TestDb) {
    setup(db);
    let bye = "https://bye.example.org/done";
    cli(db, &["client", "add", "--id", "app", "--redirect-uri", RP, "--post-logout-redirect-uri", bye]);
    let server = Server::start(crate::bin(), db, &[]);

    // Sign-in: the form posts here, the answer goes on to the client.
    let browser = browser();
    let url = authorize_url(&server, "web", &[]);
    let page = browser.get(&url).send().unwrap();
    let sources = form_action(&page);
    assert_eq!(sources, ["'self'", "https://rp.example.com"]);
    let html = page.text().unwrap();
    let form = [
        ("csrf", field(&html, "csrf")),
        ("request", field(&html, "request")),
        ("username", "alice".to_owned()),
        ("password", PASSWORD.to_owned()),
    ];
    let posted = browser.post(server.url("/login")).form(&form).send().unwrap();
    let next = follow(&server, "/login", &posted);
    assert!(allows(&sources, &server, &next), "{next}");
    let landed = browser.get(&next).send().unwrap();
    assert!(allows(&sources, &server, &location(&landed)), "{}", location(&landed));

    // Consent: allowing or denying ends at the client.
    let url = authorize_url(&server, "other", &[]);
    let page = browser.get(&url).send().unwrap();
    let sources = form_action(&page);
    let html = page.text().unwrap();
    let answer = |decision: &str| {
        let form = [
            ("csrf", field(&html, "csrf")),
            ("request", field(&html, "request")),
            ("decision", decision.to_owned()),
        ];
        browser.post(server.url("/consent")).form(&form).send().unwrap()
    };
    let denied = answer("deny");
    assert!(allows(&sources, &server, &location(&denied)));
    let allowed = answer("allow");
    let landed = browser.get(follow(&server, "/consent", &allowed)).send().unwrap();
    assert!(location(&landed).contains("code=") && allows(&sources, &server, &location(&landed)));

    // Logout confirmation: the answer goes to the post-logout URI, which is
    // the one other target.
    let logout = Url::parse_with_params(
        &server.url("/logout"),
        &[("client_id", "app"), ("post_logout_redirect_uri", bye)],
    )
    .unwrap();
    let page = browser.get(logout).send().unwrap();
    let sources = form_action(&page);
    assert_eq!(sources, ["'self'", "https://bye.example.org"]);
    let html = page.text().unwrap();
    let confirm = [
        ("csrf", field(&html, "csrf")),
        ("client_id", field(&html, "client_id")),
        ("post_logout_redirect_uri", field(&html, "post_logout_redirect_uri")),
        ("confirm", "yes".to_owned()),
    ];
    let done = browser.post(server.url("/logout")).form(&confirm).send().unwrap();
    assert_eq!(location(&done), bye);
    assert!(allows(&sources, &server, bye));

    // The form-post response page may post to the client only; an error
    // page has no form at all.
    let url = authorize_url(&server, "web", &[("response_mode", "form_post"), ("prompt", "none")]);
    assert_eq!(form_action(&browser.get(&url).send().unwrap()), ["https://rp.example.com"]);
    let url = authorize_url(&server, "nobody", &[]);
    assert_eq!(form_action(&browser.get(&url).send().unwrap()), ["'none'"]);
}

/// Finding: the session cookie had no `__Host-` prefix, so a sibling host
/// could plant one. Over https both of Sigil's cookies take it (RFC 6265bis
/// §4.1.3.2), and the unprefixed name is no longer read.
fn cookies_take_the_host_prefix_over_https(db: &TestDb) {
    setup(db);
    let server = Server::start(crate::bin(), db, &[("SIGIL_ISSUER", "https://id.example.test")]);
    let set_cookie = |response: &Response, name: &str| {
        let header = response.headers().get_all("set-cookie").iter().map(|h| h.to_str().unwrap().to_owned());
        let found = header.into_iter().find(|h| h.starts_with(&format!("{name}=")));
        found.unwrap_or_else(|| panic!("no {name} cookie set"))
    };
    let attributes = |cookie: &str| -> Vec<String> {
        cookie.split(';').skip(1).map(|a| a.trim().to_ascii_lowercase()).collect()
    };
    let agent = Agent::new();
    let url = authorize_url(&server, "web", &[]);
    let page = agent.get(&url);
    let browser_cookie = set_cookie(&page, "__Host-sigil_csrf");
    let html = page.text().unwrap();
    let form = [
        ("csrf", field(&html, "csrf")),
        ("request", field(&html, "request")),
        ("username", "alice".to_owned()),
        ("password", PASSWORD.to_owned()),
    ];
    let posted = agent.post(&server.url("/login"), &form);
    assert_eq!(posted.status(), 303);
    let session_cookie = set_cookie(&posted, "__Host-sigil_session");
    for cookie in [&browser_cookie, &session_cookie] {
        let attributes = attributes(cookie);
        for needed in ["secure", "path=/", "httponly"] {
            assert!(attributes.iter().any(|a| a == needed), "{needed} in {cookie}");
        }
        assert!(!attributes.iter().any(|a| a.starts_with("domain")), "no Domain in {cookie}");
    }
    assert!(attributes(&session_cookie).contains(&"samesite=lax".to_owned()));
    let session = agent.cookie("__Host-sigil_session").unwrap();
    let silent = authorize_url(&server, "web", &[("prompt", "none")]);
    assert!(location(&Agent::with(&[("__Host-sigil_session", &session)]).get(&silent)).contains("code="));
    let unprefixed = Agent::with(&[("sigil_session", &session)]).get(&silent);
    assert!(location(&unprefixed).contains("error=login_required"), "only the prefixed name counts");
}
