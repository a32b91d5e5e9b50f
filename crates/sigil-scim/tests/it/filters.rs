//! Filters compiled to SQL select exactly the users that the reference
//! evaluator (`scim_filter_parser::Matcher`) selects on the same users
//! rendered as SCIM JSON: a table of filters over every kind of attribute
//! and operator, then a few hundred generated combinations of them.

use scim_filter_parser::{Matcher, Schema, parse_filter};
use sigil_scim::user::Related;
use sigil_scim::{Query, ScimError, search_groups, search_users};
use sigil_store::Store;
use sigil_store::clients::{self, Client};
use sigil_store::groups::{self, Group, Member};
use sigil_store::roles::{self, Holder};
use sigil_store::users::{self, Address, MultiValue, User};
use sigil_testkit::{TestDb, backend_tests};

backend_tests!(
    sql_filters_agree_with_the_evaluator,
    bad_filters_are_refused_like_the_evaluator,
    group_filters_agree_with_the_evaluator,
);

fn email(value: &str, kind: Option<&str>, primary: bool) -> MultiValue {
    MultiValue { value: value.into(), display: None, kind: kind.map(Into::into), primary }
}

/// A small directory with the awkward cases: missing attributes, letter
/// case, non-ASCII text, LIKE wildcards in values, several values.
fn people() -> Vec<User> {
    let mut out = Vec::new();
    let mut u = User::new("bjensen");
    u.external_id = Some("EXT-1".into());
    u.display_name = Some("Babs Jensen".into());
    u.name.family_name = Some("Jensen".into());
    u.name.given_name = Some("Barbara".into());
    u.title = Some("Tour Guide".into());
    u.emails =
        vec![email("bjensen@example.com", Some("work"), true), email("babs@jensen.org", Some("home"), false)];
    u.addresses = vec![Address {
        locality: Some("Hollywood".into()),
        country: Some("US".into()),
        kind: Some("work".into()),
        primary: true,
        ..Address::default()
    }];
    u.enterprise.department = Some("Tour Operations".into());
    u.enterprise.employee_number = Some("701984".into());
    out.push(u);

    let mut u = User::new("JSmith");
    u.display_name = Some("John Smith".into());
    u.name.family_name = Some("Smith".into());
    u.active = false;
    u.emails = vec![email("J.Smith@Example.COM", Some("Work"), false)];
    u.phone_numbers = vec![MultiValue::new("+1 555 0100")];
    out.push(u);

    let mut u = User::new("zoë");
    u.display_name = Some("Zoë Ärger".into());
    u.name.family_name = Some("Ärger".into());
    u.locale = Some("de-CH".into());
    u.emails = vec![email("zoe@beispiel.ch", None, true)];
    u.addresses =
        vec![Address { locality: Some("Zürich".into()), country: Some("CH".into()), ..Address::default() }];
    out.push(u);

    let mut u = User::new("percent%user_1");
    u.title = Some("100% sure_thing".into());
    u.external_id = Some("ext-1".into());
    out.push(u);

    let mut u = User::new("nomail");
    u.nick_name = Some("Nomad".into());
    u.enterprise.department = Some("tour operations".into());
    out.push(u);

    let mut u = User::new("alice");
    u.display_name = Some("Alice".into());
    u.emails = vec![
        email("alice@example.com", Some("work"), true),
        email("alice@home.example", Some("home"), false),
    ];
    u.roles = vec![MultiValue::new("admin")];
    u.addresses = vec![
        Address { locality: Some("Geneva".into()), kind: Some("home".into()), ..Address::default() },
        Address { locality: Some("Hollywood".into()), kind: Some("other".into()), ..Address::default() },
    ];
    out.push(u);
    out
}

/// Filters over every kind of attribute and operator.
const FILTERS: &[&str] = &[
    r#"userName eq "bjensen""#,
    r#"userName eq "BJENSEN""#,
    r#"userName eq "jsmith""#,
    r#"userName ne "bjensen""#,
    r#"userName sw "j""#,
    r#"userName co "%""#,
    r#"userName co "_""#,
    r#"userName ew "user_1""#,
    r#"userName gt "j""#,
    r#"userName le "alice""#,
    r#"userName eq "ZOË""#,
    r#"userName pr"#,
    r#"externalId eq "EXT-1""#,
    r#"externalId eq "ext-1""#,
    r#"externalId ne "EXT-1""#,
    r#"externalId pr"#,
    r#"not (externalId pr)"#,
    r#"externalId eq null"#,
    r#"externalId ne null"#,
    r#"displayName co "smith""#,
    r#"displayName sw "ZOË""#,
    r#"displayName pr"#,
    r#"displayName gt "b""#,
    r#"not (displayName co "a")"#,
    r#"name.familyName eq "ärger""#,
    r#"name.givenName pr"#,
    r#"name pr"#,
    r#"title co "100%""#,
    r#"title co "e_t""#,
    r#"title ew "guide""#,
    r#"nickName eq "nomad""#,
    r#"locale eq "de-ch""#,
    r#"active eq true"#,
    r#"active eq false"#,
    r#"active ne true"#,
    r#"emails co "example.com""#,
    r#"emails eq "j.smith@example.com""#,
    r#"emails.value sw "alice""#,
    r#"emails.type eq "work""#,
    r#"emails.type eq "WORK""#,
    r#"emails.type pr"#,
    r#"emails.primary eq true"#,
    r#"emails pr"#,
    r#"not (emails pr)"#,
    r#"emails[type eq "work" and value co "example.com"]"#,
    r#"emails[type eq "home" and value co "example.com"]"#,
    r#"emails[type eq "home"] and emails[value co "example.com"]"#,
    r#"emails[not (type eq "work")]"#,
    r#"emails[type pr and primary eq false]"#,
    r#"emails[type eq "work"].value eq "alice@example.com""#,
    r#"phoneNumbers pr"#,
    r#"phoneNumbers.value co "555""#,
    r#"roles eq "admin""#,
    r#"addresses.locality eq "hollywood""#,
    r#"addresses.locality eq "ZÜRICH""#,
    r#"addresses.country ne "us""#,
    r#"addresses[type eq "home" and locality eq "Hollywood"]"#,
    r#"addresses[type eq "other" and locality eq "Hollywood"]"#,
    r#"addresses pr"#,
    r#"addresses.type pr"#,
    r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "tour operations""#,
    r#"department eq "TOUR OPERATIONS""#,
    r#"employeeNumber sw "70""#,
    r#"employeeNumber pr"#,
    r#"meta.resourceType eq "User""#,
    r#"meta.created pr"#,
    r#"groups pr"#,
    r#"groups.display eq "staff""#,
    r#"not (groups.display eq "staff")"#,
    r#"groups.display eq "EVERYONE""#,
    r#"groups.display sw "e" and not (groups.display eq "staff")"#,
    r#"roles pr"#,
    r#"not (roles pr)"#,
    r#"roles.value eq "editor""#,
    r#"roles eq "ADMIN""#,
    r#"roles[type eq "app" and value eq "admin"]"#,
    r#"roles[type pr]"#,
    r#"roles.type eq "portal""#,
    r#"roles.type ne "app""#,
    r#"roles.value gt "f""#,
    r#"roles.value co "I""#,
    r#"roles.display pr"#,
    r#"roles.primary eq false"#,
    r#"roles[not (primary eq true)]"#,
    r#"roles[not (type eq "app") and value sw "v"]"#,
    r#"roles[type sw "a" and value ew "OR"]"#,
    r#"userName eq "alice" or userName eq "zoë""#,
    r#"(userName sw "a" or userName sw "b") and emails.type eq "work""#,
    r#"not (userName sw "a" or emails pr)"#,
];

/// The ids the evaluator selects, and those the SQL selects, sorted.
fn both(store: &Store, people: &[(String, serde_json::Value)], filter: &str) -> (Vec<String>, Vec<String>) {
    let parsed = parse_filter(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    let schema = Schema::user();
    let matcher = Matcher::new(&parsed, &schema).unwrap_or_else(|e| panic!("{filter}: {e}"));
    let mut expected: Vec<String> =
        people.iter().filter(|(_, json)| matcher.matches(json)).map(|(id, _)| id.clone()).collect();
    expected.sort();
    let query = Query { filter: Some(parsed), limit: 1000, ..Query::default() };
    let page = store
        .read_blocking(move |c| Ok::<_, sigil_store::StoreError>(search_users(c, &query)))
        .unwrap()
        .unwrap_or_else(|e| {
            panic!("{filter}: {e}");
        });
    assert_eq!(page.total, i64::try_from(page.users.len()).unwrap(), "{filter}: total");
    let mut got: Vec<String> = page.users.into_iter().map(|u| u.id).collect();
    got.sort();
    (expected, got)
}

fn load(db: &TestDb) -> (Store, Vec<(String, serde_json::Value)>) {
    let store = crate::open(db);
    let now = store.now();
    let people = people();
    let staff = Group::new("Staff");
    let everyone = Group::new("Everyone");
    let (staff_id, everyone_id) = (staff.id.clone(), everyone.id.clone());
    let members: Vec<String> = people.iter().filter(|u| u.active).take(2).map(|u| u.id.clone()).collect();
    let id_of = |name: &str| people.iter().find(|u| u.user_name == name).unwrap().id.clone();
    let (alice, nomail) = (id_of("alice"), id_of("nomail"));
    store
        .write_blocking(move |c| {
            for user in people {
                users::insert(c, user, now)?;
            }
            groups::insert(c, staff, now)?;
            groups::insert(c, everyone, now)?;
            for id in members {
                groups::add_member(c, &staff_id, &Member::User(id), now)?;
            }
            // Staff's members are in Everyone through nesting only.
            groups::add_member(c, &everyone_id, &Member::Group(staff_id.clone()), now)?;
            // Application roles: through nested groups, and granted directly;
            // one spelled like alice's stored role `admin`.
            clients::insert(c, Client::new("app"), now)?;
            clients::insert(c, Client::new("Portal"), now)?;
            let editor = roles::define(c, "app", "editor", None, now)?;
            let admin = roles::define(c, "app", "Admin", None, now)?;
            let viewer = roles::define(c, "Portal", "viewer", None, now)?;
            roles::grant(c, &editor.id, &Holder::Group(everyone_id), now)?;
            roles::grant(c, &admin.id, &Holder::User(alice), now)?;
            roles::grant(c, &viewer.id, &Holder::User(nomail), now)?;
            Ok::<_, sigil_store::StoreError>(())
        })
        .unwrap();
    let rendered = store
        .read_blocking(|c| {
            let all = users::list(c, 0, 1000)?;
            all.into_iter()
                .map(|user| {
                    let related = Related::load(c, &user.id)?;
                    let json = sigil_scim::user::render(&user, &related, "https://id.example.com/scim/v2");
                    Ok((user.id, json))
                })
                .collect::<Result<Vec<_>, sigil_store::StoreError>>()
        })
        .unwrap();
    (store, rendered)
}

fn sql_filters_agree_with_the_evaluator(db: &TestDb) {
    let (store, people) = load(db);
    let mut selected_something = 0;
    for filter in FILTERS {
        let (expected, got) = both(&store, &people, filter);
        assert_eq!(got, expected, "{filter}");
        if !expected.is_empty() && expected.len() < people.len() {
            selected_something += 1;
        }
    }
    assert!(selected_something > FILTERS.len() / 2, "the table must discriminate: {selected_something}");

    // Generated combinations: a fixed pseudo-random walk over and/or/not.
    let mut seed: u64 = 0x5eed;
    let mut next = |n: usize| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        usize::try_from(seed >> 33).unwrap() % n
    };
    for _ in 0..300 {
        let a = FILTERS[next(FILTERS.len())];
        let b = FILTERS[next(FILTERS.len())];
        let combined = match next(4) {
            0 => format!("({a}) and ({b})"),
            1 => format!("({a}) or ({b})"),
            2 => format!("not ({a}) and ({b})"),
            _ => format!("not (({a}) or not ({b}))"),
        };
        let (expected, got) = both(&store, &people, &combined);
        assert_eq!(got, expected, "{combined}");
    }
}

fn bad_filters_are_refused_like_the_evaluator(db: &TestDb) {
    let store = crate::open(db);
    for filter in [
        r#"active gt true"#,
        r#"active eq "true""#,
        r#"name eq "x""#,
        r#"meta.created co "2026""#,
        r#"nosuch eq "x""#,
        r#"emails[type eq "work"][value eq "x"]"#,
    ] {
        let Ok(parsed) = parse_filter(filter) else { continue };
        let query = Query { filter: Some(parsed), limit: 10, ..Query::default() };
        let result =
            store.read_blocking(move |c| Ok::<_, sigil_store::StoreError>(search_users(c, &query))).unwrap();
        assert!(matches!(result, Err(ScimError::InvalidFilter(_))), "{filter}: {result:?}");
    }
}

/// The Group schema as the server describes it, for the evaluator.
fn group_schema() -> Schema {
    use scim_filter_parser::{AttrType, Attribute};
    let s = |n: &str| Attribute::new(n, AttrType::String);
    Schema::new("urn:ietf:params:scim:schemas:core:2.0:Group")
        .attribute(s("id").case_exact())
        .attribute(s("externalId").case_exact())
        .attribute(Attribute::complex(
            "meta",
            vec![s("resourceType"), Attribute::new("created", AttrType::DateTime)],
        ))
        .attribute(s("displayName"))
        .attribute(
            Attribute::complex("members", vec![s("value").case_exact(), s("display"), s("type")])
                .multi_valued(),
        )
        .extension(
            sigil_scim::group::GROUP_ROLES_SCHEMA,
            vec![Attribute::complex("roles", vec![s("value"), s("type")]).multi_valued()],
        )
}

fn group_filters_agree_with_the_evaluator(db: &TestDb) {
    let store = crate::open(db);
    let now = store.now();
    let (alice, bob) = (User::new("alice"), User::new("bob"));
    let (alice_id, bob_id) = (alice.id.clone(), bob.id.clone());
    let mut staff = Group::new("Staff");
    staff.external_id = Some("EXT-S".into());
    let admins = Group::new("Admins_%");
    let empty = Group::new("Empty Ünit");
    let (staff_id, admins_id) = (staff.id.clone(), admins.id.clone());
    let (a, b, s_id, ad) = (alice_id.clone(), bob_id.clone(), staff_id.clone(), admins_id.clone());
    store
        .write_blocking(move |c| {
            users::insert(c, alice, now)?;
            users::insert(c, bob, now)?;
            groups::insert(c, staff, now)?;
            groups::insert(c, admins, now)?;
            groups::insert(c, empty, now)?;
            groups::add_member(c, &s_id, &Member::User(a.clone()), now)?;
            groups::add_member(c, &s_id, &Member::User(b), now)?;
            groups::add_member(c, &ad, &Member::User(a), now)?;
            groups::add_member(c, &s_id, &Member::Group(ad.clone()), now)?;
            clients::insert(c, Client::new("app"), now)?;
            let editor = roles::define(c, "app", "Editor", None, now)?;
            let viewer = roles::define(c, "app", "viewer", None, now)?;
            roles::grant(c, &editor.id, &Holder::Group(s_id.clone()), now)?;
            roles::grant(c, &viewer.id, &Holder::Group(s_id), now)?;
            roles::grant(c, &viewer.id, &Holder::Group(ad), now)?;
            Ok::<_, sigil_store::StoreError>(())
        })
        .unwrap();
    let rendered: Vec<(String, serde_json::Value)> = store
        .read_blocking(|c| {
            let all = groups::list(c, 0, 100)?;
            let ids: Vec<&str> = all.iter().map(|g| g.id.as_str()).collect();
            let mut members = groups::named_members(c, &ids)?;
            let mut granted = roles::granted_to_groups(c, &ids)?;
            Ok::<_, sigil_store::StoreError>(
                all.iter()
                    .map(|g| {
                        let json = sigil_scim::group::render(
                            g,
                            &members.remove(&g.id).unwrap_or_default(),
                            &granted.remove(&g.id).unwrap_or_default(),
                            "https://x/scim/v2",
                        );
                        (g.id.clone(), json)
                    })
                    .collect(),
            )
        })
        .unwrap();
    let schema = group_schema();
    let filters = [
        r#"displayName eq "staff""#.to_owned(),
        r#"displayName co "_%""#.to_owned(),
        r#"displayName sw "EMPTY ü""#.to_owned(),
        r#"displayName gt "b""#.to_owned(),
        r#"externalId eq "EXT-S""#.to_owned(),
        r#"externalId pr"#.to_owned(),
        r#"not (externalId pr)"#.to_owned(),
        r#"members pr"#.to_owned(),
        r#"not (members pr)"#.to_owned(),
        format!(r#"members.value eq "{alice_id}""#),
        format!(r#"members eq "{bob_id}""#),
        format!(r#"members[value eq "{admins_id}" and type eq "group"]"#),
        format!(r#"members[value eq "{alice_id}" and type eq "Group"]"#),
        r#"members.type eq "User""#.to_owned(),
        r#"members.type ne "user""#.to_owned(),
        format!(r#"displayName eq "Admins_%" or members.value eq "{staff_id}""#),
        r#"meta.resourceType eq "Group""#.to_owned(),
        r#"roles pr"#.to_owned(),
        r#"not (roles pr)"#.to_owned(),
        r#"roles eq "editor""#.to_owned(),
        r#"roles.value eq "VIEWER" and not (roles.value eq "editor")"#.to_owned(),
        r#"urn:ietf:params:scim:schemas:extension:sigil:2.0:Group:roles.type eq "APP""#.to_owned(),
        r#"roles[type eq "app" and value sw "ed"]"#.to_owned(),
        r#"roles[not (value eq "viewer")]"#.to_owned(),
        r#"roles.value gt "f""#.to_owned(),
    ];
    for filter in &filters {
        let parsed = parse_filter(filter).unwrap();
        let matcher = Matcher::new(&parsed, &schema).unwrap_or_else(|e| panic!("{filter}: {e}"));
        let mut expected: Vec<String> =
            rendered.iter().filter(|(_, j)| matcher.matches(j)).map(|(id, _)| id.clone()).collect();
        expected.sort();
        let query = Query { filter: Some(parsed), limit: 100, ..Query::default() };
        let page = store
            .read_blocking(move |c| Ok::<_, sigil_store::StoreError>(search_groups(c, &query)))
            .unwrap()
            .unwrap();
        let mut got: Vec<String> = page.groups.into_iter().map(|g| g.id).collect();
        got.sort();
        assert_eq!(got, expected, "{filter}");
    }
}
