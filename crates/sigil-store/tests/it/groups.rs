//! Groups: unique names, idempotent membership, nesting without cycles,
//! members changed many at a time by id.

use std::collections::HashSet;

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
    change_members_adds_and_removes_by_id_in_one_version,
    change_members_refuses_what_add_member_refuses,
    change_members_of_thousands_and_replace_keep_positions,
    a_snapshot_read_sees_the_members_of_the_version_it_read,
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

fn ids(members: &[Member]) -> Vec<&str> {
    members.iter().map(Member::id).collect()
}

fn change_members_adds_and_removes_by_id_in_one_version(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    let [a, b, c, d] = <[String; 4]>::try_from(support::users_named(&store, "u", 4)).unwrap();
    let inner = store.write_blocking(|conn| groups::find_or_create(conn, "inner", now)).unwrap();
    let group = store
        .write_blocking(|conn| {
            groups::insert_with_members(
                conn,
                Group::new("staff"),
                &[Member::User(a.clone()), Member::User(b.clone())],
                now,
            )
        })
        .unwrap();
    let user = |id: &String| Member::User(id.clone());

    // Present and repeated members are left alone; unknown removals too.
    let add = [user(&c), user(&a), user(&c), Member::Group(inner.id.clone()), user(&d)];
    let changed = store
        .write_blocking(|conn| groups::change_members(conn, &group.id, &add, &[&b, "nobody"], Some(1), now))
        .unwrap();
    assert_eq!(changed.meta.version, 2, "one change, one version step");
    let members = store.read_blocking(|conn| groups::members(conn, &group.id)).unwrap();
    assert_eq!(ids(&members), [a.as_str(), c.as_str(), inner.id.as_str(), d.as_str()]);

    // Nothing to do: the version stays; a stale expected version is refused.
    let same = store
        .write_blocking(|conn| groups::change_members(conn, &group.id, &[user(&a)], &[&b], Some(2), now))
        .unwrap();
    assert_eq!(same.meta.version, 2);
    let stale = store
        .write_blocking(|conn| groups::change_members(conn, &group.id, &[user(&b)], &[], Some(1), now))
        .unwrap_err();
    assert!(matches!(stale, StoreError::VersionMismatch), "{stale:?}");

    // An id in both goes and comes back last.
    store
        .write_blocking(|conn| groups::change_members(conn, &group.id, &[user(&a)], &[&a], None, now))
        .unwrap();
    let members = store.read_blocking(|conn| groups::members(conn, &group.id)).unwrap();
    assert_eq!(ids(&members), [c.as_str(), inner.id.as_str(), d.as_str(), a.as_str()]);

    let among = store
        .read_blocking(|conn| groups::members_among(conn, &group.id, &[&a, &b, &inner.id, "nobody"]))
        .unwrap();
    let mut among: Vec<&str> = ids(&among);
    among.sort_unstable();
    let mut expected = vec![a.as_str(), inner.id.as_str()];
    expected.sort_unstable();
    assert_eq!(among, expected);
    let existing =
        store.read_blocking(|conn| groups::existing_ids(conn, &[&a, &inner.id, "nobody"])).unwrap();
    assert_eq!(existing.users, HashSet::from([a.clone()]));
    assert_eq!(existing.groups, HashSet::from([inner.id.clone()]));
}

fn change_members_refuses_what_add_member_refuses(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    let [top, middle, bottom] = ["top", "middle", "bottom"]
        .map(|name| store.write_blocking(|conn| groups::find_or_create(conn, name, now)).unwrap());
    let nest = |parent: &Group, child: &Group| {
        store
            .write_blocking(|conn| {
                groups::add_member(conn, &parent.id, &Member::Group(child.id.clone()), now)
            })
            .unwrap();
    };
    nest(&top, &middle);
    nest(&middle, &bottom);
    let users = support::users_named(&store, "u", 2);
    let version = store.read_blocking(|conn| groups::get(conn, &bottom.id)).unwrap().meta.version;
    for (child, what) in [(&top, "two levels up"), (&middle, "its parent"), (&bottom, "itself")] {
        let add = [Member::User(users[0].clone()), Member::Group(child.id.clone())];
        let err = store
            .write_blocking(|conn| groups::change_members(conn, &bottom.id, &add, &[], None, now))
            .unwrap_err();
        match err {
            StoreError::Invalid(why) => assert!(why.contains(&child.id), "{what}: {why}"),
            other => panic!("{what}: {other:?}"),
        }
    }
    let missing = [Member::User(users[1].clone()), Member::User("no-such-user".into())];
    let err = store
        .write_blocking(|conn| groups::change_members(conn, &bottom.id, &missing, &[], None, now))
        .unwrap_err();
    assert!(matches!(err, StoreError::MissingReference(_)), "{err:?}");
    let after = store.read_blocking(|conn| groups::get(conn, &bottom.id)).unwrap();
    assert_eq!(after.meta.version, version, "a refused change writes nothing");
    assert!(store.read_blocking(|conn| groups::members(conn, &bottom.id)).unwrap().is_empty());
    let err = store
        .write_blocking(|conn| groups::change_members(conn, "no-such-group", &[], &[], None, now))
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
}

/// More members than one statement binds, both ways, and `replace` (the
/// generic path) appending after them in order.
fn change_members_of_thousands_and_replace_keep_positions(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    let users = support::users_named(&store, "u", 2_600);
    let group = store.write_blocking(|conn| groups::insert(conn, Group::new("many"), now)).unwrap();
    let first: Vec<Member> = users[..2_500].iter().cloned().map(Member::User).collect();
    store.write_blocking(|conn| groups::change_members(conn, &group.id, &first, &[], Some(1), now)).unwrap();
    let gone: Vec<&str> = users[..1_200].iter().map(String::as_str).collect();
    let changed = store
        .write_blocking(|conn| groups::change_members(conn, &group.id, &[], &gone, Some(2), now))
        .unwrap();
    assert_eq!(changed.meta.version, 3);
    let mut wanted: Vec<Member> = users[1_200..2_500].iter().cloned().map(Member::User).collect();
    wanted.extend(users[2_500..].iter().rev().cloned().map(Member::User));
    let replaced =
        store.write_blocking(|conn| groups::replace(conn, &group.id, None, &wanted, Some(3), now)).unwrap();
    assert_eq!(replaced.meta.version, 4);
    let members = store.read_blocking(|conn| groups::members(conn, &group.id)).unwrap();
    assert_eq!(members, wanted, "kept in their order, new ones after them in the order given");
}

/// What a response with an ETag needs: the members read after a
/// concurrent commit are still those of the version read before it.
fn a_snapshot_read_sees_the_members_of_the_version_it_read(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    let users = support::users_named(&store, "u", 2);
    let group = store
        .write_blocking(|c| {
            groups::insert_with_members(c, Group::new("g"), &[Member::User(users[0].clone())], now)
        })
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (other, id, late) = (store.clone(), group.id.clone(), Member::User(users[1].clone()));
    let (version, members) = runtime
        .block_on(store.read_snapshot(move |c| {
            let version = groups::get(c, &id)?.meta.version;
            other.write_blocking(|w| groups::add_member(w, &id, &late, now))?;
            Ok::<_, StoreError>((version, groups::members(c, &id)?))
        }))
        .unwrap();
    assert_eq!((version, members), (1, vec![Member::User(users[0].clone())]));
    assert_eq!(store.read_blocking(|c| groups::members(c, &group.id)).unwrap().len(), 2, "the write landed");
}
