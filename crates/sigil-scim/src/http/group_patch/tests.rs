//! The member path held to the general one: each case is one PATCH body,
//! fed to both on the same stored state (each in a write that is rolled
//! back), and both must end in the same group, or fail with the same
//! error, on both backends.

use serde_json::{Value, json};
use sigil_access::Role;
use sigil_store::admin_grants::{self, Grantee};
use sigil_store::groups::{self, Group, Member};
use sigil_store::users::{self, User};
use sigil_store::{AnyConnection, DatabaseUrl, PoolOptions, Store, StoreError};
use sigil_testkit::{TestDb, backend_tests};

use super::change_members;
use crate::ScimError;
use crate::http::write::{Actor, load_group, patch_group_json};
use crate::patch::member_changes;

backend_tests!(both_paths_agree_on_every_member_patch);

const BASE: &str = "https://sigil.example/scim/v2";

fn open(db: &TestDb) -> Store {
    let store = Store::open(&DatabaseUrl::parse(db.url()).unwrap(), &PoolOptions::default()).unwrap();
    store.migrate().unwrap();
    store
}

/// The records every case starts from.
struct Fixture {
    /// u0 and u1 are members of `target`; u2 and u3 are not.
    users: Vec<String>,
    /// Members u0, u1, `inner`, inside `outer`.
    target: String,
    inner: String,
    outer: String,
    /// A group in no other.
    spare: String,
    /// A group that confers platform-operator to its members.
    operators: String,
}

fn fixture(store: &Store) -> Fixture {
    let now = store.now();
    store
        .write_blocking(|c| {
            let users: Vec<String> = (0..4)
                .map(|i| Ok(users::insert(c, User::new(format!("u{i}")), now)?.id))
                .collect::<Result<_, StoreError>>()?;
            let inner = groups::insert(c, Group::new("inner"), now)?.id;
            let spare = groups::insert(c, Group::new("spare"), now)?.id;
            let members = [
                Member::User(users[0].clone()),
                Member::User(users[1].clone()),
                Member::Group(inner.clone()),
            ];
            let target = groups::insert_with_members(c, Group::new("target"), &members, now)?.id;
            let outer =
                groups::insert_with_members(c, Group::new("outer"), &[Member::Group(target.clone())], now)?
                    .id;
            let operators = groups::insert(c, Group::new("operators"), now)?.id;
            admin_grants::grant(c, Role::PlatformOperator.as_str(), &Grantee::Group(operators.clone()), now)?;
            Ok::<_, StoreError>(Fixture { users, target, inner, outer, spare, operators })
        })
        .unwrap()
}

/// What a PATCH came to: the group as stored afterwards, or the error.
type Outcome = Result<Value, String>;

/// Runs `patch` in a write that is rolled back whatever happens, so every
/// case starts from the fixture.
fn outcome(
    store: &Store,
    group: &str,
    patch: impl FnOnce(&mut AnyConnection) -> Result<(), ScimError>,
) -> Outcome {
    enum Undone {
        With(Outcome),
        Store(StoreError),
    }
    impl From<StoreError> for Undone {
        fn from(e: StoreError) -> Self {
            Self::Store(e)
        }
    }
    let ran = store.write_blocking(|c| {
        let result = patch(c).map_err(|e| e.to_string());
        let result =
            result.and_then(|()| load_group(c, group, BASE).map(|(v, _)| v).map_err(|e| e.to_string()));
        Err::<(), _>(Undone::With(result))
    });
    match ran {
        Err(Undone::With(result)) => result,
        Err(Undone::Store(e)) => panic!("the rollback failed: {e}"),
        Ok(()) => unreachable!("the write always fails"),
    }
}

fn body(operations: Value) -> Value {
    let mut body = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"] });
    body["Operations"] = operations;
    body
}

fn both_paths_agree_on_every_member_patch(db: &TestDb) {
    let store = open(db);
    let f = fixture(&store);
    let [u0, u1, u2, u3] = [0, 1, 2, 3].map(|i| f.users[i].as_str());
    let (target, inner, outer, spare, operators) =
        (f.target.as_str(), f.inner.as_str(), f.outer.as_str(), f.spare.as_str(), f.operators.as_str());
    let add = |values: Value| json!({ "op": "add", "path": "members", "value": values });
    let take_out = |id: &str| json!({ "op": "remove", "path": format!("members[value eq \"{id}\"]") });
    let drop_values = |values: Value| json!({ "op": "remove", "path": "members", "value": values });
    let v = |id: &str| json!({ "value": id });

    let operator = Actor::with_roles(vec![Role::PlatformOperator]);
    let user_admin = Actor::with_roles(vec![Role::UserAdmin]);
    // (what, group, body, If-Match, writer)
    let cases: Vec<(&str, &str, Value, Option<&str>, &Actor)> = vec![
        ("two new users", target, json!([add(json!([v(u2), v(u3)]))]), None, &operator),
        ("one value, not in a list", target, json!([add(v(u2))]), None, &operator),
        ("named twice", target, json!([add(json!([v(u2), v(u2)]))]), None, &operator),
        ("already there", target, json!([add(json!([v(u0)]))]), None, &operator),
        (
            "already there, with the wrong type",
            target,
            json!([add(json!([{ "value": u0, "type": "Group" }]))]),
            None,
            &operator,
        ),
        (
            "a new one with the wrong type",
            target,
            json!([add(json!([{ "value": u2, "type": "Group" }]))]),
            None,
            &operator,
        ),
        (
            "named twice, typed the second time",
            target,
            json!([add(json!([v(u2), { "value": u2, "type": "Group" }]))]),
            None,
            &operator,
        ),
        (
            "typed, with Okta's null $ref",
            target,
            json!([add(json!([{ "value": u2, "type": "User", "$ref": null, "display": "x" }]))]),
            None,
            &operator,
        ),
        ("an unknown id", target, json!([add(json!([v(u2), v("nobody")]))]), None, &operator),
        ("a group", target, json!([add(json!([v(spare)]))]), None, &operator),
        (
            "a group containing it",
            target,
            json!([add(json!([v(u2), { "value": outer, "type": "Group" }]))]),
            None,
            &operator,
        ),
        ("itself", target, json!([add(json!([v(target)]))]), None, &operator),
        (
            "path-less, with ignored keys",
            target,
            json!([{ "op": "Add", "value": { "members": [v(u3)], "id": "x", "meta": {}, "schemas": [] } }]),
            None,
            &operator,
        ),
        (
            "path-less, two spellings",
            target,
            json!([{ "op": "add", "value": { "Members": [v(u3)], "members": [v(u2)] } }]),
            None,
            &operator,
        ),
        (
            "URN-qualified path",
            target,
            json!([{ "op": "add", "path": "urn:ietf:params:scim:schemas:core:2.0:Group:members", "value": [v(u2)] }]),
            None,
            &operator,
        ),
        ("nothing", target, json!([add(json!([]))]), None, &operator),
        ("remove by filter", target, json!([take_out(u1)]), None, &operator),
        ("remove a group by filter", target, json!([take_out(inner)]), None, &operator),
        (
            "remove a non-member by filter",
            target,
            json!([add(json!([v(u2)])), take_out(u3)]),
            None,
            &operator,
        ),
        ("remove by filter twice", target, json!([take_out(u1), take_out(u1)]), None, &operator),
        (
            "remove by filter in another letter case",
            target,
            json!([take_out(&u1.to_uppercase())]),
            None,
            &operator,
        ),
        (
            "remove by filter with a value",
            target,
            json!([{ "op": "Remove", "path": format!("members[VALUE eq \"{u1}\"]"), "value": [v(u0)] }]),
            None,
            &operator,
        ),
        (
            "remove values",
            target,
            json!([drop_values(json!([v(u1), v(u3), { "value": inner, "display": "ignored" }]))]),
            None,
            &operator,
        ),
        ("remove one value, not in a list", target, json!([drop_values(v(u0))]), None, &operator),
        ("remove then add back", target, json!([take_out(u0), add(json!([v(u0)]))]), None, &operator),
        (
            "remove then add back typed wrongly",
            target,
            json!([take_out(u0), add(json!([{ "value": u0, "type": "Group" }]))]),
            None,
            &operator,
        ),
        ("add then remove", target, json!([add(json!([v(u2)])), take_out(u2)]), None, &operator),
        (
            "add, remove, add again after another",
            target,
            json!([add(json!([v(u2), v(u3)])), take_out(u2), add(json!([v(u2)]))]),
            None,
            &operator,
        ),
        (
            "add then remove values",
            target,
            json!([add(json!([v(u2), v(u3)])), drop_values(json!([v(u2), v(u0)]))]),
            None,
            &operator,
        ),
        (
            "everything",
            target,
            json!([
                add(json!([v(u3), v(spare)])),
                take_out(u1),
                drop_values(json!([v(inner)])),
                add(json!([v(u2)]))
            ]),
            None,
            &operator,
        ),
        ("If-Match current", target, json!([add(json!([v(u2)]))]), Some("W/\"1\""), &operator),
        ("If-Match any", target, json!([add(json!([v(u2)]))]), Some("*"), &operator),
        ("If-Match stale", target, json!([add(json!([v(u2)]))]), Some("W/\"7\""), &operator),
        (
            "If-Match stale and a filter matching nothing",
            target,
            json!([take_out(u3)]),
            Some("W/\"7\""),
            &operator,
        ),
        ("a role the writer does not hold", operators, json!([add(json!([v(u2)]))]), None, &user_admin),
        ("that, and nothing to change", operators, json!([drop_values(json!([v(u2)]))]), None, &user_admin),
        ("that, and a filter matching nothing", operators, json!([take_out(u2)]), None, &user_admin),
        ("that, and an unknown id", operators, json!([add(json!([v("nobody")]))]), None, &user_admin),
        ("no such group", "nowhere", json!([add(json!([v(u2)]))]), None, &operator),
    ];
    let layout = crate::group::patch_layout();
    let now = store.now();
    for (what, group, operations, if_match, actor) in cases {
        let body = body(operations);
        let changes = member_changes(&body, layout).unwrap_or_else(|| panic!("{what}: not a member change"));
        let general =
            outcome(&store, group, |c| patch_group_json(c, group, BASE, &body, if_match, actor, now));
        let members =
            outcome(&store, group, |c| change_members(c, group, &changes, if_match, actor, now).map(|_| ()));
        assert_eq!(members, general, "{what}");
    }

    // The outcomes are those the general path has always had.
    let check = |operations: Value, if_match: Option<&str>| {
        let body = body(operations);
        outcome(&store, target, |c| patch_group_json(c, target, BASE, &body, if_match, &operator, now))
    };
    let added = check(json!([add(json!([v(u2), v(u2)]))]), None).unwrap();
    let ids: Vec<&str> =
        added["members"].as_array().unwrap().iter().map(|m| m["value"].as_str().unwrap()).collect();
    assert_eq!(ids, [u0, u1, inner, u2]);
    assert_eq!(added["meta"]["version"], "W/\"2\"");
    assert_eq!(check(json!([add(json!([v(u0)]))]), None).unwrap()["meta"]["version"], "W/\"1\"");
    assert!(check(json!([take_out(u3)]), None).unwrap_err().starts_with("noTarget"));
    assert!(check(json!([add(json!([v("nobody")]))]), None).unwrap_err().starts_with("invalidValue"));
    assert_eq!(check(json!([add(json!([v(u2)]))]), Some("W/\"7\"")).unwrap_err(), "the resource has changed");
}

#[test]
fn only_member_changes_by_id_take_the_member_path() {
    let layout = crate::group::patch_layout();
    let taken = |operations: Value| member_changes(&body(operations), layout).is_some();
    assert!(taken(json!([{ "op": "add", "path": "members", "value": [{ "value": "a" }] }])));
    assert!(taken(json!([{ "op": "remove", "path": "members", "value": [{ "value": "a" }] }])));
    assert!(taken(json!([{ "op": "remove", "path": "members[value eq \"a\"]" }])));
    assert!(taken(json!([{ "op": "add", "value": { "members": [{ "value": "a" }], "meta": {} } }])));
    for (what, operations) in [
        ("no operation", json!([])),
        ("a rename beside", json!([{ "op": "add", "value": { "members": [], "displayName": "x" } }])),
        ("replace", json!([{ "op": "replace", "path": "members", "value": [{ "value": "a" }] }])),
        ("remove all", json!([{ "op": "remove", "path": "members" }])),
        ("a sub-attribute", json!([{ "op": "remove", "path": "members.display" }])),
        ("another filter", json!([{ "op": "remove", "path": "members[type eq \"User\"]" }])),
        (
            "a filter with or",
            json!([{ "op": "remove", "path": "members[value eq \"a\" or value eq \"b\"]" }]),
        ),
        ("add through a filter", json!([{ "op": "add", "path": "members[value eq \"a\"]", "value": {} }])),
        (
            "a value without `value`",
            json!([{ "op": "add", "path": "members", "value": [{ "display": "a" }] }]),
        ),
        ("`Value` in another case", json!([{ "op": "add", "path": "members", "value": [{ "Value": "a" }] }])),
        ("a number", json!([{ "op": "add", "path": "members", "value": [{ "value": 7 }] }])),
        (
            "an unknown type",
            json!([{ "op": "add", "path": "members", "value": [{ "value": "a", "type": "Role" }] }]),
        ),
        ("a string", json!([{ "op": "add", "path": "members", "value": ["a"] }])),
        ("null", json!([{ "op": "add", "path": "members", "value": null }])),
        ("remove with null", json!([{ "op": "remove", "path": "members", "value": null }])),
        ("another attribute", json!([{ "op": "add", "path": "externalId", "value": "x" }])),
        ("a malformed operation", json!([{ "op": "move", "path": "members" }])),
    ] {
        assert!(!taken(operations), "{what}");
    }
    assert!(member_changes(&json!({ "Operations": [] }), layout).is_none(), "no PatchOp schema");
}
