//! OAuth 2.0 Token Exchange (RFC 8693): a client trades a token it holds
//! for another, typically one for a different audience (delegation to an
//! API, as in the CERN seed), driven by the client's `ExchangePolicy`.
//!
//! What keeps it from being a way up:
//! - subject tokens are checked by the one verifier, and bound to the
//!   client presenting them where they are bound at all: a refresh token
//!   only for its own client (RFC 6749 §6), an ID token only for the client
//!   it was issued to (its `aud` / `azp`);
//! - the scope is at most the subject token's **and** the client's own
//!   registered scopes; a trusted issuer's token carries only what it has
//!   and the operator listed for that issuer (`crate::trusted`);
//! - the actor (§4.1) is the client itself, or a token whose subject is the
//!   client, or one the subject token's `may_act` (§4.4) names;
//! - what is issued keeps the subject's grant, so revoking the grant or
//!   signing out revokes it, and never outlives the subject token.
//!
//! §2.2.2: an invalid or unacceptable subject or actor token is
//! `invalid_request`; an audience the client may not have is
//! `invalid_target`.

use serde_json::{Map, Value, json};
use sigil_store::clients::Client;
use sigil_store::tokens::RefreshToken;
use sigil_store::users;

use super::{
    TokenRequest, TokenResponse, active_user, audiences, may_use, narrow_scope, required, split_scope,
};
use crate::OidcError;
use crate::issue::{self, AccessToken, IdToken};
use crate::provider::Provider;
use crate::tokens::verify::{self, Audience, Refused, Subject};
use crate::tokens::{numeric_date, read_numeric_date};
use crate::trusted::TrustedIssuer;

/// RFC 8693 §2.1 `grant_type`.
pub(crate) const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// RFC 8693 §3 token type identifiers.
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
const REFRESH_TOKEN: &str = "urn:ietf:params:oauth:token-type:refresh_token";
const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";

/// A subject token, once checked.
#[derive(Debug)]
struct SubjectToken {
    user_id: String,
    scope: Vec<String>,
    grant_id: Option<String>,
    /// The chain of actors so far (ours only; another issuer's is not
    /// ours to vouch for).
    act: Option<Value>,
    may_act: Option<Value>,
    auth_time: Option<i64>,
    /// Its `exp`: nothing derived from it outlives it.
    expires_at: i64,
    /// The trusted issuer it came from.
    external: Option<TrustedIssuer>,
}

/// §2.2.2: the subject or actor token is invalid or unacceptable.
fn unacceptable(what: &str, why: &str) -> OidcError {
    OidcError::InvalidRequest(format!("the {what} is not acceptable: {why}"))
}

fn refused(what: &str, refusal: Refused) -> OidcError {
    match refusal {
        // The reason is logged, not told: it could say whether a user is
        // disabled.
        Refused::Invalid(why) => {
            tracing::info!(why, "token exchange: {what} refused");
            unacceptable(what, "it is not a valid token for this exchange")
        }
        Refused::Unavailable(why) => OidcError::Store(sigil_store::StoreError::Unavailable(why)),
    }
}

/// Checks the `subject_token` of type `kind` that `client` presents.
async fn subject(
    provider: &Provider,
    client: &Client,
    token: &str,
    kind: &str,
) -> Result<SubjectToken, OidcError> {
    const WHAT: &str = "subject_token";
    if kind == JWT
        && let Some(trusted) = crate::trusted::issuer_of(provider, token)
    {
        return external_subject(provider, trusted.clone(), token).await;
    }
    match kind {
        ACCESS_TOKEN | JWT => {
            let principal = verify::access_token(provider, token, Audience::AnyApi)
                .await
                .map_err(|r| refused(WHAT, r))?;
            let Subject::User(user_id) = principal.subject.clone() else {
                return Err(unacceptable(WHAT, "it acts for no user"));
            };
            Ok(SubjectToken {
                user_id,
                scope: principal.scopes.clone(),
                grant_id: principal.grant_id.clone(),
                act: principal.claims.get("act").cloned(),
                may_act: principal.claims.get("may_act").cloned(),
                auth_time: read_numeric_date(principal.claims.get("auth_time")),
                expires_at: principal.expires_at,
                external: None,
            })
        }
        ID_TOKEN => {
            let claims = verify::id_token(provider, token, client).await.map_err(|r| refused(WHAT, r))?;
            let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
            Ok(SubjectToken {
                user_id: text("sub").ok_or_else(|| unacceptable(WHAT, "no sub"))?,
                scope: vec!["openid".to_owned()],
                grant_id: text("grant_id"),
                act: claims.get("act").cloned(),
                may_act: claims.get("may_act").cloned(),
                auth_time: read_numeric_date(claims.get("auth_time")),
                expires_at: read_numeric_date(claims.get("exp")).unwrap_or_default(),
                external: None,
            })
        }
        REFRESH_TOKEN => {
            let record =
                verify::refresh_token(provider, token, client).await.map_err(|r| refused(WHAT, r))?;
            Ok(SubjectToken {
                user_id: record.user_id.clone().ok_or_else(|| unacceptable(WHAT, "no user"))?,
                scope: split_scope(&record.scope),
                grant_id: Some(record.family_id),
                act: None,
                may_act: None,
                auth_time: record.auth_time.map(numeric_date),
                expires_at: numeric_date(record.expires_at),
                external: None,
            })
        }
        other => Err(OidcError::InvalidRequest(format!(
            "the {WHAT} type `{other}` is not supported (access_token, refresh_token, id_token or jwt)"
        ))),
    }
}

/// A JWT from a trusted issuer: its user is the one whose name is exactly
/// the configured claim.
async fn external_subject(
    provider: &Provider,
    trusted: TrustedIssuer,
    token: &str,
) -> Result<SubjectToken, OidcError> {
    const WHAT: &str = "subject_token";
    let claims = crate::trusted::verify(provider, &trusted, token)
        .await
        .map_err(|e| unacceptable(WHAT, &e.to_string()))?;
    let Some(name) = claims.get(&trusted.user_claim).and_then(Value::as_str).map(str::to_owned) else {
        return Err(unacceptable(WHAT, &format!("it has no `{}` claim", trusted.user_claim)));
    };
    let lookup = name.clone();
    let user = provider.store.read(move |c| users::find_by_user_name(c, &lookup)).await?;
    let Some(user) = user.filter(|u| u.user_name == name) else {
        return Err(unacceptable(WHAT, "it names no user of this server"));
    };
    let carried = verify::scopes_of(&claims);
    Ok(SubjectToken {
        user_id: user.id,
        scope: carried.into_iter().filter(|s| trusted.scopes.contains(s)).collect(),
        grant_id: None,
        act: None,
        may_act: claims.get("may_act").cloned(),
        auth_time: read_numeric_date(claims.get("auth_time")),
        expires_at: read_numeric_date(claims.get("exp")).unwrap_or_default(),
        external: Some(trusted),
    })
}

/// The actor (§4.1): the `sub` of the actor token, which must be Sigil's
/// access token of the requesting client itself, or of whoever the
/// subject's `may_act` names; with the actor's own chain, if any.
async fn actor(
    provider: &Provider,
    client: &Client,
    subject: &SubjectToken,
    token: &str,
    kind: &str,
) -> Result<(String, Option<Value>), OidcError> {
    const WHAT: &str = "actor_token";
    if kind != ACCESS_TOKEN && kind != JWT {
        return Err(unacceptable(WHAT, "only an access token issued here can name an actor"));
    }
    let principal =
        verify::access_token(provider, token, Audience::AnyApi).await.map_err(|r| refused(WHAT, r))?;
    let is_the_client = principal.subject == Subject::Client && principal.client_id == client.id;
    let admitted = may_act_names(subject.may_act.as_ref(), &principal.sub);
    if !is_the_client && !admitted {
        return Err(unacceptable(
            WHAT,
            "it is neither the requesting client's own token nor named by may_act",
        ));
    }
    Ok((principal.sub, principal.claims.get("act").cloned()))
}

/// Whether a `may_act` claim (§4.4) names `sub`.
fn may_act_names(may_act: Option<&Value>, sub: &str) -> bool {
    may_act.and_then(|m| m.get("sub")).and_then(Value::as_str) == Some(sub)
}

/// The audiences asked for with `audience` and `resource` (§2.1), each of
/// which the client's policy (and a trusted issuer's list) must name; Sigil's
/// own APIs only with their scope. Without any, the client's only exchange
/// audience.
fn exchange_audiences(
    provider: &Provider,
    client: &Client,
    subject: &SubjectToken,
    request: &TokenRequest,
    scope: &[String],
) -> Result<Vec<String>, OidcError> {
    let allowed: Vec<String> = match &subject.external {
        Some(trusted) => {
            client.exchange_audiences.iter().filter(|a| trusted.audiences.contains(a)).cloned().collect()
        }
        None => client.exchange_audiences.clone(),
    };
    if request.targets.is_empty() {
        return match allowed.as_slice() {
            [only] => Ok(vec![only.clone()]),
            [] => Err(OidcError::InvalidTarget(
                "this client may not exchange this token for any audience".into(),
            )),
            _ => Err(OidcError::InvalidRequest(
                "name the audience (or resource) to exchange the token for".into(),
            )),
        };
    }
    let granted = audiences(provider, &request.targets, &allowed, Vec::new(), scope)?;
    // Another issuer's token reaches only what the operator listed for it,
    // Sigil's own APIs included.
    if let Some(trusted) = &subject.external
        && let Some(unlisted) = granted.iter().find(|a| !trusted.audiences.contains(a))
    {
        return Err(OidcError::InvalidTarget(format!(
            "tokens of {} may not be exchanged for `{unlisted}`",
            trusted.issuer
        )));
    }
    Ok(granted)
}

/// RFC 8693 §2.1-§2.2: the exchange.
pub(super) async fn grant(
    provider: &Provider,
    client: &Client,
    request: &TokenRequest,
) -> Result<TokenResponse, OidcError> {
    if !may_use(client, GRANT_TYPE) {
        return Err(OidcError::UnauthorizedClient("this client may not use token exchange".into()));
    }
    let subject_token = required(request.subject_token.as_ref(), "subject_token")?;
    let subject_type = required(request.subject_token_type.as_ref(), "subject_token_type")?;
    let actor_token = match (&request.actor_token, &request.actor_token_type) {
        (Some(token), Some(kind)) => Some((token.as_str(), kind.as_str())),
        (None, None) => None,
        // §2.1: actor_token_type is REQUIRED when actor_token is present,
        // and MUST NOT be included otherwise.
        _ => return Err(OidcError::InvalidRequest("actor_token and actor_token_type go together".into())),
    };
    let requested_type = match request.requested_token_type.as_deref().unwrap_or(ACCESS_TOKEN) {
        ACCESS_TOKEN => ACCESS_TOKEN,
        JWT => JWT,
        ID_TOKEN => ID_TOKEN,
        REFRESH_TOKEN => REFRESH_TOKEN,
        other => {
            return Err(OidcError::InvalidRequest(format!(
                "requested_token_type `{other}` is not supported"
            )));
        }
    };
    if requested_type == REFRESH_TOKEN && !client.exchange_refresh_tokens {
        return Err(OidcError::InvalidRequest("this client may not get refresh tokens by exchange".into()));
    }
    let subject = subject(provider, client, subject_token, subject_type).await?;
    let actor = match actor_token {
        Some((token, kind)) => Some(actor(provider, client, &subject, token, kind).await?),
        None => None,
    };

    // §4.4: a subject token that names who may act admits only that actor.
    let actor_sub = actor.as_ref().map_or(client.id.as_str(), |(sub, _)| sub.as_str());
    if subject.may_act.is_some() && !may_act_names(subject.may_act.as_ref(), actor_sub) {
        return Err(unacceptable("subject_token", "its may_act does not name this actor"));
    }
    // §4.1: the new actor, with the chain so far nested inside it.
    let act = if actor.is_none() && client.exchange_impersonation {
        None
    } else {
        let mut act = Map::new();
        act.insert("sub".into(), json!(actor_sub));
        if actor.is_none() {
            act.insert("client_id".into(), json!(client.id));
        }
        let earlier = subject.act.clone().or_else(|| actor.as_ref().and_then(|(_, chain)| chain.clone()));
        if let Some(earlier) = earlier {
            act.insert("act".into(), earlier);
        }
        Some(Value::Object(act))
    };

    let scope = narrow_scope(
        client,
        &subject.scope,
        request.scope.as_deref(),
        "is not in the subject token's scope",
    )?;
    let audience = exchange_audiences(provider, client, &subject, request, &scope)?;
    let user = active_user(provider, &subject.user_id, || {
        unacceptable("subject_token", "its subject is not an active user")
    })
    .await?;
    // A refresh token records no actor: minting one for a delegation would
    // turn it into impersonation at its first use. Only a client trusted to
    // impersonate (no act) may get one.
    if requested_type == REFRESH_TOKEN && act.is_some() {
        return Err(OidcError::InvalidRequest(
            "a refresh token by exchange is only issued to a client that may impersonate, without an actor"
                .into(),
        ));
    }
    let now = provider.store.now();
    let (token, token_type, expires_in) = match requested_type {
        REFRESH_TOKEN => {
            let expires_at = (now + provider.lifetimes.refresh_token)
                .min(chrono::DateTime::from_timestamp(subject.expires_at, 0).map_or(now, |t| t.naive_utc()));
            let template = RefreshToken {
                token_hash: String::new(),
                family_id: subject.grant_id.clone().unwrap_or_else(sigil_store::new_id),
                client_id: client.id.clone(),
                user_id: Some(user.id.clone()),
                scope: scope.join(" "),
                session_id_hash: None,
                auth_time: subject
                    .auth_time
                    .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                    .map(|t| t.naive_utc()),
                created: now,
                expires_at,
                used_at: None,
                revoked_at: None,
            };
            let token = issue::refresh_token(provider, template).await?;
            (token, "N_A", numeric_date(expires_at) - numeric_date(now))
        }
        ID_TOKEN => {
            // An ID token for the requesting client, about the subject.
            let spec = IdToken {
                user_id: &user.id,
                auth_time: subject.auth_time,
                grant_id: subject.grant_id.as_deref(),
                act: act.as_ref(),
                not_after: Some(subject.expires_at),
                ..IdToken::default()
            };
            let minted = issue::id_token(provider, client, &spec).await?;
            (minted.token, "N_A", minted.expires_in)
        }
        _ => {
            let spec = AccessToken {
                subject: &user.id,
                for_user: true,
                audience: &audience,
                scope: &scope,
                grant_id: subject.grant_id.as_deref(),
                auth_time: subject.auth_time,
                act: act.as_ref(),
                not_after: Some(subject.expires_at),
            };
            let minted = issue::access_token(provider, client, &spec).await?;
            (minted.token, "Bearer", minted.expires_in)
        }
    };
    // §2.2.1: issued_token_type is REQUIRED.
    Ok(TokenResponse {
        access_token: token,
        token_type,
        expires_in,
        scope: (!scope.is_empty()).then(|| scope.join(" ")),
        refresh_token: None,
        id_token: None,
        issued_token_type: Some(requested_type),
    })
}
