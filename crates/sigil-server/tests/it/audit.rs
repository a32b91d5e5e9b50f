//! The audit trail against the running server: sign-in attempts, SCIM
//! writes and admin decisions each leave one record (who, what, from
//! where, outcome), read by auditors and platform operators over
//! `GET /admin/audit` and refused to everyone else. No record holds a
//! password or a token, in the API's answer or in the stored row.

use serde_json::{Value, json};
use sigil_store::audit::{self, Event, Filter};
use sigil_testkit::process::Server;
use sigil_testkit::{TestDb, backend_tests};
use url::Url;

use crate::admin::{Api, principal};
use crate::oidc::{PASSWORD, RP, browser, rp_http, setup, sign_in, sign_in_as};
use crate::proxies::fail;
use crate::scim::Scim;
use crate::{cli, cli_fails};

backend_tests!(
    every_sign_in_attempt_is_recorded_with_client_and_address,
    scim_writes_are_recorded_with_their_writer_and_outcome,
    only_auditors_and_operators_read_the_audit_trail,
    a_trusted_proxys_forwarded_address_is_recorded,
    old_records_are_deleted_after_the_retention,
    the_cli_lists_the_audit_trail,
);

/// Every stored record, newest first, read from the store itself (not
/// through the API under test).
fn stored(db: &TestDb) -> Vec<Event> {
    let store = sigil_store::Store::open(
        &sigil_store::DatabaseUrl::parse(db.url()).unwrap(),
        &sigil_store::PoolOptions::default(),
    )
    .unwrap();
    store.read_blocking(|c| audit::list(c, &Filter::default(), None, audit::MAX_PAGE)).unwrap()
}

/// Asserts that none of `secrets` appears in the stored rows or in `json`.
fn assert_no_secret(db: &TestDb, json: &Value, secrets: &[&str]) {
    let rows = format!("{:?}", stored(db));
    let json = json.to_string();
    for secret in secrets {
        assert!(!rows.contains(secret), "a stored audit row holds `{secret}`: {rows}");
        assert!(!json.contains(secret), "the audit API shows `{secret}`: {json}");
    }
}

/// The auditor's view of `/admin/audit?{query}`; it must be answered 200.
fn events(auditor: &Api<'_>, query: &str) -> Vec<Value> {
    let (status, body) = auditor.call("GET", &format!("/admin/audit?{query}"), None);
    assert_eq!(status, 200, "{query}: {body}");
    body["events"].as_array().unwrap().clone()
}

fn authorize_url(server: &Server) -> String {
    let params = [("client_id", "web"), ("redirect_uri", RP), ("response_type", "code"), ("scope", "openid")];
    Url::parse_with_params(&server.url("/authorize"), &params).unwrap().to_string()
}

fn user_id(db: &TestDb, name: &str) -> String {
    let store = sigil_store::Store::open(
        &sigil_store::DatabaseUrl::parse(db.url()).unwrap(),
        &sigil_store::PoolOptions::default(),
    )
    .unwrap();
    let name = name.to_owned();
    store.read_blocking(move |c| sigil_store::users::find_by_user_name(c, &name)).unwrap().unwrap().id
}

fn every_sign_in_attempt_is_recorded_with_client_and_address(db: &TestDb) {
    setup(db);
    cli(db, &["user", "add", "--username", "bob", "--password", PASSWORD]);
    cli(db, &["user", "disable", "--username", "bob"]);
    let server = Server::start(crate::bin(), db, &[]);
    let url = authorize_url(&server);
    let typed = "Mallory-the-unknown";
    assert_eq!(sign_in_as(&server, &browser(), &url, typed, "guess one").status(), 200);
    assert_eq!(sign_in(&server, &browser(), &url, "not alice's password").status(), 200);
    assert_eq!(sign_in_as(&server, &browser(), &url, "bob", PASSWORD).status(), 200, "bob is disabled");
    let signed_in = sign_in(&server, &browser(), &url, PASSWORD);
    assert_eq!(signed_in.status(), 302, "alice signs in, sent back to the client");
    assert!(signed_in.headers()["location"].to_str().unwrap().starts_with(RP));

    let auditor =
        Api { server: &server, http: rp_http(), token: principal(db, &server, "watch", "admin", "auditor") };
    let seen = events(&auditor, "kind=sign_in");
    let summary: Vec<(&str, &str)> =
        seen.iter().map(|e| (e["actor"].as_str().unwrap(), e["outcome"].as_str().unwrap())).collect();
    assert_eq!(
        summary,
        [("alice", "success"), ("bob", "disabled"), ("alice", "bad_password"), (typed, "unknown_user")],
        "newest first, one per attempt, the username as typed"
    );
    let alice = user_id(db, "alice");
    for event in &seen {
        assert_eq!(event["kind"], "sign_in");
        assert_eq!(event["operation"], "sign_in");
        assert_eq!(event["client_id"], "web", "the client the sign-in was for: {event}");
        assert_eq!(event["address"], "127.0.0.1", "the client address: {event}");
        assert!(event["request_id"].as_str().is_some_and(|id| !id.is_empty()), "{event}");
        assert!(event["time"].as_str().is_some(), "{event}");
    }
    assert_eq!(seen[0]["resource_id"], alice.as_str(), "the account that signed in");
    assert_eq!(seen[2]["resource_id"], alice.as_str(), "the account guessed at");
    assert_eq!(seen[3]["resource_id"], Value::Null, "no account has that name");

    // Locked after five failures: the refused attempt is recorded too.
    for attempt in 0..5 {
        let status = sign_in(&server, &browser(), &url, &format!("wrong {attempt}")).status();
        assert!(status == 200 || status == 429, "{status}");
    }
    assert_eq!(sign_in(&server, &browser(), &url, PASSWORD).status(), 429);
    let latest = &events(&auditor, "kind=sign_in&limit=1")[0];
    assert_eq!((&latest["actor"], &latest["outcome"]), (&json!("alice"), &json!("throttled")));
    let throttled = events(&auditor, "kind=sign_in&outcome=throttled");
    assert!(!throttled.is_empty() && throttled.iter().all(|e| e["outcome"] == "throttled"));
    let bad = events(&auditor, "actor=alice&outcome=bad_password");
    assert!(bad.len() >= 2 && bad.iter().all(|e| e["actor"] == "alice"), "{bad:?}");

    let all = events(&auditor, "limit=500");
    let wrong: Vec<String> = (0..5).map(|n| format!("wrong {n}")).collect();
    let mut secrets = vec![PASSWORD, "guess one", "not alice's password"];
    secrets.extend(wrong.iter().map(String::as_str));
    assert_no_secret(db, &json!(all), &secrets);
}

fn scim_writes_are_recorded_with_their_writer_and_outcome(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let token = principal(db, &server, "provisioner", "scim:write", "service-account");
    let scim = Scim { server: &server, http: rp_http(), token: token.clone() };
    let secret_password = "Tr0ub4dor&3-unguessable-passphrase";
    let send = |method: &str, path: &str, body: Option<&Value>, request_id: &str, extra: &[(&str, &str)]| {
        let mut headers: Vec<(&str, &str)> = extra.to_vec();
        headers.push(("x-request-id", request_id));
        let (status, _, body) = scim.send(method, path, body, &headers);
        (status, body)
    };

    let (status, created) = send(
        "POST",
        "/Users",
        Some(&json!({ "userName": "carol", "password": secret_password })),
        "create-1",
        &[],
    );
    assert_eq!(status, 201, "{created}");
    let carol = created["id"].as_str().unwrap().to_owned();
    let path = format!("/Users/{carol}");
    let rename = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                         "Operations": [{ "op": "replace", "path": "displayName", "value": "Carol" }] });
    let (status, _) = send("PATCH", &path, Some(&rename), "patch-412", &[("if-match", "W/\"999\"")]);
    assert_eq!(status, 412);
    let (status, _) = send("PATCH", &path, Some(&rename), "patch-ok", &[]);
    assert_eq!(status, 200);
    // A PUT that collides with another user's name is rolled back whole.
    let (status, _) = send("POST", "/Users", Some(&json!({ "userName": "dave" })), "create-2", &[]);
    assert_eq!(status, 201);
    let (status, _) = send("PUT", &path, Some(&json!({ "userName": "dave" })), "put-conflict", &[]);
    assert_eq!(status, 409);
    let (status, group) = send("POST", "/Groups", Some(&json!({ "displayName": "Ops" })), "group", &[]);
    assert_eq!(status, 201);
    let bulk = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            { "method": "POST", "path": "/Users", "bulkId": "e", "data": { "userName": "erin" } },
            { "method": "DELETE", "path": format!("/Groups/{}", group["id"].as_str().unwrap()), "version": "W/\"41\"" },
        ],
    });
    let (status, answer) = send("POST", "/Bulk", Some(&bulk), "bulk", &[]);
    assert_eq!(status, 200, "{answer}");
    let (status, _) = send("DELETE", &path, None, "delete", &[]);
    assert_eq!(status, 204);
    // Without a role that may write: refused, and recorded as such.
    let reader = principal(db, &server, "onlooker", "scim:write", "auditor");
    let denied = Scim { server: &server, http: rp_http(), token: reader.clone() };
    let (status, _, _) =
        denied.send("POST", "/Users", Some(&json!({ "userName": "x" })), &[("x-request-id", "denied")]);
    assert_eq!(status, 403);

    let operator = principal(db, &server, "operator", "admin", "platform-operator");
    let operator = Api { server: &server, http: rp_http(), token: operator };
    let seen = events(&operator, "kind=scim_write&limit=500");
    let by_request = |id: &str| -> Vec<&Value> { seen.iter().filter(|e| e["request_id"] == id).collect() };
    let one = |id: &str| -> &Value {
        let found = by_request(id);
        assert_eq!(found.len(), 1, "one record for {id}: {seen:?}");
        found[0]
    };
    let create = one("create-1");
    assert_eq!(create["operation"], "scim.users.create");
    assert_eq!((&create["method"], &create["resource_type"]), (&json!("POST"), &json!("User")));
    assert_eq!(create["resource_id"], carol.as_str(), "the id made in the write");
    assert_eq!((&create["actor"], &create["client_id"]), (&json!("provisioner"), &json!("provisioner")));
    assert_eq!((&create["outcome"], &create["address"]), (&json!("success"), &json!("127.0.0.1")));
    let failed = one("patch-412");
    assert_eq!(
        (&failed["outcome"], &failed["actor"]),
        (&json!("precondition_failed"), &json!("provisioner"))
    );
    assert_eq!((&failed["operation"], &failed["resource_id"]), (&json!("scim.users.update"), &json!(carol)));
    assert_eq!(
        (&one("patch-ok")["outcome"], &one("patch-ok")["method"]),
        (&json!("success"), &json!("PATCH"))
    );
    assert_eq!(one("put-conflict")["outcome"], "conflict", "no success record for the rolled-back PUT");
    assert_eq!(one("delete")["operation"], "scim.users.delete");
    assert_eq!(one("delete")["outcome"], "success");
    assert_eq!(one("group")["resource_type"], "Group");
    let bulk: Vec<(&Value, &Value, &Value)> =
        by_request("bulk").iter().map(|e| (&e["operation"], &e["method"], &e["outcome"])).collect();
    assert_eq!(bulk.len(), 2, "one record per bulk operation: {bulk:?}");
    assert!(bulk.contains(&(&json!("scim.users.create"), &json!("POST"), &json!("success"))), "{bulk:?}");
    assert!(
        bulk.contains(&(&json!("scim.groups.delete"), &json!("DELETE"), &json!("precondition_failed"))),
        "{bulk:?}"
    );
    let refused = one("denied");
    assert_eq!((&refused["actor"], &refused["outcome"]), (&json!("onlooker"), &json!("denied")));

    assert_no_secret(db, &json!(seen), &[secret_password, &token, &reader]);
}

fn only_auditors_and_operators_read_the_audit_trail(db: &TestDb) {
    cli(db, &["client", "add", "--id", "sync", "--grant-type", "client_credentials", "--scope", "scim:read"]);
    let server = Server::start(crate::bin(), db, &[]);
    let api = |id: &str, scope: &str, role: &str| Api {
        server: &server,
        http: rp_http(),
        token: principal(db, &server, id, scope, role),
    };
    let auditor = api("auditor", "admin", "auditor");
    let operator = api("operator", "admin", "platform-operator");
    // An API token is made and shown once; its text is never recorded.
    let (status, made) = operator.call(
        "POST",
        "/admin/api-tokens",
        Some(&json!({ "client_id": "sync", "scope": "scim:read" })),
    );
    assert_eq!(status, 201, "{made}");
    let api_token = made["token"].as_str().unwrap().to_owned();
    for refused in [
        api("helpdesk", "admin", "user-admin"),
        api("entra", "admin", "service-account"),
        api("nobody", "admin", ""),
    ] {
        let (status, body) = refused.call("GET", "/admin/audit", None);
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["error"], "access_denied");
    }
    // A token for SCIM is not a token for the admin API, whatever its role.
    let scim_token = api("scim-op", "scim:read", "platform-operator");
    let (status, _) = scim_token.call("GET", "/admin/audit", None);
    assert_eq!(status, 401, "the admin API is not its audience");
    let anonymous = rp_http().get(server.url("/admin/audit")).send().unwrap();
    assert_eq!(anonymous.status(), 401);
    let (status, _) =
        Api { server: &server, http: rp_http(), token: api_token.clone() }.call("GET", "/admin/audit", None);
    assert_eq!(status, 401, "an API token without the admin scope names no admin audience");

    let (status, _) = operator.call("GET", "/admin/audit", None);
    assert_eq!(status, 200, "an operator reads it too");
    let decisions = events(&auditor, "kind=admin_decision&limit=500");
    let find = |actor: &str, outcome: &str| {
        decisions.iter().find(|e| e["actor"] == actor && e["outcome"] == outcome).cloned()
    };
    let denied = find("helpdesk", "denied").expect("the refusal is recorded");
    assert_eq!((&denied["operation"], &denied["method"]), (&json!("admin.audit.read"), &json!("GET")));
    assert_eq!((&denied["client_id"], &denied["address"]), (&json!("helpdesk"), &json!("127.0.0.1")));
    assert!(find("entra", "denied").is_some() && find("nobody", "denied").is_some());
    let made = decisions
        .iter()
        .find(|e| e["actor"] == "operator" && e["operation"] == "admin.clients.write")
        .expect("the operator's token creation");
    assert_eq!(made["outcome"], "allowed");
    assert_eq!((&made["resource_type"], &made["method"]), (&json!("api-tokens"), &json!("POST")));

    // Paging: newest first, a cursor continues where a page ended.
    let everything = events(&auditor, "limit=500");
    let (status, first) = auditor.call("GET", "/admin/audit?limit=2", None);
    assert_eq!(status, 200);
    let cursor = first["next_cursor"].as_str().expect("a full page has a next one").to_owned();
    let second = events(&auditor, &format!("limit=2&cursor={cursor}"));
    let ids: Vec<&Value> =
        first["events"].as_array().unwrap().iter().chain(&second).map(|e| &e["id"]).collect();
    // Each read is itself recorded first: the first page starts with its
    // own record, then the listing of everything, then what that listed.
    let expected: Vec<&Value> = everything.iter().take(3).map(|e| &e["id"]).collect();
    assert_eq!(ids.len(), 4);
    assert_eq!(&ids[1..], &expected[..], "the second page follows the first");
    let times: Vec<&str> = everything.iter().map(|e| e["time"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {times:?}");
    let since = events(&auditor, "since=2999-01-01T00:00:00Z");
    assert!(since.is_empty(), "{since:?}");
    for bad in ["kind=login", "limit=0", "limit=501", "cursor=nonsense", "since=yesterday", "colour=red"] {
        let (status, body) = auditor.call("GET", &format!("/admin/audit?{bad}"), None);
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"], "invalid_request", "{bad}");
    }
    assert_no_secret(db, &json!(everything), &[&api_token, &auditor.token, &operator.token]);
}

fn a_trusted_proxys_forwarded_address_is_recorded(db: &TestDb) {
    setup(db);
    let via_proxy = "192.0.2.66, 203.0.113.7";
    {
        let trusted = Server::start(crate::bin(), db, &[("SIGIL_HTTP_TRUSTED_PROXIES", "127.0.0.1")]);
        assert_eq!(fail(&trusted, via_proxy, 1).status(), 200);
    }
    let untrusted = Server::start(crate::bin(), db, &[("SIGIL_HTTP_TRUSTED_PROXIES", "10.0.0.0/8")]);
    assert_eq!(fail(&untrusted, via_proxy, 2).status(), 200);
    let auditor = Api {
        server: &untrusted,
        http: rp_http(),
        token: principal(db, &untrusted, "watch", "admin", "auditor"),
    };
    let seen = events(&auditor, "kind=sign_in");
    let addresses: Vec<(&Value, &Value)> = seen.iter().map(|e| (&e["actor"], &e["address"])).collect();
    assert_eq!(
        addresses,
        [(&json!("nobody-2"), &json!("127.0.0.1")), (&json!("nobody-1"), &json!("203.0.113.7"))],
        "the proxy's forwarded address when the peer is trusted, the peer's otherwise"
    );
}

fn old_records_are_deleted_after_the_retention(db: &TestDb) {
    cli(db, &["migrate"]);
    let store = sigil_store::Store::open(
        &sigil_store::DatabaseUrl::parse(db.url()).unwrap(),
        &sigil_store::PoolOptions::default(),
    )
    .unwrap();
    let now = store.now();
    let record = |operation: &str, days: i64| {
        let event = audit::NewEvent::new(audit::Kind::AdminDecision, operation);
        let at = now - chrono::TimeDelta::days(days);
        store.write_blocking(move |c| audit::record(c, event, at)).unwrap();
    };
    record("ancient", 40);
    record("recent", 2);
    // Kept forever with 0, whatever their age.
    drop(Server::start(crate::bin(), db, &[("SIGIL_AUDIT_RETENTION_DAYS", "0")]));
    assert_eq!(stored(db).len(), 2);
    let server = Server::start(crate::bin(), db, &[("SIGIL_AUDIT_RETENTION_DAYS", "30")]);
    let mut left = Vec::new();
    for _ in 0..200 {
        left = stored(db).into_iter().map(|e| e.operation).collect::<Vec<_>>();
        if left.len() == 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    assert_eq!(left, ["recent"], "what is older than 30 days is deleted at start");
    drop(server);
}

fn the_cli_lists_the_audit_trail(db: &TestDb) {
    setup(db);
    let server = Server::start(crate::bin(), db, &[]);
    let url = authorize_url(&server);
    assert_eq!(sign_in_as(&server, &browser(), &url, "nobody", "a wrong guess").status(), 200);
    assert_eq!(sign_in(&server, &browser(), &url, PASSWORD).status(), 302);
    drop(server);
    let listed: Value =
        serde_json::from_str(&cli(db, &["audit", "list", "--kind", "sign_in", "--json"])).unwrap();
    let summary: Vec<(&Value, &Value, &Value)> =
        listed.as_array().unwrap().iter().map(|e| (&e["actor"], &e["outcome"], &e["client_id"])).collect();
    assert_eq!(
        summary,
        [
            (&json!("alice"), &json!("success"), &json!("web")),
            (&json!("nobody"), &json!("unknown_user"), &json!("web"))
        ]
    );
    let failed: Value =
        serde_json::from_str(&cli(db, &["audit", "list", "--outcome", "unknown_user", "--json"])).unwrap();
    assert_eq!(failed.as_array().unwrap().len(), 1);
    let future: Value =
        serde_json::from_str(&cli(db, &["audit", "list", "--since", "2999-01-01", "--json"])).unwrap();
    assert_eq!(future, json!([]));
    let table = cli(db, &["audit", "list", "--limit", "1"]);
    assert!(table.starts_with("TIME") && table.contains("alice") && !table.contains("nobody"), "{table}");
    assert!(!table.contains(PASSWORD) && !listed.to_string().contains("a wrong guess"));
    cli_fails(db, 2, &["audit", "list", "--kind", "login"]);
    cli_fails(db, 2, &["audit", "list", "--since", "yesterday"]);
    cli_fails(db, 2, &["audit", "list", "--limit", "0"]);
}
