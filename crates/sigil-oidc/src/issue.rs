//! Every token Sigil mints is built here: the claims of access tokens
//! (RFC 9068 §2.2), of ID tokens (OpenID Connect Core §2), and refresh
//! tokens stored as digests. The grants decide what goes in; this module
//! decides how it is written, once.

use chrono::NaiveDateTime;
use serde_json::{Map, Value, json};
use sigil_store::clients::Client;
use sigil_store::secret::PlainSecret;
use sigil_store::tokens::{self as stored, RefreshToken};

use crate::OidcError;
use crate::keys::SigningAlg;
use crate::provider::Provider;
use crate::tokens::{at_hash, numeric_date};

/// What an access token says.
#[derive(Debug, Clone)]
pub(crate) struct AccessToken<'a> {
    /// `sub`: the user, or the client itself.
    pub(crate) subject: &'a str,
    /// Whether `subject` is a user (groups and roles are then added).
    pub(crate) for_user: bool,
    pub(crate) audience: &'a [String],
    pub(crate) scope: &'a [String],
    /// The grant it descends from: revoking the grant revokes it.
    pub(crate) grant_id: Option<&'a str>,
    pub(crate) auth_time: Option<i64>,
    /// RFC 8693 §4.1 actor chain.
    pub(crate) act: Option<&'a Value>,
    /// A time it must not outlive (an exchanged token's subject's `exp`).
    pub(crate) not_after: Option<i64>,
}

/// A signed access token and how long it lives.
#[derive(Debug, Clone)]
pub(crate) struct Minted {
    pub(crate) token: String,
    pub(crate) expires_in: i64,
}

/// The expiry of a token issued `now` for `lifetime`, capped at
/// `not_after`: a derived token never outlives what it came from.
fn expiry(now: NaiveDateTime, lifetime: chrono::TimeDelta, not_after: Option<i64>) -> i64 {
    let natural = numeric_date(now + lifetime);
    not_after.map_or(natural, |cap| natural.min(cap))
}

/// RFC 9068 §2.1: an access token is a JWT with `typ` `at+jwt`, signed
/// with the algorithm chosen for its client (RS256 unless set otherwise).
pub(crate) async fn access_token(
    provider: &Provider,
    client: &Client,
    spec: &AccessToken<'_>,
) -> Result<Minted, OidcError> {
    let now = provider.store.now();
    let exp = expiry(now, provider.lifetimes.access_token, spec.not_after);
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(provider.issuer));
    claims.insert("sub".into(), json!(spec.subject));
    let aud = if spec.audience.len() == 1 { json!(spec.audience[0]) } else { json!(spec.audience) };
    claims.insert("aud".into(), aud);
    claims.insert("client_id".into(), json!(client.id));
    claims.insert("iat".into(), json!(numeric_date(now)));
    claims.insert("exp".into(), json!(exp));
    claims.insert("jti".into(), json!(sigil_store::new_id()));
    if !spec.scope.is_empty() {
        claims.insert("scope".into(), json!(spec.scope.join(" ")));
    }
    if let Some(grant_id) = spec.grant_id {
        claims.insert("grant_id".into(), json!(grant_id));
    }
    if let Some(auth_time) = spec.auth_time {
        claims.insert("auth_time".into(), json!(auth_time));
    }
    if let Some(act) = spec.act {
        claims.insert("act".into(), act.clone());
    }
    if spec.for_user {
        if wants_groups(client, spec.scope) {
            claims.insert(provider.groups_claim.name.clone(), groups_claim(provider, spec.subject).await?);
        }
        // The roles the user holds in the applications the token is for.
        if let Some(roles) = roles_claim(provider, spec.subject, spec.audience).await? {
            claims.insert("roles".into(), roles);
        }
    }
    let keys = provider.keys_for_signing().await?;
    let alg: SigningAlg = client.access_token_signed_response_alg.parse()?;
    let token = provider.signers.sign(&keys, alg, "at+jwt", &claims)?;
    Ok(Minted { token, expires_in: exp - numeric_date(now) })
}

/// What an ID token says.
#[derive(Debug, Clone, Default)]
pub(crate) struct IdToken<'a> {
    pub(crate) user_id: &'a str,
    pub(crate) auth_time: Option<i64>,
    pub(crate) nonce: Option<&'a str>,
    pub(crate) sid: Option<&'a str>,
    /// Ties the ID token to its grant, so an exchange of it stays revocable.
    pub(crate) grant_id: Option<&'a str>,
    /// The access token issued with it, for `at_hash`.
    pub(crate) access_token: Option<&'a str>,
    pub(crate) act: Option<&'a Value>,
    pub(crate) not_after: Option<i64>,
    /// Whether to add the groups claim.
    pub(crate) groups: bool,
}

/// An ID token for `client` (OpenID Connect Core §2, §3.1.3.6), and how long
/// it lives.
pub(crate) async fn id_token(
    provider: &Provider,
    client: &Client,
    spec: &IdToken<'_>,
) -> Result<Minted, OidcError> {
    let now = provider.store.now();
    let exp = expiry(now, provider.lifetimes.id_token, spec.not_after);
    let alg: SigningAlg = client.id_token_signed_response_alg.parse()?;
    let mut id = Map::new();
    id.insert("iss".into(), json!(provider.issuer));
    id.insert("sub".into(), json!(spec.user_id));
    id.insert("aud".into(), json!(client.id));
    id.insert("azp".into(), json!(client.id));
    id.insert("iat".into(), json!(numeric_date(now)));
    id.insert("exp".into(), json!(exp));
    if let Some(auth_time) = spec.auth_time {
        id.insert("auth_time".into(), json!(auth_time));
    }
    if let Some(access_token) = spec.access_token {
        id.insert("at_hash".into(), json!(at_hash(access_token, alg)));
    }
    if let Some(nonce) = spec.nonce {
        id.insert("nonce".into(), json!(nonce));
    }
    if let Some(sid) = spec.sid {
        id.insert("sid".into(), json!(sid));
    }
    if let Some(grant_id) = spec.grant_id {
        id.insert("grant_id".into(), json!(grant_id));
    }
    if let Some(act) = spec.act {
        id.insert("act".into(), act.clone());
    }
    if spec.groups {
        id.insert(provider.groups_claim.name.clone(), groups_claim(provider, spec.user_id).await?);
    }
    if let Some(roles) = roles_claim(provider, spec.user_id, std::slice::from_ref(&client.id)).await? {
        id.insert("roles".into(), roles);
    }
    let keys = provider.keys_for_signing().await?;
    let token = provider.signers.sign(&keys, alg, "JWT", &id)?;
    Ok(Minted { token, expires_in: exp - numeric_date(now) })
}

/// Stores a new refresh token like `template` (its digest, never the
/// token) and returns it in the clear.
pub(crate) async fn refresh_token(
    provider: &Provider,
    mut template: RefreshToken,
) -> Result<String, OidcError> {
    let secret = PlainSecret::generate()?;
    template.token_hash = secret.hash().as_str().to_owned();
    provider.store.write(move |c| stored::insert_refresh(c, &template)).await?;
    Ok(secret.expose().to_owned())
}

/// Whether tokens of `client` with `scope` carry the groups claim: with the
/// `groups` scope, or by the client's policy.
pub(crate) fn wants_groups(client: &Client, scope: &[String]) -> bool {
    scope.iter().any(|s| s == "groups") || client.always_groups_claim
}

/// The `groups` claim (the Curity seed's model): every group the user
/// belongs to, directly or through nesting, by display name (or id, as
/// configured), read from the store when the token is issued.
pub(crate) async fn groups_claim(provider: &Provider, user_id: &str) -> Result<Value, OidcError> {
    let id = user_id.to_owned();
    let memberships = provider.store.read(move |c| sigil_store::groups::memberships_of_user(c, &id)).await?;
    let ids = provider.groups_claim.ids;
    Ok(json!(
        memberships
            .into_iter()
            .map(|(group, _)| if ids { group.id } else { group.display_name })
            .collect::<Vec<_>>()
    ))
}

/// The `roles` claim: the roles the user holds (directly or through its
/// groups, nested ones included) in the applications the token is for.
/// `None` when there are none, so the claim is left out.
async fn roles_claim(
    provider: &Provider,
    user_id: &str,
    audience: &[String],
) -> Result<Option<Value>, OidcError> {
    let (user, audience) = (user_id.to_owned(), audience.to_vec());
    let names = provider
        .store
        .read(move |c| {
            let mut names = std::collections::BTreeSet::new();
            for application in &audience {
                names.extend(sigil_store::roles::effective(c, &user, application)?);
            }
            Ok::<_, sigil_store::StoreError>(names)
        })
        .await?;
    Ok((!names.is_empty()).then(|| json!(names.into_iter().collect::<Vec<_>>())))
}
