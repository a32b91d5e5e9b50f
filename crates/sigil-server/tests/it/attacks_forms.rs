//! Attacks on the browser-facing flows: the sign-in and consent forms, the
//! authorization request they carry, sessions, logout, and the headers and
//! cookies of the pages. Each test tries the attack against the running
//! server and checks it is refused.

use std::collections::BTreeMap;

use openidconnect::reqwest::blocking::Response;
use sigil_testkit::process::Server;
use sigil_testkit::{TestDb, backend_tests};
use url::Url;

use crate::oidc::{RP, browser, location, setup};

backend_tests!(repeated_authorization_parameters_are_refused,);

/// An authorization request of `client` to [`RP`] for `openid`, with `extra`.
fn authorize_url(server: &Server, client: &str, extra: &[(&str, &str)]) -> String {
    let mut params = vec![("client_id", client), ("redirect_uri", RP), ("response_type", "code")];
    params.push(("scope", "openid"));
    params.extend_from_slice(extra);
    Url::parse_with_params(&server.url("/authorize"), &params).unwrap().to_string()
}

/// A response's status, and whether it is Sigil's HTML error page.
fn is_html_error(response: Response) -> (u16, bool) {
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").and_then(|h| h.to_str().ok());
    let html = content_type.is_some_and(|t| t.starts_with("text/html"));
    let page = response.text().unwrap();
    (status, html && page.contains("This request cannot be completed"))
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
