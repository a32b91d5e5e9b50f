//! The audit trail's rows: listed newest first by keyset, records of the
//! same instant included, filtered, bounded in length, rolled back with
//! their write, and purged by age.

use chrono::TimeDelta;
use sigil_store::StoreError;
use sigil_store::audit::{self, After, Event, Filter, Kind, NewEvent};
use sigil_testkit::{TestDb, backend_tests};

use crate::support;

backend_tests!(
    pages_follow_each_other_newest_first_even_within_one_instant,
    filters_combine,
    a_record_rolls_back_with_its_write,
    text_is_bounded_and_old_records_are_purged,
);

fn event(kind: Kind, actor: &str, outcome: &str) -> NewEvent {
    NewEvent { actor: Some(actor.into()), ..NewEvent::new(kind, "op").with_outcome(outcome) }
}

fn pages_follow_each_other_newest_first_even_within_one_instant(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    store
        .write_blocking(|c| {
            for n in 0..7 {
                // Three share one instant: the id orders them.
                let at = now + TimeDelta::seconds(n.min(3));
                audit::record(c, event(Kind::SignIn, &format!("u{n}"), "success"), at)?;
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
    let all = store.read_blocking(|c| audit::list(c, &Filter::default(), None, 100)).unwrap();
    assert_eq!(all.len(), 7);
    assert!(all.windows(2).all(|w| (w[0].at, &w[0].id) > (w[1].at, &w[1].id)), "newest first");
    let mut paged: Vec<Event> = Vec::new();
    loop {
        let after = paged.last().map(|e| After { at: e.at, id: e.id.clone() });
        let page = store.read_blocking(|c| audit::list(c, &Filter::default(), after.as_ref(), 2)).unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2);
        paged.extend(page);
    }
    assert_eq!(paged, all, "pages of two, each after the last, give every record once");
}

fn filters_combine(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    store
        .write_blocking(|c| {
            audit::record(c, event(Kind::SignIn, "alice", "bad_password"), now - TimeDelta::hours(2))?;
            audit::record(c, event(Kind::SignIn, "alice", "success"), now - TimeDelta::hours(1))?;
            audit::record(c, event(Kind::ScimWrite, "alice", "success"), now)?;
            audit::record(c, event(Kind::SignIn, "bob", "success"), now)?;
            Ok::<_, StoreError>(())
        })
        .unwrap();
    let count = |filter: Filter| store.read_blocking(|c| audit::list(c, &filter, None, 100)).unwrap().len();
    assert_eq!(count(Filter { kind: Some(Kind::SignIn), ..Filter::default() }), 3);
    assert_eq!(count(Filter { actor: Some("alice".into()), ..Filter::default() }), 3);
    assert_eq!(count(Filter { actor: Some("ALICE".into()), ..Filter::default() }), 0, "exact");
    let alice_signing_in =
        Filter { kind: Some(Kind::SignIn), actor: Some("alice".into()), ..Filter::default() };
    assert_eq!(count(alice_signing_in.clone()), 2);
    assert_eq!(count(Filter { outcome: Some("success".into()), ..alice_signing_in.clone() }), 1);
    let recent = Filter { since: Some(now - TimeDelta::minutes(90)), ..alice_signing_in.clone() };
    assert_eq!(count(recent), 1);
    assert_eq!(count(Filter { until: Some(now - TimeDelta::minutes(90)), ..alice_signing_in }), 1);
    assert_eq!(
        count(Filter { since: Some(now), until: Some(now), ..Filter::default() }),
        0,
        "until excludes"
    );
}

fn a_record_rolls_back_with_its_write(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    let failed: Result<(), StoreError> = store.write_blocking(|c| {
        audit::record(c, event(Kind::ScimWrite, "provisioner", "success"), now)?;
        Err(StoreError::VersionMismatch)
    });
    assert!(failed.is_err());
    let all = store.read_blocking(|c| audit::list(c, &Filter::default(), None, 100)).unwrap();
    assert!(all.is_empty(), "{all:?}");
}

fn text_is_bounded_and_old_records_are_purged(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    let typed = "ü".repeat(10_000);
    store
        .write_blocking(|c| {
            audit::record(c, event(Kind::SignIn, &typed, "unknown_user"), now)?;
            audit::record(c, event(Kind::SignIn, "old", "success"), now - TimeDelta::days(400))?;
            Ok::<_, StoreError>(())
        })
        .unwrap();
    let all = store.read_blocking(|c| audit::list(c, &Filter::default(), None, 100)).unwrap();
    assert_eq!(all[0].actor.as_ref().unwrap().chars().count(), audit::MAX_TEXT_CHARS);
    let purged = store.write_blocking(|c| audit::purge(c, now - TimeDelta::days(365))).unwrap();
    assert_eq!(purged, 1);
    let left = store.read_blocking(|c| audit::list(c, &Filter::default(), None, 100)).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].outcome, "unknown_user");
}
