//! Client authentication at the token endpoint (RFC 6749 §2.3):
//! `client_secret_basic`, `client_secret_post`, `private_key_jwt`
//! (RFC 7523 §2.2, OpenID Connect Core §9) and `none` for public clients.
//!
//! A client secret is compared as a SHA-256 digest in constant time; no slow
//! hash is spent per request (the secrets carry 256 random bits).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use sigil_store::StoreError;
use sigil_store::clients::{self, Client};
use sigil_store::tokens::record_once;
use url::form_urlencoded;

use super::form::Form;
use crate::OidcError;
use crate::keys::SigningAlg;
use crate::provider::Provider;
use crate::tokens::{numeric_date, read_numeric_date, verify_with_jwk};

/// How the client presented itself.
#[derive(Debug)]
pub(crate) struct Presented {
    client_id: String,
    secret: Option<String>,
    assertion: Option<String>,
    used_basic: bool,
}

/// RFC 7523 §2.2: the one assertion type accepted.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Reads the client's credentials from the `Authorization` header or the
/// body. RFC 6749 §2.3: a client MUST NOT use more than one method.
pub(crate) fn presented(authorization: Option<&str>, form: &Form) -> Result<Presented, OidcError> {
    let body_id = form.single("client_id")?;
    let body_secret = form.single("client_secret")?;
    if let Some(assertion) = form.single("client_assertion")? {
        if authorization.is_some() || body_secret.is_some() {
            return Err(OidcError::InvalidRequest("use one client authentication method, not two".into()));
        }
        if form.single("client_assertion_type")? != Some(JWT_BEARER) {
            return Err(OidcError::InvalidRequest(format!("client_assertion_type must be {JWT_BEARER}")));
        }
        // The client is named by the assertion's `sub` (RFC 7523 §3); the
        // signature is checked once its keys are loaded.
        let sub = josekit::jwt::decode_header(assertion).ok().and_then(|_| unverified_subject(assertion));
        let Some(sub) = sub else {
            return Err(OidcError::InvalidClient {
                used_basic: false,
                description: "malformed client assertion".into(),
            });
        };
        if body_id.is_some_and(|id| id != sub) {
            return Err(OidcError::InvalidClient {
                used_basic: false,
                description: "client_id differs from the assertion".into(),
            });
        }
        return Ok(Presented {
            client_id: sub,
            secret: None,
            assertion: Some(assertion.to_owned()),
            used_basic: false,
        });
    }
    let Some(header) = authorization else {
        let Some(client_id) = body_id else {
            return Err(OidcError::InvalidClient {
                used_basic: false,
                description: "client authentication is required".into(),
            });
        };
        return Ok(Presented {
            client_id: client_id.to_owned(),
            secret: body_secret.map(str::to_owned),
            assertion: None,
            used_basic: false,
        });
    };
    let bad = |why: &str| OidcError::InvalidClient { used_basic: true, description: why.into() };
    // RFC 9110 §11.1: the scheme is case-insensitive.
    let Some(encoded) = header
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, rest)| rest)
    else {
        return Err(bad("only the Basic scheme authenticates clients here"));
    };
    if body_secret.is_some() {
        return Err(OidcError::InvalidRequest("use one client authentication method, not two".into()));
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| bad("malformed Basic credentials"))?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad("malformed Basic credentials"))?;
    let (id, secret) = decoded.split_once(':').ok_or_else(|| bad("malformed Basic credentials"))?;
    // RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
    let id = form_decode(id);
    let secret = form_decode(secret);
    if body_id.is_some_and(|body| body != id) {
        return Err(OidcError::InvalidRequest(
            "client_id in the body differs from the Basic credentials".into(),
        ));
    }
    Ok(Presented { client_id: id, secret: Some(secret), assertion: None, used_basic: true })
}

fn form_decode(part: &str) -> String {
    // Most credentials hold nothing encoded.
    if !part.contains(['%', '+']) {
        return part.to_owned();
    }
    form_urlencoded::parse(format!("v={part}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Checks the presented credentials against the store. Every failure reads
/// the same to the client, so it cannot tell an unknown client from a wrong
/// secret.
pub(crate) async fn authenticate(ctx: &Provider, presented: Presented) -> Result<Client, OidcError> {
    let Presented { client_id, secret, assertion, used_basic } = presented;
    let failed =
        || OidcError::InvalidClient { used_basic, description: "client authentication failed".into() };
    let client = match ctx.store.read_statement(move |conn| clients::get(conn, &client_id)).await {
        Ok(client) => client,
        Err(StoreError::NotFound) => return Err(failed()),
        Err(other) => return Err(other.into()),
    };
    if let Some(assertion) = assertion {
        if client.token_endpoint_auth_method != "private_key_jwt" {
            return Err(failed());
        }
        return check_assertion(ctx, client, &assertion).await;
    }
    // The method the client registered is the only one it may use (OpenID
    // Connect Registration §2 `token_endpoint_auth_method`): a secret meant
    // for the Basic header is not accepted in the body, nor the reverse,
    // and a client registered for keys may not fall back to a secret.
    let method_ok = match client.token_endpoint_auth_method.as_str() {
        "client_secret_basic" => used_basic,
        "client_secret_post" => !used_basic,
        "none" => !used_basic && secret.is_none(),
        _ => false,
    };
    if !method_ok {
        return Err(failed());
    }
    match (&client.secret_hash, secret) {
        (Some(digest), Some(secret)) if digest.matches(&secret) => Ok(client),
        // A public client identifies itself without a secret; what it may do
        // is limited by the grant (PKCE for codes, never client credentials).
        (None, None) if client.is_public => Ok(client),
        _ => Err(failed()),
    }
}

/// The `sub` of a JWT, read before its signature is checked; used only to
/// find whose keys to check it with.
fn unverified_subject(token: &str) -> Option<String> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = token.split('.').nth(1)?;
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    claims.get("sub").and_then(Value::as_str).map(str::to_owned)
}

/// The longest an assertion may be valid for; bounds how long its `jti`
/// must be remembered.
const MAX_ASSERTION_LIFETIME_SECONDS: i64 = 3600;

/// RFC 7523 §3 and OpenID Connect Core §9: signed by one of the client's
/// registered keys; `iss` and `sub` are the client; `aud` names this
/// server; not expired; a `jti` never seen before.
async fn check_assertion(ctx: &Provider, client: Client, assertion: &str) -> Result<Client, OidcError> {
    let failed = |why: &str| OidcError::InvalidClient { used_basic: false, description: why.into() };
    let header = josekit::jwt::decode_header(assertion).map_err(|_| failed("malformed client assertion"))?;
    let alg: SigningAlg = header
        .claim("alg")
        .and_then(Value::as_str)
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| failed("the assertion's algorithm is not accepted"))?;
    let kid = header.claim("kid").and_then(Value::as_str);
    let set = match (&client.jwks, &client.jwks_uri) {
        (Some(set), _) => std::sync::Arc::new(
            josekit::jwk::JwkSet::from_bytes(set.as_bytes())
                .map_err(|_| failed("the client's keys are unreadable"))?,
        ),
        (None, Some(uri)) => ctx.remote_keys.get(uri, kid).await.map_err(|why| {
            tracing::warn!(client_id = %client.id, %why, "cannot load the client's keys");
            failed("the client's keys could not be loaded")
        })?,
        (None, None) => return Err(failed("the client has no registered keys")),
    };
    let claims = set
        .keys()
        .into_iter()
        .filter(|jwk| kid.is_none_or(|kid| jwk.key_id() == Some(kid)))
        .find_map(|jwk| verify_with_jwk(assertion, alg, jwk).ok())
        .ok_or_else(|| failed("the assertion's signature does not verify"))?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(client.id.as_str()) || text("sub") != Some(client.id.as_str()) {
        return Err(failed("the assertion's iss and sub must be the client_id"));
    }
    let token_endpoint = ctx.endpoint("/token");
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => *aud == token_endpoint || *aud == ctx.issuer,
        Some(Value::Array(list)) => {
            list.iter().any(|a| a.as_str().is_some_and(|a| a == token_endpoint || a == ctx.issuer))
        }
        _ => false,
    };
    if !audience_ok {
        return Err(failed("the assertion's aud must be the token endpoint or the issuer"));
    }
    let now = ctx.store.now();
    let exp = read_numeric_date(claims.get("exp")).ok_or_else(|| failed("the assertion has no exp"))?;
    if exp <= numeric_date(now) {
        return Err(failed("the assertion has expired"));
    }
    if exp > numeric_date(now) + MAX_ASSERTION_LIFETIME_SECONDS {
        return Err(failed("the assertion is valid for too long"));
    }
    let jti = text("jti").ok_or_else(|| failed("the assertion has no jti"))?;
    let id = format!("assertion:{}:{jti}", client.id);
    let until = chrono::DateTime::from_timestamp(exp, 0).map_or(now, |t| t.naive_utc());
    let fresh = ctx.store.write(move |c| record_once(c, &id, "client assertion", now, until)).await?;
    if !fresh {
        return Err(failed("the assertion was used before"));
    }
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let header = format!("Basic {}", STANDARD.encode("my%20client:s%3Acret+x"));
        let p = presented(Some(&header), &Form::default()).unwrap();
        assert_eq!(p.client_id, "my client");
        assert_eq!(p.secret.as_deref(), Some("s:cret x"));
        assert!(p.used_basic);
    }

    #[test]
    fn two_methods_at_once_are_refused() {
        let header = format!("Basic {}", STANDARD.encode("a:b"));
        let form = Form::parse(b"client_secret=b");
        assert!(matches!(presented(Some(&header), &form), Err(OidcError::InvalidRequest(_))));
    }

    #[test]
    fn missing_or_malformed_credentials() {
        assert!(matches!(
            presented(None, &Form::default()),
            Err(OidcError::InvalidClient { used_basic: false, .. })
        ));
        assert!(matches!(
            presented(Some("Basic !!!"), &Form::default()),
            Err(OidcError::InvalidClient { used_basic: true, .. })
        ));
        assert!(matches!(
            presented(Some("Bearer abc"), &Form::default()),
            Err(OidcError::InvalidClient { used_basic: true, .. })
        ));
    }
}
