//! Finding 10, the client side: what one client can do with another's
//! credentials or codes, and how credentials are read.

use base64::Engine;
use serde_json::Value;
use sigil_testkit::process::Server;
use sigil_testkit::{TestDb, backend_tests};
use url::Url;

use super::{client, relying_party};
use crate::oidc::{PASSWORD, RP, browser, code_from, rp_http, setup, sign_in};

backend_tests!(
    a_code_presented_by_another_client_is_not_spent,
    clients_keep_to_their_method_and_schemes_are_case_insensitive,
);

fn redeem(server: &Server, id: &str, secret: &str, code: &str) -> (u16, Value) {
    let response = rp_http()
        .post(server.url("/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", RP)])
        .send()
        .unwrap();
    (response.status().as_u16(), response.json().unwrap())
}

fn a_code_presented_by_another_client_is_not_spent(db: &TestDb) {
    let web = setup(db);
    let thief = relying_party(db, "thief", "openid", &[]);
    let server = Server::start(crate::bin(), db, &[]);
    let params = [("client_id", "web"), ("redirect_uri", RP), ("response_type", "code"), ("scope", "openid")];
    let url = Url::parse_with_params(&server.url("/authorize"), &params).unwrap();
    let code = code_from(&sign_in(&server, &browser(), url.as_str(), PASSWORD));
    // The thief tries twice: neither attempt spends the code, nor counts as
    // the replay that would revoke web's grant (RFC 6749 §4.1.2).
    for _ in 0..2 {
        let (status, body) = redeem(&server, "thief", &thief, &code);
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    }
    let (status, tokens) = redeem(&server, "web", &web, &code);
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    let introspected: Value = rp_http()
        .post(server.url("/introspect"))
        .basic_auth("web", Some(&web))
        .form(&[("token", access)])
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(introspected["active"], true, "{introspected}");
    // web's own replay is still a replay.
    assert_eq!(redeem(&server, "web", &web, &code).1["error"], "invalid_grant");
}

fn clients_keep_to_their_method_and_schemes_are_case_insensitive(db: &TestDb) {
    let secret = client(db, "svc", &["--grant-type", "client_credentials", "--scope", "scim:read"]);
    crate::cli(db, &["admin", "grant", "service-account", "--client", "svc"]);
    let server = Server::start(crate::bin(), db, &[]);
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("svc:{secret}"));
    let token = |authorization: Option<String>, extra: &[(&str, &str)]| {
        let mut form = vec![("grant_type", "client_credentials")];
        form.extend_from_slice(extra);
        let mut request = rp_http().post(server.url("/token")).form(&form);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().unwrap();
        (response.status().as_u16(), response.json::<Value>().unwrap())
    };
    // RFC 9110 §11.1: the scheme is case-insensitive.
    let (status, body) = token(Some(format!("BASIC {basic}")), &[]);
    assert_eq!(status, 200, "{body}");
    // A client_secret_basic client may not move its secret to the body.
    let (status, body) = token(None, &[("client_id", "svc"), ("client_secret", &secret)]);
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");
    // Bearer, in any case, at SCIM.
    let access = body_token(&token(Some(format!("Basic {basic}")), &[]).1);
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let status = rp_http()
            .get(server.url("/scim/v2/Users"))
            .header("authorization", format!("{scheme} {access}"))
            .send()
            .unwrap()
            .status();
        assert_eq!(status, 200, "{scheme}");
    }
}

fn body_token(body: &Value) -> String {
    body["access_token"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
}
