//! One-time values consumed by many requests at once: exactly one wins,
//! the others get the protocol's answer, never a 500 (READ COMMITTED on
//! PostgreSQL shows what SQLite's single writer hides).

use std::thread;

use sigil_testkit::process::Server;
use sigil_testkit::{TestDb, backend_tests};
use url::Url;

use crate::lifecycle::Rp;
use crate::oidc::{PASSWORD, RP, browser, code_from, rp_http, setup, sign_in};

backend_tests!(a_code_redeemed_at_once_by_many_is_redeemed_once, one_token_revoked_at_once_by_many);

const RACERS: usize = 20;

fn a_code_redeemed_at_once_by_many_is_redeemed_once(db: &TestDb) {
    let secret = setup(db);
    let server = Server::start(crate::bin(), db, &[]);
    let browser = browser();
    let params = [("client_id", "web"), ("redirect_uri", RP), ("response_type", "code"), ("scope", "openid")];
    let url = Url::parse_with_params(&server.url("/authorize"), &params).unwrap();
    let code = code_from(&sign_in(&server, &browser, url.as_str(), PASSWORD));
    let statuses: Vec<u16> = thread::scope(|s| {
        let racers: Vec<_> = (0..RACERS)
            .map(|_| {
                s.spawn(|| {
                    let rp = Rp { server: &server, http: rp_http(), id: "web", secret: secret.clone() };
                    rp.post(
                        "/token",
                        &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", RP)],
                    )
                })
            })
            .collect();
        racers
            .into_iter()
            .map(|r| r.join().unwrap())
            .map(|(status, body)| {
                assert!(status == 200 || body["error"] == "invalid_grant", "{status} {body}");
                status
            })
            .collect()
    });
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 400).count(), RACERS - 1, "{statuses:?}");
}

fn one_token_revoked_at_once_by_many(db: &TestDb) {
    let secret = setup(db);
    let server = Server::start(crate::bin(), db, &[]);
    let rp = Rp { server: &server, http: rp_http(), id: "web", secret: secret.clone() };
    let (_, tokens) = rp.tokens(&browser(), "openid");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let statuses: Vec<u16> = thread::scope(|s| {
        let racers: Vec<_> = (0..RACERS)
            .map(|_| {
                s.spawn(|| {
                    let rp = Rp { server: &server, http: rp_http(), id: "web", secret: secret.clone() };
                    rp.post("/revoke", &[("token", &access)]).0
                })
            })
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    // RFC 7009 §2.2: revoking is answered 200, also for a token already
    // revoked a moment before.
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(rp.post("/introspect", &[("token", &access)]).1["active"], false);
}
