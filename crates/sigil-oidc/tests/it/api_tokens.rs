//! API tokens through the one verifier, against a real store with a clock
//! the tests move: a token acts as its client with exactly its scopes and
//! the client's roles, only for the APIs its scopes address, and stops at
//! once when it expires, is revoked, or its client goes or loses a scope.

use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use sigil_oidc::api_tokens::{self, DEFAULT_LIFETIME, MAX_LIFETIME, PREFIX, Request};
use sigil_oidc::tokens::verify::{self, Audience, Refused, Subject};
use sigil_oidc::{Api, Lifetimes, OidcError, Provider};
use sigil_store::admin_grants::{self, Grantee};
use sigil_store::api_tokens as stored;
use sigil_store::clients::{self, Client};
use sigil_store::secret::{HashedSecret, PlainSecret};
use sigil_store::{ManualClock, Store};
use sigil_testkit::{TestDb, backend_tests};

backend_tests!(
    a_token_acts_as_its_client_with_exactly_its_scopes_and_roles,
    a_token_is_for_the_apis_its_scopes_address_only,
    expired_revoked_orphaned_and_forged_tokens_are_refused,
    scopes_narrow_to_what_the_client_is_registered_for_now,
    the_last_use_is_recorded_at_most_once_a_minute,
    tokens_are_made_only_within_the_clients_rules,
);

const ISSUER: &str = "https://id.example.com";
const API_SCOPES: &[&str] = &["scim:read", "scim:write", "admin"];

struct Node {
    store: Store,
    clock: Arc<ManualClock>,
    provider: Provider,
}

/// A node whose clock the test moves, serving SCIM and the admin API as
/// `sigil serve` does.
fn node(db: &TestDb) -> Node {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let store = crate::open(db).with_clock(clock.clone());
    let provider = Provider::new(store.clone(), ISSUER, Lifetimes::default())
        .with_api(Api::Scim, API_SCOPES)
        .with_api(Api::Admin, &["admin"]);
    Node { store, clock, provider }
}

/// Registers a confidential client for every API scope.
fn client(node: &Node, id: &str) {
    let now = node.store.now();
    let mut client = Client::new(id);
    client.is_public = false;
    client.secret_hash = Some(PlainSecret::generate().unwrap().hash());
    client.grant_types = vec!["client_credentials".into()];
    client.scopes = API_SCOPES.iter().map(|s| (*s).to_owned()).collect();
    node.store.write_blocking(|c| clients::insert(c, client, now)).unwrap();
}

fn request(client: &str, scope: &str) -> Request {
    Request {
        client_id: client.into(),
        scopes: scope.split(' ').map(str::to_owned).collect(),
        lifetime: None,
        name: Some("provisioning".into()),
    }
}

/// Makes a token; returns its id and the token.
fn token(node: &Node, client: &str, scope: &str) -> (String, String) {
    let now = node.store.now();
    let (record, secret) = node
        .store
        .write_blocking(|c| api_tokens::create(c, request(client, scope), API_SCOPES, now))
        .unwrap();
    (record.id, secret.expose().to_owned())
}

fn check(node: &Node, token: &str, api: Api) -> Result<verify::Principal, Refused> {
    crate::block_on(verify::access_token_with_holdings(&node.provider, token, api))
}

fn refused(result: &Result<verify::Principal, Refused>) -> bool {
    matches!(result, Err(Refused::Invalid(_)))
}

fn a_token_acts_as_its_client_with_exactly_its_scopes_and_roles(db: &TestDb) {
    let node = node(db);
    client(&node, "entra");
    let now = node.store.now();
    node.store
        .write_blocking(|c| admin_grants::grant(c, "service-account", &Grantee::Client("entra".into()), now))
        .unwrap();
    let (id, token) = token(&node, "entra", "scim:write scim:read");
    assert!(token.starts_with(PREFIX) && token.len() == PREFIX.len() + 43, "{token}");
    let principal = check(&node, &token, Api::Scim).expect("accepted by SCIM");
    assert_eq!(principal.subject, Subject::Client);
    assert_eq!((principal.sub.as_str(), principal.client_id.as_str()), ("entra", "entra"));
    assert_eq!(principal.scopes, ["scim:read", "scim:write"], "exactly its scopes, sorted");
    assert_eq!(principal.audience, [format!("{ISSUER}/scim/v2")]);
    assert_eq!(principal.api_token_id.as_deref(), Some(id.as_str()));
    assert!(principal.claims.is_empty() && principal.grant_id.is_none());
    let holdings = principal.holdings.expect("holdings read with the token");
    assert_eq!(holdings.roles, ["service-account"]);
    assert!(holdings.groups.is_empty());
    let expected_expiry = (now + DEFAULT_LIFETIME).and_utc().timestamp();
    assert_eq!(principal.expires_at, expected_expiry);

    // The client's roles are read on every request: a revoked role is gone
    // from the next one.
    node.store
        .write_blocking(|c| admin_grants::revoke(c, "service-account", &Grantee::Client("entra".into())))
        .unwrap();
    assert!(check(&node, &token, Api::Scim).unwrap().holdings.unwrap().roles.is_empty());
}

fn a_token_is_for_the_apis_its_scopes_address_only(db: &TestDb) {
    let node = node(db);
    client(&node, "entra");
    let (_, scim) = token(&node, "entra", "scim:read scim:write");
    assert!(check(&node, &scim, Api::Scim).is_ok());
    assert!(refused(&check(&node, &scim, Api::Admin)), "a SCIM token is not for the admin API");
    assert!(refused(&check(&node, &scim, Api::Userinfo)), "nor for UserInfo");
    // Never for "any audience": token exchange cannot turn it into a JWT.
    let any = crate::block_on(verify::access_token(&node.provider, &scim, Audience::AnyApi));
    assert!(refused(&any));

    let (_, admin) = token(&node, "entra", "admin");
    let principal = check(&node, &admin, Api::Admin).expect("admin scope, admin API");
    assert_eq!(principal.scopes, ["admin"]);
    assert_eq!(
        principal.audience.len(),
        2,
        "the admin scope admits to SCIM as well: {:?}",
        principal.audience
    );
    assert!(check(&node, &admin, Api::Scim).is_ok());
}

fn expired_revoked_orphaned_and_forged_tokens_are_refused(db: &TestDb) {
    let node = node(db);
    client(&node, "entra");
    client(&node, "okta");
    let now = node.store.now();

    // Expiry: good to the last second, refused from then on.
    let short = Request { lifetime: Some(TimeDelta::hours(1)), ..request("entra", "scim:read") };
    let (_, expiring) = node
        .store
        .write_blocking(|c| api_tokens::create(c, short, API_SCOPES, now))
        .map(|(r, s)| (r.id, s.expose().to_owned()))
        .unwrap();
    node.clock.advance(TimeDelta::minutes(59));
    assert!(check(&node, &expiring, Api::Scim).is_ok());
    node.clock.advance(TimeDelta::minutes(1));
    assert!(refused(&check(&node, &expiring, Api::Scim)), "expired");

    // Revocation: the next check refuses it.
    let (id, revoked) = token(&node, "entra", "scim:read");
    assert!(check(&node, &revoked, Api::Scim).is_ok());
    let at = node.store.now();
    assert!(node.store.write_blocking(|c| stored::revoke(c, &id, at)).unwrap());
    assert!(refused(&check(&node, &revoked, Api::Scim)), "revoked");

    // A removed client takes its tokens along.
    let (_, orphan) = token(&node, "okta", "scim:read");
    assert!(check(&node, &orphan, Api::Scim).is_ok());
    assert!(node.store.write_blocking(|c| clients::delete(c, "okta")).unwrap());
    assert!(refused(&check(&node, &orphan, Api::Scim)), "client removed");

    // Forgeries: garbage behind the prefix, a JWT's shape, a live token
    // changed in one character, and a token whose digest begins like a
    // live one's (the lookup takes the whole digest).
    let (_, live) = token(&node, "entra", "scim:read");
    let mut changed = live.clone();
    let last = if changed.ends_with('A') { "B" } else { "A" };
    changed.replace_range(changed.len() - 1.., last);
    let target = HashedSecret::of(&live).as_str()[..4].to_owned();
    let colliding = (0u64..)
        .map(|n| format!("{PREFIX}{n:043}"))
        .find(|candidate| HashedSecret::of(candidate).as_str().starts_with(&target))
        .unwrap();
    for forged in [
        PREFIX.to_owned(),
        format!("{PREFIX}not-a-token"),
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJlbnRyYSJ9.".to_owned(),
        "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.e30.c2ln".to_owned(),
        changed,
        colliding,
        live.trim_start_matches(PREFIX).to_owned(),
    ] {
        assert!(refused(&check(&node, &forged, Api::Scim)), "{forged}");
    }
    assert!(check(&node, &live, Api::Scim).is_ok(), "the live token itself still passes");
}

fn scopes_narrow_to_what_the_client_is_registered_for_now(db: &TestDb) {
    let node = node(db);
    client(&node, "entra");
    let (_, token) = token(&node, "entra", "scim:read scim:write");
    let register = |scopes: &[&str]| {
        let now = node.store.now();
        node.store
            .write_blocking(|c| {
                let mut client = clients::get(c, "entra")?;
                client.scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
                clients::update(c, client, now)
            })
            .unwrap();
    };
    register(&["scim:read", "openid"]);
    assert_eq!(check(&node, &token, Api::Scim).unwrap().scopes, ["scim:read"], "scim:write is gone");
    register(&["openid"]);
    assert!(refused(&check(&node, &token, Api::Scim)), "nothing left to carry");
    register(API_SCOPES);
    assert_eq!(
        check(&node, &token, Api::Scim).unwrap().scopes,
        ["scim:read", "scim:write"],
        "never wider than the token was made"
    );
}

fn the_last_use_is_recorded_at_most_once_a_minute(db: &TestDb) {
    let node = node(db);
    client(&node, "entra");
    let (id, token) = token(&node, "entra", "scim:read");
    let last_used = || node.store.read_blocking(|c| stored::get(c, &id)).unwrap().last_used_at;
    assert_eq!(last_used(), None);
    let first = node.store.now();
    check(&node, &token, Api::Scim).unwrap();
    assert_eq!(last_used(), Some(first));
    node.clock.advance(TimeDelta::seconds(30));
    check(&node, &token, Api::Scim).unwrap();
    assert_eq!(last_used(), Some(first), "within the minute, no write");
    node.clock.advance(TimeDelta::seconds(31));
    let later = node.store.now();
    check(&node, &token, Api::Scim).unwrap();
    assert_eq!(last_used(), Some(later));
    // A refused request is not a use.
    node.clock.advance(TimeDelta::minutes(5));
    assert!(refused(&check(&node, &token, Api::Admin)));
    assert_eq!(last_used(), Some(later));
}

fn tokens_are_made_only_within_the_clients_rules(db: &TestDb) {
    let node = node(db);
    client(&node, "entra");
    let now = node.store.now();
    let mut public = Client::new("spa");
    public.scopes = vec!["scim:read".into()];
    node.store.write_blocking(|c| clients::insert(c, public, now)).unwrap();
    node.store
        .write_blocking(|c| {
            let mut narrow = clients::get(c, "entra")?;
            narrow.id = "narrow".into();
            narrow.scopes = vec!["scim:read".into()];
            clients::insert(c, narrow, now)
        })
        .unwrap();
    let create = |request: Request| {
        node.store.write_blocking(|c| api_tokens::create(c, request, API_SCOPES, now).map(|(r, _)| r))
    };
    let refusals = [
        request("nobody", "scim:read"),
        request("spa", "scim:read"),
        request("narrow", "scim:read scim:write"),
        request("entra", "openid"),
        request("entra", ""),
        Request { lifetime: Some(MAX_LIFETIME + TimeDelta::days(1)), ..request("entra", "scim:read") },
        Request { lifetime: Some(TimeDelta::zero()), ..request("entra", "scim:read") },
    ];
    for bad in refusals {
        let result = create(bad.clone());
        assert!(matches!(result, Err(OidcError::Invalid(_))), "{bad:?}: {result:?}");
    }
    assert!(node.store.read_blocking(|c| stored::list(c, None)).unwrap().is_empty(), "nothing was stored");
    let made = create(Request { lifetime: Some(MAX_LIFETIME), ..request("narrow", "scim:read") }).unwrap();
    assert_eq!(made.expires_at, now + MAX_LIFETIME);
}
