//! Application roles under concurrent writers, on both backends: a role is
//! defined once, granted to a holder once, and its removal leaves no grant
//! behind, whatever runs at the same moment.

use std::collections::HashSet;

use sigil_store::groups::{self, Group, Member};
use sigil_store::roles::{self, Holder, Role};
use sigil_store::{Store, StoreError, Unique, clients};
use sigil_testkit::{TestDb, backend_tests};

use crate::support::{self, one_winner};

backend_tests!(
    one_of_twenty_definitions_of_a_role_wins,
    twenty_grants_of_a_role_to_one_holder_grant_it_once,
    grants_of_a_role_to_fifty_holders_all_land,
    grants_racing_their_roles_removal_leave_no_grant,
    grants_racing_their_holders_deletion_leave_no_grant,
);

/// The client `web`, which defines the roles.
fn web(store: &Store) {
    let now = store.now();
    store.write_blocking(|c| clients::insert(c, support::client("web", now), now)).unwrap();
}

fn define(store: &Store, name: &str) -> Role {
    store.write_blocking(|c| roles::define(c, "web", name, None, store.now())).unwrap()
}

/// Twenty definitions of one role name: one defines it, the others are told
/// the name is taken (never a bare database error), and the role kept is the
/// winner's.
fn one_of_twenty_definitions_of_a_role_wins(db: &TestDb) {
    let store = support::open(db);
    web(&store);
    let results = support::race(&store, 20, |store, i| {
        let description = format!("editor {i}");
        store.write_blocking(|c| roles::define(c, "web", "editor", Some(&description), store.now()))
    });
    let winner = one_winner(&results, |e| matches!(e, StoreError::Conflict(Unique::RoleName)));
    let defined = store.read_blocking(|c| roles::list(c, Some("web"))).unwrap();
    assert_eq!(defined.len(), 1, "{defined:?}");
    assert_eq!(&defined[0], results[winner].as_ref().unwrap());
    assert_eq!(defined[0].description.as_deref(), Some(format!("editor {winner}").as_str()));
}

/// A grant is a one-time value: of twenty grants of one role to one user,
/// and twenty to one group, one grants it and the others find it granted.
fn twenty_grants_of_a_role_to_one_holder_grant_it_once(db: &TestDb) {
    let store = support::open(db);
    web(&store);
    let role = define(&store, "editor");
    let user = support::users_named(&store, "u", 1).remove(0);
    let group = store.write_blocking(|c| groups::insert(c, Group::new("staff"), store.now())).unwrap();
    for holder in [Holder::User(user.clone()), Holder::Group(group.id.clone())] {
        let results = support::race(&store, 20, |store, _| {
            store.write_blocking(|c| roles::grant(c, &role.id, &holder, store.now()))
        });
        let granted = results.iter().filter(|r| matches!(r, Ok(true))).count();
        let found = results.iter().filter(|r| matches!(r, Ok(false))).count();
        assert_eq!((granted, found), (1, 19), "{holder:?}: {results:?}");
    }
    let holders = store.read_blocking(|c| roles::holders(c, &role.id)).unwrap();
    assert_eq!(holders, [Holder::User(user), Holder::Group(group.id)]);
}

/// Fifty grants of one role at once, to twenty-five users and twenty-five
/// groups: every one lands, and every member of a granted group holds it.
fn grants_of_a_role_to_fifty_holders_all_land(db: &TestDb) {
    let store = support::open(db);
    web(&store);
    let role = define(&store, "editor");
    let people = support::users_named(&store, "u", 50);
    let teams: Vec<String> = store
        .write_blocking(|c| {
            (0..25)
                .map(|i| {
                    let team = groups::insert(c, Group::new(format!("team {i}")), store.now())?;
                    groups::add_member(c, &team.id, &Member::User(people[25 + i].clone()), store.now())?;
                    Ok::<_, StoreError>(team.id)
                })
                .collect()
        })
        .unwrap();
    let results = support::race(&store, 50, |store, i| {
        let holder =
            if i < 25 { Holder::User(people[i].clone()) } else { Holder::Group(teams[i - 25].clone()) };
        store.write_blocking(|c| roles::grant(c, &role.id, &holder, store.now()))
    });
    assert!(results.iter().all(|r| matches!(r, Ok(true))), "{results:?}");
    let holders: HashSet<String> = store
        .read_blocking(|c| roles::holders(c, &role.id))
        .unwrap()
        .into_iter()
        .map(|h| match h {
            Holder::User(id) | Holder::Group(id) => id,
        })
        .collect();
    let wanted: HashSet<String> = people[..25].iter().chain(&teams).cloned().collect();
    assert_eq!(holders, wanted);
    for person in &people {
        let held = store.read_blocking(|c| roles::effective(c, person, "web")).unwrap();
        assert_eq!(held, ["editor"], "{person}");
    }
}

/// A role removed while it is being granted, five times over: each grant
/// either lands before the removal (and goes with the role) or finds the
/// role gone, as the admin API grants (the role looked up by name, then
/// granted, in one transaction). No grant outlives its role, and no grant
/// fails with anything but "not found".
fn grants_racing_their_roles_removal_leave_no_grant(db: &TestDb) {
    let store = support::open(db);
    web(&store);
    let people = support::users_named(&store, "u", 10);
    for round in 0..5 {
        let role = define(&store, "editor");
        let results = support::race(&store, 11, |store, i| {
            if i == 10 {
                return store.write_blocking(|c| roles::remove(c, "web", "editor")).inspect(|&removed| {
                    assert!(removed, "round {round}: the removal found no role");
                });
            }
            store.write_blocking(|c| {
                let role = roles::get(c, "web", "editor")?;
                roles::grant(c, &role.id, &Holder::User(people[i].clone()), store.now())
            })
        });
        for (i, result) in results.iter().enumerate() {
            assert!(
                matches!(result, Ok(_) | Err(StoreError::NotFound)),
                "round {round}, writer {i}: {result:?}"
            );
        }
        assert!(store.read_blocking(|c| roles::holders(c, &role.id)).unwrap().is_empty(), "round {round}");
        assert!(store.read_blocking(|c| roles::list(c, None)).unwrap().is_empty(), "round {round}");
        for person in &people {
            assert!(store.read_blocking(|c| roles::effective(c, person, "web")).unwrap().is_empty());
        }
    }
}

/// Each of ten users is deleted while a role is granted to it, and a group
/// likewise, as the admin API grants (the holder looked up, then the role
/// granted, in one transaction). A grant either lands before the deletion,
/// which takes it along, or finds the holder gone: "not found" at the
/// look-up or a missing reference at the write, never another error.
fn grants_racing_their_holders_deletion_leave_no_grant(db: &TestDb) {
    let store = support::open(db);
    web(&store);
    let role = define(&store, "editor");
    for round in 0..3 {
        let people = support::users_named(&store, &format!("r{round}-"), 10);
        let team = store
            .write_blocking(|c| groups::insert(c, Group::new(format!("team {round}")), store.now()))
            .unwrap();
        let results = support::race(&store, 22, |store, i| {
            let (holder, gone) = match i {
                0..10 => (Holder::User(people[i].clone()), false),
                10..20 => (Holder::User(people[i - 10].clone()), true),
                20 => (Holder::Group(team.id.clone()), false),
                _ => (Holder::Group(team.id.clone()), true),
            };
            store.write_blocking(|c| match (&holder, gone) {
                (Holder::User(id), true) => sigil_store::users::delete(c, id, store.now()).map(|_| true),
                (Holder::Group(id), true) => groups::delete(c, id, store.now()).map(|_| true),
                (Holder::User(id), false) => {
                    sigil_store::users::get(c, id)?;
                    roles::grant(c, &role.id, &holder, store.now())
                }
                (Holder::Group(id), false) => {
                    groups::get(c, id)?;
                    roles::grant(c, &role.id, &holder, store.now())
                }
            })
        });
        for (i, result) in results.iter().enumerate() {
            assert!(
                matches!(result, Ok(_) | Err(StoreError::NotFound | StoreError::MissingReference(_))),
                "round {round}, writer {i}: {result:?}"
            );
        }
        assert!(store.read_blocking(|c| roles::holders(c, &role.id)).unwrap().is_empty(), "round {round}");
    }
}
