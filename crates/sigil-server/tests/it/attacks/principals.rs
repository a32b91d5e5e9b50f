//! Findings 8 and 9: a token is only as good as its principal is now. A
//! deactivated or deleted user's tokens die everywhere at once (with their
//! sessions, refresh tokens and grants); rights per group are read from
//! the store on every request, and nobody hands himself a right.

use serde_json::{Value, json};
use sigil_testkit::process::Server;
use sigil_testkit::{TestDb, backend_tests};

use crate::admin::principal;
use crate::cli;
use crate::lifecycle::Rp;
use crate::oidc::{PASSWORD, RP, browser, rp_http, setup};
use crate::scim::Scim;
use crate::scim_patch::patch_body;

backend_tests!(
    deactivated_and_deleted_users_lose_everything_at_once,
    rights_per_group_come_from_the_store_and_cannot_be_self_granted,
    introspection_needs_a_confidential_client,
);

const SCOPE: &str = "openid profile offline_access scim:write";

fn scim<'a>(server: &'a Server, token: &str) -> Scim<'a> {
    Scim { server, http: rp_http(), token: token.to_owned() }
}

fn active(value: bool) -> Value {
    patch_body(json!([{ "op": "replace", "path": "active", "value": value }]))
}

fn deactivated_and_deleted_users_lose_everything_at_once(db: &TestDb) {
    let secret = setup(db);
    cli(db, &["client", "update", "--id", "web", "--scope", SCOPE]);
    cli(db, &["user", "add", "--username", "bob", "--password", PASSWORD]);
    for user in ["alice", "bob"] {
        cli(db, &["admin", "grant", "user-admin", "--user", user]);
    }
    let server = Server::start(crate::bin(), db, &[]);
    let operator = scim(&server, &principal(db, &server, "operator", "scim:write", "platform-operator"));
    let web = Rp { server: &server, http: rp_http(), id: "web", secret };
    let alice_browser = browser();
    let (_, tokens) = web.tokens(&alice_browser, SCOPE);
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let alice = scim(&server, &access);
    let (status, _, me) = alice.get("/Me");
    assert_eq!(status, 200, "{me}");
    let made = alice.send("POST", "/Users", Some(&json!({ "userName": "made-by-alice" })), &[]);
    assert_eq!(made.0, 201, "{}", made.2);

    // Deactivated: every token of hers fails, at every API, at once.
    let path = format!("/Users/{}", me["id"].as_str().unwrap());
    assert_eq!(operator.send("PATCH", &path, Some(&active(false)), &[]).0, 200);
    assert_eq!(alice.get("/Me").0, 401);
    assert_eq!(alice.send("PATCH", "/Me", Some(&active(true)), &[]).0, 401, "no reactivating herself");
    assert_eq!(alice.send("POST", "/Users", Some(&json!({ "userName": "again" })), &[]).0, 401);
    assert_eq!(web.userinfo(&access), 401);
    assert_eq!(web.post("/introspect", &[("token", &access)]).1["active"], false);
    assert_eq!(web.post("/introspect", &[("token", &refresh)]).1["active"], false);
    let (status, body) = web.post("/token", &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    // Her browser session ended with her account: the sign-in page again.
    let url = url::Url::parse_with_params(
        &server.url("/authorize"),
        &[("client_id", "web"), ("redirect_uri", RP), ("response_type", "code"), ("scope", "openid")],
    )
    .unwrap();
    assert_eq!(alice_browser.get(url.as_str()).send().unwrap().status(), 200, "signed out");

    // Enabled again, she signs in afresh; what was revoked stays revoked.
    assert_eq!(operator.send("PATCH", &path, Some(&active(true)), &[]).0, 200);
    assert_eq!(alice.get("/Me").0, 401, "the grant of the old token was revoked");
    assert_eq!(web.post("/introspect", &[("token", &refresh)]).1["active"], false);

    // Deleted: bob's token creates nothing.
    let (_, bob_tokens) = web.tokens_as(&browser(), "bob", PASSWORD, SCOPE);
    let bob = scim(&server, bob_tokens["access_token"].as_str().unwrap());
    let (status, _, bob_me) = bob.get("/Me");
    assert_eq!(status, 200, "{bob_me}");
    let bob_path = format!("/Users/{}", bob_me["id"].as_str().unwrap());
    assert_eq!(operator.send("DELETE", &bob_path, None, &[]).0, 204);
    assert_eq!(bob.send("POST", "/Users", Some(&json!({ "userName": "by-a-ghost" })), &[]).0, 401);
    assert_eq!(bob.get("/Me").0, 401);
    let bob_refresh = bob_tokens["refresh_token"].as_str().unwrap();
    assert_eq!(web.post("/introspect", &[("token", bob_refresh)]).1["active"], false);
}

/// The id of the group `name`, created by `operator` with `members`.
fn group(operator: &Scim<'_>, name: &str, members: &[&str]) -> String {
    let members: Vec<Value> = members.iter().map(|id| json!({ "value": id })).collect();
    let (status, _, body) =
        operator.send("POST", "/Groups", Some(&json!({ "displayName": name, "members": members })), &[]);
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

fn add_member(id: &str) -> Value {
    patch_body(json!([{ "op": "add", "path": "members", "value": [{ "value": id }] }]))
}

fn rights_per_group_come_from_the_store_and_cannot_be_self_granted(db: &TestDb) {
    // With the groups scope the tokens carry a groups claim, which is what
    // must not be trusted: it is as old as the token.
    const SCOPE: &str = "openid groups scim:write";
    let secret = setup(db);
    cli(db, &["client", "update", "--id", "web", "--scope", SCOPE]);
    cli(db, &["user", "add", "--username", "carol", "--password", PASSWORD]);
    let rights = r#"[
        { group = "editors", resource = "Group", operations = ["create", "read", "update"] },
        { group = "hr", resource = "User", operations = ["create", "read", "update"] },
        { group = "payroll", resource = "User", operations = ["create", "read", "update", "delete"] },
    ]"#
    .replace('\n', " ");
    let server = Server::start(crate::bin(), db, &[("SIGIL_SCIM_RIGHTS", &rights)]);
    let operator = scim(&server, &principal(db, &server, "operator", "scim:write", "platform-operator"));
    let id_of = |name: &str| {
        let list = operator.list(&[("filter", &format!("userName eq \"{name}\""))]);
        list["Resources"][0]["id"].as_str().unwrap().to_owned()
    };
    let (alice_id, carol_id) = (id_of("alice"), id_of("carol"));
    let editors = group(&operator, "editors", &[&alice_id]);
    let hr = group(&operator, "hr", &[&carol_id]);
    let hr_team = group(&operator, "hr-team", &[]);
    assert_eq!(operator.send("PATCH", &format!("/Groups/{hr}"), Some(&add_member(&hr_team)), &[]).0, 200);
    let misc = group(&operator, "misc", &[]);

    let web = Rp { server: &server, http: rp_http(), id: "web", secret };
    let (_, tokens) = web.tokens(&browser(), SCOPE);
    let alice = scim(&server, tokens["access_token"].as_str().unwrap());
    // An updater of Groups does the work of one...
    assert_eq!(alice.send("PATCH", &format!("/Groups/{misc}"), Some(&add_member(&alice_id)), &[]).0, 200);
    // ...but cannot join a group that may create Users, directly, through
    // a nested group, by renaming her own, or by making a new one.
    for target in [&hr, &hr_team] {
        let (status, _, body) =
            alice.send("PATCH", &format!("/Groups/{target}"), Some(&add_member(&alice_id)), &[]);
        assert_eq!(status, 403, "{body}");
    }
    let rename = patch_body(json!([{ "op": "replace", "path": "displayName", "value": "payroll" }]));
    assert_eq!(alice.send("PATCH", &format!("/Groups/{editors}"), Some(&rename), &[]).0, 403);
    let payroll = json!({ "displayName": "payroll", "members": [{ "value": alice_id }] });
    assert_eq!(alice.send("POST", "/Groups", Some(&payroll), &[]).0, 403);
    assert_eq!(alice.send("POST", "/Users", Some(&json!({ "userName": "mine" })), &[]).0, 403);
    let stored = operator.get(&format!("/Groups/{hr}")).2;
    assert_eq!(stored["members"].as_array().unwrap().len(), 2, "unchanged: {stored}");

    // Carol's right is her membership now, not what her token once said.
    let (_, carol_tokens) = web.tokens_as(&browser(), "carol", PASSWORD, SCOPE);
    let carol = scim(&server, carol_tokens["access_token"].as_str().unwrap());
    let (status, _, hired) = carol.send("POST", "/Users", Some(&json!({ "userName": "hired" })), &[]);
    assert_eq!(status, 201, "{hired}");
    // An updater of Users manages users, but not one who may do more than
    // she may through their groups: a new password would let her sign in
    // as alice (an editor of Groups), disabling her would take it away.
    let reset = json!({ "userName": "alice", "password": "a new password nobody guesses" });
    assert_eq!(carol.send("PUT", &format!("/Users/{alice_id}"), Some(&reset), &[]).0, 403);
    assert_eq!(carol.send("PATCH", &format!("/Users/{alice_id}"), Some(&active(false)), &[]).0, 403);
    let own_hire = format!("/Users/{}", hired["id"].as_str().unwrap());
    let retitle = patch_body(json!([{ "op": "replace", "path": "title", "value": "Clerk" }]));
    assert_eq!(carol.send("PATCH", &own_hire, Some(&retitle), &[]).0, 200);
    let remove = patch_body(json!([{ "op": "remove", "path": format!("members[value eq \"{carol_id}\"]") }]));
    assert_eq!(operator.send("PATCH", &format!("/Groups/{hr}"), Some(&remove), &[]).0, 200);
    assert_eq!(carol.send("POST", "/Users", Some(&json!({ "userName": "hired-2" })), &[]).0, 403);
}

/// RFC 7662 §2.1: introspection needs an authorized caller; a public client
/// has no credential to be authorized by.
fn introspection_needs_a_confidential_client(db: &TestDb) {
    let secret = setup(db);
    cli(db, &["client", "add", "--id", "spa", "--public", "--redirect-uri", RP]);
    let server = Server::start(crate::bin(), db, &[]);
    let web = Rp { server: &server, http: rp_http(), id: "web", secret };
    let (_, tokens) = web.tokens(&browser(), "openid");
    let access = tokens["access_token"].as_str().unwrap();
    let response = rp_http()
        .post(server.url("/introspect"))
        .form(&[("client_id", "spa"), ("token", access)])
        .send()
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.json::<Value>().unwrap()["error"], "invalid_client");
    assert_eq!(web.post("/introspect", &[("token", access)]).1["active"], true);
}
