//! The request sequences real provisioning clients send, written from their
//! public documentation and replayed against the running server: Microsoft
//! Entra ID, Okta and OneLogin each find a user by `userName`, create it,
//! update and deactivate it, create a group, add and remove members, rename
//! the group and delete both.
//!
//! Entra ID and Okta authenticate as their administrators set them up
//! (docs/provisioning-entra.md, docs/provisioning-okta.md): with an API
//! token made by `sigil token create`, which is then revoked with the CLI
//! and refused from the next request on a second node. OneLogin uses a
//! client credentials access token.

use serde_json::{Value, json};
use sigil_testkit::process::Server;
use sigil_testkit::{TestDb, backend_tests};
use url::Url;

use crate::api_tokens::{api_token, provisioning_client, revocation_reaches_another_node};
use crate::oidc::rp_http;
use crate::scim::{Scim, token};
use crate::scim_patch::patch_body;

backend_tests!(microsoft_entra_id_sequence, okta_sequence, onelogin_sequence);

const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

fn ok(scim: &Scim<'_>, method: &str, path: &str, body: Option<&Value>, expected: u16) -> Value {
    let (status, _, answer) = scim.send(method, path, body, &[]);
    assert_eq!(status, expected, "{method} {path}: {answer}");
    answer
}

fn find(scim: &Scim<'_>, resource: &str, filter: &str, extra: &[(&str, &str)]) -> Value {
    let mut query = vec![("filter", filter)];
    query.extend_from_slice(extra);
    let url = Url::parse_with_params("http://x/", &query).unwrap();
    ok(scim, "GET", &format!("/{resource}?{}", url.query().unwrap()), None, 200)
}

fn member_ids(group: &Value) -> Vec<String> {
    group["members"]
        .as_array()
        .map(|m| m.iter().map(|m| m["value"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

/// An API token for a provisioning client `id`, as the setup pages make
/// one: (its id, the token).
fn provisioning_token(db: &TestDb, id: &str) -> (String, String) {
    provisioning_client(db, id, "scim:read scim:write");
    api_token(db, id, "scim:read scim:write")
}

fn microsoft_entra_id_sequence(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    // Entra's "Secret Token".
    let (token_id, token) = provisioning_token(db, "entra");
    let scim = Scim { server: &server, http: rp_http(), token: token.clone() };
    let user_name = "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1";

    // Entra first asks whether the user exists, then creates it.
    let lookup = find(&scim, "Users", &format!("userName eq \"{user_name}\""), &[]);
    assert_eq!(lookup["totalResults"], 0);
    let manager = ok(&scim, "POST", "/Users", Some(&json!({ "userName": "boss@contoso.com" })), 201);
    let created = ok(
        &scim,
        "POST",
        "/Users",
        Some(&json!({
            "schemas": [CORE_USER, ENTERPRISE],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": user_name,
            "active": true,
            "emails": [{ "primary": true, "type": "work", "value": "Test_User_fd0ea19b@testuser.com" }],
            "meta": { "resourceType": "User" },
            "name": { "formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName" },
            "roles": [],
            (ENTERPRISE): { "employeeNumber": "1234", "department": "Sales" }
        })),
        201,
    );
    let id = created["id"].as_str().unwrap().to_owned();
    let found = find(&scim, "Users", &format!("userName eq \"{user_name}\""), &[]);
    assert_eq!(found["Resources"][0]["id"], id.as_str());
    // Entra's own filter form, not in the RFC grammar.
    let by_email =
        find(&scim, "Users", "emails[type eq \"work\"].value eq \"Test_User_fd0ea19b@testuser.com\"", &[]);
    assert_eq!(by_email["totalResults"], 1);

    // Attribute updates, the manager as a bare id, then deactivation with
    // a boolean sent as a string.
    let user = format!("/Users/{id}");
    ok(
        &scim,
        "PATCH",
        &user,
        Some(&patch_body(json!([
            { "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com" },
            { "op": "Replace", "path": "name.familyName", "value": "updatedFamilyName" },
            { "op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": manager["id"] }
        ]))),
        200,
    );
    let disabled = ok(
        &scim,
        "PATCH",
        &user,
        Some(&patch_body(json!([{ "op": "Replace", "path": "active", "value": "False" }]))),
        200,
    );
    assert_eq!(disabled["active"], false);
    assert_eq!(disabled["emails"][0]["value"], "updatedEmail@microsoft.com");
    assert_eq!(disabled["name"]["familyName"], "updatedFamilyName");
    assert_eq!(disabled[ENTERPRISE]["manager"]["value"], manager["id"]);

    // Groups: create with Entra's extra schema, look up without members,
    // add and remove a member both ways Entra sends it, rename, delete.
    let group = ok(
        &scim,
        "POST",
        "/Groups",
        Some(&json!({
            "schemas": [CORE_GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "displayName",
            "meta": { "resourceType": "Group" }
        })),
        201,
    );
    let gid = group["id"].as_str().unwrap().to_owned();
    let listed =
        find(&scim, "Groups", "displayName eq \"displayName\"", &[("excludedAttributes", "members")]);
    assert_eq!(listed["Resources"][0]["id"], gid.as_str());
    let path = format!("/Groups/{gid}");
    let add =
        patch_body(json!([{ "op": "Add", "path": "members", "value": [{ "$ref": null, "value": id }] }]));
    ok(&scim, "PATCH", &path, Some(&add), 200);
    let again = ok(&scim, "PATCH", &path, Some(&add), 200);
    assert_eq!(member_ids(&again), [id.as_str()], "adding a member twice keeps one");
    let membership = find(&scim, "Groups", &format!("id eq \"{gid}\" and members[value eq \"{id}\"]"), &[]);
    assert_eq!(membership["totalResults"], 1);
    let removed = ok(
        &scim,
        "PATCH",
        &path,
        Some(&patch_body(json!([{ "op": "Remove", "path": format!("members[value eq \"{id}\"]") }]))),
        200,
    );
    assert!(member_ids(&removed).is_empty());
    ok(&scim, "PATCH", &path, Some(&add), 200);
    let removed = ok(
        &scim,
        "PATCH",
        &path,
        Some(&patch_body(json!([{ "op": "Remove", "path": "members", "value": [{ "value": id }] }]))),
        200,
    );
    assert!(member_ids(&removed).is_empty(), "the form without the compliance flag works too");
    let renamed = ok(
        &scim,
        "PATCH",
        &path,
        Some(&patch_body(
            json!([{ "op": "Replace", "path": "displayName", "value": "1879db59updatedDisplayName" }]),
        )),
        200,
    );
    assert_eq!(renamed["displayName"], "1879db59updatedDisplayName");
    ok(&scim, "DELETE", &path, None, 204);
    ok(&scim, "DELETE", &user, None, 204);
    assert_eq!(find(&scim, "Users", &format!("userName eq \"{user_name}\""), &[])["totalResults"], 0);
    revocation_reaches_another_node(db, &server, &token_id, &token);
}

fn okta_sequence(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    // Okta's "HTTP Header" authentication: `Authorization: Bearer <token>`.
    let (token_id, token) = provisioning_token(db, "okta");
    let scim = Scim { server: &server, http: rp_http(), token: token.clone() };

    // Okta pages its lookups and may send the userName in another case.
    let empty = find(
        &scim,
        "Users",
        "userName eq \"test.user@okta.local\"",
        &[("startIndex", "1"), ("count", "100")],
    );
    assert_eq!(
        (empty["totalResults"].as_i64(), empty["Resources"].as_array().map(Vec::len)),
        (Some(0), Some(0))
    );
    let body = json!({
        "schemas": [CORE_USER],
        "userName": "test.user@okta.local",
        "name": { "givenName": "Test", "familyName": "User" },
        "emails": [{ "primary": true, "value": "test.user@okta.local", "type": "work" }],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq-and-more",
        "active": true
    });
    let created = ok(&scim, "POST", "/Users", Some(&body), 201);
    let id = created["id"].as_str().unwrap().to_owned();
    let found = find(
        &scim,
        "Users",
        "userName eq \"Test.User@OKTA.local\"",
        &[("startIndex", "1"), ("count", "100")],
    );
    assert_eq!(found["Resources"][0]["id"], id.as_str(), "userName is matched in any case");

    // Okta updates with PUT, sending the whole user back with id and meta.
    let mut updated = ok(&scim, "GET", &format!("/Users/{id}"), None, 200);
    updated["name"]["givenName"] = json!("Another");
    let replaced = ok(&scim, "PUT", &format!("/Users/{id}"), Some(&updated), 200);
    assert_eq!(replaced["name"]["givenName"], "Another");
    // Deactivation: a path-less replace.
    let off = ok(
        &scim,
        "PATCH",
        &format!("/Users/{id}"),
        Some(&patch_body(json!([{ "op": "replace", "value": { "active": false } }]))),
        200,
    );
    assert_eq!(off["active"], false);

    // Groups: Okta's rename sends the id inside the value.
    let group = ok(
        &scim,
        "POST",
        "/Groups",
        Some(&json!({ "schemas": [CORE_GROUP], "displayName": "Test SCIMv2", "members": [] })),
        201,
    );
    let gid = group["id"].as_str().unwrap().to_owned();
    let path = format!("/Groups/{gid}");
    ok(
        &scim,
        "PATCH",
        &path,
        Some(&patch_body(
            json!([{ "op": "replace", "value": { "id": gid, "displayName": "Test SCIMv2 renamed" } }]),
        )),
        200,
    );
    let with = ok(
        &scim,
        "PATCH",
        &path,
        Some(&patch_body(
            json!([{ "op": "add", "path": "members", "value": [{ "value": id, "display": "test.user@okta.local" }] }]),
        )),
        200,
    );
    assert_eq!(member_ids(&with), [id.as_str()]);
    assert_eq!(with["displayName"], "Test SCIMv2 renamed");
    let without = ok(
        &scim,
        "PATCH",
        &path,
        Some(&patch_body(json!([{ "op": "remove", "path": format!("members[value eq \"{id}\"]") }]))),
        200,
    );
    assert!(member_ids(&without).is_empty());
    // Okta can also push a group whole.
    let pushed = ok(
        &scim,
        "PUT",
        &path,
        Some(
            &json!({ "schemas": [CORE_GROUP], "id": gid, "displayName": "Test SCIMv2", "members": [{ "value": id, "display": "x" }] }),
        ),
        200,
    );
    assert_eq!(member_ids(&pushed), [id.as_str()]);
    ok(&scim, "DELETE", &path, None, 204);
    ok(&scim, "DELETE", &format!("/Users/{id}"), None, 204);
    revocation_reaches_another_node(db, &server, &token_id, &token);
}

fn onelogin_sequence(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let scim = Scim { server: &server, http: rp_http(), token: token(db, &server, "onelogin", "scim:write") };
    assert_eq!(find(&scim, "Users", "userName eq \"jdoe@example.com\"", &[])["totalResults"], 0);
    let created = ok(
        &scim,
        "POST",
        "/Users",
        Some(&json!({
            "schemas": [CORE_USER],
            "userName": "jdoe@example.com",
            "name": { "givenName": "John", "familyName": "Doe" },
            "emails": [{ "value": "jdoe@example.com", "primary": true }],
            "active": true
        })),
        201,
    );
    let id = created["id"].as_str().unwrap().to_owned();
    let user = format!("/Users/{id}");
    let mut full = created.clone();
    full["title"] = json!("Engineer");
    full["active"] = json!(false);
    let replaced = ok(&scim, "PUT", &user, Some(&full), 200);
    assert_eq!((&replaced["title"], &replaced["active"]), (&json!("Engineer"), &json!(false)));
    let reactivated = ok(
        &scim,
        "PATCH",
        &user,
        Some(&patch_body(json!([{ "op": "replace", "path": "active", "value": true }]))),
        200,
    );
    assert_eq!(reactivated["active"], true);

    let group = ok(
        &scim,
        "POST",
        "/Groups",
        Some(&json!({ "schemas": [CORE_GROUP], "displayName": "Engineering" })),
        201,
    );
    let path = format!("/Groups/{}", group["id"].as_str().unwrap());
    let added = ok(
        &scim,
        "PATCH",
        &path,
        Some(&patch_body(json!([{ "op": "add", "path": "members", "value": [{ "value": id }] }]))),
        200,
    );
    assert_eq!(member_ids(&added), [id.as_str()]);
    let (_, _, user_view) = scim.get(&user);
    assert_eq!(user_view["groups"][0]["display"], "Engineering");
    let renamed = ok(
        &scim,
        "PATCH",
        &path,
        Some(&patch_body(json!([
            { "op": "replace", "path": "displayName", "value": "Platform Engineering" },
            { "op": "remove", "path": "members", "value": [{ "value": id }] }
        ]))),
        200,
    );
    assert_eq!(renamed["displayName"], "Platform Engineering");
    assert!(member_ids(&renamed).is_empty());
    ok(&scim, "DELETE", &path, None, 204);
    ok(&scim, "DELETE", &user, None, 204);
}
