//! The access matrix of `docs/authorization.md` against the running
//! server: every built-in role (and no role) tries every operation of the
//! admin API and the SCIM service; what the page allows succeeds, what it
//! refuses answers 403 and changes nothing. Then roles held by a user
//! through nested groups, scopes, and the admin API's errors.

use openidconnect::reqwest::blocking::Client as Http;
use serde_json::{Value, json};
use sigil_testkit::process::Server;
use sigil_testkit::{TestDb, backend_tests};

use crate::cli;
use crate::oidc::{PASSWORD, RP, browser, rp_http};

backend_tests!(
    every_role_meets_the_documented_matrix,
    roles_held_through_nested_groups_count_until_revoked,
    admin_requests_need_the_admin_scope_and_a_valid_token,
    bad_admin_requests_get_errors_and_change_nothing,
    no_one_hands_out_a_built_in_role_they_do_not_hold,
);

/// The built-in roles, in the matrix's column order.
const ROLES: [&str; 4] = ["platform-operator", "user-admin", "auditor", "service-account"];

/// The matrix rows of `docs/authorization.md`: operation name and, per role
/// column, whether it is allowed.
fn documented_matrix() -> Vec<(String, [bool; 4])> {
    let page = include_str!("../../../../docs/authorization.md");
    page.lines()
        .filter(|line| line.starts_with("| `scim.") || line.starts_with("| `admin."))
        .map(|line| {
            let cells: Vec<&str> = line.split(" | ").collect();
            let name = line[2..].split('`').nth(1).unwrap().to_owned();
            let flags: Vec<bool> = cells[cells.len() - 4..]
                .iter()
                .map(|cell| cell.trim_end_matches(" |").trim().starts_with('✔'))
                .collect();
            (name, flags.try_into().unwrap())
        })
        .collect()
}

/// A bearer-token HTTP client for `/admin` and `/scim/v2`.
pub(crate) struct Api<'a> {
    pub(crate) server: &'a Server,
    pub(crate) http: Http,
    pub(crate) token: String,
}

impl Api<'_> {
    pub(crate) fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let method = method.parse().unwrap();
        let mut request = self.http.request(method, self.server.url(path)).bearer_auth(&self.token);
        if let Some(body) = body {
            let kind = if path.starts_with("/scim") { "application/scim+json" } else { "application/json" };
            request = request.header("content-type", kind).body(body.to_string());
        }
        let response = request.send().unwrap();
        let status = response.status().as_u16();
        let text = response.text().unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

/// Registers a client-credentials client with `scope`, grants it `role`
/// (none when empty) and returns a token for it.
pub(crate) fn principal(db: &TestDb, server: &Server, id: &str, scope: &str, role: &str) -> String {
    let out = cli(db, &["client", "add", "--id", id, "--grant-type", "client_credentials", "--scope", scope]);
    if !role.is_empty() {
        cli(db, &["admin", "grant", role, "--client", id]);
    }
    let secret = out.lines().find_map(|l| l.strip_prefix("client_secret: ")).unwrap().to_owned();
    let body: Value = rp_http()
        .post(server.url("/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        .send()
        .unwrap()
        .json()
        .unwrap();
    body["access_token"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
}

/// What the matrix test works on: an operator to prepare and inspect, an
/// application with a role, and a counter for fresh names.
struct Bench<'a> {
    operator: Api<'a>,
    next: std::cell::Cell<u32>,
}

impl Bench<'_> {
    fn fresh(&self, prefix: &str) -> String {
        self.next.set(self.next.get() + 1);
        format!("{prefix}-{}", self.next.get())
    }

    fn ok(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let (status, answer) = self.operator.call(method, path, body);
        assert!((200..300).contains(&status), "{method} {path}: {status} {answer}");
        answer
    }

    fn user(&self) -> String {
        let body = json!({ "userName": self.fresh("user") });
        self.ok("POST", "/scim/v2/Users", Some(&body))["id"].as_str().unwrap().to_owned()
    }

    fn group(&self) -> String {
        let body = json!({ "displayName": self.fresh("group") });
        self.ok("POST", "/scim/v2/Groups", Some(&body))["id"].as_str().unwrap().to_owned()
    }

    fn exists(&self, path: &str) -> bool {
        self.operator.call("GET", path, None).0 == 200
    }

    /// `who` tries `operation`: the statuses it got, and whether the store
    /// shows the effect of the (last) request.
    fn attempt(&self, operation: &str, who: &Api<'_>) -> (Vec<u16>, bool) {
        let patch = |value: &str| {
            json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{ "op": "replace", "path": "displayName", "value": value }] })
        };
        match operation {
            "scim.discovery.read" => {
                let statuses = ["/ServiceProviderConfig", "/Schemas", "/ResourceTypes"]
                    .map(|p| who.call("GET", &format!("/scim/v2{p}"), None).0);
                (statuses.to_vec(), true)
            }
            "scim.users.read" | "scim.groups.read" => {
                let kind = if operation == "scim.users.read" { "Users" } else { "Groups" };
                let id = if kind == "Users" { self.user() } else { self.group() };
                let search = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"] });
                let statuses = vec![
                    who.call("GET", &format!("/scim/v2/{kind}"), None).0,
                    who.call("GET", &format!("/scim/v2/{kind}/{id}"), None).0,
                    who.call("POST", &format!("/scim/v2/{kind}/.search"), Some(&search)).0,
                ];
                (statuses, true)
            }
            "scim.users.create" => {
                let name = self.fresh("new");
                let status = who.call("POST", "/scim/v2/Users", Some(&json!({ "userName": name }))).0;
                let filter = format!("/scim/v2/Users?filter=userName%20eq%20%22{name}%22");
                (vec![status], self.ok("GET", &filter, None)["totalResults"] == 1)
            }
            "scim.groups.create" => {
                let name = self.fresh("new");
                let status = who.call("POST", "/scim/v2/Groups", Some(&json!({ "displayName": name }))).0;
                let filter = format!("/scim/v2/Groups?filter=displayName%20eq%20%22{name}%22");
                (vec![status], self.ok("GET", &filter, None)["totalResults"] == 1)
            }
            "scim.users.update" => {
                let id = self.user();
                let path = format!("/scim/v2/Users/{id}");
                let name = self.fresh("Changed");
                let status = who.call("PATCH", &path, Some(&patch(&name))).0;
                (vec![status], self.ok("GET", &path, None)["displayName"] == name.as_str())
            }
            "scim.groups.update" => {
                let id = self.group();
                let path = format!("/scim/v2/Groups/{id}");
                let name = self.fresh("Changed");
                let status = who.call("PATCH", &path, Some(&patch(&name))).0;
                (vec![status], self.ok("GET", &path, None)["displayName"] == name.as_str())
            }
            "scim.users.delete" | "scim.groups.delete" => {
                let (kind, id) = if operation == "scim.users.delete" {
                    ("Users", self.user())
                } else {
                    ("Groups", self.group())
                };
                let path = format!("/scim/v2/{kind}/{id}");
                (vec![who.call("DELETE", &path, None).0], !self.exists(&path))
            }
            "admin.clients.read" => {
                let statuses = vec![
                    who.call("GET", "/admin/clients", None).0,
                    who.call("GET", "/admin/clients/app", None).0,
                    who.call("GET", "/admin/api-tokens", None).0,
                ];
                (statuses, true)
            }
            "admin.clients.write" => {
                let (created, changed, doomed) =
                    (self.fresh("client"), self.fresh("client"), self.fresh("client"));
                for id in [&changed, &doomed] {
                    let body = json!({ "client_id": id, "grant_types": ["client_credentials"], "scope": "scim:read" });
                    self.ok("POST", "/admin/clients", Some(&body));
                }
                // An API token is a credential of its client, as its secret is.
                let token = json!({ "client_id": changed, "scope": "scim:read" });
                let revoked =
                    self.ok("POST", "/admin/api-tokens", Some(&token))["id"].as_str().unwrap().to_owned();
                let body = json!({ "client_id": created, "grant_types": ["client_credentials"] });
                let statuses = vec![
                    who.call("POST", "/admin/clients", Some(&body)).0,
                    who.call(
                        "PATCH",
                        &format!("/admin/clients/{changed}"),
                        Some(&json!({ "client_name": "Renamed" })),
                    )
                    .0,
                    who.call("DELETE", &format!("/admin/clients/{doomed}"), None).0,
                    who.call("POST", "/admin/api-tokens", Some(&token)).0,
                    who.call("DELETE", &format!("/admin/api-tokens/{revoked}"), None).0,
                ];
                let tokens = self.ok("GET", &format!("/admin/api-tokens?client={changed}"), None);
                let states: Vec<&Value> =
                    tokens["api_tokens"].as_array().unwrap().iter().map(|t| &t["state"]).collect();
                let done = states == [&json!("revoked"), &json!("active")]
                    && self.exists(&format!("/admin/clients/{created}"))
                    && self.ok("GET", &format!("/admin/clients/{changed}"), None)["client_name"] == "Renamed"
                    && !self.exists(&format!("/admin/clients/{doomed}"));
                (statuses, done)
            }
            "admin.roles.read" => (vec![who.call("GET", "/admin/roles", None).0], true),
            "admin.roles.define" => {
                let (defined, doomed) = (self.fresh("role"), self.fresh("role"));
                self.ok("POST", "/admin/roles", Some(&json!({ "client": "app", "name": doomed })));
                let statuses = vec![
                    who.call("POST", "/admin/roles", Some(&json!({ "client": "app", "name": defined }))).0,
                    who.call("DELETE", &format!("/admin/roles/app/{doomed}"), None).0,
                ];
                let names: Vec<Value> = self.ok("GET", "/admin/roles?client=app", None)["roles"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["name"].clone())
                    .collect();
                (statuses, names.contains(&json!(defined)) && !names.contains(&json!(doomed)))
            }
            "admin.roles.grant" => {
                let (granted, revoked) = (self.user(), self.user());
                self.ok("PUT", &format!("/admin/roles/app/editor/users/{revoked}"), None);
                let statuses = vec![
                    who.call("PUT", &format!("/admin/roles/app/editor/users/{granted}"), None).0,
                    who.call("DELETE", &format!("/admin/roles/app/editor/users/{revoked}"), None).0,
                ];
                let roles = self.ok("GET", "/admin/roles?client=app", None);
                let editor =
                    roles["roles"].as_array().unwrap().iter().find(|r| r["name"] == "editor").unwrap();
                let holds = |id: &str| editor["users"].as_array().unwrap().contains(&json!(id));
                (statuses, holds(&granted) && !holds(&revoked))
            }
            "admin.access.read" => (vec![who.call("GET", "/admin/access", None).0], true),
            "admin.access.grant" => {
                let (granted, revoked) = (self.group(), self.group());
                self.ok("PUT", &format!("/admin/access/auditor/groups/{revoked}"), None);
                let statuses = vec![
                    who.call("PUT", &format!("/admin/access/auditor/groups/{granted}"), None).0,
                    who.call("DELETE", &format!("/admin/access/auditor/groups/{revoked}"), None).0,
                ];
                let grants = self.ok("GET", "/admin/access", None);
                let holds = |id: &str| {
                    grants["grants"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|g| g["id"] == id && g["role"] == "auditor")
                };
                (statuses, holds(&granted) && !holds(&revoked))
            }
            "admin.keys.read" => (vec![who.call("GET", "/admin/keys", None).0], true),
            "admin.audit.read" => (vec![who.call("GET", "/admin/audit", None).0], true),
            "admin.keys.rotate" => {
                let signing = |keys: &Value| -> Vec<Value> {
                    keys["keys"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|k| k["state"] == "active")
                        .map(|k| k["kid"].clone())
                        .collect()
                };
                let before = signing(&self.ok("GET", "/admin/keys", None));
                let status = who.call("POST", "/admin/keys/rotate", None).0;
                (vec![status], signing(&self.ok("GET", "/admin/keys", None)) != before)
            }
            other => panic!("the matrix names `{other}`, which this test does not know how to try"),
        }
    }
}

fn every_role_meets_the_documented_matrix(db: &TestDb) {
    cli(db, &["client", "add", "--id", "app", "--redirect-uri", RP]);
    cli(db, &["role", "add", "--client", "app", "--name", "editor"]);
    let server = Server::start(crate::bin(), db, &[]);
    let token = |id: &str, role: &str| principal(db, &server, id, "admin", role);
    let bench = Bench {
        operator: Api { server: &server, http: rp_http(), token: token("operator", "platform-operator") },
        next: std::cell::Cell::new(0),
    };
    let mut principals: Vec<(&str, Api<'_>)> = ROLES
        .iter()
        .map(|role| {
            (*role, Api { server: &server, http: rp_http(), token: token(&format!("as-{role}"), role) })
        })
        .collect();
    principals.push(("(no role)", Api { server: &server, http: rp_http(), token: token("as-nobody", "") }));

    let matrix = documented_matrix();
    assert_eq!(matrix.len(), 19, "every operation of the table is documented");
    for (operation, allowed) in &matrix {
        for (column, (role, api)) in principals.iter().enumerate() {
            let expected = allowed.get(column).copied().unwrap_or(false);
            let (statuses, effect) = bench.attempt(operation, api);
            if expected {
                assert!(
                    statuses.iter().all(|s| (200..300).contains(s)),
                    "{role} may {operation}: {statuses:?}"
                );
                assert!(effect, "{role} did {operation}, and the store shows it");
            } else {
                assert!(statuses.iter().all(|s| *s == 403), "{role} may not {operation}: {statuses:?}");
                let writes = !operation.ends_with(".read");
                assert!(!writes || !effect, "a refused {operation} by {role} changed nothing");
            }
        }
    }
}

fn roles_held_through_nested_groups_count_until_revoked(db: &TestDb) {
    cli(db, &["user", "add", "--username", "alice", "--password", PASSWORD, "--group", "Help Desk"]);
    let out = cli(
        db,
        &[
            "client",
            "add",
            "--id",
            "console",
            "--redirect-uri",
            RP,
            "--skip-consent",
            "--scope",
            "openid admin",
        ],
    );
    let secret = out.lines().find_map(|l| l.strip_prefix("client_secret: ")).unwrap().to_owned();
    cli(db, &["client", "add", "--id", "app", "--redirect-uri", RP]);
    cli(db, &["role", "add", "--client", "app", "--name", "editor"]);
    let server = Server::start(crate::bin(), db, &[]);
    let operator = Api {
        server: &server,
        http: rp_http(),
        token: principal(db, &server, "operator", "admin", "platform-operator"),
    };
    // Help Desk sits inside Staff; Staff holds user-admin.
    let (_, groups) = operator.call("GET", "/scim/v2/Groups", None);
    let help_desk = groups["Resources"][0]["id"].as_str().unwrap().to_owned();
    let (status, staff) = operator.call(
        "POST",
        "/scim/v2/Groups",
        Some(&json!({ "displayName": "Staff", "members": [{ "value": help_desk, "type": "Group" }] })),
    );
    assert_eq!(status, 201, "{staff}");
    let staff = staff["id"].as_str().unwrap().to_owned();
    assert_eq!(operator.call("PUT", &format!("/admin/access/user-admin/groups/{staff}"), None).0, 204);
    let listed = cli(db, &["admin", "list"]);
    assert!(listed.contains("user-admin") && listed.contains("Staff"), "{listed}");

    let rp = crate::lifecycle::Rp { server: &server, http: rp_http(), id: "console", secret };
    let (_, tokens) = rp.tokens(&browser(), "openid admin");
    let alice =
        Api { server: &server, http: rp_http(), token: tokens["access_token"].as_str().unwrap().to_owned() };
    let (status, created) = alice.call("POST", "/scim/v2/Users", Some(&json!({ "userName": "newhire" })));
    assert_eq!(status, 201, "user-admin through Staff may provision: {created}");
    let newhire = created["id"].as_str().unwrap();
    assert_eq!(alice.call("PUT", &format!("/admin/roles/app/editor/users/{newhire}"), None).0, 204);
    let (status, body) = alice.call("GET", "/admin/clients", None);
    assert_eq!((status, body["error"].as_str()), (403, Some("access_denied")), "{body}");
    assert_eq!(alice.call("GET", "/scim/v2/Me", None).0, 200);

    // Revoked, the role stops at once for the token already issued.
    assert_eq!(operator.call("DELETE", &format!("/admin/access/user-admin/groups/{staff}"), None).0, 204);
    assert_eq!(alice.call("POST", "/scim/v2/Users", Some(&json!({ "userName": "late" }))).0, 403);
    assert_eq!(alice.call("GET", "/scim/v2/Users", None).0, 403);
    assert_eq!(alice.call("GET", "/scim/v2/Me", None).0, 200, "her own record stays readable");
    // The CLI grants directly, by user name.
    cli(db, &["admin", "grant", "auditor", "--user", "alice"]);
    assert_eq!(alice.call("GET", "/scim/v2/Users", None).0, 200);
    assert_eq!(alice.call("GET", "/admin/keys", None).0, 200);
    cli(db, &["admin", "revoke", "auditor", "--user", "alice"]);
    assert_eq!(alice.call("GET", "/admin/keys", None).0, 403);
    // A deactivated user holds no role, whatever is granted.
    cli(db, &["admin", "grant", "auditor", "--user", "alice"]);
    assert_eq!(alice.call("GET", "/admin/keys", None).0, 200);
    let me = alice.call("GET", "/scim/v2/Me", None).1;
    let deactivate = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                             "Operations": [{ "op": "replace", "path": "active", "value": false }] });
    let path = format!("/scim/v2/Users/{}", me["id"].as_str().unwrap());
    assert_eq!(operator.call("PATCH", &path, Some(&deactivate)).0, 200);
    // Her token dies with her account: the verifier reads her status.
    let (status, body) = alice.call("GET", "/admin/keys", None);
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_token")), "{body}");

    // Each decision is in the audit trail, without the token. The log
    // arrives through a pipe, so give the last lines a moment.
    let audited = |logs: &str| {
        let audit: Vec<&str> = logs.lines().filter(|l| l.contains("admin request")).collect();
        audit.iter().any(|l| l.contains("admin.keys.read") && l.contains("allowed=true"))
            && audit.iter().any(|l| l.contains("admin.keys.read") && l.contains("allowed=false"))
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !audited(&server.logs()) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let logs = server.logs();
    assert!(audited(&logs), "{logs}");
    assert!(!logs.contains(&alice.token), "the access token reached the log");
}

fn admin_requests_need_the_admin_scope_and_a_valid_token(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let http = rp_http();
    for metadata in ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"] {
        let body: Value = http.get(server.url(metadata)).send().unwrap().json().unwrap();
        let scopes = body["scopes_supported"].as_array().unwrap();
        for scope in ["openid", "groups", "scim:read", "scim:write", "admin"] {
            assert!(scopes.contains(&json!(scope)), "{metadata} advertises {scope}: {body}");
        }
    }
    let anonymous = http.get(server.url("/admin/clients")).send().unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer realm=\"sigil-admin\"");
    let operator = principal(db, &server, "operator", "admin", "platform-operator");
    let forged = http.get(server.url("/admin/clients")).bearer_auth(format!("{operator}x")).send().unwrap();
    assert_eq!(forged.status(), 401);
    assert!(forged.headers()["www-authenticate"].to_str().unwrap().contains("error=\"invalid_token\""));

    // The operator's role does not stretch past its client's scopes: a
    // token granted only scim:write is a token for SCIM, not for the admin
    // API (RFC 9068 §4: `aud` names the API), so the admin API refuses it.
    let scim_only = principal(db, &server, "provisioner", "scim:write", "platform-operator");
    let response = http.get(server.url("/admin/clients")).bearer_auth(&scim_only).send().unwrap();
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    let reader = principal(db, &server, "reader", "scim:read", "platform-operator");
    let api = Api { server: &server, http: rp_http(), token: reader };
    assert_eq!(api.call("GET", "/scim/v2/Users", None).0, 200);
    let (status, body) = api.call("POST", "/scim/v2/Users", Some(&json!({ "userName": "x" })));
    assert_eq!(status, 403, "scim:read does not admit a write: {body}");
}

fn bad_admin_requests_get_errors_and_change_nothing(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let operator = Api {
        server: &server,
        http: rp_http(),
        token: principal(db, &server, "operator", "admin", "platform-operator"),
    };
    let error = |(status, body): (u16, Value), expected: u16, code: &str| {
        assert_eq!((status, body["error"].as_str()), (expected, Some(code)), "{body}");
        assert!(body["error_description"].is_string(), "{body}");
    };
    let (status, created) =
        operator.call("POST", "/admin/clients", Some(&json!({ "client_id": "web", "redirect_uris": [RP] })));
    assert_eq!(status, 201, "{created}");
    assert!(created["client_secret"].as_str().is_some_and(|s| s.len() >= 43), "{created}");
    let (_, shown) = operator.call("GET", "/admin/clients/web", None);
    assert!(shown.get("client_secret").is_none() && !shown.to_string().contains("secret_hash"), "{shown}");
    error(
        operator.call("POST", "/admin/clients", Some(&json!({ "client_id": "web", "redirect_uris": [RP] }))),
        409,
        "conflict",
    );
    error(
        operator.call("POST", "/admin/clients", Some(&json!({ "client_id": "x", "colour": "red" }))),
        400,
        "invalid_request",
    );
    error(
        operator.call(
            "POST",
            "/admin/clients",
            Some(&json!({ "client_id": "x", "redirect_uris": ["http://evil.example/cb#frag"] })),
        ),
        400,
        "invalid_request",
    );
    error(
        operator.call(
            "POST",
            "/admin/clients",
            Some(&json!({ "client_id": "x", "id_token_signed_response_alg": "none" })),
        ),
        400,
        "invalid_request",
    );
    // PATCH changes what it names, rotates the secret on request, and
    // refuses what registration would refuse, changing nothing.
    let (status, changed) = operator.call(
        "PATCH",
        "/admin/clients/web",
        Some(&json!({ "client_name": "Web", "exchange": { "audiences": ["api"] },
                      "grant_types": ["authorization_code", "urn:ietf:params:oauth:grant-type:token-exchange"] })),
    );
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (&changed["client_name"], &changed["exchange"]["audiences"]),
        (&json!("Web"), &json!(["api"]))
    );
    assert!(changed.get("client_secret").is_none());
    let (status, rotated) =
        operator.call("PATCH", "/admin/clients/web", Some(&json!({ "rotate_secret": true })));
    assert_eq!(status, 200, "{rotated}");
    let fresh = rotated["client_secret"].as_str().unwrap();
    assert_ne!(fresh, created["client_secret"].as_str().unwrap());
    let old = rp_http()
        .post(server.url("/token"))
        .basic_auth("web", created["client_secret"].as_str())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .unwrap();
    assert_eq!(old.status(), 401, "the old secret no longer works");
    error(
        operator.call("PATCH", "/admin/clients/web", Some(&json!({ "redirect_uris": [] }))),
        400,
        "invalid_request",
    );
    error(
        operator.call("PATCH", "/admin/clients/web", Some(&json!({ "colour": "red" }))),
        400,
        "invalid_request",
    );
    error(operator.call("PATCH", "/admin/clients/x", Some(&json!({ "client_name": "X" }))), 404, "not_found");
    let (_, unchanged) = operator.call("GET", "/admin/clients/web", None);
    assert_eq!((&unchanged["client_name"], &unchanged["redirect_uris"]), (&json!("Web"), &json!([RP])));
    error(operator.call("GET", "/admin/clients/x", None), 404, "not_found");
    error(operator.call("DELETE", "/admin/clients/x", None), 404, "not_found");
    error(
        operator.call("POST", "/admin/roles", Some(&json!({ "client": "nope", "name": "r" }))),
        404,
        "not_found",
    );
    assert_eq!(operator.call("POST", "/admin/roles", Some(&json!({ "client": "web", "name": "r" }))).0, 201);
    error(
        operator.call("POST", "/admin/roles", Some(&json!({ "client": "web", "name": "r" }))),
        409,
        "conflict",
    );
    error(
        operator.call("POST", "/admin/roles", Some(&json!({ "client": "web", "name": "" }))),
        400,
        "invalid_request",
    );
    error(operator.call("PUT", "/admin/roles/web/r/users/no-such-user", None), 404, "not_found");
    error(operator.call("PUT", "/admin/roles/web/r/robots/x", None), 404, "not_found");
    error(operator.call("DELETE", "/admin/roles/web/missing", None), 404, "not_found");
    error(operator.call("PUT", "/admin/access/superuser/clients/web", None), 404, "not_found");
    error(operator.call("PUT", "/admin/access/auditor/clients/nope", None), 404, "not_found");
    error(operator.call("DELETE", "/admin/access/auditor/clients/web", None), 404, "not_found");
    assert_eq!(operator.call("PUT", "/admin/access/auditor/clients/web", None).0, 204);
    assert_eq!(operator.call("PUT", "/admin/access/auditor/clients/web", None).0, 204, "twice is once");
    error(operator.call("GET", "/admin/nothing-here", None), 404, "not_found");
    let (status, _) = operator.call("PATCH", "/admin/keys", None);
    assert_eq!(status, 405);

    // What was refused left nothing behind.
    let (_, clients) = operator.call("GET", "/admin/clients", None);
    let ids: Vec<&str> =
        clients["clients"].as_array().unwrap().iter().map(|c| c["client_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["operator", "web"]);
    let (_, grants) = operator.call("GET", "/admin/access", None);
    assert_eq!(grants["grants"].as_array().unwrap().len(), 2, "{grants}");
    let (_, roles) = operator.call("GET", "/admin/roles", None);
    assert_eq!(roles["roles"].as_array().unwrap().len(), 1, "{roles}");

    // The CLI refuses unknown roles and grantees.
    let mut command = sigil_testkit::process::sigil(crate::bin(), db);
    command.args(["admin", "grant", "superuser", "--client", "web"]);
    let ran = sigil_testkit::process::run(command);
    assert!(!ran.status.success() && ran.stderr.contains("not a built-in role"), "{}", ran.stderr);
    let mut command = sigil_testkit::process::sigil(crate::bin(), db);
    command.args(["admin", "grant", "auditor", "--user", "nobody"]);
    let ran = sigil_testkit::process::run(command);
    assert!(!ran.status.success() && ran.stderr.contains("no user `nobody`"), "{}", ran.stderr);
}

/// SCIM group writes could otherwise escalate: a member of a group holds
/// the group's built-in roles, so only a platform operator, or who holds
/// those roles already, may add members to it (or to a group inside it).
fn no_one_hands_out_a_built_in_role_they_do_not_hold(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let api = |id: &str, scope: &str, role: &str| Api {
        server: &server,
        http: rp_http(),
        token: principal(db, &server, id, scope, role),
    };
    let operator = api("operator", "admin", "platform-operator");
    let help_desk = api("helpdesk", "admin", "user-admin");
    let provisioner = api("provisioner", "scim:write", "service-account");
    let create = |body: Value| {
        let (status, created) = operator.call("POST", "/scim/v2/Groups", Some(&body));
        assert_eq!(status, 201, "{created}");
        created["id"].as_str().unwrap().to_owned()
    };
    let on_call = create(json!({ "displayName": "On Call" }));
    let ops =
        create(json!({ "displayName": "Platform Ops", "members": [{ "value": on_call, "type": "Group" }] }));
    let desk = create(json!({ "displayName": "Help Desk" }));
    assert_eq!(operator.call("PUT", &format!("/admin/access/platform-operator/groups/{ops}"), None).0, 204);
    assert_eq!(operator.call("PUT", &format!("/admin/access/user-admin/groups/{desk}"), None).0, 204);
    let (_, mallory) = operator.call("POST", "/scim/v2/Users", Some(&json!({ "userName": "mallory" })));
    let mallory = mallory["id"].as_str().unwrap().to_owned();
    let add = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                      "Operations": [{ "op": "add", "path": "members", "value": [{ "value": mallory }] }] });

    for group in [&ops, &on_call] {
        let (status, body) = help_desk.call("PATCH", &format!("/scim/v2/Groups/{group}"), Some(&add));
        assert_eq!(status, 403, "a user-admin cannot confer platform-operator: {body}");
        assert!(body["detail"].as_str().unwrap().contains("platform-operator"), "{body}");
    }
    let put = json!({ "displayName": "On Call", "members": [{ "value": mallory }] });
    assert_eq!(help_desk.call("PUT", &format!("/scim/v2/Groups/{on_call}"), Some(&put)).0, 403);
    let bulk = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
        { "method": "PATCH", "path": format!("/Groups/{on_call}"), "data": add }
    ]});
    let (_, answer) = provisioner.call("POST", "/scim/v2/Bulk", Some(&bulk));
    assert_eq!(answer["Operations"][0]["status"], "403", "{answer}");
    let (_, unchanged) = operator.call("GET", &format!("/scim/v2/Groups/{on_call}"), None);
    assert!(unchanged.get("members").is_none(), "nothing was added: {unchanged}");
    let (_, me) = operator.call("GET", &format!("/scim/v2/Users/{mallory}"), None);
    assert!(me.get("groups").is_none(), "{me}");

    // Who holds the role may pass it on; the operator may do anything.
    let (status, body) = help_desk.call("PATCH", &format!("/scim/v2/Groups/{desk}"), Some(&add));
    assert_eq!(status, 200, "a user-admin may make another user-admin: {body}");
    let (status, body) = operator.call("PATCH", &format!("/scim/v2/Groups/{on_call}"), Some(&add));
    assert_eq!(status, 200, "{body}");
    // Nor take it away: removing a member, renaming or deleting the group.
    let remove = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                         "Operations": [{ "op": "remove", "path": format!("members[value eq \"{mallory}\"]") }] });
    let (status, body) = help_desk.call("PATCH", &format!("/scim/v2/Groups/{on_call}"), Some(&remove));
    assert_eq!(status, 403, "{body}");
    let rename = json!({ "displayName": "Off Call", "members": [{ "value": mallory }] });
    assert_eq!(help_desk.call("PUT", &format!("/scim/v2/Groups/{on_call}"), Some(&rename)).0, 403);
    assert_eq!(help_desk.call("DELETE", &format!("/scim/v2/Groups/{ops}"), None).0, 403);
    let (status, kept) = operator.call("GET", &format!("/scim/v2/Groups/{on_call}"), None);
    assert_eq!((status, kept["members"].as_array().map(Vec::len)), (200, Some(1)), "{kept}");
    let (status, body) = operator.call("PATCH", &format!("/scim/v2/Groups/{on_call}"), Some(&remove));
    assert_eq!(status, 200, "{body}");

    // Nor may anyone change or delete a user above them: a user-admin
    // resetting a platform operator's password could sign in as them.
    let (_, root) = operator.call("POST", "/scim/v2/Users", Some(&json!({ "userName": "root" })));
    let root = format!("/scim/v2/Users/{}", root["id"].as_str().unwrap());
    let (status, _) = operator.call("PATCH", &format!("/scim/v2/Groups/{on_call}"), Some(&json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "add", "path": "members", "value": [{ "value": root.rsplit('/').next().unwrap() }] }]
    })));
    assert_eq!(status, 200);
    let reset = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{ "op": "replace", "path": "password", "value": "a new long passphrase" }] });
    let (status, body) = help_desk.call("PATCH", &root, Some(&reset));
    assert_eq!(status, 403, "{body}");
    assert_eq!(help_desk.call("PUT", &root, Some(&json!({ "userName": "root", "active": false }))).0, 403);
    assert_eq!(help_desk.call("DELETE", &root, None).0, 403);
    let bulk = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
        { "method": "DELETE", "path": root.trim_start_matches("/scim/v2") }
    ]});
    let (_, answer) = provisioner.call("POST", "/scim/v2/Bulk", Some(&bulk));
    assert_eq!(answer["Operations"][0]["status"], "403", "{answer}");
    let (status, kept) = operator.call("GET", &root, None);
    assert_eq!(
        (status, &kept["active"], &kept["meta"]["version"]),
        (200, &json!(true), &json!("W/\"1\"")),
        "root is untouched: {kept}"
    );
    // mallory, a user-admin now (Help Desk), may be changed by a user-admin.
    let (status, body) = help_desk.call("PATCH", &format!("/scim/v2/Users/{mallory}"), Some(&reset));
    assert_eq!(status, 200, "{body}");
    assert_eq!(operator.call("DELETE", &root, None).0, 204);
}
