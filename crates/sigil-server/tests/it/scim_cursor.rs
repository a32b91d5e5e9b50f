//! RFC 9865 cursor paging with `sortBy` and `sortOrder` (§2.2), against the
//! running server on both backends: whole walks forward by `nextCursor` and
//! back by `previousCursor` visit every match once, in the order asked for
//! (case-insensitive `userName` and group `displayName`, ties on a value,
//! records without one), with a filter too; a walk keeps its place while
//! records come and go; and a cursor sent with another `sortBy`,
//! `sortOrder`, filter or resource type, or one the server never issued, is
//! refused with `invalidCursor` in the RFC 7644 §3.12 shape.

use std::cmp::Reverse;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sigil_testkit::process::Server;
use sigil_testkit::{TestDb, backend_tests};
use url::Url;

use crate::oidc::rp_http;
use crate::scim::{Scim, assert_error, token};

backend_tests!(
    user_walks_follow_sort_by_and_sort_order_both_ways,
    group_walks_follow_display_name_and_external_id_both_ways,
    a_sorted_walk_keeps_its_place_while_users_come_and_go,
    cursors_of_another_walk_or_not_issued_are_refused,
);

fn scim<'a>(db: &TestDb, server: &'a Server) -> Scim<'a> {
    Scim { server, http: rp_http(), token: token(db, server, "provisioner", "scim:write") }
}

fn create(scim: &Scim<'_>, path: &str, body: &Value) -> String {
    let (status, _, created) = scim.send("POST", path, Some(body), &[]);
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

/// GET `path` with `query`: (status, body).
fn get(scim: &Scim<'_>, path: &str, query: &[(&str, &str)]) -> (u16, Value) {
    let url = Url::parse_with_params("http://x/", query).unwrap();
    let (status, _, body) = scim.get(&format!("{path}?{}", url.query().unwrap_or_default()));
    (status, body)
}

fn names(page: &Value, attr: &str) -> Vec<String> {
    let resources = page["Resources"].as_array().unwrap();
    resources.iter().map(|r| r[attr].as_str().unwrap().to_owned()).collect()
}

/// Walks `path` with `query` by cursors of `count`: forward by nextCursor
/// to the last page, then back by previousCursor to the first, which must
/// give the same pages. Returns every `attr` met, in order.
fn walk(scim: &Scim<'_>, path: &str, query: &[(&str, &str)], count: usize, attr: &str) -> Vec<String> {
    let count_text = count.to_string();
    let page = |cursor: &str| {
        let mut query = query.to_vec();
        query.extend([("cursor", cursor), ("count", count_text.as_str())]);
        let (status, body) = get(scim, path, &query);
        assert_eq!(status, 200, "{query:?}: {body}");
        assert!(body.get("startIndex").is_none(), "{body}");
        body
    };
    let mut current = page("");
    assert!(current.get("previousCursor").is_none(), "the first page has no previousCursor: {current}");
    let total = current["totalResults"].clone();
    let mut forward = Vec::new();
    loop {
        assert_eq!(current["totalResults"], total, "totalResults counts every match on every page");
        let on_page = names(&current, attr);
        let Some(next) = current.get("nextCursor").and_then(Value::as_str).map(str::to_owned) else {
            forward.push(on_page);
            break;
        };
        assert_eq!(on_page.len(), count, "only the last page is short: {current}");
        forward.push(on_page);
        current = page(&next);
    }
    let mut back = vec![names(&current, attr)];
    while let Some(previous) = current.get("previousCursor").and_then(Value::as_str).map(str::to_owned) {
        current = page(&previous);
        assert!(current.get("nextCursor").is_some(), "a page reached backwards has a next one: {current}");
        back.push(names(&current, attr));
    }
    back.reverse();
    assert_eq!(back, forward, "{path} {query:?}: previousCursor walks back through the same pages");
    let all = forward.concat();
    assert_eq!(total, json!(all.len()), "{path} {query:?}: every match once");
    all
}

/// A user as created: userName, name.familyName, title, and its id.
struct Person {
    user_name: &'static str,
    family: Option<&'static str>,
    title: Option<&'static str>,
    id: String,
}

/// The names of `records`, each `(value, id, name)`, in the order a walk
/// must meet them: by value, then by id the same way; those without a
/// value last, whether `descending` or not.
fn expected(mut records: Vec<(Option<String>, String, String)>, descending: bool) -> Vec<String> {
    if descending {
        records.sort_by_key(|(value, id, _)| (value.is_none(), Reverse((value.clone(), id.clone()))));
    } else {
        records.sort_by_key(|(value, id, _)| (value.is_none(), value.clone(), id.clone()));
    }
    records.into_iter().map(|(_, _, name)| name).collect()
}

/// `people` that `keep` keeps, in the order of `key`.
fn in_order(
    people: &[Person],
    key: impl Fn(&Person) -> Option<String>,
    keep: impl Fn(&Person) -> bool,
    descending: bool,
) -> Vec<String> {
    let records = people.iter().filter(|p| keep(p));
    expected(records.map(|p| (key(p), p.id.clone(), p.user_name.to_owned())).collect(), descending)
}

/// Walks by `userName` (folded: `Bob` between `alice` and `carol`), by
/// `name.familyName` and `title` (ties and unassigned values, across page
/// boundaries), ascending and descending, and with a filter.
fn user_walks_follow_sort_by_and_sort_order_both_ways(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let scim = scim(db, &server);
    let data = [
        ("alice", Some("Smith"), Some("Engineer")),
        ("Bob", None, None),
        ("carol", Some("Smith"), Some("Manager")),
        ("DAVE", Some("Adams"), Some("Engineer")),
        ("eve", None, Some("Engineer")),
        ("frank", Some("Smith"), None),
        ("Grace", Some("baker"), Some("Engineer")),
        ("heidi", Some("Smith"), Some("Engineer")),
        ("ivan", None, Some("Manager")),
        ("judy", Some("Zhou"), None),
        ("mallory", Some("Adams"), None),
        ("niaj", None, None),
    ];
    let people: Vec<Person> = data
        .into_iter()
        .map(|(user_name, family, title)| {
            let mut body = json!({ "userName": user_name });
            if let Some(family) = family {
                body["name"] = json!({ "familyName": family });
            }
            if let Some(title) = title {
                body["title"] = json!(title);
            }
            Person { user_name, family, title, id: create(&scim, "/Users", &body) }
        })
        .collect();
    let everyone = |_: &Person| true;
    let folded = |p: &Person| Some(p.user_name.to_lowercase());
    // familyName and title are compared as stored, code point by code point.
    let family = |p: &Person| p.family.map(str::to_owned);
    let title = |p: &Person| p.title.map(str::to_owned);

    for (sort_order, descending) in [("ascending", false), ("descending", true)] {
        let by = |attr| [("sortBy", attr), ("sortOrder", sort_order)];
        let by_name = walk(&scim, "/Users", &by("userName"), 5, "userName");
        assert_eq!(by_name, in_order(&people, folded, everyone, descending), "userName {sort_order}");
        if !descending {
            assert_eq!(by_name[..4], ["alice", "Bob", "carol", "DAVE"]);
        }
        for count in [2, 3] {
            let by_family = walk(&scim, "/Users", &by("name.familyName"), count, "userName");
            assert_eq!(by_family, in_order(&people, family, everyone, descending), "familyName {sort_order}");
        }
        let by_title = walk(&scim, "/Users", &by("title"), 2, "userName");
        assert_eq!(by_title, in_order(&people, title, everyone, descending), "title {sort_order}");

        // A filter narrows the walk and the count; the order stays.
        let engineers =
            [("filter", r#"title eq "engineer""#), ("sortBy", "name.familyName"), ("sortOrder", sort_order)];
        let walked = walk(&scim, "/Users", &engineers, 2, "userName");
        let engineer = |p: &Person| p.title == Some("Engineer");
        assert_eq!(walked, in_order(&people, family, engineer, descending), "engineers {sort_order}");
    }
    let ascending = walk(&scim, "/Users", &[("sortBy", "name.familyName")], 3, "userName");
    assert_eq!(ascending, in_order(&people, family, everyone, false), "sortOrder defaults to ascending");
    // Ties (Adams, Smith) stay together; unassigned come after every value,
    // and lower case after upper case.
    let sorted = |names: &[String]| {
        let mut names = names.to_vec();
        names.sort();
        names
    };
    assert_eq!(sorted(&ascending[..2]), ["DAVE", "mallory"]);
    assert_eq!(sorted(&ascending[2..6]), ["alice", "carol", "frank", "heidi"]);
    assert_eq!(ascending[6..8], ["judy", "Grace"]);
    assert_eq!(sorted(&ascending[8..]), ["Bob", "eve", "ivan", "niaj"]);
}

/// Groups by `displayName`, compared without regard to case, and by the
/// optional `externalId` with ties and unassigned values.
fn group_walks_follow_display_name_and_external_id_both_ways(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let scim = scim(db, &server);
    let data = [
        ("alpha", Some("x2")),
        ("Beta", None),
        ("gamma", Some("x1")),
        ("Delta", Some("x2")),
        ("epsilon", None),
        ("Zeta", Some("x1")),
        ("eta", None),
    ];
    let groups: Vec<(&str, Option<&str>, String)> = data
        .into_iter()
        .map(|(name, external)| {
            let mut body = json!({ "displayName": name });
            if let Some(external) = external {
                body["externalId"] = json!(external);
            }
            (name, external, create(&scim, "/Groups", &body))
        })
        .collect();
    let by = |key: &dyn Fn(&str, Option<&str>) -> Option<String>, descending| {
        let records =
            groups.iter().map(|(name, external, id)| (key(name, *external), id.clone(), (*name).into()));
        expected(records.collect(), descending)
    };
    let folded = |name: &str, _: Option<&str>| Some(name.to_lowercase());
    let external = |_: &str, external: Option<&str>| external.map(str::to_owned);
    for (sort_order, descending) in [("ascending", false), ("descending", true)] {
        let query = |attr| [("sortBy", attr), ("sortOrder", sort_order)];
        let by_name = walk(&scim, "/Groups", &query("displayName"), 2, "displayName");
        assert_eq!(by_name, by(&folded, descending), "displayName {sort_order}");
        let by_external = walk(&scim, "/Groups", &query("externalId"), 2, "displayName");
        assert_eq!(by_external, by(&external, descending), "externalId {sort_order}");
    }
    let ascending = walk(&scim, "/Groups", &[("sortBy", "displayName")], 3, "displayName");
    assert_eq!(ascending, ["alpha", "Beta", "Delta", "epsilon", "eta", "gamma", "Zeta"]);
}

/// A cursor names a place in the order, not a stored result: users added
/// before it are not met going forward, users added after it are, and a
/// user deleted ahead is not.
fn a_sorted_walk_keeps_its_place_while_users_come_and_go(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let scim = scim(db, &server);
    let mut ids = std::collections::HashMap::new();
    for name in ["b", "d", "f", "h", "j", "l"] {
        ids.insert(name, create(&scim, "/Users", &json!({ "userName": name })));
    }
    let query = |cursor: &str| {
        let (status, body) = get(
            &scim,
            "/Users",
            &[("sortBy", "userName"), ("sortOrder", "descending"), ("cursor", cursor), ("count", "2")],
        );
        assert_eq!(status, 200, "{body}");
        body
    };
    let first = query("");
    assert_eq!(names(&first, "userName"), ["l", "j"]);
    create(&scim, "/Users", &json!({ "userName": "m" })); // before the cursor
    create(&scim, "/Users", &json!({ "userName": "i" })); // after it
    let (status, _, _) = scim.send("DELETE", &format!("/Users/{}", ids["f"]), None, &[]);
    assert_eq!(status, 204);
    let second = query(first["nextCursor"].as_str().unwrap());
    assert_eq!(names(&second, "userName"), ["i", "h"]);
    assert_eq!(second["totalResults"], 7);
    let third = query(second["nextCursor"].as_str().unwrap());
    assert_eq!(names(&third, "userName"), ["d", "b"]);
    assert!(third.get("nextCursor").is_none(), "{third}");
    // Back from the second page: what is before it now, m included.
    let back = query(second["previousCursor"].as_str().unwrap());
    assert_eq!(names(&back, "userName"), ["l", "j"]);
    let before = query(back["previousCursor"].as_str().unwrap());
    assert_eq!(names(&before, "userName"), ["m"]);
    assert!(before.get("previousCursor").is_none(), "{before}");
}

/// RFC 9865 §2: every parameter but the cursor stays the same through a
/// walk. A cursor with another sortBy, sortOrder, filter or resource type
/// would give pages of a different order, so it is refused; one the server
/// did not issue is refused; one forged in the right shape only moves the
/// walk.
fn cursors_of_another_walk_or_not_issued_are_refused(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let scim = scim(db, &server);
    for name in ["alice", "bob", "carol", "dave", "eve"] {
        create(&scim, "/Users", &json!({ "userName": name, "displayName": name.to_uppercase() }));
    }
    create(&scim, "/Groups", &json!({ "displayName": "staff" }));
    let (status, first) = get(&scim, "/Users", &[("sortBy", "userName"), ("cursor", ""), ("count", "2")]);
    assert_eq!(status, 200, "{first}");
    let next = first["nextCursor"].as_str().unwrap();

    // The same walk, in any spelling of the same parameters, goes on.
    for same in [
        vec![("sortBy", "userName")],
        vec![("sortBy", "USERNAME"), ("sortOrder", "Ascending")],
        vec![("sortBy", "urn:ietf:params:scim:schemas:core:2.0:User:userName")],
    ] {
        let mut query = same.clone();
        query.extend([("cursor", next), ("count", "2")]);
        let (status, body) = get(&scim, "/Users", &query);
        assert_eq!(status, 200, "{query:?}: {body}");
        assert_eq!(names(&body, "userName"), ["carol", "dave"], "{query:?}");
    }
    // The page size may change; it is not part of the walk.
    let (status, body) = get(&scim, "/Users", &[("sortBy", "userName"), ("cursor", next), ("count", "3")]);
    assert_eq!((status, names(&body, "userName")), (200, vec!["carol".into(), "dave".into(), "eve".into()]));

    let refused = [
        vec![("sortBy", "displayName")],
        vec![("sortBy", "userName"), ("sortOrder", "descending")],
        vec![],
        vec![("sortBy", "userName"), ("filter", r#"userName pr"#)],
    ];
    for other in refused {
        let mut query = other.clone();
        query.extend([("cursor", next), ("count", "2")]);
        let (status, body) = get(&scim, "/Users", &query);
        assert_error(status, &body, 400, Some("invalidCursor"));
    }
    let (status, body) = get(&scim, "/Groups", &[("sortBy", "userName"), ("cursor", next)]);
    assert_error(status, &body, 400, Some("invalidValue")); // groups have no userName
    let (_, users) = get(&scim, "/Users", &[("cursor", ""), ("count", "1")]);
    let (status, body) = get(&scim, "/Groups", &[("cursor", users["nextCursor"].as_str().unwrap())]);
    assert_error(status, &body, 400, Some("invalidCursor"));

    // POST /.search carries the walk in its body the same way.
    let search = |sort_order: &str| {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "sortBy": "userName", "sortOrder": sort_order, "cursor": next, "count": 2
        });
        scim.send("POST", "/Users/.search", Some(&body), &[])
    };
    let (status, _, body) = search("ascending");
    assert_eq!((status, names(&body, "userName")), (200, vec!["carol".into(), "dave".into()]));
    let (status, _, body) = search("descending");
    assert_error(status, &body, 400, Some("invalidCursor"));

    // Not issued by the server: not base64url JSON, or a value the sort
    // attribute cannot hold.
    let forged = |key: Value| {
        let body =
            json!({ "r": "User", "s": "userName", "d": false, "q": "", "k": key, "i": "x", "f": true });
        URL_SAFE_NO_PAD.encode(body.to_string())
    };
    for cursor in [
        "garbage".to_owned(),
        "e30".to_owned(),
        forged(json!(1_795_000_000_000_000_i64)),
        forged(Value::Null),
    ] {
        let (status, body) = get(&scim, "/Users", &[("sortBy", "userName"), ("cursor", &cursor)]);
        assert_error(status, &body, 400, Some("invalidCursor"));
    }
    // In the right shape, a forged cursor only moves the walk.
    let (status, body) = get(&scim, "/Users", &[("sortBy", "userName"), ("cursor", &forged(json!("c")))]);
    assert_eq!((status, names(&body, "userName")), (200, vec!["carol".into(), "dave".into(), "eve".into()]));
}
