//! SCIM 2.0 `/Groups` against the running server: members that are users
//! or groups, a user's computed `groups` (direct and indirect), cycles
//! refused, memberships gone with their user, and searches on members.

use serde_json::{Value, json};
use sigil_testkit::process::Server;
use sigil_testkit::{TestDb, backend_tests};
use url::Url;

use crate::oidc::rp_http;
use crate::scim::{Scim, assert_error, token};

backend_tests!(groups_nest_and_users_see_their_groups, group_rules_are_enforced);

fn user(scim: &Scim<'_>, name: &str) -> String {
    let (status, _, body) = scim.send("POST", "/Users", Some(&json!({ "userName": name })), &[]);
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

fn group(scim: &Scim<'_>, body: &Value) -> Value {
    let (status, _, created) = scim.send("POST", "/Groups", Some(body), &[]);
    assert_eq!(status, 201, "{created}");
    created
}

fn groups_nest_and_users_see_their_groups(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let scim =
        Scim { server: &server, http: rp_http(), token: token(db, &server, "provisioner", "scim:write") };
    let alice = user(&scim, "alice");
    let bob = user(&scim, "bob");

    let admins = group(
        &scim,
        &json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                        "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
            "displayName": "Admins",
            "externalId": "aad-42",
            "members": [{ "value": alice, "$ref": null }]
        }),
    );
    let admins_id = admins["id"].as_str().unwrap().to_owned();
    assert_eq!(admins["members"][0]["value"], alice.as_str());
    assert_eq!(admins["members"][0]["type"], "User");
    assert_eq!(admins["members"][0]["display"], "alice");
    assert_eq!(admins["members"][0]["$ref"], scim.url(&format!("/Users/{alice}")).as_str());

    // A group inside a group, named with its type.
    let staff = group(
        &scim,
        &json!({ "displayName": "Staff", "members": [
            { "value": bob, "type": "User" },
            { "value": admins_id, "type": "Group" }
        ]}),
    );
    let staff_id = staff["id"].as_str().unwrap().to_owned();
    assert_eq!(staff["members"][1]["type"], "Group");
    assert_eq!(staff["members"][1]["display"], "Admins");

    // alice is in Admins directly and in Staff through it.
    let (_, _, alice_read) = scim.get(&format!("/Users/{alice}"));
    let groups: Vec<(String, String)> = alice_read["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["display"].as_str().unwrap().to_owned(), g["type"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        groups,
        [("Admins".to_owned(), "direct".to_owned()), ("Staff".to_owned(), "indirect".to_owned())]
    );

    // Searches on members and names run in the database.
    let search = |filter: &str| -> Vec<String> {
        let url = Url::parse_with_params("http://x/Groups", &[("filter", filter), ("sortBy", "displayName")])
            .unwrap();
        let (status, _, body) = scim.get(&format!("/Groups?{}", url.query().unwrap()));
        assert_eq!(status, 200, "{filter}: {body}");
        body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["displayName"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(search(&format!("members.value eq \"{alice}\"")), ["Admins"]);
    assert_eq!(search("members[type eq \"Group\"]"), ["Staff"]);
    assert_eq!(search("displayName sw \"a\" or externalId eq \"aad-42\""), ["Admins"]);
    let users_in_staff = scim.list(&[("filter", "groups.display eq \"staff\"")]);
    assert_eq!(
        users_in_staff["totalResults"], 2,
        "bob directly, alice through Admins, as their `groups` list it: {users_in_staff}"
    );

    // PUT replaces the member list; excludedAttributes=members keeps lists light.
    let (status, _, replaced) = scim.send(
        "PUT",
        &format!("/Groups/{staff_id}"),
        Some(&json!({ "displayName": "Staff", "members": [{ "value": alice }] })),
        &[],
    );
    assert_eq!(status, 200, "{replaced}");
    let members: Vec<&str> =
        replaced["members"].as_array().unwrap().iter().map(|m| m["value"].as_str().unwrap()).collect();
    assert_eq!(members, [alice.as_str()]);
    let (status, _, slim) = scim.get(&format!("/Groups/{staff_id}?excludedAttributes=members"));
    assert_eq!(status, 200);
    assert!(slim.get("members").is_none() && slim["displayName"] == "Staff");

    // Deleting a user removes its memberships; deleting a group, its own.
    let (status, _, _) = scim.send("DELETE", &format!("/Users/{alice}"), None, &[]);
    assert_eq!(status, 204);
    let (_, _, staff_after) = scim.get(&format!("/Groups/{staff_id}"));
    assert!(staff_after.get("members").is_none(), "{staff_after}");
    let (status, _, _) = scim.send("DELETE", &format!("/Groups/{admins_id}"), None, &[]);
    assert_eq!(status, 204);
    let (status, _, body) = scim.get(&format!("/Groups/{admins_id}"));
    assert_error(status, &body, 404, None);
}

fn group_rules_are_enforced(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let scim =
        Scim { server: &server, http: rp_http(), token: token(db, &server, "provisioner", "scim:write") };
    let outer = group(&scim, &json!({ "displayName": "Outer" }));
    let outer_id = outer["id"].as_str().unwrap().to_owned();
    let inner = group(&scim, &json!({ "displayName": "Inner", "members": [{ "value": outer_id }] }));
    let inner_id = inner["id"].as_str().unwrap().to_owned();

    // Outer ⊃ Inner ⊃ Outer would be a cycle (RFC 7643 §4.2 leaves it to
    // the server; Sigil refuses it), and so is a group in itself.
    for members in [json!([{ "value": inner_id }]), json!([{ "value": outer_id }])] {
        let body = json!({ "displayName": "Outer", "members": members });
        let (status, _, answer) = scim.send("PUT", &format!("/Groups/{outer_id}"), Some(&body), &[]);
        assert_error(status, &answer, 400, Some("invalidValue"));
    }
    let (_, _, unchanged) = scim.get(&format!("/Groups/{outer_id}"));
    assert!(unchanged.get("members").is_none(), "a refused PUT changes nothing: {unchanged}");

    let (status, _, body) = scim.send("POST", "/Groups", Some(&json!({ "displayName": "OUTER" })), &[]);
    assert_error(status, &body, 409, Some("uniqueness"));
    let (status, _, body) = scim.send(
        "POST",
        "/Groups",
        Some(&json!({ "displayName": "Ghosts", "members": [{ "value": "nobody" }] })),
        &[],
    );
    assert_error(status, &body, 400, Some("invalidValue"));
    let (status, _, body) = scim.send("POST", "/Groups", Some(&json!({ "members": [] })), &[]);
    assert_error(status, &body, 400, Some("invalidValue"));
    let (status, _, body) =
        scim.send("POST", "/Groups", Some(&json!({ "schemas": ["urn:example:x"], "displayName": "X" })), &[]);
    assert_error(status, &body, 400, Some("invalidValue"));
    let (status, _, body) = scim.send(
        "PUT",
        &format!("/Groups/{inner_id}"),
        Some(&json!({ "displayName": "Inner" })),
        &[("If-Match", "W/\"999\"")],
    );
    assert_error(status, &body, 412, None);
    let (status, _, body) = scim.get("/Groups?filter=members.display%20eq%20%22x%22");
    assert_error(status, &body, 400, Some("invalidFilter"));
    let (status, _, listed) = scim.get("/Groups");
    assert_eq!((status, &listed["totalResults"]), (200, &json!(2)), "nothing else was stored: {listed}");
}
