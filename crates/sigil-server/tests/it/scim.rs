//! SCIM 2.0 `/Users` against the running server (RFC 7644): bearer tokens
//! from Sigil's own token endpoint, create / read / replace / delete,
//! searches compiled to SQL, projections, versions as ETags, and every
//! error in the RFC 7644 §3.12 shape.

use openidconnect::reqwest::blocking::Client as Http;
use openidconnect::reqwest::header::HeaderMap;
use serde_json::{Value, json};
use sigil_testkit::process::Server;
use sigil_testkit::{TestDb, backend_tests};
use url::Url;

use crate::cli;
use crate::oidc::{RP, browser, code_from, rp_http};

backend_tests!(
    users_are_provisioned_read_replaced_and_deleted,
    searches_filter_sort_page_and_project_in_the_database,
    tokens_and_scopes_guard_every_endpoint,
    bad_requests_get_scim_errors_and_change_nothing,
    me_is_the_user_the_token_speaks_for,
    cursor_paging_stays_consistent_while_users_are_added,
);

const SCIM_JSON: &str = "application/scim+json";

/// Registers a provisioning client (`service-account`) with `scope` and
/// returns a token for it.
pub(crate) fn token(db: &TestDb, server: &Server, id: &str, scope: &str) -> String {
    crate::admin::principal(db, server, id, scope, "service-account")
}

/// A SCIM client holding a bearer token.
pub(crate) struct Scim<'a> {
    pub(crate) server: &'a Server,
    pub(crate) http: Http,
    pub(crate) token: String,
}

impl Scim<'_> {
    pub(crate) fn url(&self, path: &str) -> String {
        self.server.url(&format!("/scim/v2{path}"))
    }

    pub(crate) fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> (u16, HeaderMap, Value) {
        let method = openidconnect::reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method, self.url(path)).bearer_auth(&self.token);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.header("content-type", SCIM_JSON).body(body.to_string());
        }
        let response = request.send().unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().unwrap();
        (status, headers, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub(crate) fn get(&self, path: &str) -> (u16, HeaderMap, Value) {
        self.send("GET", path, None, &[])
    }

    pub(crate) fn list(&self, query: &[(&str, &str)]) -> Value {
        let url = Url::parse_with_params("http://x/Users", query).unwrap();
        let (status, _, body) = self.get(&format!("/Users?{}", url.query().unwrap_or_default()));
        assert_eq!(status, 200, "{query:?}: {body}");
        body
    }
}

/// The RFC 7644 §3.12 error shape, with `scim_type` when given.
pub(crate) fn assert_error(status: u16, body: &Value, expected: u16, scim_type: Option<&str>) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:Error"]), "{body}");
    assert_eq!(body["status"], expected.to_string(), "{body}");
    assert_eq!(body["scimType"].as_str(), scim_type, "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{body}");
}

pub(crate) fn barbara() -> Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "userName": "bjensen",
        "externalId": "701984",
        "name": { "givenName": "Barbara", "familyName": "Jensen", "formatted": "Ms. Barbara J Jensen III" },
        "displayName": "Babs Jensen",
        "active": "True",
        "password": "t1meMa$heen-and-more",
        "emails": [
            { "value": "bjensen@example.com", "type": "work", "primary": true },
            { "value": "babs@jensen.org", "type": "home" }
        ],
        "addresses": [{ "locality": "Hollywood", "region": "CA", "country": "US", "type": "work" }],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984",
            "department": "Tour Operations"
        },
        "meta": { "version": "W/\"99\"" },
        "id": "chosen-by-the-client"
    })
}

fn users_are_provisioned_read_replaced_and_deleted(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let scim =
        Scim { server: &server, http: rp_http(), token: token(db, &server, "provisioner", "scim:write") };

    let (status, headers, created) = scim.send("POST", "/Users", Some(&barbara()), &[]);
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_ne!(id, "chosen-by-the-client", "id is the server's (RFC 7643 §3.1)");
    assert!(headers["content-type"].to_str().unwrap().starts_with(SCIM_JSON));
    assert_eq!(headers["location"], scim.url(&format!("/Users/{id}")).as_str());
    assert_eq!(created["meta"]["location"], scim.url(&format!("/Users/{id}")).as_str());
    assert_eq!(headers["etag"], "W/\"1\"");
    assert_eq!(created["meta"]["version"], "W/\"1\"", "the body's meta is ignored");
    assert_eq!(created["meta"]["resourceType"], "User");
    assert_eq!(created["active"], true, "\"True\" is read as a boolean");
    assert!(created.get("password").is_none(), "password is never returned");
    assert_eq!(created["emails"][0]["value"], "bjensen@example.com");
    assert_eq!(
        created["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
        "Tour Operations"
    );

    // The password set over SCIM works at the sign-in page at once.
    cli(db, &["client", "add", "--id", "web", "--redirect-uri", RP, "--skip-consent"]);
    let params = [("client_id", "web"), ("redirect_uri", RP), ("response_type", "code"), ("scope", "openid")];
    let url = Url::parse_with_params(&server.url("/authorize"), &params).unwrap();
    let browser = browser();
    let page = browser.get(url.as_str()).send().unwrap().text().unwrap();
    let form = [
        ("csrf", crate::oidc::field(&page, "csrf")),
        ("request", crate::oidc::field(&page, "request")),
        ("username", "BJensen".to_owned()),
        ("password", "t1meMa$heen-and-more".to_owned()),
    ];
    let posted = browser.post(server.url("/login")).form(&form).send().unwrap();
    assert_eq!(posted.status(), 303, "signed in with the SCIM password");
    let landed = browser.get(crate::oidc::follow(&server, "/login", &posted)).send().unwrap();
    assert!(!code_from(&landed).is_empty());

    // Reads, conditional on the version.
    let (status, headers, read) = scim.get(&format!("/Users/{id}"));
    assert_eq!(status, 200);
    assert_eq!(headers["etag"], "W/\"1\"");
    assert_eq!(read, created);
    let (status, _, _) = scim.send("GET", &format!("/Users/{id}"), None, &[("If-None-Match", "W/\"1\"")]);
    assert_eq!(status, 304);

    // A userName taken in another letter case is a conflict.
    let mut twin = barbara();
    twin["userName"] = json!("BJENSEN");
    let (status, _, body) = scim.send("POST", "/Users", Some(&twin), &[]);
    assert_error(status, &body, 409, Some("uniqueness"));

    // PUT replaces; a stale If-Match is refused and changes nothing.
    let mut changed = barbara();
    changed["displayName"] = json!("Barbara J.");
    changed.as_object_mut().unwrap().remove("password");
    changed.as_object_mut().unwrap().remove("addresses");
    let (status, _, body) =
        scim.send("PUT", &format!("/Users/{id}"), Some(&changed), &[("If-Match", "W/\"7\"")]);
    assert_error(status, &body, 412, None);
    assert_eq!(scim.get(&format!("/Users/{id}")).2["displayName"], "Babs Jensen");
    let (status, headers, replaced) =
        scim.send("PUT", &format!("/Users/{id}"), Some(&changed), &[("If-Match", "W/\"1\"")]);
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(headers["etag"], "W/\"2\"");
    assert_eq!(replaced["displayName"], "Barbara J.");
    assert!(replaced.get("addresses").is_none(), "PUT replaces: what is left out goes");
    assert_eq!(replaced["meta"]["created"], created["meta"]["created"]);

    // DELETE, conditional too; then the user is gone.
    let (status, _, body) = scim.send("DELETE", &format!("/Users/{id}"), None, &[("If-Match", "W/\"1\"")]);
    assert_error(status, &body, 412, None);
    let (status, _, _) = scim.send("DELETE", &format!("/Users/{id}"), None, &[]);
    assert_eq!(status, 204);
    let (status, _, body) = scim.get(&format!("/Users/{id}"));
    assert_error(status, &body, 404, None);
    let (status, _, body) = scim.send("DELETE", &format!("/Users/{id}"), None, &[]);
    assert_error(status, &body, 404, None);
}

fn searches_filter_sort_page_and_project_in_the_database(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let scim =
        Scim { server: &server, http: rp_http(), token: token(db, &server, "provisioner", "scim:write") };
    for (user_name, family, email_type) in [
        ("carol", "Zeta", "work"),
        ("alice", "Young", "home"),
        ("bob", "Xavier", "work"),
        ("dave", "", "home"),
    ] {
        let mut body = json!({ "userName": user_name, "emails": [{ "value": format!("{user_name}@example.org"), "type": email_type }] });
        if !family.is_empty() {
            body["name"] = json!({ "familyName": family });
        }
        let (status, _, created) = scim.send("POST", "/Users", Some(&body), &[]);
        assert_eq!(status, 201, "{created}");
    }
    let names = |list: &Value| -> Vec<String> {
        list["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["userName"].as_str().unwrap().to_owned())
            .collect()
    };

    let all = scim.list(&[]);
    assert_eq!(all["totalResults"], 4);
    assert_eq!(all["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"]));
    assert_eq!(names(&all), ["carol", "alice", "bob", "dave"], "creation order by default");

    let found = scim.list(&[("filter", r#"userName eq "ALICE""#)]);
    assert_eq!((found["totalResults"].as_i64(), names(&found)), (Some(1), vec!["alice".to_owned()]));
    let work = scim
        .list(&[("filter", r#"emails[type eq "work" and value ew "example.org"]"#), ("sortBy", "userName")]);
    assert_eq!(names(&work), ["bob", "carol"]);
    let sorted = scim.list(&[("sortBy", "name.familyName"), ("sortOrder", "descending")]);
    assert_eq!(names(&sorted), ["carol", "alice", "bob", "dave"], "unassigned last");

    // Paging: startIndex is 1-based; totalResults counts every match.
    let page = scim.list(&[("sortBy", "userName"), ("startIndex", "2"), ("count", "2")]);
    assert_eq!(names(&page), ["bob", "carol"]);
    assert_eq!(
        (page["totalResults"].as_i64(), page["startIndex"].as_i64(), page["itemsPerPage"].as_i64()),
        (Some(4), Some(2), Some(2))
    );
    let none = scim.list(&[("count", "0")]);
    assert_eq!(
        (none["totalResults"].as_i64(), none["Resources"].as_array().map(Vec::len)),
        (Some(4), Some(0))
    );
    let clamped = scim.list(&[("startIndex", "-5"), ("count", "-1")]);
    assert_eq!((clamped["startIndex"].as_i64(), clamped["itemsPerPage"].as_i64()), (Some(1), Some(0)));

    // Projection, on lists and single reads.
    let slim = scim.list(&[("filter", r#"userName eq "bob""#), ("attributes", "userName,emails.type")]);
    let bob = &slim["Resources"][0];
    let keys: Vec<&str> = bob.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["schemas", "id", "userName", "emails"], "{bob}");
    assert_eq!(bob["emails"], json!([{ "type": "work" }]));
    let without = scim.list(&[("filter", r#"userName eq "bob""#), ("excludedAttributes", "emails,meta,id")]);
    assert!(without["Resources"][0].get("emails").is_none() && without["Resources"][0]["id"].is_string());

    // POST /.search takes the same in a body.
    let request = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "userName sw \"a\" or userName sw \"d\"",
        "sortBy": "userName",
        "attributes": ["userName"],
        "count": 10
    });
    let (status, _, searched) = scim.send("POST", "/Users/.search", Some(&request), &[]);
    assert_eq!(status, 200, "{searched}");
    assert_eq!(names(&searched), ["alice", "dave"]);

    // Discovery describes what is there.
    let (status, _, spc) = scim.get("/ServiceProviderConfig");
    assert_eq!(
        (status, &spc["filter"]["supported"], &spc["etag"]["supported"]),
        (200, &json!(true), &json!(true))
    );
    let (status, _, schemas) = scim.get("/Schemas");
    assert_eq!(status, 200);
    let user_schema = schemas["Resources"].as_array().unwrap().iter().find(|s| s["name"] == "User").unwrap();
    let password =
        user_schema["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "password").unwrap();
    assert_eq!((&password["returned"], &password["mutability"]), (&json!("never"), &json!("writeOnly")));
    let (status, _, types) = scim.get("/ResourceTypes/User");
    assert_eq!((status, &types["endpoint"]), (200, &json!("/Users")));
}

fn tokens_and_scopes_guard_every_endpoint(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let writer = token(db, &server, "provisioner", "scim:write");
    let reader = token(db, &server, "auditor", "scim:read");
    let other = token(db, &server, "reports", "api.read");
    let http = rp_http();

    let anonymous = http.get(server.url("/scim/v2/Users")).send().unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer realm=\"scim\"");
    let forged = http.get(server.url("/scim/v2/Users")).bearer_auth(format!("{writer}x")).send().unwrap();
    assert_eq!(forged.status(), 401);
    assert!(forged.headers()["www-authenticate"].to_str().unwrap().contains("error=\"invalid_token\""));

    let read = Scim { server: &server, http: rp_http(), token: reader };
    assert_eq!(read.get("/Users").0, 200);
    let (status, headers, body) = read.send("POST", "/Users", Some(&json!({ "userName": "x" })), &[]);
    assert_error(status, &body, 403, None);
    assert!(headers["www-authenticate"].to_str().unwrap().contains("insufficient_scope"));
    // A token for another API is not a SCIM token at all (RFC 9068 §4).
    let unrelated = Scim { server: &server, http: rp_http(), token: other };
    let (status, _, body) = unrelated.get("/Users");
    assert_error(status, &body, 401, None);

    // A revoked token stops working at once.
    let out = cli(db, &["client", "list"]);
    assert!(out.contains("provisioner"));
    let write = Scim { server: &server, http: rp_http(), token: writer.clone() };
    assert_eq!(write.get("/Users").0, 200);
    let secret_out = cli(db, &["client", "update", "--id", "provisioner", "--rotate-secret"]);
    let secret = secret_out.lines().find_map(|l| l.strip_prefix("client_secret: ")).unwrap();
    let revoked = rp_http()
        .post(server.url("/revoke"))
        .basic_auth("provisioner", Some(secret))
        .form(&[("token", writer.as_str())])
        .send()
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let (status, _, body) = write.get("/Users");
    assert_error(status, &body, 401, None);
}

fn bad_requests_get_scim_errors_and_change_nothing(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let scim =
        Scim { server: &server, http: rp_http(), token: token(db, &server, "provisioner", "scim:write") };
    let (status, _, _) = scim.send("POST", "/Users", Some(&json!({ "userName": "keeper" })), &[]);
    assert_eq!(status, 201);

    let cases: Vec<(&str, Value, Option<&str>)> = vec![
        ("missing userName", json!({ "displayName": "x" }), Some("invalidValue")),
        ("userName not a string", json!({ "userName": 42 }), Some("invalidValue")),
        ("active not a boolean", json!({ "userName": "a", "active": "maybe" }), Some("invalidValue")),
        ("emails not an array", json!({ "userName": "a", "emails": "a@b" }), Some("invalidValue")),
        (
            "two primary emails",
            json!({ "userName": "a", "emails": [{"value": "a@b", "primary": true}, {"value": "c@d", "primary": true}] }),
            Some("invalidValue"),
        ),
        ("unknown schema", json!({ "schemas": ["urn:example:nope"], "userName": "a" }), Some("invalidValue")),
        ("not an object", json!(["userName"]), Some("invalidSyntax")),
    ];
    for (what, body, scim_type) in cases {
        let (status, _, answer) = scim.send("POST", "/Users", Some(&body), &[]);
        assert_eq!(status, 400, "{what}: {answer}");
        assert_error(status, &answer, 400, scim_type);
    }
    let response = scim
        .http
        .post(scim.url("/Users"))
        .bearer_auth(&scim.token)
        .header("content-type", SCIM_JSON)
        .body("{not json")
        .send()
        .unwrap();
    let status = response.status().as_u16();
    assert_error(status, &response.json().unwrap(), 400, Some("invalidSyntax"));
    let huge = json!({ "userName": "big", "displayName": "x".repeat(2 * 1024 * 1024) });
    let (status, _, body) = scim.send("POST", "/Users", Some(&huge), &[]);
    assert_error(status, &body, 413, None);

    for (query, scim_type) in [
        ("filter=userName%20eq", Some("invalidFilter")),
        ("filter=active%20gt%20true", Some("invalidFilter")),
        ("filter=nosuch%20eq%20%22x%22", Some("invalidFilter")),
        ("sortBy=password", Some("invalidValue")),
        ("sortOrder=sideways", Some("invalidValue")),
        ("count=many", Some("invalidValue")),
        ("attributes=user%20name", Some("invalidValue")),
    ] {
        let (status, _, body) = scim.get(&format!("/Users?{query}"));
        assert_error(status, &body, 400, scim_type);
    }
    let (status, _, body) = scim.get("/Nothing");
    assert_error(status, &body, 404, None);

    let list = scim.list(&[]);
    assert_eq!(list["totalResults"], 1, "nothing bad was stored: {list}");
}

/// RFC 7644 §3.11: `/Me` is the token's own user; any valid user token for
/// the SCIM API may read it, changing it takes `scim:write` like any other
/// user. A token for sign-in alone (UserInfo's audience) is not one.
fn me_is_the_user_the_token_speaks_for(db: &TestDb) {
    let secret = crate::oidc::setup(db);
    cli(db, &["client", "update", "--id", "web", "--scope", "openid profile scim:read"]);
    let server = Server::start(crate::bin(), db, &[]);
    let rp = crate::lifecycle::Rp { server: &server, http: rp_http(), id: "web", secret };
    let (_, tokens) = rp.tokens(&browser(), "openid profile");
    let sign_in_only =
        Scim { server: &server, http: rp_http(), token: tokens["access_token"].as_str().unwrap().into() };
    let (status, _, body) = sign_in_only.get("/Me");
    assert_error(status, &body, 401, None);
    let (_, tokens) = rp.tokens(&browser(), "openid profile scim:read");
    let user_token = tokens["access_token"].as_str().unwrap().to_owned();
    let me = Scim { server: &server, http: rp_http(), token: user_token };
    let (status, headers, body) = me.get("/Me");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["userName"], "alice");
    assert_eq!(headers["etag"], "W/\"1\"");
    let (status, _, body) = me.get("/Me?attributes=userName");
    assert_eq!((status, body.as_object().unwrap().len()), (200, 3), "{body}");
    let operation =
        crate::scim_patch::patch_body(json!([{ "op": "replace", "path": "title", "value": "x" }]));
    let (status, _, body) = me.send("PATCH", "/Me", Some(&operation), &[]);
    assert_error(status, &body, 403, None);

    let service =
        Scim { server: &server, http: rp_http(), token: token(db, &server, "provisioner", "scim:write") };
    let (status, _, body) = service.get("/Me");
    assert_error(status, &body, 404, None);
    let anonymous = rp_http().get(server.url("/scim/v2/Me")).send().unwrap();
    assert_eq!(anonymous.status(), 401);
}

/// RFC 9865: a walk with cursors sees every user once, in creation order,
/// even when users are added during the walk; cursors go both ways.
fn cursor_paging_stays_consistent_while_users_are_added(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let scim =
        Scim { server: &server, http: rp_http(), token: token(db, &server, "provisioner", "scim:write") };
    let add = |name: &str| {
        let (status, _, body) = scim.send("POST", "/Users", Some(&json!({ "userName": name })), &[]);
        assert_eq!(status, 201, "{body}");
    };
    for name in ["u1", "u2", "u3", "u4", "u5"] {
        add(name);
    }
    let names = |page: &Value| -> Vec<String> {
        page["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["userName"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = scim.list(&[("cursor", ""), ("count", "2")]);
    assert_eq!(names(&first), ["u1", "u2"]);
    assert!(first.get("startIndex").is_none() && first.get("previousCursor").is_none(), "{first}");
    assert_eq!(first["totalResults"], 5);
    let next = first["nextCursor"].as_str().unwrap().to_owned();

    add("u6"); // arrives mid-walk
    let second = scim.list(&[("cursor", &next), ("count", "2")]);
    assert_eq!(names(&second), ["u3", "u4"]);
    let back = scim.list(&[("cursor", second["previousCursor"].as_str().unwrap()), ("count", "2")]);
    assert_eq!(names(&back), ["u1", "u2"], "previousCursor goes back a page");
    assert!(back.get("previousCursor").is_none(), "nothing before the first page: {back}");
    let third = scim.list(&[("cursor", second["nextCursor"].as_str().unwrap()), ("count", "2")]);
    assert_eq!(names(&third), ["u5", "u6"]);
    assert!(third.get("nextCursor").is_none(), "the last page has no nextCursor: {third}");
    assert_eq!(third["totalResults"], 6);

    // Filters apply along the walk; errors are the RFC's.
    let filtered = scim.list(&[("cursor", ""), ("count", "2"), ("filter", "userName gt \"u2\"")]);
    assert_eq!(names(&filtered), ["u3", "u4"]);
    for (query, scim_type) in [("cursor=garbage", "invalidCursor"), ("cursor=&startIndex=2", "invalidValue")]
    {
        let (status, _, body) = scim.get(&format!("/Users?{query}"));
        assert_error(status, &body, 400, Some(scim_type));
    }
    // sortBy and sortOrder apply to cursor pages too (RFC 9865 §2.2); the
    // walks are in scim_cursor.rs.
    let sorted =
        scim.list(&[("cursor", ""), ("count", "2"), ("sortBy", "userName"), ("sortOrder", "descending")]);
    assert_eq!(names(&sorted), ["u6", "u5"]);
    let (_, _, spc) = scim.get("/ServiceProviderConfig");
    assert_eq!(spc["pagination"]["cursor"], true);
}
