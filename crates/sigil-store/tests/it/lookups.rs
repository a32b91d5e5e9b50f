//! Look-ups of a list of keys (`column IN list`), which bind the whole list
//! as one value so the statement is prepared once: the list must still
//! find exactly its rows, whatever characters the keys hold and however
//! many there are.

use chrono::TimeDelta;
use sigil_store::groups::existing_ids;
use sigil_store::tokens;
use sigil_testkit::{TestDb, backend_tests};

use crate::support;

backend_tests!(
    keys_with_quotes_and_escapes_find_exactly_themselves,
    thousands_of_keys_find_theirs_and_no_others,
);

/// Characters that mean something in JSON, SQL or an array literal, each
/// key revoked and then looked up beside a near miss.
fn keys_with_quotes_and_escapes_find_exactly_themselves(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    let keys = [
        r#"quote"inside"#,
        r"back\slash",
        "it's",
        "comma,and{braces}",
        "[\"a\"]",
        "tab\tand\nnewline",
        "ünïcödé-鍵",
        "NULL",
        "",
    ];
    store
        .write_blocking(|c| {
            for key in keys {
                tokens::revoke_jti(c, key, None, "test", now, now + TimeDelta::days(1))?;
            }
            Ok::<_, sigil_store::StoreError>(())
        })
        .unwrap();
    for key in keys {
        let revoked = store.read_blocking(|c| tokens::is_revoked(c, key, None)).unwrap();
        assert!(revoked, "{key:?} was revoked");
        let near_miss = format!("{key}x");
        let revoked = store.read_blocking(|c| tokens::is_revoked(c, &near_miss, None)).unwrap();
        assert!(!revoked, "{near_miss:?} was not revoked");
    }
    // The grant's key is looked up in the same list as the token's own.
    store.write_blocking(|c| tokens::revoke_grant(c, "g\"1", "test", now, now + TimeDelta::days(1))).unwrap();
    assert!(store.read_blocking(|c| tokens::is_revoked(c, "fresh", Some("g\"1"))).unwrap());
    assert!(!store.read_blocking(|c| tokens::is_revoked(c, "fresh", Some("g\"2"))).unwrap());
}

/// More keys than any bound-parameter limit would allow one at a time, half
/// of them stored; and an empty list, which finds nothing.
fn thousands_of_keys_find_theirs_and_no_others(db: &TestDb) {
    let store = support::open(db);
    let users = support::users_named(&store, "u", 1_500);
    let missing: Vec<String> = (0..1_500).map(|i| format!("not-a-user-{i}")).collect();
    let asked: Vec<&str> = users.iter().chain(&missing).map(String::as_str).collect();
    let found = store.read_blocking(|c| existing_ids(c, &asked)).unwrap();
    assert_eq!(found.users.len(), users.len());
    assert!(users.iter().all(|id| found.users.contains(id)));
    assert!(found.groups.is_empty());
    let none = store.read_blocking(|c| existing_ids(c, &[])).unwrap();
    assert!(none.users.is_empty() && none.groups.is_empty());
}
