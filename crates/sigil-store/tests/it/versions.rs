//! Many writers on one versioned record at once, on both backends: a write
//! with a version wins only if no other write landed first, a write without
//! one always lands, and the record ends as some serial order of the
//! acknowledged writes left it. SQLite serializes writers by itself;
//! PostgreSQL's READ COMMITTED lets a plain "read the version, write
//! read + 1" pass twice, which these tests catch.

use std::collections::HashSet;

use sigil_store::StoreError;
use sigil_store::groups::{self, Group, Member};
use sigil_store::users::{self, User};
use sigil_testkit::{TestDb, backend_tests};

use crate::support::{self, one_winner};

backend_tests!(
    one_of_twenty_conditional_group_updates_wins,
    one_of_twenty_conditional_member_lists_wins,
    fifty_member_adds_without_a_version_all_land,
    fifty_read_modify_writes_of_a_member_list_all_land,
    twenty_adds_of_one_member_add_it_once,
    one_of_twenty_conditional_user_updates_wins,
    twenty_user_updates_without_a_version_all_land,
    deleted_members_move_their_groups_versions_on,
);

fn one_of_twenty_conditional_group_updates_wins(db: &TestDb) {
    let store = support::open(db);
    let group = store.write_blocking(|c| groups::insert(c, Group::new("g"), store.now())).unwrap();
    let id = group.id.clone();
    let results = support::race(&store, 20, move |store, i| {
        let renamed = Group { display_name: format!("g{i}"), ..group.clone() };
        store.write_blocking(|c| groups::update(c, &renamed, Some(1), store.now()))
    });
    let winner = one_winner(&results, |e| matches!(e, StoreError::VersionMismatch));
    let stored = store.read_blocking(|c| groups::get(c, &id)).unwrap();
    assert_eq!(stored.display_name, format!("g{winner}"));
    assert_eq!(stored.meta.version, 2);
}

fn one_of_twenty_conditional_member_lists_wins(db: &TestDb) {
    let store = support::open(db);
    let people = support::users_named(&store, "u", 20);
    let group = store.write_blocking(|c| groups::insert(c, Group::new("g"), store.now())).unwrap();
    let id = group.id.clone();
    let wanted = people.clone();
    let results = support::race(&store, 20, move |store, i| {
        let members = [Member::User(wanted[i].clone())];
        store.write_blocking(|c| groups::set_members(c, &group.id, &members, Some(1), store.now()))
    });
    let winner = one_winner(&results, |e| matches!(e, StoreError::VersionMismatch));
    let members = store.read_blocking(|c| groups::members(c, &id)).unwrap();
    assert_eq!(members, vec![Member::User(people[winner].clone())]);
    assert_eq!(store.read_blocking(|c| groups::get(c, &id)).unwrap().meta.version, 2);
}

fn fifty_member_adds_without_a_version_all_land(db: &TestDb) {
    let store = support::open(db);
    let people = support::users_named(&store, "u", 50);
    let group = store.write_blocking(|c| groups::insert(c, Group::new("g"), store.now())).unwrap();
    let (id, added) = (group.id.clone(), people.clone());
    let results = support::race(&store, 50, move |store, i| {
        store.write_blocking(|c| {
            groups::add_member(c, &group.id, &Member::User(added[i].clone()), store.now())
        })
    });
    for result in &results {
        assert!(matches!(result, Ok(true)), "{results:?}");
    }
    let members: HashSet<Member> =
        store.read_blocking(|c| groups::members(c, &id)).unwrap().into_iter().collect();
    assert_eq!(members, people.into_iter().map(Member::User).collect());
    assert_eq!(store.read_blocking(|c| groups::get(c, &id)).unwrap().meta.version, 51);
}

/// What a SCIM PATCH without If-Match does: lock, read the member list,
/// write it back with one more, with the version read.
fn fifty_read_modify_writes_of_a_member_list_all_land(db: &TestDb) {
    let store = support::open(db);
    let people = support::users_named(&store, "u", 50);
    let group = store.write_blocking(|c| groups::insert(c, Group::new("g"), store.now())).unwrap();
    let (id, added) = (group.id.clone(), people.clone());
    let results = support::race(&store, 50, move |store, i| {
        store.write_blocking(|c| {
            let version = groups::lock(c, &group.id)?.meta.version;
            let mut members = groups::members(c, &group.id)?;
            members.push(Member::User(added[i].clone()));
            groups::set_members(c, &group.id, &members, Some(version), store.now())
        })
    });
    let acknowledged = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(acknowledged, 50, "{results:?}");
    let members = store.read_blocking(|c| groups::members(c, &id)).unwrap();
    assert_eq!(members.len(), 50);
    assert_eq!(members.into_iter().collect::<HashSet<_>>(), people.into_iter().map(Member::User).collect());
    assert_eq!(store.read_blocking(|c| groups::get(c, &id)).unwrap().meta.version, 51);
}

/// A membership is a one-time value: of twenty adds of the same member, one
/// adds it and the others find it there; none fails on the primary key.
fn twenty_adds_of_one_member_add_it_once(db: &TestDb) {
    let store = support::open(db);
    let person = support::users_named(&store, "u", 1).remove(0);
    let group = store.write_blocking(|c| groups::insert(c, Group::new("g"), store.now())).unwrap();
    let (id, member) = (group.id.clone(), Member::User(person));
    let results = support::race(&store, 20, move |store, _| {
        store.write_blocking(|c| groups::add_member(c, &group.id, &member, store.now()))
    });
    let added = results.iter().filter(|r| matches!(r, Ok(true))).count();
    let found = results.iter().filter(|r| matches!(r, Ok(false))).count();
    assert_eq!((added, found), (1, 19), "{results:?}");
    assert_eq!(store.read_blocking(|c| groups::members(c, &id)).unwrap().len(), 1);
    assert_eq!(store.read_blocking(|c| groups::get(c, &id)).unwrap().meta.version, 2);
}

fn one_of_twenty_conditional_user_updates_wins(db: &TestDb) {
    let store = support::open(db);
    let user = store.write_blocking(|c| users::insert(c, User::new("alice"), store.now())).unwrap();
    let id = user.id.clone();
    let results = support::race(&store, 20, move |store, i| {
        let mut changed = user.clone();
        changed.display_name = Some(format!("Alice {i}"));
        store.write_blocking(|c| users::update(c, changed, Some(1), store.now()))
    });
    let winner = one_winner(&results, |e| matches!(e, StoreError::VersionMismatch));
    let stored = store.read_blocking(|c| users::get(c, &id)).unwrap();
    assert_eq!(stored.display_name, Some(format!("Alice {winner}")));
    assert_eq!(stored.meta.version, 2);
}

fn twenty_user_updates_without_a_version_all_land(db: &TestDb) {
    let store = support::open(db);
    let user = store.write_blocking(|c| users::insert(c, User::new("alice"), store.now())).unwrap();
    let id = user.id.clone();
    let results = support::race(&store, 20, move |store, i| {
        let mut changed = user.clone();
        changed.display_name = Some(format!("Alice {i}"));
        store.write_blocking(|c| users::update(c, changed, None, store.now()))
    });
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let stored = store.read_blocking(|c| users::get(c, &id)).unwrap();
    assert_eq!(stored.meta.version, 21);
    let last = results.iter().map(|r| r.as_ref().unwrap()).max_by_key(|u| u.meta.version).unwrap();
    assert_eq!(stored.display_name, last.display_name);
}

/// A member's rows go with it by cascade; the groups that lose it must
/// still change version, or an If-Match taken before would pass. Twenty
/// members deleted at once: twenty versions on, no member left.
fn deleted_members_move_their_groups_versions_on(db: &TestDb) {
    let store = support::open(db);
    let people = support::users_named(&store, "u", 20);
    let (group, parent) = store
        .write_blocking(|c| {
            let group = groups::insert(c, Group::new("g"), store.now())?;
            let parent = groups::insert(c, Group::new("parent"), store.now())?;
            for id in &people {
                groups::add_member(c, &group.id, &Member::User(id.clone()), store.now())?;
            }
            groups::add_member(c, &parent.id, &Member::Group(group.id.clone()), store.now())?;
            Ok::<_, StoreError>((group.id, parent.id))
        })
        .unwrap();
    let gone = people.clone();
    let results = support::race(&store, 20, move |store, i| {
        store.write_blocking(|c| users::delete(c, &gone[i], store.now()))
    });
    assert!(results.iter().all(|r| matches!(r, Ok(true))), "{results:?}");
    assert!(store.read_blocking(|c| groups::members(c, &group)).unwrap().is_empty());
    assert_eq!(store.read_blocking(|c| groups::get(c, &group)).unwrap().meta.version, 41);

    assert!(store.write_blocking(|c| groups::delete(c, &group, store.now())).unwrap());
    assert!(store.read_blocking(|c| groups::members(c, &parent)).unwrap().is_empty());
    assert_eq!(store.read_blocking(|c| groups::get(c, &parent)).unwrap().meta.version, 3);
}
