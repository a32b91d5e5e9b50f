//! The finer points SCIM compliance testers check: the root search,
//! 405 for known endpoints asked with another method, schema references
//! and canonical values, PATCH on a whole extension, removing `active`,
//! and rights per group.

use serde_json::{Value, json};
use sigil_testkit::process::Server;
use sigil_testkit::{TestDb, backend_tests};

use crate::oidc::rp_http;
use crate::scim::{Scim, assert_error, token};
use crate::scim_patch::patch_body;

backend_tests!(
    root_search_spans_users_and_groups,
    endpoints_and_schemas_say_what_they_accept,
    group_rights_limit_what_a_user_token_may_do,
    the_groups_claim_can_be_renamed_and_carry_ids,
    a_created_user_is_answered_as_it_is_read_back,
);

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn root_search_spans_users_and_groups(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let scim =
        Scim { server: &server, http: rp_http(), token: token(db, &server, "provisioner", "scim:write") };
    for name in ["ann", "ben"] {
        scim.send(
            "POST",
            "/Users",
            Some(&json!({ "userName": name, "displayName": format!("Team {name}") })),
            &[],
        );
    }
    scim.send("POST", "/Groups", Some(&json!({ "displayName": "Team Blue" })), &[]);
    let search = |body: Value| {
        let mut request = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"] });
        for (k, v) in body.as_object().unwrap() {
            request[k] = v.clone();
        }
        scim.send("POST", "/.search", Some(&request), &[])
    };
    let kinds = |page: &Value| -> Vec<String> {
        page["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["meta"]["resourceType"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, _, all) = search(json!({ "filter": "displayName sw \"team\"" }));
    assert_eq!(status, 200, "{all}");
    assert_eq!(
        (all["totalResults"].as_i64(), kinds(&all)),
        (Some(3), vec!["User".into(), "User".into(), "Group".into()])
    );
    let (_, _, page) = search(json!({ "filter": "displayName sw \"team\"", "startIndex": 2, "count": 2 }));
    assert_eq!(kinds(&page), ["User", "Group"], "paging spans both types");
    let (_, _, users_only) = search(json!({ "filter": "userName eq \"ann\"", "attributes": ["userName"] }));
    assert_eq!(users_only["totalResults"], 1, "groups have no userName: {users_only}");
    assert_eq!(users_only["Resources"][0].as_object().unwrap().len(), 3);
    let (status, _, body) = search(json!({ "filter": "nosuch eq \"x\"" }));
    assert_error(status, &body, 400, Some("invalidFilter"));
    let (status, _, body) = search(json!({ "sortBy": "userName" }));
    assert_error(status, &body, 400, Some("invalidValue"));
}

fn endpoints_and_schemas_say_what_they_accept(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let scim =
        Scim { server: &server, http: rp_http(), token: token(db, &server, "provisioner", "scim:write") };

    // RFC 9110 §15.5.6: a known endpoint with another method is 405 + Allow.
    for (method, path, allow) in [
        ("POST", "/ServiceProviderConfig", "GET"),
        ("DELETE", "/Schemas", "GET"),
        ("PUT", "/ResourceTypes/User", "GET"),
        ("GET", "/Bulk", "POST"),
        ("PATCH", "/Users", "GET, POST"),
    ] {
        let (status, headers, body) = scim.send(method, path, None, &[]);
        assert_error(status, &body, 405, None);
        assert_eq!(headers["allow"], allow, "{method} {path}");
    }
    let (status, _, body) = scim.get("/Nowhere/at/all");
    assert_error(status, &body, 404, None);

    // RFC 7643 §8.7.1: references say what they point at; types their values.
    let (_, _, schemas) = scim.get("/Schemas");
    let attribute = |schema: &str, path: &[&str]| -> Value {
        let mut node = schemas["Resources"].as_array().unwrap().iter().find(|s| s["id"] == schema).unwrap()["attributes"].clone();
        let mut found = Value::Null;
        for name in path {
            found = node.as_array().unwrap().iter().find(|a| a["name"] == *name).unwrap().clone();
            node = found["subAttributes"].clone();
        }
        found
    };
    let group = "urn:ietf:params:scim:schemas:core:2.0:Group";
    let user = "urn:ietf:params:scim:schemas:core:2.0:User";
    assert_eq!(attribute(group, &["members", "$ref"])["referenceTypes"], json!(["User", "Group"]));
    assert_eq!(attribute(group, &["members", "type"])["canonicalValues"], json!(["User", "Group"]));
    assert_eq!(attribute(user, &["groups", "type"])["canonicalValues"], json!(["direct", "indirect"]));
    assert_eq!(attribute(user, &["emails", "type"])["canonicalValues"], json!(["work", "home", "other"]));
    assert_eq!(attribute(ENTERPRISE, &["manager", "$ref"])["referenceTypes"], json!(["User"]));
    assert_eq!(attribute(user, &["profileUrl"])["referenceTypes"], json!(["external"]));

    // A whole extension as a PATCH path, and removing `active`.
    let (_, _, created) = scim.send(
        "POST",
        "/Users",
        Some(&json!({ "userName": "carl", (ENTERPRISE): { "department": "Sales", "costCenter": "1" } })),
        &[],
    );
    let path = format!("/Users/{}", created["id"].as_str().unwrap());
    let (status, _, replaced) = scim.send(
        "PATCH",
        &path,
        Some(&patch_body(json!([{ "op": "replace", "path": ENTERPRISE, "value": { "schemas": [ENTERPRISE], "employeeNumber": "42" } }]))),
        &[],
    );
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(
        replaced[ENTERPRISE],
        json!({ "employeeNumber": "42" }),
        "replace starts the extension afresh"
    );
    let (status, _, removed) = scim.send(
        "PATCH",
        &path,
        Some(&patch_body(
            json!([{ "op": "remove", "path": ENTERPRISE }, { "op": "remove", "path": "active" }]),
        )),
        &[],
    );
    assert_eq!(status, 200, "{removed}");
    assert!(removed.get(ENTERPRISE).is_none(), "{removed}");
    // RFC 7644 §3.5.2.2: removed means unassigned, and unassigned is not active.
    assert!(removed.get("active").is_none(), "{removed}");
    for filter in ["userName eq \"carl\" and active eq true", "userName eq \"carl\" and active pr"] {
        assert_eq!(scim.list(&[("filter", filter)])["totalResults"], 0, "{filter}");
    }
    let (status, _, back) = scim.send(
        "PATCH",
        &path,
        Some(&patch_body(json!([{ "op": "add", "path": "active", "value": true }]))),
        &[],
    );
    assert_eq!((status, &back["active"]), (200, &json!(true)));
}

/// The Curity seed's model: rights per group, checked against the `groups`
/// claim of a user's token; a client's own token is judged by its scopes.
fn group_rights_limit_what_a_user_token_may_do(db: &TestDb) {
    crate::cli(
        db,
        &["user", "add", "--username", "alice", "--password", crate::oidc::PASSWORD, "--group", "HR Admins"],
    );
    let out = crate::cli(
        db,
        &[
            "client",
            "add",
            "--id",
            "hr-portal",
            "--redirect-uri",
            crate::oidc::RP,
            "--skip-consent",
            "--scope",
            "openid groups scim:read scim:write",
        ],
    );
    let secret = out.lines().find_map(|l| l.strip_prefix("client_secret: ")).unwrap().to_owned();
    let rights = r#"[{ group = "hr admins", resource = "User", operations = ["create", "read"] }]"#;
    let server = Server::start(crate::bin(), db, &[("SIGIL_SCIM_RIGHTS", rights)]);
    let rp = crate::lifecycle::Rp { server: &server, http: rp_http(), id: "hr-portal", secret };
    let (_, tokens) = rp.tokens(&crate::oidc::browser(), "openid groups scim:write");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let claims = |jwt: &str| -> Value {
        use base64::Engine;
        let payload = jwt.split('.').nth(1).unwrap();
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap())
            .unwrap()
    };
    // With the groups scope, the access token, the ID token and userinfo
    // carry the user's groups.
    assert_eq!(claims(&access)["groups"], json!(["HR Admins"]));
    assert_eq!(claims(tokens["id_token"].as_str().unwrap())["groups"], json!(["HR Admins"]));
    let info: Value =
        rp_http().get(server.url("/userinfo")).bearer_auth(&access).send().unwrap().json().unwrap();
    assert_eq!(info["groups"], json!(["HR Admins"]));

    let hr = Scim { server: &server, http: rp_http(), token: access };
    let (status, _, created) = hr.send("POST", "/Users", Some(&json!({ "userName": "newhire" })), &[]);
    assert_eq!(status, 201, "create is granted: {created}");
    assert_eq!(hr.get("/Users").0, 200, "read is granted");
    let (status, _, body) =
        hr.send("DELETE", &format!("/Users/{}", created["id"].as_str().unwrap()), None, &[]);
    assert_error(status, &body, 403, None);
    let (status, _, body) = hr.get("/Groups");
    assert_error(status, &body, 403, None);
    let bulk = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
        { "method": "POST", "path": "/Groups", "bulkId": "g", "data": { "displayName": "Sneaky" } }
    ]});
    let (_, _, answer) = hr.send("POST", "/Bulk", Some(&bulk), &[]);
    assert_eq!(answer["Operations"][0]["status"], "403", "each bulk operation needs its right: {answer}");

    // A service client acts for no user: its own built-in roles decide.
    let service = Scim { server: &server, http: rp_http(), token: token(db, &server, "sync", "scim:write") };
    assert_eq!(service.get("/Groups").0, 200);
}

/// `tokens.groups_claim` and `tokens.groups_claim_values`: the claim's name
/// and whether it lists ids; SCIM rights read the same claim.
fn the_groups_claim_can_be_renamed_and_carry_ids(db: &TestDb) {
    crate::cli(
        db,
        &["user", "add", "--username", "alice", "--password", crate::oidc::PASSWORD, "--group", "Ops"],
    );
    let out = crate::cli(
        db,
        &[
            "client",
            "add",
            "--id",
            "portal",
            "--redirect-uri",
            crate::oidc::RP,
            "--skip-consent",
            "--scope",
            "openid groups scim:read",
        ],
    );
    let secret = out.lines().find_map(|l| l.strip_prefix("client_secret: ")).unwrap().to_owned();
    // The group's id, to grant it a right by id.
    let server = Server::start(crate::bin(), db, &[]);
    let admin =
        Scim { server: &server, http: rp_http(), token: token(db, &server, "provisioner", "scim:read") };
    let (_, _, groups) = admin.get("/Groups");
    let ops = groups["Resources"][0]["id"].as_str().unwrap().to_owned();
    drop(server);
    let rights = format!(r#"[{{ group = "{ops}", resource = "Group", operations = ["read"] }}]"#);
    let server = Server::start(
        crate::bin(),
        db,
        &[
            ("SIGIL_TOKENS_GROUPS_CLAIM", "memberOf"),
            ("SIGIL_TOKENS_GROUPS_CLAIM_VALUES", "ids"),
            ("SIGIL_SCIM_RIGHTS", &rights),
        ],
    );
    let rp = crate::lifecycle::Rp { server: &server, http: rp_http(), id: "portal", secret };
    let (_, tokens) = rp.tokens(&crate::oidc::browser(), "openid groups scim:read");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let payload: Value = {
        use base64::Engine;
        let part = access.split('.').nth(1).unwrap();
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap())
            .unwrap()
    };
    assert_eq!(payload["memberOf"], json!([ops]), "{payload}");
    assert!(payload.get("groups").is_none());
    let user = Scim { server: &server, http: rp_http(), token: access };
    assert_eq!(user.get("/Groups").0, 200, "the right granted to the group's id applies");
    let (status, _, body) = user.get("/Users");
    assert_error(status, &body, 403, None);
}

/// POST /Users answers with the user rendered from what it inserted, not
/// read back (RFC 7644 §3.3 asks for the created resource): that answer
/// must be exactly what a GET of it returns, every attribute and `meta`.
fn a_created_user_is_answered_as_it_is_read_back(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let scim =
        Scim { server: &server, http: rp_http(), token: token(db, &server, "provisioner", "scim:write") };
    let (_, _, boss) =
        scim.send("POST", "/Users", Some(&json!({ "userName": "boss", "displayName": "The Boss" })), &[]);
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": "Dora.Explorer",
        "externalId": "hr-4711",
        "name": { "givenName": "Dora", "familyName": "Márquez", "formatted": "Dora Márquez" },
        "displayName": "Dora M.",
        "nickName": "dee",
        "title": "Navigator",
        "preferredLanguage": "es-MX",
        "locale": "es-MX",
        "timezone": "America/Mexico_City",
        "active": true,
        "emails": [
            { "value": "dora@example.com", "type": "work", "primary": true },
            { "value": "dora@home.example", "type": "home" }
        ],
        "phoneNumbers": [{ "value": "+52 55 1234 5678", "type": "mobile" }],
        "addresses": [{
            "streetAddress": "Calle 1", "locality": "CDMX", "postalCode": "01000",
            "country": "MX", "type": "work", "primary": true
        }],
        "roles": [{ "value": "navigator" }],
        ENTERPRISE: { "employeeNumber": "42", "department": "Maps", "manager": { "value": boss["id"] } }
    });
    let (status, headers, created) = scim.send("POST", "/Users", Some(&user), &[]);
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let (status, read_headers, read) = scim.send("GET", &format!("/Users/{id}"), None, &[]);
    assert_eq!(status, 200, "{read}");
    assert_eq!(created, read, "the answer to the create is the resource as stored");
    assert_eq!(headers.get("etag"), read_headers.get("etag"));
    assert_eq!(created["groups"], Value::Null, "a new user is in no group: {created}");
    assert_eq!(created[ENTERPRISE]["manager"]["value"], boss["id"], "{created}");
}
