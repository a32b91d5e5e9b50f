//! `copy`: a whole store moved to another database, every row of every
//! table arriving as it was, in each direction between the backends;
//! what the copy covers kept equal to the schema; refusals.

use chrono::TimeDelta;
use sigil_store::copy::{self, TABLES};
use sigil_store::groups::{self, Group, Member};
use sigil_store::keys::{self, KeyState, SigningKey};
use sigil_store::password_resets;
use sigil_store::secret::PlainSecret;
use sigil_store::users::{self, Address, MultiValue, User};
use sigil_store::{
    DatabaseUrl, Store, StoreError, admin_grants, api_tokens, audit, clients, grants, roles, throttle, tokens,
};
use sigil_testkit::{Backend, TestDb, backend_tests};

use crate::support;

backend_tests!(
    every_table_is_copied,
    tables_come_after_what_they_refer_to,
    copies_into_the_same_backend,
    a_copy_reads_one_snapshot_while_writes_go_on,
    a_target_with_rows_is_refused,
    a_store_is_not_copied_onto_itself,
    a_backup_is_the_same_store,
    a_backup_reads_one_snapshot_while_writes_go_on,
    a_backup_never_overwrites,
);

/// Fills every table of the store with rows whose every column varies:
/// users with multi-valued attributes and addresses, a manager that
/// comes after its report in key order, nested groups, clients, roles and
/// their grants, built-in role grants, signing keys, sessions, codes,
/// refresh tokens, consents, revocations, throttle counts, API tokens,
/// password reset links and the server's secrets.
fn populate(store: &Store) {
    let now = store.now();
    store
        .write_blocking(|c| {
            let mut report = User::new("Report");
            report.id = "00000000-report".into();
            report.password_hash = Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into());
            report.display_name = Some("Ré Port".into());
            report.emails = vec![
                MultiValue {
                    value: "Report@Example.COM".into(),
                    kind: Some("Work".into()),
                    primary: true,
                    ..Default::default()
                },
                MultiValue {
                    value: "home@example.org".into(),
                    display: Some("Home".into()),
                    ..Default::default()
                },
            ];
            report.phone_numbers = vec![MultiValue::new("+1 555 0100")];
            report.addresses = vec![Address {
                street_address: Some("1 Main St".into()),
                locality: Some("Springfield".into()),
                country: Some("US".into()),
                kind: Some("work".into()),
                primary: true,
                ..Default::default()
            }];
            report.enterprise.department = Some("Sales".into());
            let report = users::insert(c, report, now)?;
            let mut boss = User::new("boss");
            boss.id = "ffffffff-boss".into();
            boss.active = false;
            let boss = users::insert(c, boss, now)?;
            // The report refers to a user later in key order.
            let mut report = users::get(c, &report.id)?;
            report.enterprise.manager_id = Some(boss.id.clone());
            let report = users::update(c, report, None, now + TimeDelta::seconds(1))?;

            let inner = groups::insert(c, Group::new("Inner"), now)?;
            let outer = groups::insert_with_members(
                c,
                Group::new("Outer"),
                &[Member::User(report.id.clone()), Member::Group(inner.id.clone())],
                now,
            )?;
            groups::add_member(c, &inner.id, &Member::User(boss.id.clone()), now)?;

            clients::insert(c, support::client("web", now), now)?;
            let role = roles::define(c, "web", "editor", Some("Edits"), now)?;
            roles::grant(c, &role.id, &roles::Holder::User(report.id.clone()), now)?;
            roles::grant(c, &role.id, &roles::Holder::Group(outer.id.clone()), now)?;
            admin_grants::grant(c, "user-admin", &admin_grants::Grantee::Group(inner.id.clone()), now)?;
            admin_grants::grant(c, "auditor", &admin_grants::Grantee::Client("web".into()), now)?;
            admin_grants::grant(c, "platform-operator", &admin_grants::Grantee::User(boss.id.clone()), now)?;

            for (kid, state) in [("k1", KeyState::Retired), ("k2", KeyState::Active), ("k3", KeyState::Next)]
            {
                keys::insert(
                    c,
                    &SigningKey {
                        kid: kid.into(),
                        alg: "ES256".into(),
                        state,
                        private_pem: format!(
                            "-----BEGIN PRIVATE KEY-----\n{kid}\n-----END PRIVATE KEY-----\n"
                        ),
                        public_jwk: format!("{{\"kid\":\"{kid}\"}}"),
                        created: now,
                        activated_at: (state != KeyState::Next).then_some(now),
                        retired_at: (state == KeyState::Retired).then_some(now),
                    },
                )?;
            }
            let session = grants::Session {
                id_hash: PlainSecret::generate()?.hash().as_str().to_owned(),
                user_id: report.id.clone(),
                auth_time: now,
                amr: "[\"pwd\"]".into(),
                created: now,
                expires_at: now + TimeDelta::hours(8),
                ended_at: None,
            };
            grants::insert_session(c, &session)?;
            grants::insert_code(
                c,
                &grants::AuthorizationCode {
                    code_hash: PlainSecret::generate()?.hash().as_str().to_owned(),
                    client_id: "web".into(),
                    user_id: report.id.clone(),
                    session_id_hash: Some(session.id_hash.clone()),
                    redirect_uri: "https://app.example.com/cb".into(),
                    scope: "openid profile".into(),
                    nonce: Some("n-0S6_WzA2Mj".into()),
                    code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
                    code_challenge_method: Some("S256".into()),
                    auth_time: now,
                    created: now,
                    expires_at: now + TimeDelta::minutes(1),
                    redeemed_at: Some(now),
                    grant_id: "grant-1".into(),
                },
            )?;
            tokens::insert_refresh(
                c,
                &tokens::RefreshToken {
                    token_hash: PlainSecret::generate()?.hash().as_str().to_owned(),
                    family_id: "family-1".into(),
                    client_id: "web".into(),
                    user_id: Some(report.id.clone()),
                    scope: "openid offline_access".into(),
                    session_id_hash: Some(session.id_hash.clone()),
                    auth_time: Some(now),
                    created: now,
                    expires_at: now + TimeDelta::days(30),
                    used_at: None,
                    revoked_at: None,
                },
            )?;
            grants::record_consent(c, &report.id, "web", "openid profile", now)?;
            tokens::revoke_jti(c, "jti-1", Some("grant-2"), "logout", now, now + TimeDelta::hours(1))?;
            let limit = throttle::Limit {
                allowed: 1,
                window: TimeDelta::minutes(15),
                first_lock: TimeDelta::minutes(1),
            };
            throttle::reserve(c, "login:boss", now, &limit)?;
            throttle::reserve(c, "login:boss", now, &limit)?;
            api_tokens::insert(
                c,
                api_tokens::NewApiToken {
                    id: sigil_store::new_id(),
                    client_id: "web".into(),
                    token_hash: PlainSecret::generate()?.hash(),
                    scope: "scim".into(),
                    name: Some("provisioning".into()),
                    expires_at: now + TimeDelta::days(365),
                },
                now,
            )?;
            grants::create_server_secret(c, "form", "c2VjcmV0LXNlY3JldA", now)?;
            audit::record(
                c,
                audit::NewEvent {
                    kind: audit::Kind::SignIn,
                    actor: Some("boss".into()),
                    client_id: Some("web".into()),
                    address: Some("192.0.2.7".into()),
                    operation: "sign_in".into(),
                    resource_type: None,
                    resource_id: None,
                    method: Some("POST".into()),
                    outcome: "bad_password".into(),
                    request_id: Some("req-1".into()),
                },
                now,
            )?;
            // A spent link (every column set: the disabled boss's is
            // consumed without changing him) and a live one.
            let used = PlainSecret::generate()?.hash();
            password_resets::issue(c, "ffffffff-boss", &used, now + TimeDelta::hours(1), now)?;
            password_resets::reset_password(
                c,
                &used,
                "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$bmV3".into(),
                now,
            )?;
            let live = PlainSecret::generate()?.hash();
            password_resets::issue(c, "00000000-report", &live, now + TimeDelta::days(7), now)?;
            Ok::<_, StoreError>(())
        })
        .unwrap();
}

/// Every table of `a` and `b` holds the same rows, value for value.
fn assert_same_rows(a: &Store, b: &Store) {
    for table in TABLES {
        let (left, right) =
            (copy::read_table(a, table.name).unwrap(), copy::read_table(b, table.name).unwrap());
        assert_eq!(left, right, "table {}", table.name);
    }
}

/// Copies a populated store from `from` to `to` and compares every table.
fn copies_between(from: &TestDb, to: &TestDb) {
    let source = support::open(from);
    populate(&source);
    for table in TABLES {
        assert!(!copy::read_table(&source, table.name).unwrap().is_empty(), "{} is populated", table.name);
    }
    let target_url = DatabaseUrl::parse(to.url()).unwrap();
    let copied = copy::copy(&source, &target_url).unwrap();
    assert_eq!(copied.tables.len(), TABLES.len());
    let target = support::open(to);
    assert_same_rows(&source, &target);
    for (name, count) in &copied.tables {
        assert_eq!(*count, copy::read_table(&target, name).unwrap().len() as u64, "{name}");
    }
    // The copy reads back through the repositories as the original does.
    target
        .read_blocking(|c| {
            let report = users::find_by_user_name(c, "report")?.expect("copied");
            assert_eq!(report.enterprise.manager_id.as_deref(), Some("ffffffff-boss"));
            assert_eq!(report.emails.len(), 2);
            assert_eq!(report.meta.version, 2);
            assert_eq!(report, source.read_blocking(|s| users::get(s, &report.id)).unwrap());
            assert_eq!(keys::list(c)?.len(), 3);
            assert_eq!(grants::server_secret(c, "form")?.as_deref(), Some("c2VjcmV0LXNlY3JldA"));
            Ok::<_, StoreError>(())
        })
        .unwrap();
}

#[test]
fn sqlite_to_postgres() {
    let Some(to) = TestDb::postgres() else { return };
    copies_between(&TestDb::sqlite(), &to);
}

#[test]
fn postgres_to_sqlite() {
    let Some(from) = TestDb::postgres() else { return };
    copies_between(&from, &TestDb::sqlite());
}

fn copies_into_the_same_backend(db: &TestDb) {
    let Some(to) = TestDb::on(db.backend()) else { return };
    copies_between(db, &to);
}

/// Many pages of rows, composite keys among them, copied while a writer
/// keeps adding members to a group, each addition moving the group's
/// version: on one snapshot, the copied version and the copied members
/// agree, though the copy reads them with different statements.
fn a_copy_reads_one_snapshot_while_writes_go_on(db: &TestDb) {
    const USERS: usize = 1_200;
    let source = support::open(db);
    let now = source.now();
    source
        .write_blocking(|c| {
            (0..USERS)
                .map(|i| {
                    let mut user = User::new(format!("user{i}"));
                    user.emails = vec![
                        MultiValue::new(format!("user{i}@example.com")),
                        MultiValue::new("x@example.org"),
                    ];
                    Ok::<_, StoreError>(users::insert(c, user, now)?.id)
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .unwrap();
    let group = source.write_blocking(|c| groups::insert(c, Group::new("Growing"), now)).unwrap();
    let to = TestDb::on(db.backend()).unwrap();
    let target_url = DatabaseUrl::parse(to.url()).unwrap();
    let added = while_writing(&source, &group.id, || copy::copy(&source, &target_url).unwrap());
    let target = support::open(&to);
    let members = assert_one_snapshot(&target, &group.id);
    assert!(members > 0 && added >= members, "the writer wrote before the snapshot");
    assert_eq!(copy::read_table(&target, "users").unwrap().len(), USERS + members);
    assert_eq!(copy::read_table(&target, "user_values").unwrap().len(), 2 * USERS);
}

/// Runs `f` while a writer keeps adding a new user to `group`, the user
/// and its membership in one write (each moving the group's version),
/// from before `f` starts until it ends; returns how many it added.
fn while_writing<T>(store: &Store, group: &str, f: impl FnOnce() -> T) -> usize {
    let now = store.now();
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut added = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                store
                    .write_blocking(|c| {
                        let user = users::insert(c, User::new(format!("late{added}")), now)?;
                        groups::add_member(c, group, &Member::User(user.id), now)
                    })
                    .unwrap();
                added += 1;
            }
            added
        });
        while store.read_blocking(|c| groups::members(c, group)).unwrap().is_empty() {
            std::thread::yield_now();
        }
        f();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        writer.join().unwrap()
    })
}

/// What [`while_writing`] wrote is in `store` as of one moment: the
/// group's version counts its members, and every member's user is there.
/// Returns the number of members.
fn assert_one_snapshot(store: &Store, group: &str) -> usize {
    store
        .read_blocking(|c| {
            let version = groups::get(c, group)?.meta.version;
            let members = groups::members(c, group)?;
            assert_eq!(version, 1 + members.len() as i64, "the group's version and its members agree");
            for member in &members {
                let Member::User(id) = member else { panic!("{member:?}") };
                users::get(c, id)?;
            }
            Ok::<_, StoreError>(members.len())
        })
        .unwrap()
}

/// The copy covers every table the migrations create but diesel's own,
/// and every table `schema.rs` declares: a new table fails this until it
/// is added to `copy::TABLES`.
fn every_table_is_copied(db: &TestDb) {
    let store = support::open(db);
    let mut copied: Vec<String> = TABLES.iter().map(|t| t.name.to_owned()).collect();
    copied.sort();
    assert_eq!(copy::database_tables(&store).unwrap(), copied, "tables in the database");
    let schema = include_str!("../../src/schema.rs");
    let mut declared: Vec<String> = schema
        .split("diesel::table! {")
        .skip(1)
        .map(|block| block.split_whitespace().next().unwrap().to_owned())
        .collect();
    declared.sort();
    assert_eq!(declared, copied, "tables in schema.rs");
}

/// Each table comes after every table it refers to, so rows can be
/// inserted in that order; a reference to its own table is one the copy
/// sets afterwards.
fn tables_come_after_what_they_refer_to(db: &TestDb) {
    let store = support::open(db);
    let position = |name: &str| TABLES.iter().position(|t| t.name == name);
    let keys = copy::foreign_keys(&store).unwrap();
    assert!(keys.len() > 10, "{keys:?}");
    for key in keys {
        let (Some(table), Some(referenced)) = (position(&key.table), position(&key.referenced)) else {
            panic!("{key:?} names a table the copy does not know");
        };
        if table == referenced {
            assert!(TABLES[table].self_references.contains(&key.column.as_str()), "{key:?}");
        } else {
            assert!(referenced < table, "{key:?}: {} must come first", key.referenced);
        }
    }
}

/// A target holding any row, in any table, is refused before anything is
/// written, with the target named and its password hidden.
fn a_target_with_rows_is_refused(db: &TestDb) {
    let source = support::open(db);
    populate(&source);
    let to = TestDb::on(db.backend()).unwrap();
    let target = support::open(&to);
    let now = target.now();
    // One row, in a table far down the list.
    target.write_blocking(|c| grants::create_server_secret(c, "form", "other", now)).unwrap();
    let url = match db.backend() {
        // trust authentication ignores the password, but it must not be shown.
        Backend::Postgres => to.url().replacen("postgres://postgres@", "postgres://postgres:hunter2@", 1),
        Backend::Sqlite => to.url().to_owned(),
    };
    let error = copy::copy(&source, &DatabaseUrl::parse(&url).unwrap()).unwrap_err().to_string();
    assert!(error.contains("is not empty (table server_secrets has rows)"), "{error}");
    assert!(error.contains(&DatabaseUrl::parse(&url).unwrap().to_string()), "{error}");
    assert!(!error.contains("hunter2"), "{error}");
    for table in TABLES {
        let rows = copy::read_table(&target, table.name).unwrap();
        assert_eq!(
            rows.len(),
            usize::from(table.name == "server_secrets"),
            "{}: nothing written",
            table.name
        );
    }
}

fn a_store_is_not_copied_onto_itself(db: &TestDb) {
    let source = support::open(db);
    let error = copy::copy(&source, &DatabaseUrl::parse(db.url()).unwrap()).unwrap_err();
    assert!(error.to_string().contains("is the configured database itself"), "{error}");
}

fn a_backup_is_the_same_store(db: &TestDb) {
    let store = support::open(db);
    populate(&store);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backup.db");
    let result = copy::backup(&store, &path);
    if db.backend() == Backend::Postgres {
        let error = result.unwrap_err().to_string();
        assert!(error.contains("pg_dump"), "{error}");
        assert!(!path.exists());
        return;
    }
    result.unwrap();
    let restored = Store::open(&DatabaseUrl::Sqlite(path), &Default::default()).unwrap();
    assert!(restored.migrate().unwrap().is_empty(), "the backup is at the current schema");
    assert_same_rows(&store, &restored);
}

fn a_backup_reads_one_snapshot_while_writes_go_on(db: &TestDb) {
    if db.backend() == Backend::Postgres {
        return; // refused, as `a_backup_is_the_same_store` shows
    }
    let store = support::open(db);
    support::users_named(&store, "user", 1_000);
    let now = store.now();
    let group = store.write_blocking(|c| groups::insert(c, Group::new("Growing"), now)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backup.db");
    let added = while_writing(&store, &group.id, || copy::backup(&store, &path).unwrap());
    let backup = Store::open(&DatabaseUrl::Sqlite(path), &Default::default()).unwrap();
    let members = assert_one_snapshot(&backup, &group.id);
    assert!(members > 0 && added >= members, "the writer wrote before the snapshot");
    assert_eq!(copy::read_table(&backup, "users").unwrap().len(), 1_000 + members);
}

fn a_backup_never_overwrites(db: &TestDb) {
    let store = support::open(db);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backup.db");
    std::fs::write(&path, b"keep me").unwrap();
    let error = copy::backup(&store, &path).unwrap_err().to_string();
    assert!(error.contains("exists") || error.contains("pg_dump"), "{error}");
    assert_eq!(std::fs::read(&path).unwrap(), b"keep me");
}
