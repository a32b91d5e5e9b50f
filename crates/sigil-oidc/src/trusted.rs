//! Tokens from other issuers that token exchange accepts as subject or
//! actor tokens (RFC 8693 `urn:ietf:params:oauth:token-type:jwt`): an
//! operator trusts an issuer by naming it with its keys (a JWKS URL,
//! fetched and cached like clients' `jwks_uri`, or an inline JWK Set).
//! A token from it must verify with those keys and carry that `iss`, this
//! server in `aud` (or the audience configured), and an `exp` still ahead.
//! Its user is found by a claim (`preferred_username` unless configured),
//! matched exactly against user names.
//!
//! It fails closed: an exchanged token carries only scopes the external
//! token had **and** the operator listed for its issuer (`scopes`), and is
//! issued only for audiences listed for it (`audiences`); an external token
//! without a `scope` claim yields a token with no scope. Its `act` claim is
//! another system's account of who acted, and is never copied.

use serde_json::{Map, Value};

use crate::OidcError;
use crate::keys::SigningAlg;
use crate::provider::Provider;
use crate::tokens::{numeric_date, read_numeric_date, verify_with_jwk};

/// An issuer whose JWTs token exchange accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedIssuer {
    /// Its `iss`.
    pub issuer: String,
    /// Where it publishes its keys (https; http only on loopback).
    pub jwks_uri: Option<String>,
    /// Its keys, given inline as a JWK Set.
    pub jwks: Option<String>,
    /// The `aud` its tokens must name; this server's issuer when unset.
    pub audience: Option<String>,
    /// The claim that names the local user (matched exactly against user
    /// names).
    pub user_claim: String,
    /// The scopes its tokens may be exchanged for (at most these, and only
    /// those the token carries).
    pub scopes: Vec<String>,
    /// The audiences its tokens may be exchanged for.
    pub audiences: Vec<String>,
}

impl TrustedIssuer {
    /// Checks the configuration: a JWK Set of public keys, or a JWKS URL
    /// that is https (http only on the loopback host).
    pub fn check(&self) -> Result<(), String> {
        if let Some(set) = &self.jwks {
            crate::clients::check_public_jwks(set).map_err(|e| e.to_string())?;
        }
        if let Some(uri) = &self.jwks_uri {
            let url = url::Url::parse(uri).map_err(|e| format!("jwks_uri `{uri}`: {e}"))?;
            let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
            if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
                return Err(format!("jwks_uri `{uri}` must be https"));
            }
        }
        Ok(())
    }
}

fn unverified_claims(token: &str) -> Option<Map<String, Value>> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<Value>(&bytes).ok()?.as_object().cloned()
}

/// The trusted issuer `token` claims to come from, if any.
pub(crate) fn issuer_of<'a>(provider: &'a Provider, token: &str) -> Option<&'a TrustedIssuer> {
    let iss = unverified_claims(token)?.get("iss")?.as_str()?.to_owned();
    provider.trusted_issuers.iter().find(|t| t.issuer == iss)
}

/// Verifies `token` from `trusted`; returns its claims.
pub(crate) async fn verify(
    provider: &Provider,
    trusted: &TrustedIssuer,
    token: &str,
) -> Result<Map<String, Value>, OidcError> {
    let invalid =
        |why: &str| OidcError::InvalidGrant(format!("the token from {} is not valid: {why}", trusted.issuer));
    let header = josekit::jwt::decode_header(token).map_err(|_| invalid("malformed"))?;
    let alg: SigningAlg = header
        .claim("alg")
        .and_then(Value::as_str)
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| invalid("its algorithm is not accepted"))?;
    let kid = header.claim("kid").and_then(Value::as_str);
    let set = match (&trusted.jwks, &trusted.jwks_uri) {
        (Some(inline), _) => std::sync::Arc::new(
            josekit::jwk::JwkSet::from_bytes(inline.as_bytes())
                .map_err(|_| invalid("its configured keys are unreadable"))?,
        ),
        (None, Some(uri)) => provider.remote_keys.get(uri, kid).await.map_err(|why| {
            tracing::warn!(issuer = %trusted.issuer, %why, "cannot load a trusted issuer's keys");
            invalid("its keys could not be loaded")
        })?,
        (None, None) => return Err(invalid("no keys are configured for it")),
    };
    let claims = set
        .keys()
        .into_iter()
        .filter(|jwk| kid.is_none_or(|kid| jwk.key_id() == Some(kid)))
        .find_map(|jwk| verify_with_jwk(token, alg, jwk).ok())
        .ok_or_else(|| invalid("the signature does not verify"))?;
    if claims.get("iss").and_then(Value::as_str) != Some(trusted.issuer.as_str()) {
        return Err(invalid("iss"));
    }
    let audience = trusted.audience.as_deref().unwrap_or(&provider.issuer);
    let aud_ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud == audience,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(audience)),
        _ => false,
    };
    if !aud_ok {
        return Err(invalid("it is not meant for this server (aud)"));
    }
    let now = numeric_date(provider.store.now());
    if read_numeric_date(claims.get("exp")).is_none_or(|exp| exp <= now) {
        return Err(invalid("it has expired"));
    }
    if read_numeric_date(claims.get("nbf")).is_some_and(|nbf| nbf > now) {
        return Err(invalid("it is not valid yet"));
    }
    Ok(claims)
}
