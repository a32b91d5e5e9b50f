//! Sign-in with OpenID Connect, driven by the `openidconnect` crate as the
//! relying party and a cookie-keeping HTTP client as the browser that fills
//! in the sign-in form.

use std::time::Duration;

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims};
use openidconnect::reqwest::blocking::{Client as Http, Response};
use openidconnect::reqwest::redirect::Policy;
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use serde_json::Value;
use sigil_testkit::process::Server;
use sigil_testkit::{TestDb, backend_tests};

use crate::cli;
use url::Url;

backend_tests!(
    code_flow_with_pkce_signs_in_through_the_form,
    authorization_errors_follow_the_specs,
    public_client_asks_consent_once_and_uses_pkce_without_a_secret,
    logout_ends_the_session_and_returns_to_the_client,
    repeated_failures_lock_the_account_not_the_address,
    form_post_response_mode_posts_the_response,
    id_tokens_verify_with_every_offered_algorithm,
    a_code_lives_as_long_as_configured,
);

pub(crate) const RP: &str = "https://rp.example.com/cb";
pub(crate) const PASSWORD: &str = "correct horse battery staple";
/// The secret of the client `other` that [`setup`] registers (it asks for
/// consent, unlike `web`).
pub(crate) const OTHER_SECRET: &str = "Zq7xV2mN9pR4tL8wK3sD6fH1jG5bC0yE_aUoIeXr-Tn";

pub(crate) fn setup(db: &TestDb) -> String {
    cli(
        db,
        &[
            "user",
            "add",
            "--username",
            "alice",
            "--password",
            PASSWORD,
            "--email",
            "alice@example.com",
            "--given-name",
            "Alice",
            "--family-name",
            "Liddell",
            "--phone-number",
            "tel:+41-22-767-6111",
            "--locality",
            "Geneva",
            "--country",
            "CH",
            "--zoneinfo",
            "Europe/Zurich",
        ],
    );
    let out = cli(
        db,
        &["client", "add", "--id", "web", "--name", "Web App", "--redirect-uri", RP, "--skip-consent"],
    );
    cli(db, &["client", "add", "--id", "other", "--secret", OTHER_SECRET, "--redirect-uri", RP]);
    out.lines().find_map(|l| l.strip_prefix("client_secret: ")).unwrap().to_owned()
}

pub(crate) fn browser() -> Http {
    Http::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .timeout(Duration::from_secs(15))
        .pool_idle_timeout(CLIENT_IDLE)
        .build()
        .unwrap()
}

pub(crate) fn rp_http() -> Http {
    Http::builder()
        .redirect(Policy::none())
        .timeout(Duration::from_secs(15))
        .pool_idle_timeout(CLIENT_IDLE)
        .build()
        .unwrap()
}

/// How long the test clients keep an idle connection: well under the
/// server's keep-alive (5 s by default), as a well-behaved client does.
/// Otherwise a step slowed by a loaded machine can send its request on a
/// connection the server is closing that instant, and fail with an
/// incomplete message that says nothing about the server.
pub(crate) const CLIENT_IDLE: Duration = Duration::from_secs(2);

/// The value of a hidden form field, unescaped.
pub(crate) fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no field {name} in {html}")) + marker.len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end]
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

pub(crate) fn location(response: &Response) -> String {
    response
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("no redirect: {}", response.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

/// Where a redirect from the page at `path` sends the browser (the
/// `Location` may be relative, as between Sigil's own pages).
pub(crate) fn follow(server: &Server, path: &str, redirect: &Response) -> String {
    Url::parse(&server.url(path)).unwrap().join(&location(redirect)).unwrap().to_string()
}

/// The `code` of the authorization response a redirect carries.
pub(crate) fn code_from(response: &Response) -> String {
    let target = Url::parse(&location(response)).unwrap();
    target
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no code in {target}"))
}

/// Signs in through the form shown for `auth_url`; returns where the
/// browser is finally sent.
pub(crate) fn sign_in(server: &Server, browser: &Http, auth_url: &str, password: &str) -> Response {
    sign_in_as(server, browser, auth_url, "alice", password)
}

/// [`sign_in`] as `username`.
pub(crate) fn sign_in_as(
    server: &Server,
    browser: &Http,
    auth_url: &str,
    username: &str,
    password: &str,
) -> Response {
    let page = browser.get(auth_url).send().unwrap();
    assert_eq!(page.status(), 200);
    for (header, value) in [("x-frame-options", "DENY"), ("referrer-policy", "no-referrer")] {
        assert_eq!(page.headers()[header], value);
    }
    assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    let html = page.text().unwrap();
    assert!(
        html.contains("<label for=\"username\">") && html.contains("<label for=\"password\">"),
        "labelled fields"
    );
    let form = [
        ("csrf", field(&html, "csrf")),
        ("request", field(&html, "request")),
        ("username", username.to_owned()),
        ("password", password.to_owned()),
    ];
    assert!(html.contains("action=\"login\""), "a relative action keeps an issuer's path");
    let posted = browser.post(server.url("/login")).form(&form).send().unwrap();
    if posted.status() != 303 {
        return posted;
    }
    browser.get(follow(server, "/login", &posted)).send().unwrap()
}

fn code_flow_with_pkce_signs_in_through_the_form(db: &TestDb) {
    let secret = setup(db);
    let server = Server::start(crate::bin(), db, &[]);
    let issuer = format!("http://{}", server.addr);
    let http = rp_http();
    let metadata =
        CoreProviderMetadata::discover(&IssuerUrl::new(issuer.clone()).unwrap(), &http).expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("web".into()),
        Some(ClientSecret::new(secret)),
    )
    .set_redirect_uri(RedirectUrl::new(RP.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, state, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let browser = browser();

    // A wrong password gets the one generic message and no session.
    let refused = sign_in(&server, &browser, auth_url.as_str(), "wrong");
    assert_eq!(refused.status(), 200);
    let html = refused.text().unwrap();
    assert!(
        html.contains("The username or password is incorrect.") && html.contains("role=\"alert\""),
        "{html}"
    );

    let landed = sign_in(&server, &browser, auth_url.as_str(), PASSWORD);
    assert_eq!(landed.status(), 302);
    let back = Url::parse(&location(&landed)).unwrap();
    assert!(back.as_str().starts_with(RP), "{back}");
    let param = |name: &str| back.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    assert_eq!(param("state").as_deref(), Some(state.secret().as_str()));
    assert_eq!(param("iss").as_deref(), Some(issuer.as_str()), "RFC 9207");
    let code = param("code").expect("a code");

    let tokens = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request(&http)
        .expect("the code is exchanged");
    let id_token = tokens.id_token().expect("an ID token");
    // Signature, iss, aud, exp and nonce, checked by the relying party.
    let claims = id_token.claims(&client.id_token_verifier(), &nonce).expect("the ID token verifies");
    assert_eq!(claims.issuer().as_str(), issuer);
    assert!(claims.auth_time().is_some());
    let expected_hash = openidconnect::AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&client.id_token_verifier()).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected_hash), "at_hash");
    let sub = claims.subject().clone();

    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request(&http)
        .expect("userinfo answers");
    assert_eq!(info.subject(), &sub, "the same sub in userinfo and the ID token");
    assert_eq!(info.email().map(|e| e.as_str()), Some("alice@example.com"));
    assert_eq!(info.given_name().and_then(|n| n.get(None)).map(|n| n.as_str()), Some("Alice"));
    assert_eq!(info.preferred_username().map(|u| u.as_str()), Some("alice"));
    // Only what the scopes release: profile and email, not phone or address.
    assert_eq!(info.zoneinfo().map(|z| z.as_str()), Some("Europe/Zurich"));
    assert!(info.phone_number().is_none() && info.address().is_none());

    // RFC 6749 §4.1.2: a code works once.
    let replay = client.exchange_code(AuthorizationCode::new(code)).unwrap().request(&http);
    assert!(format!("{replay:?}").contains("invalid_grant"), "{replay:?}");

    // With the session, prompt=none returns a code without a page.
    let (silent_url, _, _) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_extra_param("prompt", "none")
        .url();
    let silent = browser.get(silent_url.as_str()).send().unwrap();
    assert_eq!(silent.status(), 302);
    assert!(location(&silent).contains("code="), "{}", location(&silent));
    assert!(!server.logs().contains(PASSWORD), "a password reached the log");
}

fn authorization_errors_follow_the_specs(db: &TestDb) {
    let secret = setup(db);
    let server = Server::start(crate::bin(), db, &[]);
    let authorize = |params: &[(&str, &str)]| {
        let url = Url::parse_with_params(&server.url("/authorize"), params).unwrap();
        browser().get(url).send().unwrap()
    };
    let base = [
        ("client_id", "web"),
        ("redirect_uri", RP),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", "s1"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| -> Vec<(&str, &str)> {
        let mut params: Vec<(&str, &str)> =
            base.iter().filter(|(k, _)| !extra.iter().any(|(e, _)| e == k)).copied().collect();
        params.extend(extra.iter().filter(|(_, v)| !v.is_empty()));
        params
    };

    // Untrusted client or redirect URI: an error page, never a redirect.
    for params in [
        with(&[("redirect_uri", "https://evil.example.com/cb")]),
        with(&[("redirect_uri", "https://rp.example.com/cb/")]),
        with(&[("client_id", "nobody")]),
        with(&[("redirect_uri", "")]),
    ] {
        let response = authorize(&params);
        assert_eq!(response.status(), 400, "{params:?}");
        assert!(response.headers().get("location").is_none(), "{params:?}");
    }
    // Everything else goes back to the client, with state and iss.
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("response_type", "token")], "unsupported_response_type"),
        (&[("response_type", "")], "invalid_request"),
        (&[("prompt", "none")], "login_required"),
        (&[("prompt", "none login")], "invalid_request"),
        (&[("scope", "openid admin")], "invalid_scope"),
        (
            &[
                ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
                ("code_challenge_method", "plain"),
            ],
            "invalid_request",
        ),
        (&[("max_age", "soon")], "invalid_request"),
        (&[("request", "eyJhbGciOiJub25lIn0.e30.")], "request_not_supported"),
    ];
    for (extra, error) in cases {
        let response = authorize(&with(extra));
        assert_eq!(response.status(), 302, "{extra:?}");
        let target = Url::parse(&location(&response)).unwrap();
        let params: std::collections::HashMap<_, _> = target.query_pairs().into_owned().collect();
        assert_eq!(params.get("error").map(String::as_str), Some(*error), "{extra:?}: {target}");
        assert_eq!(params.get("state").map(String::as_str), Some("s1"));
        assert_eq!(params.get("iss").map(String::as_str), Some(format!("http://{}", server.addr).as_str()));
    }

    // A code stolen by another client, or redeemed with another redirect URI,
    // is refused.
    let browser = browser();
    let url = Url::parse_with_params(&server.url("/authorize"), &base).unwrap();
    let landed = sign_in(&server, &browser, url.as_str(), PASSWORD);
    let code = code_from(&landed);
    let exchange = |id: &str, secret: &str, redirect: &str, code: &str| -> Value {
        rp_http()
            .post(server.url("/token"))
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirect)])
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    let stolen = exchange("other", "Zq7xV2mN9pR4tL8wK3sD6fH1jG5bC0yE_aUoIeXr-Tn", RP, &code);
    assert_eq!(stolen["error"], "invalid_grant", "{stolen}");
    // The stolen attempt did not spend the code: the rightful client still
    // redeems it (and a thief cannot burn codes to revoke grants).
    assert!(exchange("web", &secret, RP, &code)["access_token"].is_string());
    let landed = browser.get(url.as_str()).send().unwrap();
    let code = code_from(&landed);
    assert_eq!(exchange("web", &secret, "https://rp.example.com/other", &code)["error"], "invalid_grant");

    // The sign-in form refuses a post without its CSRF cookie.
    let forged = rp_http()
        .post(server.url("/login"))
        .form(&[("csrf", "x"), ("request", "client_id=web"), ("username", "alice"), ("password", PASSWORD)])
        .send()
        .unwrap();
    assert_eq!(forged.status(), 403);
}

fn public_client_asks_consent_once_and_uses_pkce_without_a_secret(db: &TestDb) {
    setup(db);
    let spa = "http://127.0.0.1:3000/cb";
    cli(db, &["client", "add", "--id", "spa", "--public", "--name", "Single Page", "--redirect-uri", spa]);
    let server = Server::start(crate::bin(), db, &[]);
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"; // RFC 7636 Appendix B
    let params = [
        ("client_id", "spa"),
        ("redirect_uri", spa),
        ("response_type", "code"),
        ("scope", "openid profile"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ];
    let url = Url::parse_with_params(&server.url("/authorize"), &params).unwrap();

    // Without PKCE a public client is refused.
    let no_pkce = Url::parse_with_params(&server.url("/authorize"), &params[..4]).unwrap();
    let refused = browser().get(no_pkce).send().unwrap();
    assert!(location(&refused).contains("error=invalid_request"), "{}", location(&refused));

    // First time: sign in, then the consent page; denying sends access_denied.
    let browser = browser();
    let consent_page = sign_in(&server, &browser, url.as_str(), PASSWORD);
    assert_eq!(consent_page.status(), 200);
    let html = consent_page.text().unwrap();
    assert!(
        html.contains("Single Page") && html.contains("<li><code>profile</code>: see your name"),
        "{html}"
    );
    let answer = |decision: &str, html: &str| {
        let form = [
            ("csrf", field(html, "csrf")),
            ("request", field(html, "request")),
            ("decision", decision.to_owned()),
        ];
        browser.post(server.url("/consent")).form(&form).send().unwrap()
    };
    let denied = answer("deny", &html);
    assert!(location(&denied).starts_with(spa) && location(&denied).contains("error=access_denied"));
    let html = browser.get(url.as_str()).send().unwrap().text().unwrap();
    let allowed = answer("allow", &html);
    assert_eq!(allowed.status(), 303);
    let landed = browser.get(follow(&server, "/consent", &allowed)).send().unwrap();
    let code = code_from(&landed);

    // The public client redeems with its id and the verifier, no secret.
    let redeem = |code: &str, verifier: &str| -> (u16, Value) {
        let response = rp_http()
            .post(server.url("/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", "spa"),
                ("code", code),
                ("redirect_uri", spa),
                ("code_verifier", verifier),
            ])
            .send()
            .unwrap();
        (response.status().as_u16(), response.json().unwrap())
    };
    let (status, tokens) = redeem(&code, verifier);
    assert_eq!(status, 200, "{tokens}");
    assert!(tokens["id_token"].is_string() && tokens["access_token"].is_string());

    // Consent is remembered: the next request yields a code at once, which a
    // wrong verifier cannot redeem.
    let again = browser.get(url.as_str()).send().unwrap();
    assert_eq!(again.status(), 302, "no second consent page");
    let code = code_from(&again);
    let (status, body) = redeem(&code, "wrong-verifier-wrong-verifier-wrong-verifier-123");
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
}

fn logout_ends_the_session_and_returns_to_the_client(db: &TestDb) {
    setup(db);
    let bye = "https://rp.example.com/bye";
    let out = cli(
        db,
        &[
            "client",
            "add",
            "--id",
            "app",
            "--redirect-uri",
            RP,
            "--post-logout-redirect-uri",
            bye,
            "--skip-consent",
        ],
    );
    let secret = out.lines().find_map(|l| l.strip_prefix("client_secret: ")).unwrap().to_owned();
    let server = Server::start(crate::bin(), db, &[]);
    let params = [("client_id", "app"), ("redirect_uri", RP), ("response_type", "code"), ("scope", "openid")];
    let url = Url::parse_with_params(&server.url("/authorize"), &params).unwrap();
    let browser = browser();
    let landed = sign_in(&server, &browser, url.as_str(), PASSWORD);
    let code = code_from(&landed);
    let tokens: Value = rp_http()
        .post(server.url("/token"))
        .basic_auth("app", Some(&secret))
        .form(&[("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", RP)])
        .send()
        .unwrap()
        .json()
        .unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();
    let silent = Url::parse_with_params(
        &server.url("/authorize"),
        &[("prompt", "none"), params[0], params[1], params[2], params[3]],
    )
    .unwrap();
    assert!(location(&browser.get(silent.as_str()).send().unwrap()).contains("code="), "signed in");

    let logout = |extra: &[(&str, &str)]| {
        let url = Url::parse_with_params(&server.url("/logout"), extra).unwrap();
        browser.get(url).send().unwrap()
    };
    // An unregistered destination is refused, and the session survives it.
    let refused =
        logout(&[("id_token_hint", id_token), ("post_logout_redirect_uri", "https://evil.example.com/")]);
    assert_eq!(refused.status(), 400);
    assert!(location(&browser.get(silent.as_str()).send().unwrap()).contains("code="));

    let done = logout(&[("id_token_hint", id_token), ("post_logout_redirect_uri", bye), ("state", "st")]);
    assert_eq!(done.status(), 302);
    assert_eq!(location(&done), format!("{bye}?state=st"));
    let after = location(&browser.get(silent.as_str()).send().unwrap());
    assert!(after.contains("error=login_required"), "the session ended: {after}");

    // Without id_token_hint anyone could have sent the request (§6): the
    // user is asked, and only a confirmation posted from that page counts.
    sign_in(&server, &browser, url.as_str(), PASSWORD);
    let asked = logout(&[("client_id", "app"), ("post_logout_redirect_uri", bye), ("state", "st2")]);
    assert_eq!(asked.status(), 200);
    let page = asked.text().unwrap();
    assert!(page.contains("<h1>Sign out?</h1>") && page.contains("action=\"logout\""), "{page}");
    assert!(location(&browser.get(silent.as_str()).send().unwrap()).contains("code="), "not yet");
    let mut confirm = vec![
        ("client_id", field(&page, "client_id")),
        ("post_logout_redirect_uri", field(&page, "post_logout_redirect_uri")),
        ("state", field(&page, "state")),
        ("confirm", "yes".to_owned()),
    ];
    let forged = browser.post(server.url("/logout")).form(&confirm).send().unwrap();
    assert_eq!(forged.status(), 200, "no CSRF token: asked again");
    assert!(location(&browser.get(silent.as_str()).send().unwrap()).contains("code="), "still signed in");
    let page = forged.text().unwrap();
    confirm.push(("csrf", field(&page, "csrf")));
    let confirmed = browser.post(server.url("/logout")).form(&confirm).send().unwrap();
    assert_eq!(confirmed.status(), 302);
    assert_eq!(location(&confirmed), format!("{bye}?state=st2"));
    let after = location(&browser.get(silent.as_str()).send().unwrap());
    assert!(after.contains("error=login_required"), "the session ended: {after}");
    // With no session there is nothing to confirm.
    assert!(logout(&[]).text().unwrap().contains("You are signed out"));
}

fn repeated_failures_lock_the_account_not_the_address(db: &TestDb) {
    setup(db);
    cli(db, &["user", "add", "--username", "bob", "--password", PASSWORD]);
    let server = Server::start(crate::bin(), db, &[]);
    let params = [("client_id", "web"), ("redirect_uri", RP), ("response_type", "code"), ("scope", "openid")];
    let url = Url::parse_with_params(&server.url("/authorize"), &params).unwrap();
    for attempt in 1..=5 {
        let refused = sign_in(&server, &browser(), url.as_str(), "guess");
        assert_eq!(refused.status(), 200, "attempt {attempt}");
        assert!(refused.text().unwrap().contains("The username or password is incorrect."));
    }
    // Locked: even the right password is not checked now.
    let locked = sign_in(&server, &browser(), url.as_str(), PASSWORD);
    assert_eq!(locked.status(), 429);
    assert!(locked.text().unwrap().contains("Too many failed sign-ins"));
    // Another account from the same address is not locked out.
    let page = browser();
    let html = page.get(url.as_str()).send().unwrap().text().unwrap();
    let form = [
        ("csrf", field(&html, "csrf")),
        ("request", field(&html, "request")),
        ("username", "bob".into()),
        ("password", PASSWORD.into()),
    ];
    let posted = page.post(server.url("/login")).form(&form).send().unwrap();
    assert_eq!(posted.status(), 303, "bob signs in");
}

fn form_post_response_mode_posts_the_response(db: &TestDb) {
    setup(db);
    let server = Server::start(crate::bin(), db, &[]);
    let params = [
        ("client_id", "web"),
        ("redirect_uri", RP),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", "fp"),
        ("response_mode", "form_post"),
    ];
    let url = Url::parse_with_params(&server.url("/authorize"), &params).unwrap();
    let mut silent = params.to_vec();
    silent.push(("prompt", "none"));
    let silent = Url::parse_with_params(&server.url("/authorize"), &silent).unwrap();
    let error = browser().get(silent.as_str()).send().unwrap();
    assert_eq!(error.status(), 200);
    let html = error.text().unwrap();
    assert!(html.contains(&format!("action=\"{RP}\"")) && html.contains("method=\"post\""), "{html}");
    assert_eq!(field(&html, "error"), "login_required");
    assert_eq!(field(&html, "state"), "fp");

    let posted = sign_in(&server, &browser(), url.as_str(), PASSWORD);
    assert_eq!(posted.status(), 200);
    let csp = posted.headers()["content-security-policy"].to_str().unwrap().to_owned();
    let html = posted.text().unwrap();
    assert!(!field(&html, "code").is_empty(), "{html}");
    assert_eq!(field(&html, "state"), "fp");
    assert_eq!(field(&html, "iss"), format!("http://{}", server.addr));
    let nonce = csp.split("'nonce-").nth(1).and_then(|r| r.split('\'').next()).expect("script nonce in CSP");
    assert!(html.contains(&format!("<script nonce=\"{nonce}\">")), "only the nonce'd script may run");
}

/// Discovery offers RS256, PS256, ES256 and EdDSA; an ID token in each
/// verifies with the relying party's own checks, at_hash included.
fn id_tokens_verify_with_every_offered_algorithm(db: &TestDb) {
    setup(db);
    let mut secrets = Vec::new();
    for alg in ["PS256", "ES256", "EdDSA"] {
        let id = format!("app-{}", alg.to_lowercase());
        let out = cli(
            db,
            &["client", "add", "--id", &id, "--redirect-uri", RP, "--skip-consent", "--id-token-alg", alg],
        );
        secrets.push((
            id,
            out.lines().find_map(|l| l.strip_prefix("client_secret: ")).unwrap().to_owned(),
            alg,
        ));
    }
    let server = Server::start(crate::bin(), db, &[]);
    let http = rp_http();
    let metadata =
        CoreProviderMetadata::discover(&IssuerUrl::new(format!("http://{}", server.addr)).unwrap(), &http)
            .unwrap();
    let browser = browser();
    for (id, secret, alg) in secrets {
        let client = CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(id.clone()),
            Some(ClientSecret::new(secret)),
        )
        .set_redirect_uri(RedirectUrl::new(RP.into()).unwrap());
        let (url, _, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .url();
        let mut landed = browser.get(url.as_str()).send().unwrap();
        if landed.status() == 200 {
            landed = sign_in(&server, &browser, url.as_str(), PASSWORD);
        }
        let tokens = client
            .exchange_code(AuthorizationCode::new(code_from(&landed)))
            .unwrap()
            .request(&http)
            .expect("tokens");
        let id_token = tokens.id_token().unwrap();
        let verifier = client.id_token_verifier().set_allowed_algs(vec![
            openidconnect::core::CoreJwsSigningAlgorithm::RsaSsaPssSha256,
            openidconnect::core::CoreJwsSigningAlgorithm::EcdsaP256Sha256,
            openidconnect::core::CoreJwsSigningAlgorithm::EdDsa,
        ]);
        let claims = id_token.claims(&verifier, &nonce).unwrap_or_else(|e| panic!("{alg}: {e:?}"));
        let expected = openidconnect::AccessTokenHash::from_token(
            tokens.access_token(),
            id_token.signing_alg().unwrap(),
            id_token.signing_key(&verifier).unwrap(),
        )
        .unwrap();
        assert_eq!(claims.access_token_hash(), Some(&expected), "{alg}: at_hash");
    }
}

/// `tokens.authorization_code_lifetime_seconds`: two nodes on one store,
/// one with the shortest lifetime (10 s) and one with the default (60 s),
/// each hand out a code; 11 s later the first node's code is refused with
/// `invalid_grant` (RFC 6749 §5.2), the second's still works. The server's
/// clock cannot be moved from outside, so the test waits.
fn a_code_lives_as_long_as_configured(db: &TestDb) {
    let secret = setup(db);
    let short =
        Server::start(crate::bin(), db, &[("SIGIL_TOKENS_AUTHORIZATION_CODE_LIFETIME_SECONDS", "10")]);
    let default = Server::start(crate::bin(), db, &[]);
    let code_from_node = |server: &Server| {
        let params =
            [("client_id", "web"), ("redirect_uri", RP), ("response_type", "code"), ("scope", "openid")];
        let url = Url::parse_with_params(&server.url("/authorize"), &params).unwrap();
        let landed = sign_in(server, &browser(), url.as_str(), PASSWORD);
        assert_eq!(landed.status(), 302, "{:?}", landed.text());
        code_from(&landed)
    };
    let (short_code, default_code) = (code_from_node(&short), code_from_node(&default));
    std::thread::sleep(Duration::from_secs(11));
    let redeem = |server: &Server, code: &str| -> (u16, Value) {
        let response = rp_http()
            .post(server.url("/token"))
            .basic_auth("web", Some(&secret))
            .form(&[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", RP)])
            .send()
            .unwrap();
        (response.status().as_u16(), response.json().unwrap())
    };
    let (status, body) = redeem(&short, &short_code);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    let (status, body) = redeem(&default, &default_code);
    assert_eq!(status, 200, "a code of the default lifetime still works after 11 s: {body}");
    assert!(body["access_token"].is_string(), "{body}");
    // Out of RFC 6749 §4.1.2's ten minutes, or too short to use: refused at start-up.
    for bad in ["9", "601"] {
        let mut command = sigil_testkit::process::sigil(crate::bin(), db);
        command.arg("serve").env("SIGIL_BIND", "127.0.0.1:0");
        command.env("SIGIL_TOKENS_AUTHORIZATION_CODE_LIFETIME_SECONDS", bad);
        let ran = sigil_testkit::process::run(command);
        assert_eq!(ran.status.code(), Some(2), "{bad}: {}", ran.stderr);
        assert!(ran.stderr.contains("tokens.authorization_code_lifetime_seconds"), "{}", ran.stderr);
    }
}
