//! Users: round trip, case-insensitive uniqueness, validation, atomicity.

use sigil_store::users::{self, Address, MultiValue, User};
use sigil_store::{StoreError, Unique, groups};
use sigil_testkit::{TestDb, backend_tests};

use crate::support;

backend_tests!(
    full_user_round_trips,
    user_name_is_unique_in_any_letter_case,
    unicode_user_names_fold_the_same_on_both_backends,
    malformed_email_is_refused_and_nothing_is_written,
    a_failed_transaction_leaves_no_trace,
    update_bumps_version_and_honours_expected_version,
    deleting_a_user_removes_what_hangs_off_it,
    users_list_in_creation_order,
);

pub(crate) fn full_user(user_name: &str) -> User {
    let mut user = User::new(user_name);
    user.external_id = Some("ext-701984".into());
    user.name.formatted = Some("Ms. Barbara J Jensen, III".into());
    user.name.family_name = Some("Jensen".into());
    user.name.given_name = Some("Barbara".into());
    user.name.middle_name = Some("Jane".into());
    user.name.honorific_prefix = Some("Ms.".into());
    user.name.honorific_suffix = Some("III".into());
    user.display_name = Some("Babs Jensen".into());
    user.nick_name = Some("Babs".into());
    user.profile_url = Some("https://login.example.com/bjensen".into());
    user.title = Some("Tour Guide".into());
    user.user_type = Some("Employee".into());
    user.preferred_language = Some("en-US".into());
    user.locale = Some("en-US".into());
    user.timezone = Some("America/Los_Angeles".into());
    user.active = true;
    user.password_hash = Some(sigil_store::password::hash_password("t1meMa$heen").unwrap());
    user.enterprise.employee_number = Some("701984".into());
    user.enterprise.cost_center = Some("4130".into());
    user.enterprise.organization = Some("Universal Studios".into());
    user.enterprise.division = Some("Theme Park".into());
    user.enterprise.department = Some("Tour Operations".into());
    user.emails = vec![
        MultiValue {
            value: format!("{user_name}@example.com"),
            kind: Some("work".into()),
            primary: true,
            display: None,
        },
        MultiValue {
            value: "babs@jensen.org".into(),
            kind: Some("home".into()),
            primary: false,
            display: Some("Home".into()),
        },
    ];
    user.phone_numbers = vec![MultiValue {
        value: "tel:+1-555-555-8377".into(),
        kind: Some("work".into()),
        ..Default::default()
    }];
    user.ims =
        vec![MultiValue { value: "someaimhandle".into(), kind: Some("aim".into()), ..Default::default() }];
    user.photos = vec![MultiValue::new("https://photos.example.com/profilephoto/72930000000Ccne/F")];
    user.entitlements = vec![MultiValue::new("vpn")];
    user.roles = vec![MultiValue { value: "tour-guide".into(), primary: true, ..Default::default() }];
    user.x509_certificates =
        vec![MultiValue::new("MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx")];
    user.addresses = vec![
        Address {
            street_address: Some("100 Universal City Plaza".into()),
            locality: Some("Hollywood".into()),
            region: Some("CA".into()),
            postal_code: Some("91608".into()),
            country: Some("US".into()),
            formatted: Some("100 Universal City Plaza\nHollywood, CA 91608 USA".into()),
            kind: Some("work".into()),
            primary: true,
        },
        Address { locality: Some("Hollywood".into()), kind: Some("home".into()), ..Default::default() },
    ];
    user
}

fn full_user_round_trips(db: &TestDb) {
    let store = support::open(db);
    let manager = store.write_blocking(|c| users::insert(c, User::new("manager"), store.now())).unwrap();
    let mut user = full_user("bjensen");
    user.enterprise.manager_id = Some(manager.id.clone());
    let stored = store.write_blocking({
        let user = user.clone();
        let now = store.now();
        move |c| users::insert(c, user, now)
    });
    let stored = stored.unwrap();
    assert_eq!(stored.meta.version, 1);
    let read = store.read_blocking(|c| users::get(c, &user.id)).unwrap();
    assert_eq!(read, stored, "every attribute reads back as written");
    let terms = store
        .read_blocking(|c| {
            use diesel::prelude::*;
            use sigil_store::schema::user_search_terms as t;
            Ok::<_, sigil_store::StoreError>(
                t::table
                    .filter(t::user_id.eq(&user.id))
                    .order(t::attribute.asc())
                    .select((t::attribute, t::value_folded))
                    .load::<(String, String)>(c)?,
            )
        })
        .unwrap();
    assert!(terms.contains(&("displayName".into(), "babs jensen".into())), "{terms:?}");
    assert!(terms.contains(&("department".into(), "tour operations".into())), "{terms:?}");
    assert_eq!(terms.len(), 19, "every case-insensitive attribute with a value: {terms:?}");
    let by_name = store.read_blocking(|c| users::find_by_user_name(c, "BJENSEN")).unwrap();
    assert_eq!(by_name.as_ref().map(|u| u.id.as_str()), Some(user.id.as_str()));
}

fn user_name_is_unique_in_any_letter_case(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    store.write_blocking(|c| users::insert(c, full_user("BJensen"), now)).unwrap();
    for clash in ["bjensen", "BJENSEN", "bJeNsEn"] {
        let err = store.write_blocking(|c| users::insert(c, full_user(clash), now)).unwrap_err();
        assert!(matches!(err, StoreError::Conflict(Unique::UserName)), "{clash}: {err:?}");
    }
    assert_eq!(store.read_blocking(users::count).unwrap(), 1);
    let survivor = store.read_blocking(|c| users::find_by_user_name(c, "bjensen")).unwrap().unwrap();
    assert_eq!(survivor.emails.len(), 2, "the refused writes left the first user whole");
}

fn unicode_user_names_fold_the_same_on_both_backends(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    store.write_blocking(|c| users::insert(c, User::new("ÉMILE"), now)).unwrap();
    let err = store.write_blocking(|c| users::insert(c, User::new("émile"), now)).unwrap_err();
    assert!(matches!(err, StoreError::Conflict(Unique::UserName)), "{err:?}");
    assert!(store.read_blocking(|c| users::find_by_user_name(c, "Émile")).unwrap().is_some());
}

fn malformed_email_is_refused_and_nothing_is_written(db: &TestDb) {
    let store = support::open(db);
    let mut user = full_user("alice");
    user.emails.push(MultiValue::new("not-an-address"));
    let err = store.write_blocking(|c| users::insert(c, user, store.now())).unwrap_err();
    assert!(matches!(err, StoreError::Invalid(ref m) if m.contains("not-an-address")), "{err:?}");
    assert_eq!(store.read_blocking(users::count).unwrap(), 0);
}

fn a_failed_transaction_leaves_no_trace(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    let err = store
        .write_blocking(|c| {
            users::insert(c, full_user("first"), now)?;
            groups::find_or_create(c, "staff", now)?;
            users::insert(c, full_user("FIRST"), now)
        })
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(Unique::UserName)));
    assert_eq!(store.read_blocking(users::count).unwrap(), 0, "the first insert was rolled back");
    assert!(store.read_blocking(|c| groups::find_by_display_name(c, "staff")).unwrap().is_none());
}

fn update_bumps_version_and_honours_expected_version(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    let created = store.write_blocking(|c| users::insert(c, full_user("carol"), now)).unwrap();
    let mut changed = created.clone();
    changed.title = Some("Head Guide".into());
    changed.emails.truncate(1);
    changed.addresses.clear();
    let updated = store.write_blocking({
        let changed = changed.clone();
        move |c| users::update(c, changed, Some(1), now)
    });
    let updated = updated.unwrap();
    assert_eq!(updated.meta.version, 2);
    assert_eq!(updated.meta.created, created.meta.created);
    let read = store.read_blocking(|c| users::get(c, &created.id)).unwrap();
    assert_eq!(read, updated);
    assert_eq!(read.emails.len(), 1);
    assert!(read.addresses.is_empty());
    let stale = store.write_blocking(move |c| users::update(c, changed, Some(1), now)).unwrap_err();
    assert!(matches!(stale, StoreError::VersionMismatch), "{stale:?}");
    let missing = store.write_blocking(|c| users::update(c, User::new("ghost"), None, now)).unwrap_err();
    assert!(matches!(missing, StoreError::NotFound), "{missing:?}");
}

fn deleting_a_user_removes_what_hangs_off_it(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    let user = store.write_blocking(|c| users::insert(c, full_user("dave"), now)).unwrap();
    let group = store.write_blocking(|c| groups::find_or_create(c, "ops", now)).unwrap();
    store
        .write_blocking(|c| groups::add_member(c, &group.id, &groups::Member::User(user.id.clone()), now))
        .unwrap();
    assert!(store.write_blocking(|c| users::delete(c, &user.id, store.now())).unwrap());
    assert!(!store.write_blocking(|c| users::delete(c, &user.id, store.now())).unwrap());
    assert!(matches!(store.read_blocking(|c| users::get(c, &user.id)), Err(StoreError::NotFound)));
    assert!(store.read_blocking(|c| groups::members(c, &group.id)).unwrap().is_empty());
    store
        .read_blocking(|c| {
            use diesel::prelude::*;
            use sigil_store::schema::{user_addresses, user_values};
            let values: i64 = user_values::table.count().get_result(c)?;
            let addresses: i64 = user_addresses::table.count().get_result(c)?;
            assert_eq!((values, addresses), (0, 0));
            Ok::<_, sigil_store::StoreError>(())
        })
        .unwrap();
}

fn users_list_in_creation_order(db: &TestDb) {
    let store = support::open(db);
    let clock = std::sync::Arc::new(sigil_store::ManualClock::new(chrono::Utc::now()));
    let store = store.with_clock(clock.clone());
    for name in ["u1", "u2", "u3", "u4"] {
        store.write_blocking(|c| users::insert(c, User::new(name), store.now())).unwrap();
        clock.advance(chrono::TimeDelta::milliseconds(1));
    }
    let page = store.read_blocking(|c| users::list(c, 1, 2)).unwrap();
    let names: Vec<_> = page.iter().map(|u| u.user_name.as_str()).collect();
    assert_eq!(names, ["u2", "u3"]);
}
