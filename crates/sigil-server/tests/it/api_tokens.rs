//! API tokens end to end: made, listed and revoked with `sigil token` and
//! the admin API, presented as bearer tokens to SCIM and the admin API,
//! answered about at `/introspect` and revoked at `/revoke`, and tried as
//! an attacker would: a narrower scope, another API, another client's
//! token, forgeries, a removed client, and a revocation racing requests on
//! two nodes. Entra ID's and Okta's whole sequences run with an API token
//! in `scim_clients`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde_json::{Value, json};
use sigil_testkit::process::{Server, run, sigil};
use sigil_testkit::{TestDb, backend_tests};

use crate::admin::{Api, principal};
use crate::oidc::rp_http;
use crate::{cli, cli_fails};

backend_tests!(
    cli_makes_lists_and_revokes_api_tokens,
    cli_refuses_bad_api_token_requests_and_stores_nothing,
    an_api_token_has_exactly_its_scopes_and_its_clients_roles,
    introspection_and_revocation_answer_only_the_tokens_own_client,
    forged_and_orphaned_api_tokens_get_invalid_token,
    a_revocation_racing_requests_on_two_nodes_stops_every_later_one,
    the_admin_api_makes_lists_and_revokes_api_tokens,
);

/// Registers a confidential machine client for `scope` holding the
/// built-in role `service-account`; returns its secret.
pub(crate) fn provisioning_client(db: &TestDb, id: &str, scope: &str) -> String {
    let out = cli(db, &["client", "add", "--id", id, "--grant-type", "client_credentials", "--scope", scope]);
    cli(db, &["admin", "grant", "service-account", "--client", id]);
    out.lines().find_map(|l| l.strip_prefix("client_secret: ")).unwrap().to_owned()
}

/// `sigil token create` for `client` with `scope`: (its id, the token).
pub(crate) fn api_token(db: &TestDb, client: &str, scope: &str) -> (String, String) {
    let out = cli(db, &["token", "create", "--client", client, "--scope", scope]);
    let id = out
        .lines()
        .find_map(|l| l.strip_prefix("created API token "))
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("{out}"))
        .to_owned();
    let token = out.lines().find_map(|l| l.strip_prefix("token: ")).unwrap_or_else(|| panic!("{out}"));
    (id, token.to_owned())
}

/// A GET of `path` with `token`: status and `WWW-Authenticate`.
fn get(server: &Server, path: &str, token: &str) -> (u16, String) {
    let response = rp_http().get(server.url(path)).bearer_auth(token).send().unwrap();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (response.status().as_u16(), challenge)
}

/// RFC 6750 §3.1: a refused token is answered 401 `invalid_token`.
pub(crate) fn assert_invalid_token(server: &Server, path: &str, token: &str) {
    let (status, challenge) = get(server, path, token);
    assert_eq!(status, 401, "{path}");
    assert!(challenge.contains("error=\"invalid_token\""), "{path}: {challenge}");
}

/// Shows that revoking token `id` with the CLI stops it on every node: a
/// second server process on the same database accepts it, the CLI revokes
/// it, and the next request to either server is refused.
pub(crate) fn revocation_reaches_another_node(db: &TestDb, first: &Server, id: &str, token: &str) {
    let second = Server::start(crate::bin(), db, &[]);
    for server in [first, &second] {
        assert_eq!(get(server, "/scim/v2/Users", token).0, 200, "live on {}", server.addr);
    }
    let out = cli(db, &["token", "revoke", "--id", id]);
    assert_eq!(out.trim(), format!("revoked API token {id}"));
    assert_invalid_token(&second, "/scim/v2/Users", token);
    assert_invalid_token(first, "/scim/v2/Users", token);
}

fn introspect(server: &Server, client: (&str, &str), token: &str) -> Value {
    let response = rp_http()
        .post(server.url("/introspect"))
        .basic_auth(client.0, Some(client.1))
        .form(&[("token", token)])
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().unwrap()
}

fn revoke(server: &Server, client: (&str, &str), token: &str) -> u16 {
    let response = rp_http()
        .post(server.url("/revoke"))
        .basic_auth(client.0, Some(client.1))
        .form(&[("token", token)])
        .send()
        .unwrap();
    response.status().as_u16()
}

fn cli_makes_lists_and_revokes_api_tokens(db: &TestDb) {
    provisioning_client(db, "entra", "scim:read scim:write");
    provisioning_client(db, "okta", "scim:read scim:write admin");
    let out = cli(
        db,
        &[
            "token",
            "create",
            "--client",
            "entra",
            "--scope",
            "scim:write scim:read",
            "--expires-in",
            "90d",
            "--name",
            "Entra ID provisioning",
        ],
    );
    let token = out.lines().find_map(|l| l.strip_prefix("token: ")).unwrap();
    assert!(token.starts_with("sigil_at_") && token.len() == 52, "{out}");
    assert!(out.contains("scope: scim:read scim:write"), "{out}");
    assert!(out.contains("shown once"), "{out}");
    let id =
        out.lines().find_map(|l| l.strip_prefix("created API token ")).unwrap().split(' ').next().unwrap();
    let (other_id, other) = api_token(db, "okta", "admin");

    let listed = cli(db, &["token", "list"]);
    let header = listed.lines().next().unwrap();
    for column in ["ID", "CLIENT", "SCOPE", "CREATED", "EXPIRES", "LAST USED", "REVOKED", "STATE", "NAME"] {
        assert!(header.contains(column), "{header}");
    }
    let line = listed.lines().find(|l| l.starts_with(id)).unwrap_or_else(|| panic!("{listed}"));
    for cell in ["entra", "scim:read,scim:write", "never", "active", "Entra ID provisioning"] {
        assert!(line.contains(cell), "{cell}: {line}");
    }
    assert!(listed.contains(&other_id));
    for secret in [token, other.as_str()] {
        let digest = sigil_store::secret::HashedSecret::of(secret);
        assert!(!listed.contains(secret) && !listed.contains(digest.as_str()), "never the token: {listed}");
    }
    let only_okta = cli(db, &["token", "list", "--client", "okta"]);
    assert!(only_okta.contains(&other_id) && !only_okta.contains(id), "{only_okta}");

    // A use shows in the list.
    let server = Server::start(crate::bin(), db, &[]);
    assert_eq!(get(&server, "/scim/v2/Users", token).0, 200);
    let line = cli(db, &["token", "list", "--client", "entra"]).lines().nth(1).unwrap().to_owned();
    assert!(!line.contains("never"), "the use is recorded: {line}");

    assert_eq!(cli(db, &["token", "revoke", "--id", id]).trim(), format!("revoked API token {id}"));
    assert_eq!(
        cli(db, &["token", "revoke", "--id", id]).trim(),
        format!("API token {id} was already revoked")
    );
    let line = cli(db, &["token", "list", "--client", "entra"]).lines().nth(1).unwrap().to_owned();
    assert!(line.contains("revoked"), "{line}");
    assert_invalid_token(&server, "/scim/v2/Users", token);
}

fn cli_refuses_bad_api_token_requests_and_stores_nothing(db: &TestDb) {
    provisioning_client(db, "entra", "scim:read");
    cli(
        db,
        &[
            "client",
            "add",
            "--id",
            "spa",
            "--public",
            "--redirect-uri",
            "http://127.0.0.1:9/cb",
            "--scope",
            "openid scim:read",
        ],
    );
    let refusals: &[(&[&str], &str)] = &[
        (&["--client", "nobody", "--scope", "scim:read"], "there is no client `nobody`"),
        (&["--client", "spa", "--scope", "scim:read"], "public client"),
        (&["--client", "entra", "--scope", "scim:write"], "not registered for the scope `scim:write`"),
        (&["--client", "entra", "--scope", "openid"], "not a scope of Sigil's APIs"),
        (&["--client", "entra", "--scope", " "], "at least one scope"),
        (&["--client", "entra", "--scope", "scim:read", "--expires-in", "731d"], "at most 730 days"),
        (&["--client", "entra", "--scope", "scim:read", "--expires-in", "0d"], "must be positive"),
        (&["--client", "entra", "--scope", "scim:read", "--expires-in", "90"], "a number and a unit"),
        (&["--client", "entra", "--scope", "scim:read", "--expires-in", "1y"], "a number and a unit"),
        (&["--client", "entra", "--scope", "scim:read", "--name", "a\tb"], "control characters"),
    ];
    for (args, reason) in refusals {
        let mut all = vec!["token", "create"];
        all.extend_from_slice(args);
        let ran = cli_fails(db, 1, &all);
        assert!(ran.stderr.contains(reason), "{args:?}: {}", ran.stderr);
    }
    // Usage errors: clap's exit status 2.
    cli_fails(db, 2, &["token", "create", "--client", "entra"]);
    cli_fails(db, 2, &["token", "create", "--scope", "scim:read"]);
    cli_fails(db, 2, &["token", "revoke"]);
    cli_fails(db, 2, &["token", "rotate"]);
    let ran = cli_fails(db, 1, &["token", "revoke", "--id", "no-such-token"]);
    assert!(ran.stderr.contains("there is no API token `no-such-token`"), "{}", ran.stderr);
    assert_eq!(cli(db, &["token", "list"]).lines().count(), 1, "only the header: nothing was stored");
}

fn an_api_token_has_exactly_its_scopes_and_its_clients_roles(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    provisioning_client(db, "hr-sync", "scim:read scim:write admin");
    let (_, reader) = api_token(db, "hr-sync", "scim:read");
    let scim = Api { server: &server, http: rp_http(), token: reader.clone() };
    assert_eq!(scim.call("GET", "/scim/v2/Users", None).0, 200);
    // scim:read cannot write, whatever the client is registered for.
    let response = rp_http()
        .post(server.url("/scim/v2/Users"))
        .bearer_auth(&reader)
        .header("content-type", "application/scim+json")
        .body(json!({ "userName": "mallory" }).to_string())
        .send()
        .unwrap();
    assert_eq!(response.status(), 403);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.contains("insufficient_scope") && challenge.contains("scim:write"), "{challenge}");
    // Nor is a SCIM token an admin token: wrong audience.
    assert_invalid_token(&server, "/admin/clients", &reader);

    // An admin token has the client's roles: service-account may not read
    // clients; granted platform-operator, it may, from the next request.
    let (_, admin) = api_token(db, "hr-sync", "admin");
    let as_admin = Api { server: &server, http: rp_http(), token: admin };
    assert_eq!(as_admin.call("GET", "/admin/clients", None).0, 403);
    cli(db, &["admin", "grant", "platform-operator", "--client", "hr-sync"]);
    assert_eq!(as_admin.call("GET", "/admin/clients", None).0, 200);
    cli(db, &["admin", "revoke", "platform-operator", "--client", "hr-sync"]);
    assert_eq!(as_admin.call("GET", "/admin/clients", None).0, 403);
    // The client loses its admin scope: so does the token.
    cli(db, &["client", "update", "--id", "hr-sync", "--scope", "scim:read scim:write"]);
    assert_invalid_token(&server, "/admin/clients", &as_admin.token);
    // Without a role, a client's token reads nothing.
    cli(db, &["admin", "revoke", "service-account", "--client", "hr-sync"]);
    assert_eq!(scim.call("GET", "/scim/v2/Users", None).0, 403);
}

fn introspection_and_revocation_answer_only_the_tokens_own_client(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let entra = provisioning_client(db, "entra", "scim:read scim:write");
    let okta = provisioning_client(db, "okta", "scim:read scim:write");
    let (id, token) = api_token(db, "entra", "scim:read scim:write");

    let own = introspect(&server, ("entra", &entra), &token);
    assert_eq!(own["active"], true, "{own}");
    assert_eq!(own["scope"], "scim:read scim:write");
    assert_eq!((&own["client_id"], &own["sub"]), (&json!("entra"), &json!("entra")));
    assert_eq!(own["aud"], json!([server.url("/scim/v2")]));
    assert!(own["exp"].as_i64().is_some_and(|exp| exp > 0), "{own}");

    // Another client learns nothing and revokes nothing.
    assert_eq!(introspect(&server, ("okta", &okta), &token), json!({ "active": false }));
    assert_eq!(revoke(&server, ("okta", &okta), &token), 200);
    assert_eq!(get(&server, "/scim/v2/Users", &token).0, 200, "still live");
    assert!(!cli(db, &["token", "list"]).contains("revoked"));

    // Its own client revokes it (RFC 7009), at once.
    assert_eq!(revoke(&server, ("entra", &entra), &token), 200);
    assert_invalid_token(&server, "/scim/v2/Users", &token);
    assert_eq!(introspect(&server, ("entra", &entra), &token), json!({ "active": false }));
    let line = cli(db, &["token", "list"]).lines().find(|l| l.starts_with(&id)).unwrap().to_owned();
    assert!(line.contains("revoked"), "{line}");
    assert_eq!(revoke(&server, ("entra", &entra), &token), 200, "again: nothing to do");
}

fn forged_and_orphaned_api_tokens_get_invalid_token(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    provisioning_client(db, "entra", "scim:read scim:write");
    provisioning_client(db, "leaving", "scim:read");
    let (_, live) = api_token(db, "entra", "scim:read");
    let (_, orphan) = api_token(db, "leaving", "scim:read");
    assert_eq!(get(&server, "/scim/v2/Users", &orphan).0, 200);
    cli(db, &["client", "remove", "--id", "leaving"]);
    let mut changed = live.clone();
    let last = if changed.ends_with('A') { "B" } else { "A" };
    changed.replace_range(changed.len() - 1.., last);
    let target = sigil_store::secret::HashedSecret::of(&live).as_str()[..4].to_owned();
    let colliding = (0u64..)
        .map(|n| format!("sigil_at_{n:043}"))
        .find(|c| sigil_store::secret::HashedSecret::of(c).as_str().starts_with(&target))
        .unwrap();
    for forged in [
        orphan.as_str(),
        &changed,
        &colliding,
        "sigil_at_",
        "sigil_at_' OR '1'='1",
        live.trim_start_matches("sigil_at_"),
        "eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJlbnRyYSIsInNjb3BlIjoic2NpbTp3cml0ZSJ9.",
    ] {
        assert_invalid_token(&server, "/scim/v2/Users", forged);
    }
    assert_eq!(get(&server, "/scim/v2/Users", &live).0, 200, "the live token still passes");
}

/// Eight clients request SCIM without pause, on two nodes, while the CLI
/// revokes their token: every answer is 200 or 401 (never an error of
/// the server), each client's answers turn from 200 to 401 once and stay
/// there, and every request sent after the CLI returned is refused.
fn a_revocation_racing_requests_on_two_nodes_stops_every_later_one(db: &TestDb) {
    provisioning_client(db, "entra", "scim:read scim:write");
    let (id, token) = api_token(db, "entra", "scim:read");
    let nodes = [Server::start(crate::bin(), db, &[]), Server::start(crate::bin(), db, &[])];
    let (answered, revoked) = (AtomicUsize::new(0), AtomicBool::new(false));
    let outcomes: Vec<Vec<(bool, u16)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..8)
            .map(|i| {
                let (node, token, answered, revoked) = (&nodes[i % 2], &token, &answered, &revoked);
                scope.spawn(move || {
                    let http = rp_http();
                    let mut seen = Vec::new();
                    // Until three requests sent after the revocation returned.
                    while seen.iter().filter(|(after, _)| *after).count() < 3 {
                        let after = revoked.load(Ordering::SeqCst);
                        let status = http
                            .get(node.url("/scim/v2/Users?count=1"))
                            .bearer_auth(token)
                            .send()
                            .unwrap()
                            .status()
                            .as_u16();
                        if seen.is_empty() {
                            answered.fetch_add(1, Ordering::SeqCst);
                        }
                        seen.push((after, status));
                    }
                    seen
                })
            })
            .collect();
        // Revoke once every worker has had an answer.
        while answered.load(Ordering::SeqCst) < 8 {
            std::thread::yield_now();
        }
        let mut command = sigil(crate::bin(), db);
        command.args(["token", "revoke", "--id", &id]);
        let ran = run(command);
        assert!(ran.status.success(), "{}", ran.stderr);
        revoked.store(true, Ordering::SeqCst);
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    assert!(outcomes.iter().any(|seen| seen[0].1 == 200), "the token worked before: {outcomes:?}");
    for (i, seen) in outcomes.iter().enumerate() {
        assert!(seen.iter().all(|(_, status)| [200, 401].contains(status)), "worker {i}: {seen:?}");
        let first_refusal = seen.iter().position(|(_, s)| *s == 401).expect("refused in the end");
        assert!(
            seen[first_refusal..].iter().all(|(_, s)| *s == 401),
            "worker {i} was let in again: {seen:?}"
        );
        assert!(seen.iter().filter(|(after, _)| *after).all(|(_, s)| *s == 401), "worker {i}: {seen:?}");
    }
}

fn the_admin_api_makes_lists_and_revokes_api_tokens(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let api = |id: &str, role: &str| Api {
        server: &server,
        http: rp_http(),
        token: principal(db, &server, id, "admin", role),
    };
    let operator = api("operator", "platform-operator");
    let auditor = api("auditor", "auditor");
    let provisioner = api("provisioner", "service-account");
    provisioning_client(db, "entra", "scim:read scim:write");

    let asked = json!({ "client_id": "entra", "scope": "scim:read scim:write", "expires_in": 86_400, "name": "Entra ID" });
    for (who, expected) in [(&auditor, 403), (&provisioner, 403)] {
        assert_eq!(who.call("POST", "/admin/api-tokens", Some(&asked)).0, expected);
    }
    let (status, made) = operator.call("POST", "/admin/api-tokens", Some(&asked));
    assert_eq!(status, 201, "{made}");
    let token = made["token"].as_str().unwrap().to_owned();
    let id = made["id"].as_str().unwrap().to_owned();
    assert!(token.starts_with("sigil_at_"));
    assert_eq!(
        (&made["client_id"], &made["scope"], &made["state"]),
        (&json!("entra"), &json!("scim:read scim:write"), &json!("active"))
    );
    assert_eq!(made["last_used_at"], Value::Null);
    assert_eq!(get(&server, "/scim/v2/Users", &token).0, 200);

    // Read by those who may read clients; never the token again.
    for who in [&operator, &auditor] {
        let (status, listed) = who.call("GET", "/admin/api-tokens?client=entra", None);
        assert_eq!(status, 200, "{listed}");
        assert_eq!(listed["api_tokens"][0]["id"], id.as_str());
        assert!(listed["api_tokens"][0]["last_used_at"].is_string(), "{listed}");
        let (status, one) = who.call("GET", &format!("/admin/api-tokens/{id}"), None);
        assert_eq!((status, &one["name"]), (200, &json!("Entra ID")));
        for body in [listed.to_string(), one.to_string()] {
            assert!(!body.contains(&token) && !body.contains("token_hash"), "{body}");
        }
    }
    assert_eq!(provisioner.call("GET", "/admin/api-tokens", None).0, 403);
    assert_eq!(operator.call("GET", "/admin/api-tokens?client=okta", None).1["api_tokens"], json!([]));

    // Refusals: 400 with the reason, 404 for what does not exist.
    for bad in [
        json!({ "client_id": "nobody", "scope": "scim:read" }),
        json!({ "client_id": "entra", "scope": "admin" }),
        json!({ "client_id": "entra", "scope": "openid" }),
        json!({ "client_id": "entra", "scope": "scim:read", "expires_in": 0 }),
        json!({ "client_id": "entra", "scope": "scim:read", "expires_in": 63_072_001 }),
        json!({ "client_id": "entra", "scope": "scim:read", "expires_in": i64::MAX }),
        json!({ "client_id": "entra", "scope": "scim:read", "never_expires": true }),
        json!({ "client_id": "entra" }),
    ] {
        let (status, body) = operator.call("POST", "/admin/api-tokens", Some(&bad));
        assert_eq!((status, &body["error"]), (400, &json!("invalid_request")), "{bad}: {body}");
    }
    assert_eq!(operator.call("GET", "/admin/api-tokens", None).1["api_tokens"].as_array().unwrap().len(), 1);
    assert_eq!(operator.call("GET", "/admin/api-tokens/no-such-id", None).0, 404);
    assert_eq!(operator.call("DELETE", "/admin/api-tokens/no-such-id", None).0, 404);

    // Revoked at once; revoking again changes nothing.
    assert_eq!(auditor.call("DELETE", &format!("/admin/api-tokens/{id}"), None).0, 403);
    assert_eq!(get(&server, "/scim/v2/Users", &token).0, 200);
    assert_eq!(operator.call("DELETE", &format!("/admin/api-tokens/{id}"), None).0, 204);
    assert_invalid_token(&server, "/scim/v2/Users", &token);
    assert_eq!(operator.call("DELETE", &format!("/admin/api-tokens/{id}"), None).0, 204);
    assert_eq!(operator.call("GET", &format!("/admin/api-tokens/{id}"), None).1["state"], "revoked");
}
