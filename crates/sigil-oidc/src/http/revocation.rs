//! Token introspection (RFC 7662) and revocation (RFC 7009), both for
//! client-authenticated callers.
//!
//! An API token is answered about and revoked only for its own client:
//! no resource server outside Sigil ever receives one, so no other client
//! has a reason to ask. Another client's attempt is answered as for an
//! unknown token (inactive; 200 with nothing revoked, RFC 7009 §2.2),
//! which tells it nothing about the token; the `unauthorized_client`
//! refusal §2.1 gives for another client's JWT or refresh token would tell
//! it that the token is live.

use actix_web::http::header::{AUTHORIZATION, CACHE_CONTROL};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, post, web};
use serde_json::{Map, Value, json};
use sigil_store::StoreError;
use sigil_store::clients::Client;
use sigil_store::secret::HashedSecret;
use sigil_store::tokens::{self as stored, RefreshToken};

use super::client_auth::{authenticate, presented};
use super::form::Form;
use super::wire::token_error;
use crate::OidcError;
use crate::provider::Provider;
use crate::tokens::numeric_date;
use crate::tokens::verify::{self, Audience, Principal, Refused};

/// A token as presented to introspection or revocation.
enum Presented {
    /// A live access token Sigil issued, checked by the verifier.
    Access(Principal),
    /// A live API token, checked by the verifier.
    Api(Principal),
    /// A refresh token Sigil issued (live or not).
    Refresh(RefreshToken),
    /// Anything else.
    Unknown,
}

async fn classify(ctx: &Provider, token: &str) -> Result<Presented, OidcError> {
    let unavailable = |why| OidcError::Store(StoreError::Unavailable(why));
    if crate::api_tokens::is_api_token(token) {
        return match verify::api_token(ctx, token).await {
            Ok(principal) => Ok(Presented::Api(principal)),
            Err(Refused::Invalid(why)) => {
                tracing::debug!(why, "API token not live");
                Ok(Presented::Unknown)
            }
            Err(Refused::Unavailable(why)) => Err(unavailable(why)),
        };
    }
    // Access tokens are JWTs (three dot-separated parts); refresh tokens are
    // opaque, so the shape decides where to look.
    if token.split('.').count() == 3 {
        // The authorization server answers about tokens for any audience.
        return match verify::access_token(ctx, token, Audience::AnyApi).await {
            Ok(principal) => Ok(Presented::Access(principal)),
            Err(Refused::Invalid(why)) => {
                tracing::debug!(why, "token not live");
                Ok(Presented::Unknown)
            }
            Err(Refused::Unavailable(why)) => Err(unavailable(why)),
        };
    }
    let hash = HashedSecret::of(token).as_str().to_owned();
    Ok(match ctx.store.read(move |c| stored::find_refresh(c, &hash)).await? {
        Some(record) => Presented::Refresh(record),
        None => Presented::Unknown,
    })
}

async fn client_and_token(
    ctx: &Provider,
    req: &HttpRequest,
    body: &[u8],
) -> Result<(Client, String), OidcError> {
    let form = Form::parse(body);
    let authorization = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let client = authenticate(ctx, presented(authorization, &form)?).await?;
    let token = form.required("token")?.to_owned();
    Ok((client, token))
}

fn no_store(body: Value) -> HttpResponse {
    HttpResponse::Ok().insert_header((CACHE_CONTROL, "no-store")).json(body)
}

/// `POST /introspect` (RFC 7662 §2). Any confidential client may ask
/// about an access token (resource servers are clients); only the client a
/// refresh token belongs to may ask about it. A public client holds no
/// credential, and RFC 7662 §2.1 requires the caller's authorization (to
/// keep tokens from being scanned), so it may not ask at all.
#[post("/introspect")]
pub(crate) async fn introspect(ctx: web::Data<Provider>, req: HttpRequest, body: Bytes) -> HttpResponse {
    let (client, token) = match client_and_token(&ctx, &req, &body).await {
        Ok((client, _)) if client.is_public => {
            return token_error(&OidcError::InvalidClient {
                used_basic: false,
                description: "introspection is for confidential clients".into(),
            });
        }
        Ok(pair) => pair,
        Err(error) => return token_error(&error),
    };
    let inactive = json!({ "active": false });
    match classify(&ctx, &token).await {
        Ok(Presented::Access(Principal { claims, .. })) => {
            let mut out = Map::new();
            out.insert("active".into(), json!(true));
            out.insert("token_type".into(), json!("Bearer"));
            // `act` shows an exchanged token's chain of actors (RFC 8693 §4.1).
            for name in ["scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti", "auth_time", "act"] {
                if let Some(value) = claims.get(name) {
                    out.insert(name.into(), value.clone());
                }
            }
            no_store(Value::Object(out))
        }
        Ok(Presented::Api(principal)) if principal.client_id == client.id => no_store(json!({
            "active": true,
            "token_type": "Bearer",
            "scope": principal.scopes.join(" "),
            "client_id": principal.client_id,
            "sub": principal.sub,
            "aud": principal.audience,
            "iss": ctx.issuer,
            "exp": principal.expires_at,
        })),
        Ok(Presented::Api(_)) => no_store(inactive),
        Ok(Presented::Refresh(_)) => {
            // Live, this client's own, and its user still active.
            let record = match verify::refresh_token(&ctx, &token, &client).await {
                Ok(record) => record,
                Err(Refused::Invalid(_)) => return no_store(inactive),
                Err(Refused::Unavailable(why)) => {
                    return token_error(&OidcError::Store(StoreError::Unavailable(why)));
                }
            };
            no_store(json!({
                "active": true,
                "token_type": "refresh_token",
                "scope": record.scope,
                "client_id": record.client_id,
                "sub": record.user_id,
                "iss": ctx.issuer,
                "exp": numeric_date(record.expires_at),
                "iat": numeric_date(record.created),
            }))
        }
        Ok(Presented::Unknown) => no_store(inactive),
        Err(error) => token_error(&error),
    }
}

/// `POST /revoke` (RFC 7009 §2). Revoking a refresh token revokes its
/// grant, the access tokens included (§2.1); revoking an access token
/// revokes that token. Unknown tokens are answered 200 (§2.2).
#[post("/revoke")]
pub(crate) async fn revoke(ctx: web::Data<Provider>, req: HttpRequest, body: Bytes) -> HttpResponse {
    let (client, token) = match client_and_token(&ctx, &req, &body).await {
        Ok(pair) => pair,
        Err(error) => return token_error(&error),
    };
    let now = ctx.store.now();
    let until = now + ctx.lifetimes.refresh_token;
    let outcome = match classify(&ctx, &token).await {
        Ok(Presented::Refresh(record)) if record.client_id == client.id => ctx
            .store
            .write(move |c| stored::revoke_grant(c, &record.family_id, "revoked by client", now, until))
            .await
            .map_err(OidcError::from),
        Ok(Presented::Access(principal)) if principal.client_id == client.id => {
            let jti = principal.claims.get("jti").and_then(Value::as_str).unwrap_or_default().to_owned();
            let expires =
                chrono::DateTime::from_timestamp(principal.expires_at, 0).map_or(until, |t| t.naive_utc());
            ctx.store
                .write(move |c| stored::revoke_jti(c, &jti, None, "revoked by client", now, expires))
                .await
                .map_err(OidcError::from)
        }
        Ok(Presented::Api(principal)) if principal.client_id == client.id => {
            let id = principal.api_token_id.unwrap_or_default();
            ctx.store
                .write(move |c| match sigil_store::api_tokens::revoke(c, &id, now) {
                    // Gone with its client meanwhile: nothing left to revoke.
                    Ok(_) | Err(StoreError::NotFound) => Ok(()),
                    Err(other) => Err(other),
                })
                .await
                .map_err(OidcError::from)
        }
        // Another client's API token: not revoked, and not revealed either.
        Ok(Presented::Api(_)) => Ok(()),
        // §2.1: a token of another client is not revoked.
        Ok(Presented::Refresh(_) | Presented::Access(_)) => {
            Err(OidcError::UnauthorizedClient("the token was not issued to this client".into()))
        }
        Ok(Presented::Unknown) => Ok(()),
        Err(error) => Err(error),
    };
    match outcome {
        Ok(()) => HttpResponse::Ok().insert_header((CACHE_CONTROL, "no-store")).finish(),
        Err(error) => token_error(&error),
    }
}
