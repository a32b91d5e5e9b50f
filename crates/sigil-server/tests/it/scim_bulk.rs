//! SCIM /Bulk (RFC 7644 §3.7) against the running server: bulkId references
//! in data and paths, in any order, failOnErrors, and the advertised limits.

use serde_json::{Value, json};
use sigil_testkit::process::Server;
use sigil_testkit::{TestDb, backend_tests};

use crate::oidc::rp_http;
use crate::scim::{Scim, assert_error, token};

backend_tests!(bulk_requests_resolve_references_and_report_each_operation, bulk_limits_and_failures);

fn bulk(operations: Value) -> Value {
    let mut body = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"] });
    body["Operations"] = operations;
    body
}

fn bulk_requests_resolve_references_and_report_each_operation(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let scim =
        Scim { server: &server, http: rp_http(), token: token(db, &server, "provisioner", "scim:write") };
    // The group names users created later in the same request.
    let request = bulk(json!([
        { "method": "POST", "path": "/Groups", "bulkId": "g1",
          "data": { "displayName": "Tour Guides", "members": [{ "type": "User", "value": "bulkId:u1" }] } },
        { "method": "POST", "path": "/Users", "bulkId": "u1", "data": { "userName": "alice" } },
        { "method": "POST", "path": "/Users", "bulkId": "u2", "data": { "userName": "bob" } },
        { "method": "PATCH", "path": "/Groups/bulkId:g1", "data": {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{ "op": "add", "path": "members", "value": [{ "value": "bulkId:u2" }] }] } },
        { "method": "DELETE", "path": "/Users/does-not-exist" }
    ]));
    let (status, _, answer) = scim.send("POST", "/Bulk", Some(&request), &[]);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:BulkResponse"]));
    let results = answer["Operations"].as_array().unwrap();
    let by_id =
        |id: &str| results.iter().find(|r| r["bulkId"] == id).unwrap_or_else(|| panic!("{id} in {answer}"));
    assert_eq!(by_id("u1")["status"], "201");
    assert_eq!(by_id("g1")["status"], "201");
    assert!(by_id("g1")["location"].as_str().unwrap().contains("/scim/v2/Groups/"));
    assert_eq!(by_id("g1")["version"], "W/\"1\"");
    let patched = results.iter().find(|r| r["method"] == "PATCH").unwrap();
    assert_eq!(patched["status"], "200", "{patched}");
    let deleted = results.iter().find(|r| r["method"] == "DELETE").unwrap();
    assert_eq!(deleted["status"], "404");
    assert_eq!(deleted["response"]["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:Error"]));

    let group_path = by_id("g1")["location"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    let (_, _, group) = scim.get(&format!("/Groups/{group_path}"));
    let members: Vec<&str> =
        group["members"].as_array().unwrap().iter().map(|m| m["display"].as_str().unwrap()).collect();
    assert_eq!(members, ["alice", "bob"]);
}

fn bulk_limits_and_failures(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let scim =
        Scim { server: &server, http: rp_http(), token: token(db, &server, "provisioner", "scim:write") };
    let (_, _, spc) = scim.get("/ServiceProviderConfig");
    assert_eq!((&spc["bulk"]["supported"], &spc["bulk"]["maxOperations"]), (&json!(true), &json!(1000)));

    // failOnErrors: 1 stops after the first error; later operations never run.
    let request = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "failOnErrors": 1,
        "Operations": [
            { "method": "POST", "path": "/Users", "bulkId": "a", "data": { "userName": "first" } },
            { "method": "POST", "path": "/Users", "bulkId": "b", "data": { "displayName": "no userName" } },
            { "method": "POST", "path": "/Users", "bulkId": "c", "data": { "userName": "never" } }
        ]
    });
    let (status, _, answer) = scim.send("POST", "/Bulk", Some(&request), &[]);
    assert_eq!(status, 200);
    let results = answer["Operations"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{answer}");
    assert_eq!(
        (&results[1]["status"], &results[1]["response"]["scimType"]),
        (&json!("400"), &json!("invalidValue"))
    );
    assert_eq!(scim.list(&[("filter", "userName eq \"never\"")])["totalResults"], 0);

    // References nobody resolves, and a POST without bulkId.
    let request = bulk(json!([
        { "method": "POST", "path": "/Groups", "bulkId": "x", "data": { "displayName": "X", "members": [{ "value": "bulkId:y" }] } },
        { "method": "POST", "path": "/Groups", "bulkId": "y", "data": { "displayName": "Y", "members": [{ "value": "bulkId:x" }] } },
        { "method": "POST", "path": "/Users", "data": { "userName": "anonymous" } },
        { "method": "GET", "path": "/Users" }
    ]));
    let (_, _, answer) = scim.send("POST", "/Bulk", Some(&request), &[]);
    let statuses: Vec<&str> =
        answer["Operations"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == "409").count(), 2, "{answer}");
    assert_eq!(statuses.iter().filter(|s| **s == "400").count(), 2, "{answer}");

    // Over the limits: 413 for the whole request.
    let many: Vec<Value> =
        (0..1001).map(|i| json!({ "method": "DELETE", "path": format!("/Users/u{i}") })).collect();
    let (status, _, body) = scim.send("POST", "/Bulk", Some(&bulk(Value::Array(many))), &[]);
    assert_error(status, &body, 413, None);
    let (status, _, body) = scim.send("POST", "/Bulk", Some(&json!({ "Operations": [] })), &[]);
    assert_error(status, &body, 400, Some("invalidSyntax"));
    let reader = Scim { server: &server, http: rp_http(), token: token(db, &server, "reader", "scim:read") };
    let (status, _, body) = reader.send("POST", "/Bulk", Some(&bulk(json!([]))), &[]);
    assert_error(status, &body, 403, None);
}
