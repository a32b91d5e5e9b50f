//! SCIM writers racing on one resource, against the running server on both
//! backends: `If-Match` lets exactly one of many conditional writes through
//! (the others 412), a write without it is always applied (never 412: the
//! client set no condition), and no race ends in a 5xx.

use std::collections::HashSet;
use std::sync::Barrier;
use std::thread;

use serde_json::{Value, json};
use sigil_testkit::process::Server;
use sigil_testkit::{TestDb, backend_tests};

use crate::oidc::rp_http;
use crate::scim::{Scim, token};
use crate::scim_patch::patch_body;

backend_tests!(
    one_of_twenty_conditional_group_puts_wins,
    fifty_member_adds_without_if_match_all_land,
    twenty_adds_of_one_member_are_all_answered_200,
    one_of_twenty_conditional_user_puts_wins,
);

/// Sends `request(i)` for `i` in `0..n` at once; returns the statuses in
/// `i` order.
fn race(
    scim: &Scim<'_>,
    n: usize,
    request: impl Fn(usize) -> (String, String, Value, bool) + Sync,
) -> Vec<u16> {
    let start = Barrier::new(n);
    thread::scope(|s| {
        let threads: Vec<_> = (0..n)
            .map(|i| {
                let (start, request) = (&start, &request);
                s.spawn(move || {
                    let (method, path, body, conditional) = request(i);
                    let headers: &[(&str, &str)] = if conditional { &[("If-Match", "W/\"1\"")] } else { &[] };
                    start.wait();
                    let (status, _, answer) = scim.send(&method, &path, Some(&body), headers);
                    assert!(status < 500, "request {i}: {status} {answer}");
                    status
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    })
}

fn scim<'a>(db: &TestDb, server: &'a Server) -> Scim<'a> {
    Scim { server, http: rp_http(), token: token(db, server, "provisioner", "scim:write") }
}

fn create(scim: &Scim<'_>, path: &str, body: &Value) -> String {
    let (status, _, created) = scim.send("POST", path, Some(body), &[]);
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

fn users(scim: &Scim<'_>, n: usize) -> Vec<String> {
    (0..n).map(|i| create(scim, "/Users", &json!({ "userName": format!("u{i}") }))).collect()
}

fn member_ids(scim: &Scim<'_>, group: &str) -> (Vec<String>, Value) {
    let (status, _, body) = scim.get(&format!("/Groups/{group}"));
    assert_eq!(status, 200, "{body}");
    let members = body["members"].as_array().cloned().unwrap_or_default();
    (members.iter().map(|m| m["value"].as_str().unwrap().to_owned()).collect(), body)
}

fn add_member(group: &str, user: &str) -> (String, String, Value, bool) {
    let body = patch_body(json!([{ "op": "add", "path": "members", "value": [{ "value": user }] }]));
    ("PATCH".into(), format!("/Groups/{group}"), body, false)
}

/// Twenty PUTs, each with `If-Match: W/"1"` and its own member (half of
/// them renaming the group too, half changing only its members, a write
/// that once moved the version unconditionally): one 200, nineteen 412,
/// and the group is the winner's, one version on.
fn one_of_twenty_conditional_group_puts_wins(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let scim = scim(db, &server);
    let people = users(&scim, 20);
    let group = create(&scim, "/Groups", &json!({ "displayName": "team" }));
    let statuses = race(&scim, 20, |i| {
        let name = if i.is_multiple_of(2) { format!("team-{i}") } else { "team".to_owned() };
        let body = json!({ "displayName": name, "members": [{ "value": people[i] }] });
        ("PUT".into(), format!("/Groups/{group}"), body, true)
    });
    let winners: Vec<usize> = (0..20).filter(|&i| statuses[i] == 200).collect();
    assert_eq!(winners.len(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|&s| s == 200 || s == 412), "{statuses:?}");
    let (members, body) = member_ids(&scim, &group);
    let name = if winners[0].is_multiple_of(2) { format!("team-{}", winners[0]) } else { "team".to_owned() };
    assert_eq!(body["displayName"], name);
    assert_eq!(members, vec![people[winners[0]].clone()]);
    assert_eq!(body["meta"]["version"], "W/\"2\"");
}

/// Fifty PATCHes without If-Match, each adding its own member: every one
/// answered 200, and all fifty stored.
fn fifty_member_adds_without_if_match_all_land(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let scim = scim(db, &server);
    let people = users(&scim, 50);
    let group = create(&scim, "/Groups", &json!({ "displayName": "crowd" }));
    let statuses = race(&scim, 50, |i| add_member(&group, &people[i]));
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    let (members, body) = member_ids(&scim, &group);
    assert_eq!(members.len(), 50, "{body}");
    assert_eq!(members.into_iter().collect::<HashSet<_>>(), people.into_iter().collect());
    assert_eq!(body["meta"]["version"], "W/\"51\"");
}

/// Twenty PATCHes adding the same member: a membership already there is
/// no error, so all are answered 200 (none 500 on the key), and it is
/// stored once.
fn twenty_adds_of_one_member_are_all_answered_200(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let scim = scim(db, &server);
    let person = users(&scim, 1).remove(0);
    let group = create(&scim, "/Groups", &json!({ "displayName": "pair" }));
    let statuses = race(&scim, 20, |_| add_member(&group, &person));
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    let (members, body) = member_ids(&scim, &group);
    assert_eq!(members, vec![person], "{body}");
    assert_eq!(body["meta"]["version"], "W/\"2\"");
}

/// Twenty PUTs of one user with `If-Match: W/"1"`: one 200, nineteen 412.
fn one_of_twenty_conditional_user_puts_wins(db: &TestDb) {
    let server = Server::start(crate::bin(), db, &[]);
    let scim = scim(db, &server);
    let id = create(&scim, "/Users", &json!({ "userName": "alice" }));
    let statuses = race(&scim, 20, |i| {
        let body = json!({ "userName": "alice", "displayName": format!("Alice {i}") });
        ("PUT".into(), format!("/Users/{id}"), body, true)
    });
    let winners: Vec<usize> = (0..20).filter(|&i| statuses[i] == 200).collect();
    assert_eq!(winners.len(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|&s| s == 200 || s == 412), "{statuses:?}");
    let (status, _, body) = scim.get(&format!("/Users/{id}"));
    assert_eq!(status, 200);
    assert_eq!(body["displayName"], format!("Alice {}", winners[0]));
    assert_eq!(body["meta"]["version"], "W/\"2\"");
}
