//! The behaviours of the OpenID Foundation's Basic OP plan that the other
//! modules do not already show, one test per group of plan modules (named
//! in each test's comment). `docs/conformance.md` maps every module of the
//! plan to its test.

use std::time::Duration;

use josekit::jwk::Jwk;
use josekit::jws::RS256;
use openidconnect::reqwest::blocking::{Client as Http, Response};
use serde_json::Value;
use sigil_testkit::process::Server;
use sigil_testkit::{TestDb, backend_tests};
use url::Url;

use crate::oidc::{PASSWORD, RP, browser, code_from, location, rp_http, setup, sign_in};

backend_tests!(
    optional_request_parameters_are_accepted_and_scopes_release_their_claims,
    prompt_and_max_age_decide_when_to_sign_in_again,
    userinfo_answers_post_with_the_token_in_the_header_or_the_body,
    client_secret_post_redeems_codes_and_refresh_tokens_stay_with_their_client,
);

/// The relying party "web" that `setup` registers, with its secret.
struct Web<'a> {
    id: &'static str,
    server: &'a Server,
    secret: String,
    http: Http,
}

impl Web<'_> {
    /// An authorization request with `params` on top of the required ones,
    /// sent by `browser`; signs in when the sign-in page shows.
    fn authorize(&self, browser: &Http, params: &[(&str, &str)]) -> Response {
        let url = self.url(params);
        let landed = browser.get(url.as_str()).send().unwrap();
        if landed.status() == 200 { sign_in(self.server, browser, url.as_str(), PASSWORD) } else { landed }
    }

    fn url(&self, params: &[(&str, &str)]) -> Url {
        let mut all = vec![("client_id", self.id), ("redirect_uri", RP), ("response_type", "code")];
        all.extend(params.iter().copied());
        if !params.iter().any(|(k, _)| *k == "scope") {
            all.push(("scope", "openid"));
        }
        Url::parse_with_params(&self.server.url("/authorize"), &all).unwrap()
    }

    /// Redeems `code` with client_secret_basic; returns the token response.
    fn redeem(&self, code: &str) -> Value {
        let response = self
            .http
            .post(self.server.url("/token"))
            .basic_auth(self.id, Some(&self.secret))
            .form(&[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", RP)])
            .send()
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().unwrap()
    }

    /// Verifies an ID token's signature against the JWKS and the claims
    /// every ID token must have right (OpenID Connect Core §3.1.3.7);
    /// returns its claims.
    fn id_token(&self, token: &Value) -> Value {
        let jwt = token["id_token"].as_str().expect("an ID token");
        let set: Value = self.http.get(self.server.url("/jwks")).send().unwrap().json().unwrap();
        let header = josekit::jwt::decode_header(jwt).unwrap();
        let kid = header.claim("kid").and_then(Value::as_str).unwrap();
        let jwk = set["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid).unwrap();
        let jwk = Jwk::from_map(jwk.as_object().unwrap().clone()).unwrap();
        let (payload, _) =
            josekit::jwt::decode_with_verifier(jwt, &RS256.verifier_from_jwk(&jwk).unwrap()).unwrap();
        let claims = Value::Object(payload.claims_set().clone());
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let now = i64::try_from(now).unwrap();
        assert_eq!(claims["iss"], format!("http://{}", self.server.addr));
        assert_eq!(claims["aud"], self.id);
        let (iat, exp) = (claims["iat"].as_i64().unwrap(), claims["exp"].as_i64().unwrap());
        assert!((now - 60..=now + 5).contains(&iat), "iat {iat} is now ({now})");
        assert!(exp > now && exp > iat, "exp {exp} is in the future");
        assert!(claims["sub"].is_string() && claims["auth_time"].is_i64());
        claims
    }

    fn userinfo(&self, access_token: &str) -> Value {
        let response = self.http.get(self.server.url("/userinfo")).bearer_auth(access_token).send().unwrap();
        assert_eq!(response.status(), 200);
        response.json().unwrap()
    }
}

fn start(db: &TestDb) -> (Server, String) {
    let secret = setup(db);
    (Server::start(crate::bin(), db, &[]), secret)
}

/// oidcc-ensure-request-without-nonce-succeeds-for-code-flow, oidcc-scope-all,
/// oidcc-ensure-other-scope-order-succeeds, oidcc-display-page,
/// oidcc-display-popup, oidcc-ensure-request-with-unknown-parameter-succeeds,
/// oidcc-login-hint, oidcc-ui-locales, oidcc-claims-locales,
/// oidcc-ensure-request-with-acr-values-succeeds, oidcc-id-token-hint,
/// oidcc-claims-essential, oidcc-ensure-post-request-succeeds.
fn optional_request_parameters_are_accepted_and_scopes_release_their_claims(db: &TestDb) {
    let (server, secret) = start(db);
    let web = Web { id: "web", server: &server, secret, http: rp_http() };
    let browser = browser();

    // No nonce: the code flow does not need one, and the ID token has none.
    let tokens = web.redeem(&code_from(&web.authorize(&browser, &[("state", "s")])));
    let first = web.id_token(&tokens);
    assert!(first.get("nonce").is_none(), "{first}");
    let sub = first["sub"].clone();

    // Every scope at once, in any order: each releases its claims.
    for scope in ["openid profile email address phone", "phone address email profile openid"] {
        let tokens = web.redeem(&code_from(&web.authorize(&browser, &[("scope", scope)])));
        assert_eq!(web.id_token(&tokens)["sub"], sub);
        let info = web.userinfo(tokens["access_token"].as_str().unwrap());
        assert_eq!(info["sub"], sub);
        assert_eq!(info["name"], "Alice Liddell", "profile: {info}");
        assert_eq!(info["email"], "alice@example.com", "email: {info}");
        assert_eq!(info["address"]["locality"], "Geneva", "address: {info}");
        assert_eq!(info["phone_number"], "tel:+41-22-767-6111", "phone: {info}");
    }

    // Parameters Sigil does not act on are accepted, not refused (OpenID
    // Connect Core §3.1.2.1 makes them optional; RFC 6749 §3.1: unknown
    // parameters MUST be ignored). `claims` is not supported, as discovery
    // says, so an essential claim request is ignored too.
    let hint = tokens_hint(&tokens);
    for extra in [
        ("display", "page"),
        ("display", "popup"),
        ("ui_locales", "fr-CH fr en"),
        ("claims_locales", "de"),
        ("acr_values", "urn:mace:incommon:iap:silver"),
        ("login_hint", "alice"),
        ("unknown_parameter", "ignored"),
        ("claims", r#"{"userinfo":{"name":{"essential":true}}}"#),
        ("id_token_hint", hint.as_str()),
    ] {
        let landed = web.authorize(&browser, &[extra, ("prompt", "none"), ("state", "x")]);
        assert_eq!(landed.status(), 302, "{extra:?}");
        let tokens = web.redeem(&code_from(&landed));
        assert_eq!(web.id_token(&tokens)["sub"], sub, "{extra:?}");
    }
    // A login_hint fills in the user name on the sign-in page.
    let fresh = crate::oidc::browser();
    let page = fresh.get(web.url(&[("login_hint", "alice")]).as_str()).send().unwrap().text().unwrap();
    assert!(page.contains("value=\"alice\""), "{page}");

    // The authorization request may be a POST form (Core §3.1.2.1).
    let form = [
        ("client_id", "web"),
        ("redirect_uri", RP),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", "posted"),
        ("nonce", "n-posted"),
    ];
    let posted = browser.post(server.url("/authorize")).form(&form).send().unwrap();
    assert_eq!(posted.status(), 302);
    assert!(location(&posted).contains("state=posted"));
    let claims = web.id_token(&web.redeem(&code_from(&posted)));
    assert_eq!(claims["nonce"], "n-posted");
}

fn tokens_hint(tokens: &Value) -> String {
    tokens["id_token"].as_str().unwrap().to_owned()
}

/// oidcc-prompt-login, oidcc-prompt-none-logged-in, oidcc-max-age-1,
/// oidcc-max-age-10000.
fn prompt_and_max_age_decide_when_to_sign_in_again(db: &TestDb) {
    let (server, secret) = start(db);
    let web = Web { id: "web", server: &server, secret, http: rp_http() };
    let browser = browser();
    let first = web.id_token(&web.redeem(&code_from(&web.authorize(&browser, &[]))));
    let first_auth = first["auth_time"].as_i64().unwrap();

    // prompt=none with a session: a code at once, same sub and auth_time.
    let silent = browser.get(web.url(&[("prompt", "none")]).as_str()).send().unwrap();
    assert_eq!(silent.status(), 302);
    let again = web.id_token(&web.redeem(&code_from(&silent)));
    assert_eq!((&again["sub"], &again["auth_time"]), (&first["sub"], &first["auth_time"]));

    // max_age=10000: the session is young enough.
    let young = browser.get(web.url(&[("max_age", "10000")]).as_str()).send().unwrap();
    assert_eq!(young.status(), 302);
    assert_eq!(web.id_token(&web.redeem(&code_from(&young)))["auth_time"], first_auth);

    // max_age=1, two seconds later: sign in again, a later auth_time.
    std::thread::sleep(Duration::from_millis(2100));
    let url = web.url(&[("max_age", "1")]);
    let page = browser.get(url.as_str()).send().unwrap();
    assert_eq!(page.status(), 200, "the sign-in page, despite the session");
    let landed = sign_in(&server, &browser, url.as_str(), PASSWORD);
    let later = web.id_token(&web.redeem(&code_from(&landed)));
    assert!(later["auth_time"].as_i64().unwrap() >= first_auth + 2, "{later}");

    // prompt=login: the sign-in page again even with a fresh session.
    std::thread::sleep(Duration::from_millis(1100));
    let url = web.url(&[("prompt", "login")]);
    assert_eq!(browser.get(url.as_str()).send().unwrap().status(), 200);
    let landed = sign_in(&server, &browser, url.as_str(), PASSWORD);
    let relogged = web.id_token(&web.redeem(&code_from(&landed)));
    assert!(relogged["auth_time"].as_i64().unwrap() > later["auth_time"].as_i64().unwrap());
    assert_eq!(relogged["sub"], first["sub"], "sub is stable");
}

/// oidcc-userinfo-get, oidcc-userinfo-post-header, oidcc-userinfo-post-body
/// (RFC 6750 §2.1 and §2.2; OpenID Connect Core §5.3.1).
fn userinfo_answers_post_with_the_token_in_the_header_or_the_body(db: &TestDb) {
    let (server, secret) = start(db);
    let web = Web { id: "web", server: &server, secret, http: rp_http() };
    let tokens = web.redeem(&code_from(&web.authorize(&browser(), &[("scope", "openid email")])));
    let access = tokens["access_token"].as_str().unwrap();
    let by_get = web.userinfo(access);
    let by_header: Value =
        web.http.post(server.url("/userinfo")).bearer_auth(access).send().unwrap().json().unwrap();
    let by_body = web.http.post(server.url("/userinfo")).form(&[("access_token", access)]).send().unwrap();
    assert_eq!(by_body.status(), 200);
    let by_body: Value = by_body.json().unwrap();
    assert_eq!(by_get["email"], "alice@example.com");
    assert_eq!(by_get, by_header);
    assert_eq!(by_get, by_body);
    // RFC 6750 §2: one method per request.
    let both = web
        .http
        .post(server.url("/userinfo"))
        .bearer_auth(access)
        .form(&[("access_token", access)])
        .send()
        .unwrap();
    assert_eq!(both.status(), 400);
    assert!(both.headers()["www-authenticate"].to_str().unwrap().contains("invalid_request"));
}

/// oidcc-server-client-secret-post and oidcc-refresh-token: a refresh token
/// works only for the client it was issued to.
fn client_secret_post_redeems_codes_and_refresh_tokens_stay_with_their_client(db: &TestDb) {
    let (server, basic_secret) = start(db);
    let out = crate::cli(
        db,
        &[
            "client",
            "add",
            "--id",
            "web-post",
            "--redirect-uri",
            RP,
            "--skip-consent",
            "--token-endpoint-auth-method",
            "client_secret_post",
            "--grant-type",
            "authorization_code",
            "--grant-type",
            "refresh_token",
        ],
    );
    let secret = out.lines().find_map(|l| l.strip_prefix("client_secret: ")).unwrap().to_owned();
    // A client registered for client_secret_basic may not put its secret in
    // the body, nor a client_secret_post client use the header.
    let wrong_method = rp_http()
        .post(server.url("/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "web-post"),
            ("client_secret", &basic_secret),
        ])
        .send()
        .unwrap();
    assert_eq!(wrong_method.status(), 401);
    let wrong_method = rp_http()
        .post(server.url("/token"))
        .basic_auth("web-post", Some(&secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "x")])
        .send()
        .unwrap();
    assert_eq!(wrong_method.status(), 401);
    let web = Web { id: "web-post", server: &server, secret: secret.clone(), http: rp_http() };
    let landed = web.authorize(&browser(), &[("scope", "openid offline_access"), ("nonce", "n1")]);
    let code = code_from(&landed);
    let response = web
        .http
        .post(server.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", RP),
            ("client_id", "web-post"),
            ("client_secret", &secret),
        ])
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().unwrap();
    assert_eq!(web.id_token(&tokens)["nonce"], "n1");
    let refresh = tokens["refresh_token"].as_str().expect("offline_access gives a refresh token");

    // The other client presents web's refresh token: refused, and the token
    // is not spent by the attempt.
    let stolen = web
        .http
        .post(server.url("/token"))
        .basic_auth("other", Some("Zq7xV2mN9pR4tL8wK3sD6fH1jG5bC0yE_aUoIeXr-Tn"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)])
        .send()
        .unwrap();
    assert_eq!(stolen.status(), 400);
    assert_eq!(stolen.json::<Value>().unwrap()["error"], "invalid_grant");
    let own = web
        .http
        .post(server.url("/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", "web-post"),
            ("client_secret", &secret),
        ])
        .send()
        .unwrap();
    assert_eq!(own.status(), 200);
    let refreshed: Value = own.json().unwrap();
    assert!(refreshed["access_token"].is_string() && refreshed["refresh_token"] != refresh);
    assert_eq!(
        web.userinfo(refreshed["access_token"].as_str().unwrap())["sub"],
        web.id_token(&tokens)["sub"]
    );
}
