//! SCIM PATCH (RFC 7644 §3.5.2) against the running server: every kind of
//! path, the errors of §3.12, and all operations of a request applied
//! atomically or none.

use serde_json::{Value, json};
use sigil_testkit::process::Server;
use sigil_testkit::{TestDb, backend_tests};

use crate::oidc::rp_http;
use crate::scim::{Scim, assert_error, token};

backend_tests!(patch_follows_rfc7644, patch_errors_change_nothing);

pub(crate) fn patch_body(operations: Value) -> Value {
    let mut body = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"] });
    body["Operations"] = operations;
    body
}

fn patch(scim: &Scim<'_>, path: &str, operations: Value) -> (u16, Value) {
    let (status, _, body) = scim.send("PATCH", path, Some(&patch_body(operations)), &[]);
    (status, body)
}

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn patch_follows_rfc7644(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let scim =
        Scim { server: &server, http: rp_http(), token: token(db, &server, "provisioner", "scim:write") };
    let (status, _, created) = scim.send(
        "POST",
        "/Users",
        Some(&json!({
            "userName": "bjensen",
            "name": { "givenName": "Barbara", "familyName": "Jensen" },
            "emails": [
                { "value": "bjensen@example.com", "type": "work", "primary": true },
                { "value": "babs@jensen.org", "type": "home" }
            ],
            "phoneNumbers": [{ "value": "555-555-8377", "type": "work" }]
        })),
        &[],
    );
    assert_eq!(status, 201);
    let user = format!("/Users/{}", created["id"].as_str().unwrap());

    // §3.5.2.1 add: to a simple attribute, into a complex one, appended to
    // a multi-valued one (a value already there is not added twice).
    let (status, body) = patch(
        &scim,
        &user,
        json!([
            { "op": "add", "path": "title", "value": "Tour Guide" },
            { "op": "add", "path": "name.middleName", "value": "Jane" },
            { "op": "add", "path": "emails", "value": [{ "value": "b@example.org", "type": "other" }] },
            { "op": "add", "path": "emails", "value": [{ "value": "babs@jensen.org", "type": "home" }] }
        ]),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!((&body["title"], &body["name"]["middleName"]), (&json!("Tour Guide"), &json!("Jane")));
    assert_eq!(body["emails"].as_array().unwrap().len(), 3, "{body}");
    assert_eq!(body["meta"]["version"], "W/\"2\"", "one PATCH is one version");

    // §3.5.2.3 replace through a filter, on a sub-attribute and on a whole value.
    let (status, body) = patch(
        &scim,
        &user,
        json!([
            { "op": "replace", "path": "emails[type eq \"work\"].value", "value": "barbara@example.com" },
            { "op": "replace", "path": "phoneNumbers[type eq \"work\"]", "value": { "value": "555-0000", "type": "work" } }
        ]),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["emails"][0]["value"], "barbara@example.com");
    assert_eq!(body["emails"][0]["primary"], true, "the other sub-attributes stay");
    assert_eq!(body["phoneNumbers"], json!([{ "value": "555-0000", "type": "work", "primary": false }]));

    // §3.5.2.2 remove: a value through a filter, a sub-attribute, a whole attribute.
    let (status, body) = patch(
        &scim,
        &user,
        json!([
            { "op": "remove", "path": "emails[type eq \"other\"]" },
            { "op": "remove", "path": "name.middleName" },
            { "op": "remove", "path": "phoneNumbers" }
        ]),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["emails"].as_array().unwrap().len(), 2);
    assert!(body["name"].get("middleName").is_none() && body.get("phoneNumbers").is_none(), "{body}");

    // Without a path: the value's keys, dotted or URN-qualified, in any case;
    // `id` and `meta` inside it are ignored; `Replace` in any case.
    let (status, body) = patch(
        &scim,
        &user,
        json!([{
            "op": "Replace",
            "value": {
                "id": "ignored", "meta": { "version": "W/\"1\"" },
                "name.givenName": "Babs",
                "DISPLAYNAME": "Babs J",
                "active": "False",
                (format!("{ENTERPRISE}:department")): "Tours",
                (ENTERPRISE): { "costCenter": "4130" }
            }
        }]),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["name"]["givenName"], &body["displayName"], &body["active"]),
        (&json!("Babs"), &json!("Babs J"), &json!(false))
    );
    assert_eq!(body[ENTERPRISE], json!({ "department": "Tours", "costCenter": "4130" }));
    assert_ne!(body["id"], "ignored");

    // Entra ID and Okta set a work phone the user does not have yet.
    let (status, body) = patch(
        &scim,
        &user,
        json!([{ "op": "add", "path": "phoneNumbers[type eq \"work\"].value", "value": "555-1234" }]),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["phoneNumbers"], json!([{ "value": "555-1234", "type": "work", "primary": false }]));

    // The response honours attributes; a password set by PATCH is hashed.
    let (status, _, body) = scim.send(
        "PATCH",
        &format!("{user}?attributes=userName"),
        Some(&patch_body(
            json!([{ "op": "replace", "path": "password", "value": "another long passphrase" }]),
        )),
        &[],
    );
    assert_eq!(status, 200);
    let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["schemas", "id", "userName"], "{body}");

    // If-Match: the current version goes through, an older one does not.
    let (_, headers, _) = scim.get(&user);
    let current = headers["etag"].to_str().unwrap().to_owned();
    let operation = patch_body(json!([{ "op": "replace", "path": "title", "value": "Lead" }]));
    let (status, _, body) = scim.send("PATCH", &user, Some(&operation), &[("If-Match", "W/\"1\"")]);
    assert_error(status, &body, 412, None);
    let (status, _, _) = scim.send("PATCH", &user, Some(&operation), &[("If-Match", current.as_str())]);
    assert_eq!(status, 200);
}

fn patch_errors_change_nothing(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let scim =
        Scim { server: &server, http: rp_http(), token: token(db, &server, "provisioner", "scim:write") };
    let (_, _, created) = scim.send(
        "POST",
        "/Users",
        Some(&json!({ "userName": "keeper", "title": "Original", "emails": [{ "value": "k@example.com", "type": "work" }] })),
        &[],
    );
    let user = format!("/Users/{}", created["id"].as_str().unwrap());
    let (_, _, taken) = scim.send("POST", "/Users", Some(&json!({ "userName": "taken" })), &[]);
    assert!(taken["id"].is_string());

    let title = json!({ "op": "replace", "path": "title", "value": "Changed" });
    let cases: Vec<(&str, Value, u16, Option<&str>)> = vec![
        (
            "unknown attribute",
            json!([title, { "op": "add", "path": "nosuch", "value": 1 }]),
            400,
            Some("invalidPath"),
        ),
        (
            "malformed path",
            json!([title, { "op": "add", "path": "emails[type eq", "value": 1 }]),
            400,
            Some("invalidPath"),
        ),
        (
            "filter matches nothing",
            json!([title, { "op": "remove", "path": "emails[type eq \"home\"]" }]),
            400,
            Some("noTarget"),
        ),
        ("remove without path", json!([title, { "op": "remove" }]), 400, Some("noTarget")),
        (
            "read-only attribute",
            json!([title, { "op": "replace", "path": "groups", "value": [] }]),
            400,
            Some("mutability"),
        ),
        ("id", json!([title, { "op": "replace", "path": "id", "value": "x" }]), 400, Some("mutability")),
        (
            "bad value type",
            json!([title, { "op": "replace", "path": "active", "value": "perhaps" }]),
            400,
            Some("invalidValue"),
        ),
        (
            "userName removed",
            json!([title, { "op": "remove", "path": "userName" }]),
            400,
            Some("invalidValue"),
        ),
        (
            "userName taken",
            json!([title, { "op": "replace", "path": "userName", "value": "TAKEN" }]),
            409,
            Some("uniqueness"),
        ),
        ("unknown op", json!([title, { "op": "move", "path": "title" }]), 400, Some("invalidSyntax")),
    ];
    for (what, operations, expected, scim_type) in cases {
        let (status, body) = patch(&scim, &user, operations);
        assert_eq!(status, expected, "{what}: {body}");
        assert_error(status, &body, expected, scim_type);
    }
    let (status, _, body) = scim.send("PATCH", &user, Some(&json!({ "Operations": [] })), &[]);
    assert_error(status, &body, 400, Some("invalidSyntax"));
    let (status, body) = patch(&scim, "/Users/nobody", json!([title]));
    assert_error(status, &body, 404, None);

    let (_, _, after) = scim.get(&user);
    assert_eq!(after["title"], "Original", "no operation of a failed PATCH was applied");
    assert_eq!(after["meta"]["version"], "W/\"1\"");
}
