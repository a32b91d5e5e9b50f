//! The one verifier: every token Sigil accepts — at UserInfo,
//! introspection, revocation, token exchange, SCIM and the admin API — is
//! checked here, and nowhere else.
//!
//! An access token passes when (RFC 9068 §4):
//! 1. it is a JWT signed by one of Sigil's published keys;
//! 2. its header `typ` is `at+jwt`, so an ID token cannot pass for one;
//! 3. its `iss` is this issuer;
//! 4. its `aud` names the API it is presented to (RFC 8707 §2), unless the
//!    caller is the authorization server itself (introspection, revocation,
//!    exchange), which accepts any audience;
//! 5. its `exp` is ahead;
//! 6. neither its `jti` nor its grant is revoked;
//! 7. its principal is still there: the user exists and is active, or, for
//!    a client's own token (`sub` = `client_id`), the client is registered.
//!
//! 6 and 7 are read from the store on every call, so revoking a token,
//! deactivating a user or removing a client takes effect on every node at
//! once. The result is a [`Principal`]; consumers read scopes, audience and
//! subject from it, never from raw claims.
//!
//! API tokens ([`crate::api_tokens`], recognised by their prefix) are
//! opaque and pass [`access_token`] for one of Sigil's APIs when:
//! 1. the SHA-256 digest of the whole token names a stored token (found by
//!    the full digest, then compared again in constant time), whose
//!    client is still registered;
//! 2. it is neither revoked nor expired;
//! 3. its scopes, narrowed to those its client is registered for now, make
//!    the API part of its audience (SCIM for `scim:read`/`scim:write`, the
//!    admin API and SCIM for `admin`), as they would for a JWT.
//!
//! The token, its client's registered scopes and the client's built-in
//! roles are read in one query, so revoking the token or removing its
//! client takes effect at once on every node. Its principal is the client
//! ([`Subject::Client`]). An API token is never accepted for "any
//! audience": token exchange cannot turn it into a JWT, and introspection
//! and revocation ask [`api_token`], which binds it to its own client.
//!
//! ID tokens presented back to Sigil pass [`id_token`] as token-exchange
//! subjects (bound to the client presenting them) or [`id_token_hint`] at
//! logout. Refresh
//! tokens are opaque; [`refresh_token`] binds them to their own client
//! (RFC 6749 §6).

use std::sync::Arc;

use serde_json::{Map, Value};
use sigil_store::clients::Client;
use sigil_store::secret::HashedSecret;
use sigil_store::tokens::RefreshToken;
use sigil_store::{StoreError, admin_grants, api_tokens, groups, keys, tokens as stored, users};

use super::{numeric_date, read_numeric_date, verify_signature};
use crate::provider::{Api, Provider};

/// Where a token is presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// One of Sigil's APIs: the token's `aud` must name it.
    Api(Api),
    /// The authorization server itself (introspection, revocation, token
    /// exchange): any audience, since it answers about tokens for others.
    AnyApi,
}

/// Who a verified token acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A user, active when the token was checked.
    User(String),
    /// The client itself (client credentials, RFC 9068 §2.2).
    Client,
}

/// A verified access token.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// Who it acts for.
    pub subject: Subject,
    /// `sub`.
    pub sub: String,
    /// `client_id`: the client it was issued to.
    pub client_id: String,
    /// The granted scopes.
    pub scopes: Vec<String>,
    /// `aud`, as a list.
    pub audience: Vec<String>,
    /// The grant it descends from, when it has one.
    pub grant_id: Option<String>,
    /// `exp`.
    pub expires_at: i64,
    /// Every claim, for introspection and `act` chains; empty for an API
    /// token, which carries none.
    pub claims: Map<String, Value>,
    /// The id of the API token presented, when it is one rather than a JWT.
    pub api_token_id: Option<String>,
    /// What the principal holds now, when asked for
    /// ([`access_token_with_holdings`]).
    pub holdings: Option<Holdings>,
}

/// What a principal holds now, read in the same transaction as its status,
/// so a request to SCIM or the admin API reads its principal once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holdings {
    /// The names of the built-in roles granted to it: to the user directly
    /// or through its groups, or to the client itself.
    pub roles: Vec<String>,
    /// A user's groups, nested ones included, as (id, display name).
    pub groups: Vec<(String, String)>,
}

impl Principal {
    /// The user it acts for, if any.
    pub fn user_id(&self) -> Option<&str> {
        match &self.subject {
            Subject::User(id) => Some(id),
            Subject::Client => None,
        }
    }

    /// Whether `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Not a token this API accepts; the reason is for logs only, never for
    /// the client (RFC 6750 §3.1 `invalid_token` says no more).
    Invalid(&'static str),
    /// The store could not be asked.
    Unavailable(String),
}

impl From<StoreError> for Refused {
    fn from(error: StoreError) -> Self {
        Self::Unavailable(error.to_string())
    }
}

/// The space-separated `scope` claim, as a list.
pub(crate) fn scopes_of(claims: &Map<String, Value>) -> Vec<String> {
    claims
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `aud`, which RFC 7519 §4.1.3 allows as a string or an array.
pub(crate) fn audience_of(claims: &Map<String, Value>) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// Checks the signature against the key list of the last second, and once
/// more against the store's when that fails: another node may have
/// published a key since (see `KeyCache`).
async fn signed_claims(
    provider: &Provider,
    token: &str,
) -> Result<(Option<String>, Map<String, Value>), Refused> {
    let cached = provider.signing_keys.fresh();
    let keys = match &cached {
        Some(keys) => Arc::clone(keys),
        None => provider.signing_keys.store(provider.store.read(keys::list).await?),
    };
    // Only a key this node has not seen yet is worth asking the store
    // about; a bad signature under a known key is just bad (and a flood of
    // them must not become a flood of reads).
    let unseen_kid = || {
        josekit::jwt::decode_header(token)
            .ok()
            .and_then(|h| h.claim("kid").and_then(Value::as_str).map(str::to_owned))
            .is_some_and(|kid| !keys.iter().any(|k| k.kid == kid))
    };
    match verify_signature(token, &keys) {
        Ok(verified) => Ok(verified),
        Err(_) if cached.is_some() && unseen_kid() => {
            let keys = provider.signing_keys.store(provider.store.read(keys::list).await?);
            verify_signature(token, &keys).map_err(|_| Refused::Invalid("signature"))
        }
        Err(_) => Err(Refused::Invalid("signature")),
    }
}

/// Checks an access token presented at `audience`; see the module docs for
/// every step.
pub async fn access_token(
    provider: &Provider,
    token: &str,
    audience: Audience,
) -> Result<Principal, Refused> {
    check_access_token(provider, token, audience, false).await
}

/// [`access_token`] for one of Sigil's own APIs, with what the principal
/// holds (built-in roles, groups) read in the same transaction.
pub async fn access_token_with_holdings(
    provider: &Provider,
    token: &str,
    api: Api,
) -> Result<Principal, Refused> {
    check_access_token(provider, token, Audience::Api(api), true).await
}

async fn check_access_token(
    provider: &Provider,
    token: &str,
    audience: Audience,
    with_holdings: bool,
) -> Result<Principal, Refused> {
    if crate::api_tokens::is_api_token(token) {
        let Audience::Api(api) = audience else {
            return Err(Refused::Invalid("an API token is for Sigil's own APIs only"));
        };
        return check_api_token(provider, token, Some(api), with_holdings).await;
    }
    let (typ, claims) = signed_claims(provider, token).await?;
    // RFC 9068 §4: the typ keeps an ID token from passing as an access token.
    if typ.as_deref() != Some("at+jwt") {
        return Err(Refused::Invalid("not an access token"));
    }
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
    if text("iss").as_deref() != Some(provider.issuer.as_str()) {
        return Err(Refused::Invalid("issued by someone else"));
    }
    let aud = audience_of(&claims);
    if let Audience::Api(api) = audience
        && !aud.contains(&provider.resource(api))
    {
        return Err(Refused::Invalid("meant for another audience"));
    }
    let expires_at = read_numeric_date(claims.get("exp")).ok_or(Refused::Invalid("no expiry"))?;
    if expires_at <= numeric_date(provider.store.now()) {
        return Err(Refused::Invalid("expired"));
    }
    let (Some(sub), Some(client_id), Some(jti)) = (text("sub"), text("client_id"), text("jti")) else {
        return Err(Refused::Invalid("sub, client_id or jti missing"));
    };
    let grant_id = text("grant_id");
    let subject = if sub == client_id { Subject::Client } else { Subject::User(sub.clone()) };
    let probe = (subject.clone(), client_id.clone(), grant_id.clone());
    // One transaction: revocation, the principal's status and, when asked,
    // what it holds. `None` when the token is dead.
    let live = provider
        .store
        .read(move |c| -> Result<Option<Option<Holdings>>, StoreError> {
            let (subject, client_id, grant_id) = probe;
            let user_id = match &subject {
                Subject::User(id) => id,
                Subject::Client => {
                    // Revocation, the client's registration and its roles
                    // in one statement.
                    let roles = stored::live_client_token(c, &client_id, &jti, grant_id.as_deref())?;
                    return Ok(
                        roles.map(|roles| with_holdings.then_some(Holdings { roles, groups: Vec::new() }))
                    );
                }
            };
            if stored::is_revoked(c, &jti, grant_id.as_deref())?
                || users::is_active(c, user_id)? != Some(true)
            {
                return Ok(None);
            }
            if !with_holdings {
                return Ok(Some(None));
            }
            let groups: Vec<(String, String)> = groups::memberships_of_user(c, user_id)?
                .into_iter()
                .map(|(group, _)| (group.id, group.display_name))
                .collect();
            let ids: Vec<String> = groups.iter().map(|(id, _)| id.clone()).collect();
            let holdings = Holdings { roles: admin_grants::held_through(c, user_id, &ids)?, groups };
            Ok(Some(Some(holdings)))
        })
        .await?;
    let Some(holdings) = live else {
        return Err(Refused::Invalid("revoked, or its principal is gone or inactive"));
    };
    Ok(Principal {
        subject,
        sub,
        client_id,
        scopes: scopes_of(&claims),
        audience: aud,
        grant_id,
        expires_at,
        claims,
        api_token_id: None,
        holdings,
    })
}

/// Checks an API token presented to the authorization server itself
/// (introspection, revocation), for any of its APIs; the caller binds it
/// to the client asking. See the module docs for the checks.
pub(crate) async fn api_token(provider: &Provider, token: &str) -> Result<Principal, Refused> {
    check_api_token(provider, token, None, false).await
}

async fn check_api_token(
    provider: &Provider,
    token: &str,
    api: Option<Api>,
    with_holdings: bool,
) -> Result<Principal, Refused> {
    let digest = HashedSecret::of(token).as_str().to_owned();
    // One statement: the token, its client's scopes and roles.
    let found = provider
        .store
        .read_statement(move |c| api_tokens::find(c, &digest))
        .await?
        .ok_or(Refused::Invalid("unknown API token, or its client is gone"))?;
    // Found by the whole digest already; comparing again in constant time
    // costs one hash and leaves no doubt about what the index compared.
    if !found.token_hash.matches(token) {
        return Err(Refused::Invalid("unknown API token"));
    }
    let now = provider.store.now();
    let record = found.token;
    if record.revoked_at.is_some() {
        return Err(Refused::Invalid("revoked API token"));
    }
    if record.expires_at <= now {
        return Err(Refused::Invalid("expired API token"));
    }
    // Scopes only narrow: a client no longer registered for a scope loses
    // it for its tokens too.
    let scopes: Vec<String> = record
        .scope
        .split(' ')
        .filter(|s| !s.is_empty() && found.client_scopes.iter().any(|c| c == s))
        .map(str::to_owned)
        .collect();
    if scopes.is_empty() {
        return Err(Refused::Invalid("its client is no longer registered for any of its scopes"));
    }
    let audience: Vec<String> = provider.apis_implied_by(&scopes).map(|api| provider.resource(api)).collect();
    if let Some(api) = api
        && !audience.contains(&provider.resource(api))
    {
        return Err(Refused::Invalid("meant for another audience"));
    }
    // A use is a request to an API; the authorization server's own
    // questions about the token are not. At most one write a minute per
    // token, whichever node wins; a failure to record it refuses nothing.
    if api.is_some() && record.use_is_due(now) {
        let id = record.id.clone();
        if let Err(error) = provider.store.write(move |c| api_tokens::touch(c, &id, now)).await {
            tracing::warn!(%error, "could not record an API token's use");
        }
    }
    Ok(Principal {
        subject: Subject::Client,
        sub: record.client_id.clone(),
        client_id: record.client_id,
        scopes,
        audience,
        grant_id: None,
        expires_at: numeric_date(record.expires_at),
        claims: Map::new(),
        api_token_id: Some(record.id),
        holdings: with_holdings.then(|| Holdings { roles: found.client_roles, groups: Vec::new() }),
    })
}

/// Checks an ID token Sigil issued that `client` presents back (as a
/// token-exchange subject): signed by us, not an access token, our `iss`,
/// issued to `client` (`aud` or `azp`, OpenID Connect Core §2), not
/// expired, and its user still active. Returns its claims.
pub(crate) async fn id_token(
    provider: &Provider,
    token: &str,
    client: &Client,
) -> Result<Map<String, Value>, Refused> {
    let (typ, claims) = signed_claims(provider, token).await?;
    if typ.as_deref() == Some("at+jwt") {
        return Err(Refused::Invalid("an access token, not an ID token"));
    }
    if claims.get("iss").and_then(Value::as_str) != Some(provider.issuer.as_str()) {
        return Err(Refused::Invalid("issued by someone else"));
    }
    let azp = claims.get("azp").and_then(Value::as_str);
    if !audience_of(&claims).contains(&client.id) && azp != Some(client.id.as_str()) {
        return Err(Refused::Invalid("issued to another client"));
    }
    if read_numeric_date(claims.get("exp")).is_none_or(|exp| exp <= numeric_date(provider.store.now())) {
        return Err(Refused::Invalid("expired"));
    }
    let sub = claims.get("sub").and_then(Value::as_str).ok_or(Refused::Invalid("no sub"))?.to_owned();
    let grant = claims.get("grant_id").and_then(Value::as_str).map(str::to_owned);
    let live = provider
        .store
        .read(move |c| {
            let revoked = match &grant {
                Some(grant) => stored::is_revoked(c, "", Some(grant))?,
                None => false,
            };
            Ok::<_, StoreError>(!revoked && users::is_active(c, &sub)? == Some(true))
        })
        .await?;
    if !live {
        return Err(Refused::Invalid("revoked, or its user is gone or inactive"));
    }
    Ok(claims)
}

/// Checks an `id_token_hint` (RP-Initiated Logout 1.0 §2): the OP MUST
/// check that it issued the hint (signature and `iss`); an expired ID token
/// is still a good hint, so `exp` is not checked. `Ok(None)` for a token of
/// ours that is not an ID token (`typ` `at+jwt`): it says nothing about a
/// session. Whether the hint's `sub` and `sid` match the session is the
/// caller's to decide.
pub(crate) async fn id_token_hint(
    provider: &Provider,
    token: &str,
) -> Result<Option<Map<String, Value>>, Refused> {
    let (typ, claims) = signed_claims(provider, token).await?;
    if claims.get("iss").and_then(Value::as_str) != Some(provider.issuer.as_str()) {
        return Err(Refused::Invalid("issued by someone else"));
    }
    Ok((typ.as_deref() != Some("at+jwt")).then_some(claims))
}

/// Checks a refresh token `client` presents: known, issued to `client`
/// (RFC 6749 §6, RFC 9700 §4.14: a refresh token is bound to its client),
/// neither spent, revoked nor expired, and its user still active.
pub(crate) async fn refresh_token(
    provider: &Provider,
    token: &str,
    client: &Client,
) -> Result<RefreshToken, Refused> {
    let hash = HashedSecret::of(token).as_str().to_owned();
    let record = provider
        .store
        .read(move |c| {
            let Some(record) = stored::find_refresh(c, &hash)? else { return Ok(None) };
            if stored::is_revoked(c, "", Some(&record.family_id))? {
                return Ok(None);
            }
            let active = match &record.user_id {
                Some(user) => users::is_active(c, user)? == Some(true),
                None => false,
            };
            Ok::<_, StoreError>(active.then_some(record))
        })
        .await?
        .ok_or(Refused::Invalid("unknown, its grant revoked, or its user gone or inactive"))?;
    if record.client_id != client.id {
        return Err(Refused::Invalid("issued to another client"));
    }
    if record.used_at.is_some() || record.revoked_at.is_some() || record.expires_at <= provider.store.now() {
        return Err(Refused::Invalid("spent, revoked or expired"));
    }
    Ok(record)
}
