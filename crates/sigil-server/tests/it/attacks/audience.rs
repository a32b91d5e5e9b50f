//! Finding 2: a token is accepted only by the API its `aud` names (RFC 9068
//! §4, RFC 8707). Sigil's own APIs have resource identifiers
//! (`{issuer}/userinfo`, `{issuer}/scim/v2`, `{issuer}/admin`); their scopes
//! imply them, and nothing else does.

use serde_json::{Value, json};
use sigil_testkit::process::Server;
use sigil_testkit::{TestDb, backend_tests};

use super::{claims, client, relying_party};
use crate::cli;
use crate::lifecycle::Rp;
use crate::oidc::{browser, rp_http, setup};

backend_tests!(a_token_for_one_api_is_refused_by_every_other, service_tokens_name_the_api_they_are_for);

const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const API_B: &str = "https://api-b.example.com";
const POWERFUL: &str = "openid profile scim:write admin";

/// Status of `method path` with `token` as bearer.
fn call(server: &Server, method: &str, path: &str, token: &str) -> u16 {
    let method = openidconnect::reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = rp_http().request(method, server.url(path)).bearer_auth(token);
    if path.starts_with("/scim/") {
        request = request
            .header("content-type", "application/scim+json")
            .body(json!({ "userName": format!("u{}", path.len()) }).to_string());
    }
    request.send().unwrap().status().as_u16()
}

fn a_token_for_one_api_is_refused_by_every_other(db: &TestDb) {
    setup(db);
    // The user may do anything, so only the audience can stop her token.
    cli(db, &["admin", "grant", "platform-operator", "--user", "alice"]);
    let secret =
        relying_party(db, "app-x", POWERFUL, &["--grant-type", EXCHANGE, "--exchange-audience", API_B]);
    let server = Server::start(crate::bin(), db, &[]);
    let app = Rp { server: &server, http: rp_http(), id: "app-x", secret };
    let (_, tokens) = app.tokens(&browser(), POWERFUL);
    let own = tokens["access_token"].as_str().unwrap().to_owned();
    // Exchanged for API B, it keeps every scope but is for API B alone.
    let (status, exchanged) = app.post(
        "/token",
        &[
            ("grant_type", EXCHANGE),
            ("subject_token", &own),
            ("subject_token_type", "urn:ietf:params:oauth:token-type:access_token"),
            ("audience", API_B),
        ],
    );
    assert_eq!(status, 200, "{exchanged}");
    let for_b = exchanged["access_token"].as_str().unwrap();
    assert_eq!(claims(for_b)["scope"], POWERFUL);
    assert_eq!(claims(for_b)["aud"], API_B);
    for (method, path) in [
        ("GET", "/userinfo"),
        ("GET", "/scim/v2/Users"),
        ("POST", "/scim/v2/Users"),
        ("GET", "/scim/v2/Me"),
        ("GET", "/admin/clients"),
        ("POST", "/admin/keys/rotate"),
    ] {
        assert_eq!(call(&server, method, path, for_b), 401, "{method} {path} with API B's token");
    }

    let aud = claims(&own)["aud"].clone();
    for api in ["/userinfo", "/scim/v2", "/admin"] {
        assert!(aud.as_array().unwrap().contains(&json!(server.url(api))), "{api} in {aud}");
    }
    // The scopes imply the audiences: this token works everywhere.
    assert_eq!(call(&server, "GET", "/userinfo", &own), 200);
    assert_eq!(call(&server, "GET", "/scim/v2/Users", &own), 200);
    assert_eq!(call(&server, "GET", "/admin/clients", &own), 200);

    // Asked for by resource, a token for one of Sigil's APIs is for that
    // API only.
    let scim_only = code_flow_token_for(&app, &server, "/scim/v2");
    assert_eq!(call(&server, "GET", "/scim/v2/Users", &scim_only), 200);
    assert_eq!(call(&server, "GET", "/admin/clients", &scim_only), 401);
    assert_eq!(call(&server, "GET", "/userinfo", &scim_only), 401);
}

/// A code flow whose token request names `resource` (RFC 8707 §2.2).
fn code_flow_token_for(app: &Rp<'_>, server: &Server, api: &str) -> String {
    let params = [
        ("client_id", app.id),
        ("redirect_uri", crate::oidc::RP),
        ("response_type", "code"),
        ("scope", POWERFUL),
    ];
    let url = url::Url::parse_with_params(&server.url("/authorize"), &params).unwrap();
    let browser = browser();
    let mut landed = browser.get(url.as_str()).send().unwrap();
    if landed.status() == 200 {
        landed = crate::oidc::sign_in(server, &browser, url.as_str(), crate::oidc::PASSWORD);
    }
    let code = crate::oidc::code_from(&landed);
    let resource = server.url(api);
    let (status, body) = app.post(
        "/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", crate::oidc::RP),
            ("resource", &resource),
        ],
    );
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

fn service_tokens_name_the_api_they_are_for(db: &TestDb) {
    let secret = client(
        db,
        "svc",
        &["--grant-type", "client_credentials", "--scope", "api.read scim:write", "--audience", API_B],
    );
    cli(db, &["admin", "grant", "platform-operator", "--client", "svc"]);
    let server = Server::start(crate::bin(), db, &[]);
    let svc = Rp { server: &server, http: rp_http(), id: "svc", secret };
    let token = |form: &[(&str, &str)]| -> Value {
        let mut all = vec![("grant_type", "client_credentials")];
        all.extend_from_slice(form);
        svc.post("/token", &all).1
    };
    // Today's provisioning clients ask for scim:write and nothing else: the
    // scope makes SCIM the audience.
    let provisioning = token(&[("scope", "scim:write")]);
    let provisioning = provisioning["access_token"].as_str().unwrap();
    assert_eq!(call(&server, "GET", "/scim/v2/Users", provisioning), 200);
    // A token asked for API B, even with scim:write, is API B's.
    let for_b = token(&[("scope", "api.read scim:write"), ("resource", API_B)]);
    let for_b = for_b["access_token"].as_str().unwrap();
    assert_eq!(claims(for_b)["aud"], API_B);
    assert_eq!(call(&server, "GET", "/scim/v2/Users", for_b), 401);
    // Sigil's APIs are asked for only with their scope.
    let admin = server.url("/admin");
    let refused = token(&[("scope", "scim:write"), ("resource", &admin)]);
    assert_eq!(refused["error"], "invalid_target", "{refused}");
    let scim = server.url("/scim/v2");
    let refused = token(&[("scope", "api.read"), ("resource", &scim)]);
    assert_eq!(refused["error"], "invalid_target", "{refused}");
    let by_resource = token(&[("scope", "scim:write"), ("resource", &scim)]);
    let by_resource = by_resource["access_token"].as_str().unwrap();
    assert_eq!(claims(by_resource)["aud"], json!(scim));
    assert_eq!(call(&server, "GET", "/scim/v2/Users", by_resource), 200);
    // Discovery says which audience each API expects (docs/tokens.md).
    let metadata: Value =
        rp_http().get(server.url("/.well-known/oauth-authorization-server")).send().unwrap().json().unwrap();
    assert!(metadata["scopes_supported"].as_array().unwrap().contains(&json!("scim:write")));
}
