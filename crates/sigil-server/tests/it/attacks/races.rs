//! One-time values consumed by many requests at once: exactly one wins,
//! the others get the protocol's answer, never a 500 (READ COMMITTED on
//! PostgreSQL shows what SQLite's single writer hides).

use std::thread;

use serde_json::{Value, json};
use sigil_testkit::process::Server;
use sigil_testkit::{TestDb, backend_tests};
use url::Url;

use crate::admin::{Api, principal};
use crate::cli;
use crate::lifecycle::Rp;
use crate::oidc::{PASSWORD, RP, browser, code_from, rp_http, setup, sign_in};

backend_tests!(
    a_code_redeemed_at_once_by_many_is_redeemed_once,
    one_token_revoked_at_once_by_many,
    role_grants_racing_their_holders_deletion,
);

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

/// An application role granted over the admin API to users that SCIM
/// deletes at the same moment: each grant is 204 (the deletion then takes
/// it along) or 404 (the user was gone), never a 500 from the grant's
/// foreign key; no grant outlives its user.
fn role_grants_racing_their_holders_deletion(db: &TestDb) {
    cli(db, &["client", "add", "--id", "app", "--grant-type", "client_credentials", "--scope", "api.read"]);
    cli(db, &["role", "add", "--client", "app", "--name", "editor"]);
    let server = Server::start(crate::bin(), db, &[]);
    let operator = Api {
        server: &server,
        http: rp_http(),
        token: principal(db, &server, "ops", "admin", "platform-operator"),
    };
    let scim = Api {
        server: &server,
        http: rp_http(),
        token: principal(db, &server, "provisioner", "scim:write", "service-account"),
    };
    let users: Vec<String> = (0..RACERS)
        .map(|i| {
            let (status, body) =
                scim.call("POST", "/scim/v2/Users", Some(&json!({ "userName": format!("doomed{i}") })));
            assert_eq!(status, 201, "{body}");
            body["id"].as_str().unwrap().to_owned()
        })
        .collect();
    let outcomes: Vec<(u16, Value, u16)> = thread::scope(|s| {
        let racers: Vec<_> = users
            .iter()
            .map(|id| {
                let (operator, scim) = (&operator, &scim);
                let grant = s.spawn(move || {
                    operator.call("PUT", &format!("/admin/roles/app/editor/users/{id}"), None)
                });
                let delete = s.spawn(move || scim.call("DELETE", &format!("/scim/v2/Users/{id}"), None).0);
                (grant, delete)
            })
            .collect();
        racers
            .into_iter()
            .map(|(grant, delete)| {
                let (status, body) = grant.join().unwrap();
                (status, body, delete.join().unwrap())
            })
            .collect()
    });
    for (status, body, deleted) in &outcomes {
        assert!(*status == 204 || (*status == 404 && body["error"] == "not_found"), "{status} {body}");
        assert_eq!(*deleted, 204);
    }
    let (_, roles) = operator.call("GET", "/admin/roles?client=app", None);
    let editor = roles["roles"].as_array().unwrap().iter().find(|r| r["name"] == "editor").unwrap();
    assert_eq!(editor["users"], json!([]), "{roles}");
}
