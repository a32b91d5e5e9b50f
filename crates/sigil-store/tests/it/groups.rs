//! Groups: unique names, idempotent membership, nesting without cycles.

use sigil_store::groups::{self, Group, Member};
use sigil_store::users::{self, User};
use sigil_store::{StoreError, Unique};
use sigil_testkit::{TestDb, backend_tests};

use crate::support;

backend_tests!(
    display_name_is_unique_in_any_letter_case,
    find_or_create_reuses_the_existing_group,
    membership_is_idempotent_and_bumps_version,
    nested_groups_cannot_form_a_cycle,
    membership_of_a_missing_user_is_refused,
    deleting_a_group_removes_its_memberships,
);

fn display_name_is_unique_in_any_letter_case(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    store.write_blocking(|c| groups::insert(c, Group::new("Tour Guides"), now)).unwrap();
    let err = store.write_blocking(|c| groups::insert(c, Group::new("tour guides"), now)).unwrap_err();
    assert!(matches!(err, StoreError::Conflict(Unique::GroupDisplayName)), "{err:?}");
}

fn find_or_create_reuses_the_existing_group(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    let a = store.write_blocking(|c| groups::find_or_create(c, "Admins", now)).unwrap();
    let b = store.write_blocking(|c| groups::find_or_create(c, "ADMINS", now)).unwrap();
    assert_eq!(a.id, b.id);
    assert_eq!(b.display_name, "Admins", "the original spelling is kept");
    assert_eq!(store.read_blocking(|c| groups::list(c, 0, 10)).unwrap().len(), 1);
}

fn membership_is_idempotent_and_bumps_version(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    let user = store.write_blocking(|c| users::insert(c, User::new("erin"), now)).unwrap();
    let group = store.write_blocking(|c| groups::find_or_create(c, "staff", now)).unwrap();
    let member = Member::User(user.id.clone());
    assert!(store.write_blocking(|c| groups::add_member(c, &group.id, &member, now)).unwrap());
    assert!(!store.write_blocking(|c| groups::add_member(c, &group.id, &member, now)).unwrap());
    let after = store.read_blocking(|c| groups::get(c, &group.id)).unwrap();
    assert_eq!(after.meta.version, 2, "one real change, one version step");
    assert_eq!(store.read_blocking(|c| groups::members(c, &group.id)).unwrap(), vec![member]);
    let of_user = store.read_blocking(|c| groups::groups_of_user(c, &user.id)).unwrap();
    assert_eq!(of_user.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(), [group.id.as_str()]);
    assert!(store.write_blocking(|c| groups::remove_member(c, &group.id, &user.id, now)).unwrap());
    assert!(store.read_blocking(|c| groups::members(c, &group.id)).unwrap().is_empty());
}

fn nested_groups_cannot_form_a_cycle(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    let [a, b, c] = ["a", "b", "c"]
        .map(|name| store.write_blocking(|conn| groups::find_or_create(conn, name, now)).unwrap());
    store.write_blocking(|conn| groups::add_member(conn, &a.id, &Member::Group(b.id.clone()), now)).unwrap();
    store.write_blocking(|conn| groups::add_member(conn, &b.id, &Member::Group(c.id.clone()), now)).unwrap();
    for (parent, child) in [(&c, &a), (&c, &b), (&a, &a)] {
        let err = store
            .write_blocking(|conn| {
                groups::add_member(conn, &parent.id, &Member::Group(child.id.clone()), now)
            })
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Invalid(_)),
            "{} in {}: {err:?}",
            child.display_name,
            parent.display_name
        );
    }
    assert!(store.read_blocking(|conn| groups::members(conn, &c.id)).unwrap().is_empty());
}

fn membership_of_a_missing_user_is_refused(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    let group = store.write_blocking(|c| groups::find_or_create(c, "staff", now)).unwrap();
    let err = store
        .write_blocking(|c| groups::add_member(c, &group.id, &Member::User("no-such-user".into()), now))
        .unwrap_err();
    assert!(matches!(err, StoreError::MissingReference(_)), "{err:?}");
    assert_eq!(store.read_blocking(|c| groups::get(c, &group.id)).unwrap().meta.version, 1);
}

fn deleting_a_group_removes_its_memberships(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    let outer = store.write_blocking(|c| groups::find_or_create(c, "outer", now)).unwrap();
    let inner = store.write_blocking(|c| groups::find_or_create(c, "inner", now)).unwrap();
    store
        .write_blocking(|c| groups::add_member(c, &outer.id, &Member::Group(inner.id.clone()), now))
        .unwrap();
    assert!(store.write_blocking(|c| groups::delete(c, &inner.id, now)).unwrap());
    assert!(store.read_blocking(|c| groups::members(c, &outer.id)).unwrap().is_empty());
}
