//! Refresh-token rotation with reuse detection, code replay, introspection
//! (RFC 7662) and revocation (RFC 7009): a revoked or replay-revoked token
//! is inactive everywhere, userinfo included.

use openidconnect::reqwest::blocking::Client as Http;
use serde_json::Value;
use sigil_testkit::process::Server;
use sigil_testkit::{TestDb, backend_tests};
use url::Url;

use crate::cli;
use crate::oidc::{PASSWORD, RP, browser, code_from, rp_http, setup, sign_in_as};

backend_tests!(
    refresh_tokens_rotate_and_reuse_revokes_the_family,
    revocation_and_introspection_agree_everywhere
);

/// A confidential relying party talking to the server directly.
pub(crate) struct Rp<'a> {
    pub(crate) server: &'a Server,
    pub(crate) http: Http,
    pub(crate) id: &'a str,
    pub(crate) secret: String,
}

impl Rp<'_> {
    pub(crate) fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let response = self
            .http
            .post(self.server.url(path))
            .basic_auth(self.id, Some(&self.secret))
            .form(form)
            .send()
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub(crate) fn userinfo(&self, access_token: &str) -> u16 {
        self.http
            .get(self.server.url("/userinfo"))
            .bearer_auth(access_token)
            .send()
            .unwrap()
            .status()
            .as_u16()
    }

    /// Signs alice in and exchanges the code; returns (code, token response).
    pub(crate) fn tokens(&self, browser: &Http, scope: &str) -> (String, Value) {
        self.tokens_as(browser, "alice", PASSWORD, scope)
    }

    /// Signs `username` in (unless `browser` has a session) and exchanges
    /// the code; returns (code, token response).
    pub(crate) fn tokens_as(
        &self,
        browser: &Http,
        username: &str,
        password: &str,
        scope: &str,
    ) -> (String, Value) {
        let params =
            [("client_id", self.id), ("redirect_uri", RP), ("response_type", "code"), ("scope", scope)];
        let url = Url::parse_with_params(&self.server.url("/authorize"), &params).unwrap();
        let mut landed = browser.get(url.as_str()).send().unwrap();
        if landed.status() == 200 {
            landed = sign_in_as(self.server, browser, url.as_str(), username, password);
        }
        let code = code_from(&landed);
        let (status, body) = self
            .post("/token", &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", RP)]);
        assert_eq!(status, 200, "{body}");
        (code, body)
    }
}

fn refresh_tokens_rotate_and_reuse_revokes_the_family(db: &TestDb) {
    let secret = setup(db);
    let server = Server::start(crate::bin(), db, &[]);
    let rp = Rp { server: &server, http: rp_http(), id: "web", secret };
    let (_, first) = rp.tokens(&browser(), "openid email offline_access");
    let refresh1 = first["refresh_token"].as_str().expect("offline_access gives a refresh token").to_owned();

    // Widening is refused, and does not cost the client its token.
    let (status, body) = rp.post(
        "/token",
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh1), ("scope", "openid profile")],
    );
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")), "{body}");

    // Narrowing works and rotates the token.
    let (status, second) = rp.post(
        "/token",
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh1), ("scope", "openid")],
    );
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["scope"], "openid");
    let refresh2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(refresh2, refresh1);
    let access2 = second["access_token"].as_str().unwrap().to_owned();
    assert_eq!(rp.userinfo(&access2), 200);

    // Presenting the spent token again revokes the whole family.
    let (status, body) = rp.post("/token", &[("grant_type", "refresh_token"), ("refresh_token", &refresh1)]);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    let (status, body) = rp.post("/token", &[("grant_type", "refresh_token"), ("refresh_token", &refresh2)]);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "the newest token died too: {body}"
    );
    assert_eq!(rp.userinfo(&access2), 401, "and the family's access tokens");

    // A replayed code revokes what was issued from it.
    let browser = browser();
    let (code, tokens) = rp.tokens(&browser, "openid");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(rp.userinfo(&access), 200);
    let (status, body) =
        rp.post("/token", &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", RP)]);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    assert_eq!(rp.userinfo(&access), 401, "RFC 6749 §4.1.2: the replay revoked the first token");
}

fn revocation_and_introspection_agree_everywhere(db: &TestDb) {
    let secret = setup(db);
    let api_out = cli(db, &["client", "add", "--id", "api", "--grant-type", "client_credentials"]);
    let api_secret = api_out.lines().find_map(|l| l.strip_prefix("client_secret: ")).unwrap().to_owned();
    let server = Server::start(crate::bin(), db, &[]);
    let rp = Rp { server: &server, http: rp_http(), id: "web", secret };
    let api = Rp { server: &server, http: rp_http(), id: "api", secret: api_secret };
    let browser = browser();
    let (_, tokens) = rp.tokens(&browser, "openid offline_access phone address");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    // The phone and address scopes release those claims (OIDC Core §5.4).
    let claims: Value =
        rp.http.get(server.url("/userinfo")).bearer_auth(&access).send().unwrap().json().unwrap();
    assert_eq!(claims["phone_number"], "tel:+41-22-767-6111", "{claims}");
    assert_eq!(claims["address"]["locality"], "Geneva");
    assert_eq!(claims["address"]["country"], "CH");
    assert!(claims.get("email").is_none(), "no email scope, no email: {claims}");

    // A resource server (any authenticated client) introspects access tokens.
    let (status, info) = api.post("/introspect", &[("token", &access)]);
    assert_eq!(status, 200);
    assert_eq!(info["active"], true, "{info}");
    assert_eq!(info["client_id"], "web");
    assert!(info["sub"].is_string() && info["exp"].is_number());
    assert_eq!(api.post("/introspect", &[("token", "garbage")]).1, serde_json::json!({"active": false}));
    // Refresh tokens only to their own client.
    assert_eq!(api.post("/introspect", &[("token", &refresh)]).1["active"], false);
    assert_eq!(rp.post("/introspect", &[("token", &refresh)]).1["active"], true);
    // Introspection needs client authentication.
    let anonymous =
        rp_http().post(server.url("/introspect")).form(&[("token", access.as_str())]).send().unwrap();
    assert_eq!(anonymous.status(), 401);

    // Another client cannot revoke web's token; unknown tokens are fine.
    assert_eq!(api.post("/revoke", &[("token", &access)]).1["error"], "unauthorized_client");
    assert_eq!(rp.post("/revoke", &[("token", "never-issued")]).0, 200);

    // Revoking the access token: inactive at introspection and userinfo.
    assert_eq!(rp.userinfo(&access), 200);
    assert_eq!(rp.post("/revoke", &[("token", &access), ("token_type_hint", "access_token")]).0, 200);
    assert_eq!(rp.userinfo(&access), 401);
    assert_eq!(api.post("/introspect", &[("token", &access)]).1["active"], false);

    // Revoking the refresh token ends the grant: no refresh afterwards.
    assert_eq!(rp.post("/revoke", &[("token", &refresh)]).0, 200);
    assert_eq!(rp.post("/introspect", &[("token", &refresh)]).1["active"], false);
    let (status, body) = rp.post("/token", &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
}
