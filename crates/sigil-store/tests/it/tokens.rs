//! Refresh tokens and revocation: what a grant's revocation decides.

use chrono::TimeDelta;
use sigil_store::tokens::{self, RefreshToken, RefreshUse};
use sigil_store::users::{self, User};
use sigil_testkit::{TestDb, backend_tests};

use crate::support;

backend_tests!(
    a_token_inserted_after_its_grant_was_revoked_is_dead,
    a_first_consent_submitted_twice_at_once_is_recorded_once,
    a_client_token_is_live_until_revoked_or_its_client_goes,
);

fn token(hash: &str, family: &str, user: &str, now: chrono::NaiveDateTime) -> RefreshToken {
    RefreshToken {
        token_hash: hash.into(),
        family_id: family.into(),
        client_id: "web".into(),
        user_id: Some(user.into()),
        scope: "openid".into(),
        session_id_hash: None,
        auth_time: Some(now),
        created: now,
        expires_at: now + TimeDelta::days(1),
        used_at: None,
        revoked_at: None,
    }
}

/// Registers the client `web` and the user alice, whom tokens need.
fn web_and_alice(store: &sigil_store::Store, now: chrono::NaiveDateTime) -> User {
    store.write_blocking(|c| sigil_store::clients::insert(c, support::client("web", now), now)).unwrap();
    store.write_blocking(|c| users::insert(c, User::new("alice"), now)).unwrap()
}

/// The spend of a refresh token and the insert of its successor are two
/// transactions; a revocation of the grant between them must still win.
fn a_token_inserted_after_its_grant_was_revoked_is_dead(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    let user = web_and_alice(&store, now);
    store
        .write_blocking(|c| {
            tokens::revoke_grant(c, "family-1", "signed out", now, now + TimeDelta::days(1))?;
            // The successor lands after the revocation, unrevoked itself.
            tokens::insert_refresh(c, &token("late", "family-1", &user.id, now))
        })
        .unwrap();
    let used = store.write_blocking(|c| tokens::use_refresh(c, "late", now)).unwrap();
    assert!(matches!(used, RefreshUse::Reused(_)), "{used:?}");
}

/// A double-submitted consent form: the second first consent arrives while
/// the first is inserted but not yet committed. It must become an update
/// once the first commits, not a unique violation (a 500 at the consent
/// page on PostgreSQL).
fn a_first_consent_submitted_twice_at_once_is_recorded_once(db: &TestDb) {
    let store = support::open(db);
    let now = store.now();
    let user = web_and_alice(&store, now);
    let inserted = std::sync::Arc::new(std::sync::Barrier::new(2));
    let first = {
        let (store, inserted, user) = (store.clone(), inserted.clone(), user.id.clone());
        std::thread::spawn(move || {
            store.write_blocking(|c| {
                sigil_store::grants::record_consent(c, &user, "web", "openid", now)?;
                inserted.wait();
                // Hold the uncommitted insert while the second submit runs.
                std::thread::sleep(std::time::Duration::from_millis(300));
                Ok::<_, sigil_store::StoreError>(())
            })
        })
    };
    inserted.wait();
    store
        .write_blocking(|c| sigil_store::grants::record_consent(c, &user.id, "web", "openid email", now))
        .expect("the second submit is an update");
    first.join().unwrap().unwrap();
    let scope = store.read_blocking(|c| sigil_store::grants::consented_scope(c, &user.id, "web")).unwrap();
    assert_eq!(scope.as_deref(), Some("openid email"), "the later consent is the one kept");
}

/// The one-statement check of a client's own token: its roles while it is
/// live, nothing once its `jti` or its grant is revoked or its client is
/// removed; a user's grant of the same role does not leak into it.
fn a_client_token_is_live_until_revoked_or_its_client_goes(db: &TestDb) {
    use sigil_store::admin_grants::{self, Grantee};
    let store = support::open(db);
    let now = store.now();
    let alice = web_and_alice(&store, now);
    store.write_blocking(|c| sigil_store::clients::insert(c, support::client("other", now), now)).unwrap();
    let live = |client: &str, jti: &str, grant: Option<&str>| {
        store.read_blocking(|c| tokens::live_client_token(c, client, jti, grant)).unwrap()
    };
    assert_eq!(live("web", "j1", None), Some(vec![]), "live, holding no role");
    for (role, grantee) in [
        ("service-account", Grantee::Client("web".into())),
        ("auditor", Grantee::Client("web".into())),
        ("user-admin", Grantee::User(alice.id.clone())),
        ("platform-operator", Grantee::Client("other".into())),
    ] {
        store.write_blocking(|c| admin_grants::grant(c, role, &grantee, now)).unwrap();
    }
    assert_eq!(live("web", "j1", Some("g1")), Some(vec!["auditor".into(), "service-account".into()]));
    assert_eq!(live("nobody", "j1", None), None, "an unknown client");
    let until = now + TimeDelta::days(1);
    store.write_blocking(|c| tokens::revoke_jti(c, "j1", None, "test", now, until)).unwrap();
    assert_eq!(live("web", "j1", None), None, "its jti is revoked");
    assert!(live("web", "j2", Some("g1")).is_some());
    store.write_blocking(|c| tokens::revoke_grant(c, "g1", "test", now, until)).unwrap();
    assert_eq!(live("web", "j2", Some("g1")), None, "its grant is revoked");
    assert!(live("web", "j3", None).is_some());
    store.write_blocking(|c| sigil_store::clients::delete(c, "web")).unwrap();
    assert_eq!(live("web", "j3", None), None, "its client is gone");
    assert_eq!(live("other", "j3", None), Some(vec!["platform-operator".into()]));
}
