//! SCIM PATCH of a group's members (RFC 7644 §3.5.2) against the running
//! server: the operations provisioning clients send to keep groups in
//! step, with their errors, `If-Match`, one version per PATCH and the
//! response's attributes; and the same sequence of operations reaching the
//! same groups whichever way the server applies them.

use serde_json::{Value, json};
use sigil_testkit::process::Server;
use sigil_testkit::{TestDb, backend_tests};

use crate::oidc::rp_http;
use crate::scim::{Scim, assert_error, token};
use crate::scim_patch::patch_body;

backend_tests!(member_patches_follow_rfc7644, member_patches_end_where_general_patches_end);

fn scim<'a>(db: &TestDb, server: &'a Server) -> Scim<'a> {
    Scim { server, http: rp_http(), token: token(db, server, "provisioner", "scim:write") }
}

fn create(scim: &Scim<'_>, path: &str, body: &Value) -> String {
    let (status, _, created) = scim.send("POST", path, Some(body), &[]);
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

fn users(scim: &Scim<'_>, n: usize) -> Vec<String> {
    (0..n).map(|i| create(scim, "/Users", &json!({ "userName": format!("user{i}") }))).collect()
}

fn ids(group: &Value) -> Vec<&str> {
    group["members"]
        .as_array()
        .map_or_else(Vec::new, |m| m.iter().map(|m| m["value"].as_str().unwrap()).collect())
}

fn add(ids: &[&str]) -> Value {
    json!({ "op": "add", "path": "members", "value": ids.iter().map(|id| json!({ "value": id })).collect::<Vec<_>>() })
}

fn remove(id: &str) -> Value {
    json!({ "op": "remove", "path": format!("members[value eq \"{id}\"]") })
}

fn member_patches_follow_rfc7644(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let scim = scim(db, &server);
    let u = users(&scim, 5);
    let u: Vec<&str> = u.iter().map(String::as_str).collect();
    let group =
        create(&scim, "/Groups", &json!({ "displayName": "Tour Guides", "members": [{ "value": u[0] }] }));
    let path = format!("/Groups/{group}");
    let patch = |query: &str, operations: Value, headers: &[(&str, &str)]| {
        scim.send("PATCH", &format!("{path}{query}"), Some(&patch_body(operations)), headers)
    };

    // §3.5.2.1: what is new is appended, once, whatever the request repeats;
    // the answer is the resource (200) as a GET then reads it, ETag included.
    let (status, headers, body) = patch("", json!([add(&[u[1], u[2], u[1]])]), &[]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(ids(&body), [u[0], u[1], u[2]]);
    assert_eq!(
        (&body["members"][1]["display"], &body["members"][1]["type"]),
        (&json!("user1"), &json!("User"))
    );
    assert_eq!(body["members"][1]["$ref"], scim.url(&format!("/Users/{}", u[1])).as_str());
    assert_eq!((headers["etag"].to_str().unwrap(), &body["meta"]["version"]), ("W/\"2\"", &json!("W/\"2\"")));
    let (_, read_headers, read) = scim.get(&path);
    assert_eq!((read, read_headers["etag"].clone()), (body, headers["etag"].clone()));

    // Nothing new: nothing written, the version stays.
    let (status, headers, body) = patch("", json!([add(&[u[1]])]), &[]);
    assert_eq!((status, headers["etag"].to_str().unwrap()), (200, "W/\"2\""), "{body}");

    // §3.5.2.2 and §3.12: a filter that matches no member is noTarget, an
    // id that names nothing invalidValue; either fails the whole PATCH.
    let (status, _, body) = patch("", json!([add(&[u[3]]), remove(u[4])]), &[]);
    assert_error(status, &body, 400, Some("noTarget"));
    let (status, _, body) = patch("", json!([add(&[u[3], "nobody"])]), &[]);
    assert_error(status, &body, 400, Some("invalidValue"));
    assert!(body["detail"].as_str().unwrap().contains("nobody"), "{body}");
    let (status, _, body) = patch("", json!([add(&[&group])]), &[]);
    assert_error(status, &body, 400, Some("invalidValue"));
    let (_, _, unchanged) = scim.get(&path);
    assert_eq!((ids(&unchanged), &unchanged["meta"]["version"]), (vec![u[0], u[1], u[2]], &json!("W/\"2\"")));

    // §3.14: an older If-Match is refused, the current one goes through.
    let (status, _, body) = patch("", json!([remove(u[0])]), &[("If-Match", "W/\"1\"")]);
    assert_error(status, &body, 412, None);
    let (status, headers, body) = patch("", json!([remove(u[0])]), &[("If-Match", "W/\"2\"")]);
    assert_eq!((status, headers["etag"].to_str().unwrap()), (200, "W/\"3\""), "{body}");

    // Microsoft Entra ID's forms: a path-less add, a remove with values
    // (one of them not a member); several operations, one version.
    let (status, headers, body) = patch(
        "",
        json!([
            { "op": "Add", "value": { "members": [{ "value": u[3] }, { "value": u[4] }] } },
            { "op": "Remove", "path": "members", "value": [{ "value": u[1] }, { "value": u[0] }] }
        ]),
        &[],
    );
    assert_eq!((status, headers["etag"].to_str().unwrap()), (200, "W/\"4\""), "{body}");
    assert_eq!(ids(&body), [u[2], u[3], u[4]]);

    // The response honours attributes and excludedAttributes (§3.9).
    let (status, headers, body) = patch("?excludedAttributes=members", json!([remove(u[4])]), &[]);
    assert_eq!((status, headers["etag"].to_str().unwrap()), (200, "W/\"5\""), "{body}");
    assert!(body.get("members").is_none(), "{body}");
    assert_eq!((&body["displayName"], &body["meta"]["version"]), (&json!("Tour Guides"), &json!("W/\"5\"")));
    let (status, _, body) = patch("?attributes=displayName", json!([add(&[u[0]])]), &[]);
    assert_eq!(status, 200);
    let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["schemas", "id", "displayName"], "{body}");
    let (status, _, body) = patch("?attributes=members.value", json!([remove(u[0])]), &[]);
    assert_eq!((status, &body["members"]), (200, &json!([{ "value": u[2] }, { "value": u[3] }])), "{body}");

    let (status, _, body) =
        scim.send("PATCH", "/Groups/nowhere", Some(&patch_body(json!([add(&[u[0]])]))), &[]);
    assert_error(status, &body, 404, None);
}

/// One sequence of operations sent to two groups alike: to one as it is,
/// to the other with an operation that renames the group to its own name,
/// which changes nothing but takes the general path. Every answer and
/// every state after it must be the same.
fn member_patches_end_where_general_patches_end(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let scim = scim(db, &server);
    let u = users(&scim, 5);
    let u: Vec<&str> = u.iter().map(String::as_str).collect();
    let nested = create(&scim, "/Groups", &json!({ "displayName": "Nested" }));
    let start = json!([{ "value": u[0] }, { "value": nested, "type": "Group" }]);
    let groups: Vec<(String, &str)> = ["Members", "General"]
        .into_iter()
        .map(|name| (create(&scim, "/Groups", &json!({ "displayName": name, "members": start })), name))
        .collect();
    let typed = |id: &str, kind: &str| json!({ "op": "add", "path": "members", "value": [{ "value": id, "type": kind }] });
    let steps: Vec<(Value, Option<&str>)> = vec![
        (json!([add(&[u[1], u[2], u[1]])]), None),
        (json!([add(&[u[2], u[3], u[3]])]), None),
        (json!([remove(u[4])]), None),
        (json!([remove(u[1]), remove(u[1])]), None),
        (json!([remove(u[1])]), None),
        (
            json!([{ "op": "remove", "path": "members", "value": [{ "value": u[0] }, { "value": u[4] }] }]),
            None,
        ),
        (json!([add(&["nobody"])]), None),
        (json!([typed(u[4], "Group")]), None),
        (json!([typed(u[2], "Group")]), None),
        (json!([remove(u[2]), add(&[u[2]])]), None),
        (json!([add(&[u[4]]), remove(u[4])]), None),
        (
            json!([remove(&nested), { "op": "add", "value": { "members": [{ "value": nested }], "id": "ignored" } }]),
            None,
        ),
        (json!([add(&[u[0]])]), Some("W/\"1\"")),
        (json!([add(&[u[0]]), remove(u[3])]), Some("W/\"5\"")),
        (json!([]), None),
    ];
    for (i, (operations, if_match)) in steps.into_iter().enumerate() {
        let headers: Vec<(&str, &str)> = if_match.map(|tag| ("If-Match", tag)).into_iter().collect();
        let answers: Vec<(u16, Value, Value)> = groups
            .iter()
            .enumerate()
            .map(|(g, (id, name))| {
                let mut operations = operations.as_array().unwrap().clone();
                if g == 1 {
                    operations.push(json!({ "op": "replace", "path": "displayName", "value": name }));
                }
                let (status, _, body) = scim.send(
                    "PATCH",
                    &format!("/Groups/{id}"),
                    Some(&patch_body(json!(operations))),
                    &headers,
                );
                let (_, _, after) = scim.get(&format!("/Groups/{id}"));
                (status, body, after)
            })
            .collect();
        let (first, second) = (&answers[0], &answers[1]);
        assert_eq!(first.0, second.0, "step {i}: {} / {}", first.1, second.1);
        if first.0 == 200 {
            assert_eq!(
                (&first.1["members"], &first.1["meta"]["version"]),
                (&second.1["members"], &second.1["meta"]["version"]),
                "step {i}"
            );
        } else {
            assert_eq!(
                (&first.1["scimType"], &first.1["detail"]),
                (&second.1["scimType"], &second.1["detail"]),
                "step {i}"
            );
        }
        assert_eq!(
            (&first.2["members"], &first.2["meta"]["version"]),
            (&second.2["members"], &second.2["meta"]["version"]),
            "step {i}"
        );
    }
}
