//! The client address behind a reverse proxy (`http.trusted_proxies`): the
//! address a trusted proxy forwards is the one the sign-in throttle counts
//! and the request log records; from any other peer the forwarding header
//! is ignored, so a forged one cannot dodge the throttle.
//!
//! The test client plays the proxy: it connects from 127.0.0.1, which is
//! trusted in one server and not in the other.

use std::time::Duration;

use openidconnect::reqwest::blocking::{Client as Http, Response};
use openidconnect::reqwest::header::{HeaderMap, HeaderValue};
use openidconnect::reqwest::redirect::Policy;
use sigil_testkit::process::Server;
use sigil_testkit::{TestDb, backend_tests};
use url::Url;

use crate::oidc::{RP, setup, sign_in_as};

backend_tests!(
    a_trusted_proxys_forwarded_address_is_throttled_and_logged,
    an_untrusted_peers_forwarded_header_is_ignored
);

/// Failed sign-ins one address may make before it is locked (the
/// provider's `ADDRESS_LIMIT`).
const ADDRESS_LIMIT: usize = 20;

/// A browser whose requests carry `X-Forwarded-For: forwarded`.
pub(crate) fn browser_via(forwarded: &str) -> Http {
    let mut headers = HeaderMap::new();
    headers.insert("x-forwarded-for", HeaderValue::from_str(forwarded).unwrap());
    Http::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .default_headers(headers)
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap()
}

/// A failed sign-in of a fresh username (so only the address can lock).
pub(crate) fn fail(server: &Server, forwarded: &str, n: usize) -> Response {
    let params = [("client_id", "web"), ("redirect_uri", RP), ("response_type", "code"), ("scope", "openid")];
    let url = Url::parse_with_params(&server.url("/authorize"), &params).unwrap();
    sign_in_as(server, &browser_via(forwarded), url.as_str(), &format!("nobody-{n}"), "wrong password")
}

/// The `count` request lines logged for `path` (JSON), waiting a little
/// for the last: a line is written after its response.
fn request_lines(server: &Server, path: &str, count: usize) -> Vec<serde_json::Value> {
    let mut lines = Vec::new();
    for _ in 0..200 {
        lines = server
            .logs()
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|entry| entry["span"]["path"] == path && entry["status"].is_number())
            .collect();
        if lines.len() >= count {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert_eq!(lines.len(), count, "one line per request to {path}");
    lines
}

fn a_trusted_proxys_forwarded_address_is_throttled_and_logged(db: &TestDb) {
    setup(db);
    let server = Server::start(
        crate::bin(),
        db,
        &[("SIGIL_HTTP_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1"), ("SIGIL_LOG_FORMAT", "json")],
    );
    // The client forged the first entry; the proxy appended the real one.
    let via_proxy = "192.0.2.66, 203.0.113.7";
    for n in 0..ADDRESS_LIMIT {
        assert_eq!(fail(&server, via_proxy, n).status(), 200, "attempt {n}");
    }
    assert_eq!(fail(&server, via_proxy, 100).status(), 429, "203.0.113.7 is locked");
    // The proxy's own address and the forged entry are not locked: another
    // client behind the same proxy still gets its attempts.
    assert_eq!(fail(&server, "203.0.113.8", 101).status(), 200, "another client through the proxy");
    assert_eq!(
        fail(&server, "192.0.2.66, 10.1.2.3", 102).status(),
        200,
        "the forged address was never counted"
    );

    let lines = request_lines(&server, "/login", ADDRESS_LIMIT + 3);
    assert!(lines[..=ADDRESS_LIMIT].iter().all(|l| l["span"]["client"] == "203.0.113.7"), "{lines:?}");
    assert_eq!(lines[ADDRESS_LIMIT + 1]["span"]["client"], "203.0.113.8");
    assert_eq!(lines[ADDRESS_LIMIT + 2]["span"]["client"], "192.0.2.66", "left of a trusted hop");
}

fn an_untrusted_peers_forwarded_header_is_ignored(db: &TestDb) {
    setup(db);
    // A proxy is trusted, but not the address this client connects from.
    let server = Server::start(
        crate::bin(),
        db,
        &[("SIGIL_HTTP_TRUSTED_PROXIES", "10.0.0.0/8"), ("SIGIL_LOG_FORMAT", "json")],
    );
    // A new forged address on every attempt: all are counted on the peer.
    for n in 0..ADDRESS_LIMIT {
        assert_eq!(fail(&server, &format!("198.51.100.{n}"), n).status(), 200, "attempt {n}");
    }
    assert_eq!(fail(&server, "198.51.100.250", 100).status(), 429, "the peer is locked whatever it claims");
    let lines = request_lines(&server, "/login", ADDRESS_LIMIT + 1);
    assert!(lines.iter().all(|l| l["span"]["client"] == "127.0.0.1"), "{lines:?}");
}
