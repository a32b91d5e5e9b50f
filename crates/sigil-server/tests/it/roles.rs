//! Roles: an application defines them, users hold them directly or through
//! their groups (nested ones too), and tokens whose audience is the
//! application carry them in `roles`, exchanged tokens included. Also the
//! per-client policy that puts the groups claim in every token. SCIM shows
//! the roles a user holds, and those granted to a group, read-only.

use serde_json::{Value, json};
use sigil_testkit::process::Server;
use sigil_testkit::{TestDb, backend_tests};
use url::Url;

use crate::cli;
use crate::lifecycle::Rp;
use crate::oidc::{PASSWORD, RP, browser, rp_http};
use crate::scim::{Scim, token};

backend_tests!(roles_reach_tokens_through_nested_groups, scim_shows_application_roles_read_only);

fn claims(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap())
        .unwrap()
}

fn roles_reach_tokens_through_nested_groups(db: &TestDb) {
    cli(db, &["user", "add", "--username", "alice", "--password", PASSWORD, "--group", "Engineering"]);
    let out = cli(
        db,
        &[
            "client",
            "add",
            "--id",
            "web",
            "--redirect-uri",
            RP,
            "--skip-consent",
            "--grant-type",
            "authorization_code",
            "--grant-type",
            "refresh_token",
            "--grant-type",
            "urn:ietf:params:oauth:grant-type:token-exchange",
            "--exchange-audience",
            "api-b",
        ],
    );
    let secret = out.lines().find_map(|l| l.strip_prefix("client_secret: ")).unwrap().to_owned();
    cli(db, &["client", "add", "--id", "api-b", "--grant-type", "client_credentials", "--scope", "api.read"]);
    let server = Server::start(crate::bin(), db, &[]);

    // Staff contains Engineering, which contains alice.
    let scim =
        Scim { server: &server, http: rp_http(), token: token(db, &server, "provisioner", "scim:write") };
    let url = Url::parse_with_params("http://x/", &[("filter", "displayName eq \"Engineering\"")]).unwrap();
    let (_, _, found) = scim.get(&format!("/Groups?{}", url.query().unwrap()));
    let engineering = found["Resources"][0]["id"].as_str().unwrap().to_owned();
    let (status, _, _) = scim.send(
        "POST",
        "/Groups",
        Some(&json!({ "displayName": "Staff", "members": [{ "value": engineering, "type": "Group" }] })),
        &[],
    );
    assert_eq!(status, 201);

    for args in [
        vec!["role", "add", "--client", "web", "--name", "admin", "--description", "Runs the app"],
        vec!["role", "add", "--client", "web", "--name", "viewer"],
        vec!["role", "add", "--client", "web", "--name", "unused"],
        vec!["role", "add", "--client", "api-b", "--name", "reader"],
        vec!["role", "grant", "--client", "web", "--name", "admin", "--user", "alice"],
        vec!["role", "grant", "--client", "web", "--name", "viewer", "--group", "Staff"],
        vec!["role", "grant", "--client", "api-b", "--name", "reader", "--group", "Engineering"],
    ] {
        cli(db, &args);
    }
    let listed = cli(db, &["role", "list", "--client", "web"]);
    assert!(
        listed.contains("admin") && listed.contains("Runs the app") && !listed.contains("reader"),
        "{listed}"
    );

    let rp = Rp { server: &server, http: rp_http(), id: "web", secret };
    let (_, tokens) = rp.tokens(&browser(), "openid");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        claims(&access)["roles"],
        json!(["admin", "viewer"]),
        "direct and through Staff ⊃ Engineering"
    );
    assert_eq!(claims(tokens["id_token"].as_str().unwrap())["roles"], json!(["admin", "viewer"]));

    // Exchanged for API B, the token carries the user's roles in API B.
    let (status, exchanged) = rp.post(
        "/token",
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
            ("subject_token", &access),
            ("subject_token_type", "urn:ietf:params:oauth:token-type:access_token"),
            ("audience", "api-b"),
        ],
    );
    assert_eq!(status, 200, "{exchanged}");
    assert_eq!(claims(exchanged["access_token"].as_str().unwrap())["roles"], json!(["reader"]));

    // Revoked roles are gone from the next token.
    cli(db, &["role", "revoke", "--client", "web", "--name", "admin", "--user", "alice"]);
    let (_, tokens) = rp.tokens(&browser(), "openid");
    let access = claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["roles"], json!(["viewer"]));
    assert!(access.get("groups").is_none(), "no groups scope, no groups claim: {access}");

    // A client's policy can put the groups in every token it gets.
    cli(db, &["client", "update", "--id", "web", "--always-groups-claim", "true"]);
    let (_, tokens) = rp.tokens(&browser(), "openid");
    assert_eq!(claims(tokens["access_token"].as_str().unwrap())["groups"], json!(["Engineering", "Staff"]));
    assert_eq!(claims(tokens["id_token"].as_str().unwrap())["groups"], json!(["Engineering", "Staff"]));

    // Bad commands: one line, non-zero, nothing changed.
    for args in [
        vec!["role", "add", "--client", "nobody", "--name", "x"],
        vec!["role", "add", "--client", "web", "--name", "viewer"],
        vec!["role", "grant", "--client", "web", "--name", "viewer", "--user", "nobody"],
        vec!["role", "grant", "--client", "web", "--name", "missing", "--group", "Staff"],
        vec!["role", "revoke", "--client", "web", "--name", "admin", "--user", "alice"],
    ] {
        let mut command = sigil_testkit::process::sigil(crate::bin(), db);
        command.args(&args);
        let ran = sigil_testkit::process::run(command);
        assert!(!ran.status.success(), "{args:?} succeeded");
        assert_eq!(ran.stderr.trim().lines().count(), 1, "{args:?}: {}", ran.stderr);
    }
    let all = cli(db, &["role", "list"]);
    assert_eq!(all.lines().count(), 5, "a header and the four roles, nothing more: {all}");
}

fn scim_shows_application_roles_read_only(db: &TestDb) {
    cli(db, &["user", "add", "--username", "alice", "--password", PASSWORD, "--group", "Engineering"]);
    cli(db, &["user", "add", "--username", "bob", "--password", PASSWORD]);
    cli(db, &["client", "add", "--id", "web", "--redirect-uri", RP]);
    let server = Server::start(crate::bin(), db, &[]);
    let scim =
        Scim { server: &server, http: rp_http(), token: token(db, &server, "provisioner", "scim:write") };
    let query = |filter: &str| {
        let url = Url::parse_with_params("http://x/", &[("filter", filter)]).unwrap();
        url.query().unwrap().to_owned()
    };
    let (_, _, found) = scim.get(&format!("/Groups?{}", query("displayName eq \"Engineering\"")));
    let engineering = found["Resources"][0]["id"].as_str().unwrap().to_owned();
    let (_, _, staff) = scim.send(
        "POST",
        "/Groups",
        Some(&json!({ "displayName": "Staff", "members": [{ "value": engineering, "type": "Group" }] })),
        &[],
    );
    let staff = staff["id"].as_str().unwrap().to_owned();
    for args in [
        vec!["role", "add", "--client", "web", "--name", "editor"],
        vec!["role", "grant", "--client", "web", "--name", "editor", "--group", "Staff"],
    ] {
        cli(db, &args);
    }

    // alice holds `editor` through Engineering inside Staff; her stored
    // role, written by the provisioning client, sits beside it.
    let (_, _, alice) = scim.get(&format!("/Users?{}", query("userName eq \"alice\"")));
    let alice_id = alice["Resources"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/Users/{alice_id}");
    let patch = crate::scim_patch::patch_body(json!([
        { "op": "add", "path": "roles", "value": [{ "value": "Approver", "type": "hr" }] }
    ]));
    let (status, _, patched) = scim.send("PATCH", &path, Some(&patch), &[]);
    assert_eq!(status, 200, "{patched}");
    assert_eq!(
        patched["roles"],
        json!([{ "value": "Approver", "type": "hr", "primary": false }, { "value": "editor", "type": "web" }])
    );
    let (_, _, group) = scim.get(&format!("/Groups/{staff}"));
    let extension = "urn:ietf:params:scim:schemas:extension:sigil:2.0:Group";
    assert_eq!(group[extension]["roles"], json!([{ "value": "editor", "type": "web" }]), "{group}");
    assert!(group["schemas"].as_array().unwrap().contains(&json!(extension)));

    // Filters see roles through nesting, on users and on groups.
    let (_, _, holders) =
        scim.get(&format!("/Users?{}", query("roles[type eq \"WEB\" and value eq \"editor\"]")));
    assert_eq!(holders["totalResults"], 1, "{holders}");
    assert_eq!(holders["Resources"][0]["userName"], "alice");
    let (_, _, granted) = scim.get(&format!("/Groups?{}", query("roles.value eq \"editor\"")));
    assert_eq!(granted["totalResults"], 1, "{granted}");

    // Read-only: sending the computed entry back (PUT of what GET gave, or
    // to bob) stores nothing; revoking the grant takes it away.
    let (_, _, current) = scim.get(&path);
    let (status, _, replaced) = scim.send("PUT", &path, Some(&current), &[]);
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["roles"], current["roles"]);
    let (_, _, bob) = scim.get(&format!("/Users?{}", query("userName eq \"bob\"")));
    let bob_path = format!("/Users/{}", bob["Resources"][0]["id"].as_str().unwrap());
    let claim = crate::scim_patch::patch_body(json!([
        { "op": "add", "path": "roles", "value": [{ "value": "EDITOR", "type": "web" }] }
    ]));
    let (status, _, bob) = scim.send("PATCH", &bob_path, Some(&claim), &[]);
    assert_eq!(status, 200, "{bob}");
    assert!(bob.get("roles").is_none(), "a client cannot grant itself an application role: {bob}");
    cli(db, &["role", "revoke", "--client", "web", "--name", "editor", "--group", "Staff"]);
    let (_, _, after) = scim.get(&path);
    assert_eq!(after["roles"], json!([{ "value": "Approver", "type": "hr", "primary": false }]));
    let (_, _, group) = scim.get(&format!("/Groups/{staff}"));
    assert!(group.get(extension).is_none(), "{group}");
    let (_, _, schemas) = scim.get(&format!("/Schemas/{extension}"));
    assert_eq!(schemas["attributes"][0]["mutability"], "readOnly", "{schemas}");
}
