//! `GET /openapi.json` against the running server, on SQLite and
//! PostgreSQL: the document is valid OpenAPI 3.1 to openapi-spec-validator,
//! every operation it describes is mounted (and guarded), and live answers
//! of both services — resources, lists and errors — match the schema it
//! declares for their operation and status, checked with jsonschema
//! through `conformance/openapi/validate.py`. A body with a required
//! member removed fails the same check, so the check can fail.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::{Value, json};
use sigil_testkit::process::Server;
use sigil_testkit::{TestDb, backend_tests};

use crate::admin::{Api, principal};
use crate::oidc::rp_http;
use crate::scim::{Scim, barbara, token};

backend_tests!(the_served_document_is_valid_and_live_answers_match_it);

/// A Python interpreter with openapi-spec-validator and jsonschema.
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let requirements = crate::python::conformance("openapi").join("requirements.txt");
        crate::python::venv("openapi-venv", &requirements).join("python")
    })
}

/// One live answer to check: the operation (method and path template of
/// the document), the status and the body received.
fn answer(method: &str, template: &str, status: u16, body: Value) -> Value {
    let mut answer = json!({ "method": method, "path": template, "status": status });
    answer["body"] = body;
    answer
}

/// Validates `spec` (the run fails when it is not valid OpenAPI 3.1) and
/// checks each of `answers` against it: per answer, `null` or the reasons
/// its body does not match.
fn check(spec: &Value, answers: &[Value]) -> Vec<Value> {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(spec.to_string().as_bytes()).unwrap();
    let mut validator = Command::new(python())
        .arg(crate::python::conformance("openapi").join("validate.py"))
        .arg(file.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    validator.stdin.take().unwrap().write_all(Value::from(answers.to_vec()).to_string().as_bytes()).unwrap();
    let out = validator.wait_with_output().unwrap();
    assert!(out.status.success(), "validate.py: {}", String::from_utf8_lossy(&out.stderr));
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results.len(), answers.len());
    results
}

/// `template` with every `{parameter}` replaced by `value`.
fn fill(template: &str, value: &str) -> String {
    let mut path = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').unwrap() + open;
        path.push_str(&rest[..open]);
        path.push_str(value);
        rest = &rest[close + 1..];
    }
    path + rest
}

fn the_served_document_is_valid_and_live_answers_match_it(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let http = rp_http();

    // Unauthenticated, JSON, naming this server and this version.
    let response = http.get(server.url("/openapi.json")).send().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let spec: Value = response.json().unwrap();
    let discovery: Value =
        http.get(server.url("/.well-known/openid-configuration")).send().unwrap().json().unwrap();
    assert_eq!(spec["servers"][0]["url"], discovery["issuer"].as_str().unwrap().trim_end_matches('/'));
    assert_eq!(spec["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(spec["openapi"], "3.1.0");

    // Every documented operation is mounted, and refuses a request
    // without a token in its service's error shape.
    let mut unauthenticated = Vec::new();
    for (template, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let path = fill(template, "x");
            let request = http.request(method.to_uppercase().parse().unwrap(), server.url(&path));
            let response = request.header("content-type", "application/json").body("{}").send().unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().unwrap_or(Value::Null);
            assert_eq!(status, 401, "{method} {path}: {body}");
            unauthenticated.push(answer(method, template, status, body));
        }
    }
    assert!(unauthenticated.len() >= 40, "{} operations", unauthenticated.len());

    // SCIM: a user with most attributes set, a list, a group holding it,
    // the user again (now with its groups), a 404.
    let scim =
        Scim { server: &server, http: rp_http(), token: token(db, &server, "provisioner", "scim:write") };
    let mut answers = unauthenticated;
    let (status, _, user) = scim.send("POST", "/Users", Some(&barbara()), &[]);
    assert_eq!(status, 201, "{user}");
    let id = user["id"].as_str().unwrap().to_owned();
    answers.push(answer("post", "/scim/v2/Users", status, user.clone()));
    let (status, _, list) = scim.get("/Users?filter=userName%20eq%20%22bjensen%22");
    assert_eq!(list["totalResults"], 1, "{list}");
    answers.push(answer("get", "/scim/v2/Users", status, list.clone()));
    let group_body = json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                             "displayName": "Tour Guides", "members": [{ "value": id }] });
    let (status, _, group) = scim.send("POST", "/Groups", Some(&group_body), &[]);
    assert_eq!(status, 201, "{group}");
    answers.push(answer("post", "/scim/v2/Groups", status, group.clone()));
    let (status, _, fetched) = scim.get(&format!("/Users/{id}"));
    assert_eq!(fetched["groups"][0]["display"], "Tour Guides", "{fetched}");
    answers.push(answer("get", "/scim/v2/Users/{id}", status, fetched.clone()));
    let (status, _, projected) = scim.get(&format!("/Users/{id}?attributes=displayName"));
    answers.push(answer("get", "/scim/v2/Users/{id}", status, projected));
    let (status, _, missing) = scim.get("/Users/no-such-user");
    assert_eq!(status, 404, "{missing}");
    answers.push(answer("get", "/scim/v2/Users/{id}", status, missing.clone()));
    let (status, _, groups) = scim.get("/Groups");
    answers.push(answer("get", "/scim/v2/Groups", status, groups));
    let (status, _, bad_filter) = scim.get("/Users?filter=userName%20zz%20%22x%22");
    assert_eq!(status, 400, "{bad_filter}");
    answers.push(answer("get", "/scim/v2/Users", status, bad_filter));

    // The admin API: an operator's reads and a write, and the refusals of
    // a token whose principal holds no role.
    let operator = Api {
        server: &server,
        http: rp_http(),
        token: principal(db, &server, "operator", "admin", "platform-operator"),
    };
    let (status, clients) = operator.call("GET", "/admin/clients", None);
    assert_eq!(status, 200, "{clients}");
    answers.push(answer("get", "/admin/clients", status, clients.clone()));
    let (status, client) = operator.call("GET", "/admin/clients/provisioner", None);
    assert_eq!(status, 200, "{client}");
    answers.push(answer("get", "/admin/clients/{id}", status, client.clone()));
    let (status, made) = operator.call(
        "POST",
        "/admin/api-tokens",
        Some(&json!({ "client_id": "provisioner", "scope": "scim:write", "name": "nightly sync" })),
    );
    assert_eq!(status, 201, "{made}");
    answers.push(answer("post", "/admin/api-tokens", status, made));
    let (status, role) =
        operator.call("POST", "/admin/roles", Some(&json!({ "client": "provisioner", "name": "viewer" })));
    assert_eq!(status, 201, "{role}");
    answers.push(answer("post", "/admin/roles", status, role));
    let (status, _) = operator.call("PUT", &format!("/admin/roles/provisioner/viewer/users/{id}"), None);
    assert_eq!(status, 204);
    let (status, roles) = operator.call("GET", "/admin/roles", None);
    assert_eq!(roles["roles"][0]["users"], json!([id]), "{roles}");
    answers.push(answer("get", "/admin/roles", status, roles));
    for (path, template) in [
        ("/admin/api-tokens", "/admin/api-tokens"),
        ("/admin/keys", "/admin/keys"),
        ("/admin/access", "/admin/access"),
        ("/admin/clients/nobody-here", "/admin/clients/{id}"),
    ] {
        let (status, body) = operator.call("GET", path, None);
        answers.push(answer("get", template, status, body));
    }
    let roleless =
        Api { server: &server, http: rp_http(), token: principal(db, &server, "nobody", "admin", "") };
    let (status, refused) = roleless.call("GET", "/admin/clients", None);
    assert_eq!((status, refused["error"].as_str()), (403, Some("access_denied")), "{refused}");
    answers.push(answer("get", "/admin/clients", status, refused.clone()));

    // Each operation's `x-sigil-operation` is the right its handler
    // checks: a token with every scope and no role is refused naming it.
    let mut named = 0;
    for (template, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Some(right) = operation["x-sigil-operation"].as_str() else { continue };
            if template.ends_with("/Me") {
                continue; // a client's own token has no /Me: 404 before any right
            }
            let path = fill(template, "x");
            let (status, body) = roleless.call(&method.to_uppercase(), &path, Some(&json!({})));
            assert_eq!(status, 403, "{method} {path}: {body}");
            let reason = body["error_description"].as_str().or(body["detail"].as_str()).unwrap_or_default();
            assert!(reason.ends_with(&format!(" {right}")), "{method} {path} checks another right: {body}");
            answers.push(answer(method, template, status, body));
            named += 1;
        }
    }
    assert!(named >= 35, "{named} operations checked");

    let results = check(&spec, &answers);
    for (result, answer) in results.iter().zip(&answers) {
        assert!(result.is_null(), "{result} for {answer}");
    }

    // The check can fail: each body with a required member removed, or an
    // undescribed one added, no longer matches.
    let without = |body: &Value, member: &str| {
        let mut body = body.clone();
        body.as_object_mut().unwrap().remove(member).unwrap();
        body
    };
    let mut with_extra = fetched.clone();
    with_extra["favouriteColour"] = json!("teal");
    let broken = [
        answer("get", "/scim/v2/Users/{id}", 200, without(&fetched, "id")),
        answer("get", "/scim/v2/Users/{id}", 200, with_extra),
        answer("get", "/scim/v2/Users", 200, without(&list, "Resources")),
        answer("post", "/scim/v2/Groups", 201, without(&group, "schemas")),
        answer("get", "/scim/v2/Users/{id}", 404, without(&missing, "status")),
        answer("get", "/admin/clients", 200, without(&clients, "clients")),
        answer("get", "/admin/clients/{id}", 200, without(&client, "client_id")),
        answer("get", "/admin/clients", 403, without(&refused, "error")),
        // A status the operation does not declare.
        answer("get", "/admin/clients", 418, refused),
    ];
    for (result, answer) in check(&spec, &broken).iter().zip(&broken) {
        assert!(result.as_array().is_some_and(|reasons| !reasons.is_empty()), "{answer} passed");
    }
}
