//! One-time values spent by many at once, on both backends: of twenty
//! presentations of one code, one refresh token, one `jti` or one session,
//! exactly one wins and the others are answered as latecomers, never with
//! an error. Also raced elsewhere: a double-submitted first consent
//! (`tokens`), sign-in attempts counted before they are made and the server
//! secret created once (`concurrency`), group memberships (`versions`) and
//! role grants (`roles`, `admin_grants`).

use chrono::{NaiveDateTime, TimeDelta};
use sigil_store::grants::{self, AuthorizationCode, Redemption, Session};
use sigil_store::tokens::{self, RefreshToken, RefreshUse};
use sigil_store::users::{self, User};
use sigil_store::{Store, StoreError, clients};
use sigil_testkit::{TestDb, backend_tests};

use crate::support;

backend_tests!(
    one_of_twenty_redemptions_of_a_code_wins,
    one_of_twenty_uses_of_a_refresh_token_wins,
    twenty_revocations_of_one_jti_are_one_revocation,
    one_of_twenty_records_of_a_one_time_value_accepts_it,
    twenty_first_consents_at_once_leave_one_consent,
    one_of_twenty_logouts_of_a_session_ends_it,
);

/// Registers the clients `web` and `other` and the user alice.
fn web_and_alice(store: &Store, now: NaiveDateTime) -> String {
    store
        .write_blocking(|c| {
            clients::insert(c, support::client("web", now), now)?;
            clients::insert(c, support::client("other", now), now)?;
            Ok::<_, StoreError>(users::insert(c, User::new("alice"), now)?.id)
        })
        .unwrap()
}

fn code(user: &str, session: Option<&str>, now: NaiveDateTime) -> AuthorizationCode {
    AuthorizationCode {
        code_hash: "code-1".into(),
        client_id: "web".into(),
        user_id: user.into(),
        session_id_hash: session.map(str::to_owned),
        redirect_uri: "https://app.example.com/cb".into(),
        scope: "openid".into(),
        nonce: None,
        code_challenge: None,
        code_challenge_method: None,
        auth_time: now,
        created: now,
        expires_at: now + TimeDelta::minutes(1),
        redeemed_at: None,
        grant_id: "grant-1".into(),
    }
}

/// Twenty redemptions of one code, every fifth by a client it was not
/// issued to: those are told so and spend nothing; of the owner's, one
/// redeems it and the rest are replays.
fn one_of_twenty_redemptions_of_a_code_wins(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    let user = web_and_alice(&store, now);
    store.write_blocking(|c| grants::insert_code(c, &code(&user, None, now))).unwrap();
    let results = support::race(&store, 20, |store, i| {
        let client = if i % 5 == 0 { "other" } else { "web" };
        store.write_blocking(|c| grants::redeem_code(c, "code-1", client, now))
    });
    let count = |want: fn(&Redemption) -> bool| results.iter().filter(|r| r.as_ref().is_ok_and(want)).count();
    let redeemed = count(|r| matches!(r, Redemption::Redeemed(_)));
    let replayed = count(|r| matches!(r, Redemption::Replayed(_)));
    let other = count(|r| matches!(r, Redemption::OtherClient));
    assert_eq!((redeemed, replayed, other), (1, 15, 4), "{results:?}");
    let stored = store.read_blocking(|c| grants::find_code(c, "code-1")).unwrap().unwrap();
    assert_eq!(stored.redeemed_at, Some(now));
}

/// Twenty uses of one refresh token: one spends it, nineteen are reuse.
fn one_of_twenty_uses_of_a_refresh_token_wins(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    let user = web_and_alice(&store, now);
    let token = RefreshToken {
        token_hash: "refresh-1".into(),
        family_id: "grant-1".into(),
        client_id: "web".into(),
        user_id: Some(user),
        scope: "openid offline_access".into(),
        session_id_hash: None,
        auth_time: Some(now),
        created: now,
        expires_at: now + TimeDelta::days(1),
        used_at: None,
        revoked_at: None,
    };
    store.write_blocking(|c| tokens::insert_refresh(c, &token)).unwrap();
    let results = support::race(&store, 20, |store, _| {
        store.write_blocking(|c| tokens::use_refresh(c, "refresh-1", now))
    });
    let fresh = results.iter().filter(|r| matches!(r, Ok(RefreshUse::Fresh(_)))).count();
    let reused = results.iter().filter(|r| matches!(r, Ok(RefreshUse::Reused(_)))).count();
    assert_eq!((fresh, reused), (1, 19), "{results:?}");
    let stored = store.read_blocking(|c| tokens::find_refresh(c, "refresh-1")).unwrap().unwrap();
    assert_eq!(stored.used_at, Some(now));
}

/// Concurrent revocations of one token all succeed (a unique violation is
/// the other writer's success, not an error), and leave one record.
fn twenty_revocations_of_one_jti_are_one_revocation(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    let until = now + TimeDelta::hours(1);
    let results = support::race(&store, 20, |store, i| {
        let reason = format!("revoked by client {i}");
        store.write_blocking(|c| tokens::revoke_jti(c, "jti-1", None, &reason, now, until))
    });
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert!(store.read_blocking(|c| tokens::is_revoked(c, "jti-1", None)).unwrap());
    // The record is there once: recording it again finds it.
    assert!(!store.write_blocking(|c| tokens::record_once(c, "jti-1", "again", now, until)).unwrap());
}

/// A client assertion's `jti` presented twenty times at once (on as many
/// nodes): one is accepted, nineteen are told it was seen.
fn one_of_twenty_records_of_a_one_time_value_accepts_it(db: &TestDb) {
    let now = support::open(db).now();
    let until = now + TimeDelta::minutes(5);
    let results = support::race_nodes(db, 20, |store, _| {
        store.write_blocking(|c| tokens::record_once(c, "assertion-jti", "client assertion", now, until))
    });
    let accepted = results.iter().filter(|r| matches!(r, Ok(true))).count();
    let seen = results.iter().filter(|r| matches!(r, Ok(false))).count();
    assert_eq!((accepted, seen), (1, 19), "{results:?}");
}

/// Twenty first consents to one client at once (a form submitted again and
/// again): every one is recorded, none fails on the primary key, and one
/// consent is left, holding one of the submitted scopes.
fn twenty_first_consents_at_once_leave_one_consent(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    let user = web_and_alice(&store, now);
    let scopes: Vec<String> = (0..20).map(|i| format!("openid scope-{i}")).collect();
    let results = support::race(&store, 20, |store, i| {
        store.write_blocking(|c| grants::record_consent(c, &user, "web", &scopes[i], now))
    });
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let kept = store.read_blocking(|c| grants::consented_scope(c, &user, "web")).unwrap().unwrap();
    assert!(scopes.contains(&kept), "{kept}");
}

/// Twenty logouts of one session: one ends it; every one of them revokes
/// the grant the session gave, and all succeed.
fn one_of_twenty_logouts_of_a_session_ends_it(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    let user = web_and_alice(&store, now);
    let session = Session {
        id_hash: "session-1".into(),
        user_id: user.clone(),
        auth_time: now,
        amr: "pwd".into(),
        created: now,
        expires_at: now + TimeDelta::hours(8),
        ended_at: None,
    };
    store
        .write_blocking(|c| {
            grants::insert_session(c, &session)?;
            grants::insert_code(c, &code(&user, Some("session-1"), now))
        })
        .unwrap();
    let until = now + TimeDelta::hours(1);
    let results = support::race(&store, 20, |store, _| {
        store.write_blocking(|c| grants::end_session(c, "session-1", now, Some(until)))
    });
    let ended = results.iter().filter(|r| matches!(r, Ok(true))).count();
    let already = results.iter().filter(|r| matches!(r, Ok(false))).count();
    assert_eq!((ended, already), (1, 19), "{results:?}");
    assert!(store.read_blocking(|c| grants::live_session(c, "session-1", now)).unwrap().is_none());
    assert!(store.read_blocking(|c| tokens::is_revoked(c, "any", Some("grant-1"))).unwrap());
}
