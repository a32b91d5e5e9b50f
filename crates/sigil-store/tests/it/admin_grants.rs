//! Built-in role grants: to users, groups (through nesting) and clients;
//! idempotent, revocable, gone with their grantee, names checked.

use sigil_store::admin_grants::{self, Grantee};
use sigil_store::groups::{self, Member};
use sigil_store::users::{self, User};
use sigil_store::{StoreError, clients};
use sigil_testkit::{TestDb, backend_tests};

use crate::support;

backend_tests!(
    roles_reach_users_through_nested_groups,
    clients_hold_roles_of_their_own,
    grants_go_with_their_grantee,
    unknown_grantees_and_role_names_are_refused,
    twenty_grants_of_a_built_in_role_grant_it_once,
);

fn roles_reach_users_through_nested_groups(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    let (user, outer) = store
        .write_blocking(|c| {
            let user = users::insert(c, User::new("olga"), now)?;
            let inner = groups::find_or_create(c, "Night Shift", now)?;
            let outer = groups::find_or_create(c, "Operations", now)?;
            groups::add_member(c, &inner.id, &Member::User(user.id.clone()), now)?;
            groups::add_member(c, &outer.id, &Member::Group(inner.id.clone()), now)?;
            Ok::<_, sigil_store::StoreError>((user, outer))
        })
        .unwrap();
    let held = |store: &sigil_store::Store| {
        store.read_blocking(|c| admin_grants::held_by_user(c, &user.id)).unwrap()
    };
    assert!(held(&store).is_empty());
    let group = Grantee::Group(outer.id.clone());
    assert!(store.write_blocking(|c| admin_grants::grant(c, "auditor", &group, now)).unwrap());
    assert!(
        !store.write_blocking(|c| admin_grants::grant(c, "auditor", &group, now)).unwrap(),
        "twice is once"
    );
    let direct = Grantee::User(user.id.clone());
    store.write_blocking(|c| admin_grants::grant(c, "user-admin", &direct, now)).unwrap();
    assert_eq!(held(&store), ["auditor", "user-admin"]);
    let listed = store.read_blocking(admin_grants::list).unwrap();
    let names: Vec<(&str, &str)> =
        listed.iter().map(|g| (g.role.as_str(), g.grantee_name.as_str())).collect();
    assert_eq!(names, [("auditor", "Operations"), ("user-admin", "olga")]);
    assert!(store.write_blocking(|c| admin_grants::revoke(c, "auditor", &group)).unwrap());
    assert!(!store.write_blocking(|c| admin_grants::revoke(c, "auditor", &group)).unwrap());
    assert_eq!(held(&store), ["user-admin"]);
}

fn clients_hold_roles_of_their_own(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    store.write_blocking(|c| clients::insert(c, support::client("entra", now), now)).unwrap();
    let client = Grantee::Client("entra".into());
    store.write_blocking(|c| admin_grants::grant(c, "service-account", &client, now)).unwrap();
    assert_eq!(
        store.read_blocking(|c| admin_grants::held_by_client(c, "entra")).unwrap(),
        ["service-account"]
    );
    assert!(store.read_blocking(|c| admin_grants::held_by_client(c, "other")).unwrap().is_empty());
}

fn grants_go_with_their_grantee(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    let user = store.write_blocking(|c| users::insert(c, User::new("gone"), now)).unwrap();
    store.write_blocking(|c| clients::insert(c, support::client("old", now), now)).unwrap();
    store
        .write_blocking(|c| {
            admin_grants::grant(c, "platform-operator", &Grantee::User(user.id.clone()), now)?;
            admin_grants::grant(c, "service-account", &Grantee::Client("old".into()), now)
        })
        .unwrap();
    store.write_blocking(|c| users::delete(c, &user.id, store.now())).unwrap();
    store.write_blocking(|c| clients::delete(c, "old")).unwrap();
    assert!(store.read_blocking(admin_grants::list).unwrap().is_empty());
}

fn unknown_grantees_and_role_names_are_refused(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    let err = store
        .write_blocking(|c| admin_grants::grant(c, "auditor", &Grantee::User("no-such-user".into()), now))
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    let user = store.write_blocking(|c| users::insert(c, User::new("ivan"), now)).unwrap();
    let err = store
        .write_blocking(|c| admin_grants::grant(c, "superuser", &Grantee::User(user.id.clone()), now))
        .unwrap_err();
    assert!(!matches!(err, StoreError::NotFound), "the schema refuses unknown roles: {err:?}");
    assert!(store.read_blocking(admin_grants::list).unwrap().is_empty());
}

/// Twenty grants of one built-in role to one grantee at once, for each kind
/// of grantee: one grants it, the others find it granted; none fails on the
/// primary key.
fn twenty_grants_of_a_built_in_role_grant_it_once(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    let (user, group) = store
        .write_blocking(|c| {
            clients::insert(c, support::client("entra", now), now)?;
            let user = users::insert(c, User::new("olga"), now)?;
            let group = groups::find_or_create(c, "Operations", now)?;
            Ok::<_, StoreError>((user.id, group.id))
        })
        .unwrap();
    let grantees = [Grantee::User(user), Grantee::Group(group), Grantee::Client("entra".into())];
    for grantee in &grantees {
        let results = support::race(&store, 20, |store, _| {
            store.write_blocking(|c| admin_grants::grant(c, "auditor", grantee, now))
        });
        let granted = results.iter().filter(|r| matches!(r, Ok(true))).count();
        let found = results.iter().filter(|r| matches!(r, Ok(false))).count();
        assert_eq!((granted, found), (1, 19), "{grantee:?}: {results:?}");
    }
    let listed = store.read_blocking(admin_grants::list).unwrap();
    let mut holders: Vec<Grantee> = listed.into_iter().map(|g| g.grantee).collect();
    holders.sort();
    assert_eq!(holders, grantees);
}
