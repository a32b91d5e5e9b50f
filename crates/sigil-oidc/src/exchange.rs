//! OAuth 2.0 Token Exchange (RFC 8693) at the token endpoint: a client
//! trades a token it holds (the subject token: a user's access, refresh or
//! ID token issued here) for a new access token, ID token or refresh token
//! whose audience is another service, such as an API it calls for the user.
//!
//! Who may exchange for what is the client's policy (`ExchangePolicy`):
//! the audiences it may ask for, whether it may impersonate, whether it may
//! get refresh tokens. By default an exchanged token names its actor in an
//! `act` claim (delegation, §4.1): the `actor_token`'s subject if one is
//! given, else the requesting client; earlier actors nest inside it. A
//! subject token with `may_act` (§4.4) admits only the actor it names.
//! Exchanged access tokens keep the subject token's grant, so revoking that
//! grant revokes them too, and carry their own `jti`.

use serde_json::{Map, Value, json};
use sigil_store::clients::Client;
use sigil_store::secret::HashedSecret;
use sigil_store::tokens::{self as refresh, RefreshToken};
use sigil_store::{keys, users};

use crate::OidcError;
use crate::grants::{access_token_claims, groups_claim, issue_refresh, roles_claim, sign_access_token};
use crate::http::{Form, OidcContext};
use crate::keys::SigningAlg;
use crate::tokens::{numeric_date, read_numeric_date, verify_signature};

/// RFC 8693 §2.1 `grant_type`.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// RFC 8693 §3 token type identifiers.
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
const REFRESH_TOKEN: &str = "urn:ietf:params:oauth:token-type:refresh_token";
const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";

/// What a presented token says, once checked.
#[derive(Debug)]
struct Presented {
    sub: String,
    scope: Vec<String>,
    grant_id: Option<String>,
    act: Option<Value>,
    may_act: Option<Value>,
    auth_time: Option<i64>,
    /// From a trusted issuer: its scopes are another system's.
    external: bool,
}

fn invalid(what: &str) -> OidcError {
    OidcError::InvalidGrant(format!("the {what} is not valid"))
}

/// Checks a token presented as `subject_token` or `actor_token` (`what`).
async fn check(ctx: &OidcContext, token: &str, kind: &str, what: &str) -> Result<Presented, OidcError> {
    let scope_of = |claims: &Map<String, Value>| -> Vec<String> {
        claims
            .get("scope")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    // A JWT from a trusted issuer: its user is found by the configured claim.
    if kind == JWT
        && let Some(trusted) = crate::trusted::issuer_of(ctx, token)
    {
        let trusted = trusted.clone();
        let claims = crate::trusted::verify(ctx, &trusted, token).await?;
        let Some(name) = claims.get(&trusted.user_claim).and_then(Value::as_str).map(str::to_owned) else {
            return Err(OidcError::InvalidGrant(format!("the {what} has no `{}` claim", trusted.user_claim)));
        };
        let user = ctx.store.read(move |c| users::find_by_user_name(c, &name)).await?;
        let Some(user) = user else {
            return Err(OidcError::InvalidGrant(format!("the {what} names no user of this server")));
        };
        return Ok(Presented {
            sub: user.id,
            scope: scope_of(&claims),
            grant_id: None,
            act: claims.get("act").cloned(),
            may_act: claims.get("may_act").cloned(),
            auth_time: read_numeric_date(claims.get("auth_time")),
            external: true,
        });
    }
    match kind {
        ACCESS_TOKEN | JWT => {
            let claims = ctx.check_access_token(token).await.map_err(|refused| match refused {
                crate::http::AccessTokenRefused::Invalid => invalid(what),
                crate::http::AccessTokenRefused::Unavailable(why) => {
                    OidcError::Store(sigil_store::StoreError::Unavailable(why))
                }
            })?;
            let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
            Ok(Presented {
                sub: text("sub").ok_or_else(|| invalid(what))?,
                scope: scope_of(&claims),
                grant_id: text("grant_id"),
                act: claims.get("act").cloned(),
                may_act: claims.get("may_act").cloned(),
                auth_time: read_numeric_date(claims.get("auth_time")),
                external: false,
            })
        }
        ID_TOKEN => {
            let keys = ctx.store.read(keys::list).await?;
            let (typ, claims) = verify_signature(token, &keys).map_err(|_| invalid(what))?;
            let now = numeric_date(ctx.store.now());
            let issued_here = claims.get("iss").and_then(Value::as_str) == Some(ctx.issuer.as_str());
            let live = read_numeric_date(claims.get("exp")).is_some_and(|exp| exp > now);
            if typ.as_deref() == Some("at+jwt") || !issued_here || !live {
                return Err(invalid(what));
            }
            Ok(Presented {
                sub: claims.get("sub").and_then(Value::as_str).ok_or_else(|| invalid(what))?.to_owned(),
                scope: vec!["openid".to_owned()],
                grant_id: None,
                act: None,
                may_act: claims.get("may_act").cloned(),
                auth_time: read_numeric_date(claims.get("auth_time")),
                external: false,
            })
        }
        REFRESH_TOKEN => {
            let hash = HashedSecret::of(token).as_str().to_owned();
            let record = ctx
                .store
                .read(move |c| refresh::find_refresh(c, &hash))
                .await?
                .ok_or_else(|| invalid(what))?;
            let now = ctx.store.now();
            if record.used_at.is_some() || record.revoked_at.is_some() || record.expires_at <= now {
                return Err(invalid(what));
            }
            Ok(Presented {
                sub: record.user_id.ok_or_else(|| invalid(what))?,
                scope: record.scope.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
                grant_id: Some(record.family_id),
                act: None,
                may_act: None,
                auth_time: record.auth_time.map(numeric_date),
                external: false,
            })
        }
        other => Err(OidcError::InvalidRequest(format!(
            "the {what} type `{other}` is not supported (access_token, refresh_token, id_token or jwt issued here)"
        ))),
    }
}

/// The audiences asked for with `audience` and `resource` (§2.1; several
/// allowed), each of which the client's policy must list (`invalid_target`,
/// §2.2.2). Without any, the client's only exchange audience.
fn audiences(client: &Client, form: &Form) -> Result<Vec<String>, OidcError> {
    let requested: Vec<&str> = form.all("audience").into_iter().chain(form.all("resource")).collect();
    if requested.is_empty() {
        return match client.exchange_audiences.as_slice() {
            [only] => Ok(vec![only.clone()]),
            _ => Err(OidcError::InvalidRequest(
                "name the audience (or resource) to exchange the token for".into(),
            )),
        };
    }
    let mut granted: Vec<String> = Vec::new();
    for target in requested {
        if !client.exchange_audiences.iter().any(|a| a == target) {
            return Err(OidcError::InvalidTarget(format!(
                "this client may not exchange tokens for `{target}`"
            )));
        }
        if !granted.iter().any(|g| g == target) {
            granted.push(target.to_owned());
        }
    }
    Ok(granted)
}

/// RFC 8693 §2.1-§2.2: the exchange.
pub(crate) async fn token_exchange(
    ctx: &OidcContext,
    client: &Client,
    form: &Form,
) -> Result<Value, OidcError> {
    if !client.grant_types.iter().any(|g| g == GRANT_TYPE) {
        return Err(OidcError::UnauthorizedClient("this client may not use token exchange".into()));
    }
    let subject_token = form.required("subject_token")?;
    let subject_type = form.required("subject_token_type")?;
    let actor = match (form.single("actor_token")?, form.single("actor_token_type")?) {
        (Some(token), Some(kind)) => Some((token, kind)),
        (None, None) => None,
        // §2.1: actor_token_type is REQUIRED when actor_token is present,
        // and MUST NOT be included otherwise.
        _ => {
            return Err(OidcError::InvalidRequest("actor_token and actor_token_type go together".into()));
        }
    };
    let requested_type = form.single("requested_token_type")?.unwrap_or(ACCESS_TOKEN).to_owned();
    if ![ACCESS_TOKEN, ID_TOKEN, REFRESH_TOKEN, JWT].contains(&requested_type.as_str()) {
        return Err(OidcError::InvalidRequest(format!(
            "requested_token_type `{requested_type}` is not supported"
        )));
    }
    if requested_type == REFRESH_TOKEN && !client.exchange_refresh_tokens {
        return Err(OidcError::InvalidRequest("this client may not get refresh tokens by exchange".into()));
    }
    let audience = audiences(client, form)?;
    let subject = check(ctx, subject_token, subject_type, "subject_token").await?;
    let actor = match actor {
        Some((token, kind)) => Some(check(ctx, token, kind, "actor_token").await?),
        None => None,
    };

    // §4.4: a subject token that names who may act admits only that actor.
    let actor_sub = actor.as_ref().map_or_else(|| client.id.clone(), |a| a.sub.clone());
    if let Some(may_act) = &subject.may_act
        && may_act.get("sub").and_then(Value::as_str) != Some(actor_sub.as_str())
    {
        return Err(OidcError::InvalidGrant("the subject token's may_act does not name this actor".into()));
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
        if let Some(previous) = subject.act.clone().or_else(|| actor.as_ref().and_then(|a| a.act.clone())) {
            act.insert("act".into(), previous);
        }
        Some(Value::Object(act))
    };

    // §2.1 scope: only what the subject token had; a token from another
    // issuer speaks another system's scopes, so the client's own bound it.
    let allowed: Vec<String> = if subject.external {
        client
            .scopes
            .iter()
            .filter(|s| subject.scope.contains(s) || subject.scope.is_empty())
            .cloned()
            .collect()
    } else {
        subject.scope.clone()
    };
    let scope: Vec<String> = match form.single("scope")? {
        None => allowed.clone(),
        Some(requested) => {
            let mut narrowed = Vec::new();
            for wanted in requested.split(' ').filter(|s| !s.is_empty()) {
                if !allowed.iter().any(|s| s == wanted) {
                    return Err(OidcError::InvalidScope(format!(
                        "`{wanted}` is not in the subject token's scope"
                    )));
                }
                narrowed.push(wanted.to_owned());
            }
            narrowed
        }
    };
    let user_id = subject.sub.clone();
    let user = match ctx.store.read(move |c| users::get(c, &user_id)).await {
        Ok(user) if user.active => user,
        Ok(_) | Err(sigil_store::StoreError::NotFound) => {
            return Err(OidcError::InvalidGrant("the subject is not an active user".into()));
        }
        Err(other) => return Err(other.into()),
    };
    let now = ctx.store.now();
    let scope_text = scope.join(" ");
    let mut response = match requested_type.as_str() {
        REFRESH_TOKEN => {
            let token = issue_refresh(
                ctx,
                RefreshToken {
                    token_hash: String::new(),
                    family_id: subject.grant_id.clone().unwrap_or_else(sigil_store::new_id),
                    client_id: client.id.clone(),
                    user_id: Some(user.id.clone()),
                    scope: scope_text.clone(),
                    session_id_hash: None,
                    auth_time: subject
                        .auth_time
                        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                        .map(|t| t.naive_utc()),
                    created: now,
                    expires_at: now + ctx.refresh_token_lifetime,
                    used_at: None,
                    revoked_at: None,
                },
            )
            .await?;
            json!({ "access_token": token, "token_type": "N_A", "expires_in": ctx.refresh_token_lifetime.num_seconds() })
        }
        ID_TOKEN => {
            // An ID token for the requesting client, about the subject.
            let alg: SigningAlg = client.id_token_signed_response_alg.parse()?;
            let mut claims = Map::new();
            claims.insert("iss".into(), json!(ctx.issuer));
            claims.insert("sub".into(), json!(user.id));
            claims.insert("aud".into(), json!(client.id));
            claims.insert("iat".into(), json!(numeric_date(now)));
            claims.insert("exp".into(), json!(numeric_date(now + ctx.id_token_lifetime)));
            if let Some(auth_time) = subject.auth_time {
                claims.insert("auth_time".into(), json!(auth_time));
            }
            if let Some(act) = &act {
                claims.insert("act".into(), act.clone());
            }
            let keys = ctx.keys_for_signing().await?;
            let token = ctx.signers.sign(&keys, alg, "JWT", claims)?;
            json!({ "access_token": token, "token_type": "N_A", "expires_in": ctx.id_token_lifetime.num_seconds() })
        }
        _ => {
            let mut claims = access_token_claims(ctx, &user.id, client, &audience, &scope_text, now);
            if let Some(grant_id) = &subject.grant_id {
                claims.insert("grant_id".into(), json!(grant_id));
            }
            if let Some(auth_time) = subject.auth_time {
                claims.insert("auth_time".into(), json!(auth_time));
            }
            if let Some(act) = &act {
                claims.insert("act".into(), act.clone());
            }
            if scope.iter().any(|s| s == "groups") || client.always_groups_claim {
                claims.insert(ctx.groups_claim.name.clone(), groups_claim(ctx, &user.id).await?);
            }
            // The roles the user holds in the API the token is now for.
            if let Some(roles) = roles_claim(ctx, &user.id, &audience).await? {
                claims.insert("roles".into(), roles);
            }
            let token = sign_access_token(ctx, client, claims).await?;
            json!({ "access_token": token, "token_type": "Bearer", "expires_in": ctx.access_token_lifetime.num_seconds() })
        }
    };
    // §2.2.1: issued_token_type is REQUIRED; scope when it differs.
    response["issued_token_type"] = json!(requested_type);
    if !scope_text.is_empty() {
        response["scope"] = json!(scope_text);
    }
    Ok(response)
}
