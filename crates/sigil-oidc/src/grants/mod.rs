//! The grants of the token endpoint, one module each: a typed request in,
//! a typed response out, no HTTP. `http::token` parses the form into a
//! [`TokenRequest`] and writes the [`TokenResponse`].
//!
//! Rules every grant keeps, in this module so they exist once:
//! - scopes only narrow: a token never carries a scope its client is not
//!   registered for, nor one its source (code, refresh or subject token)
//!   lacked ([`narrow_scope`]);
//! - audiences are asked for with `resource` / `audience` (RFC 8707 §2,
//!   RFC 8693 §2.1) and must be allowed; Sigil's own APIs are the audience
//!   of a token granted their scopes ([`audiences`]);
//! - claims are built in one place, `crate::issue`.

mod authorization_code;
mod client_credentials;
mod refresh_token;
pub(crate) mod token_exchange;

use serde::Serialize;
use sigil_store::clients::Client;

use crate::OidcError;
use crate::provider::{Api, Provider};

pub(crate) use token_exchange::GRANT_TYPE as TOKEN_EXCHANGE;

/// Grant types the token endpoint implements.
pub(crate) const SUPPORTED_GRANT_TYPES: &[&str] =
    &["authorization_code", "refresh_token", "client_credentials", TOKEN_EXCHANGE];

/// Scopes about a user: what a relying party may ask for on a user's
/// behalf, and meaningless in a token a client gets for itself.
pub(crate) const USER_SCOPES: &[&str] =
    &["openid", "profile", "email", "phone", "address", "offline_access", "groups"];

/// A token request, as parsed from the form (RFC 6749 §4.1.3, §4.4.2, §6;
/// RFC 8693 §2.1). Parameters that must not repeat were refused by the
/// parser; the grants decide which are required.
#[derive(Debug, Default, Clone)]
pub(crate) struct TokenRequest {
    pub(crate) grant_type: String,
    pub(crate) code: Option<String>,
    pub(crate) redirect_uri: Option<String>,
    pub(crate) code_verifier: Option<String>,
    pub(crate) refresh_token: Option<String>,
    pub(crate) scope: Option<String>,
    /// Every `audience` and `resource` value, in order.
    pub(crate) targets: Vec<String>,
    pub(crate) subject_token: Option<String>,
    pub(crate) subject_token_type: Option<String>,
    pub(crate) actor_token: Option<String>,
    pub(crate) actor_token_type: Option<String>,
    pub(crate) requested_token_type: Option<String>,
}

/// A successful token response (RFC 6749 §5.1, RFC 8693 §2.2.1).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct TokenResponse {
    pub(crate) access_token: String,
    pub(crate) token_type: &'static str,
    pub(crate) expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) issued_token_type: Option<&'static str>,
}

/// Runs the grant `request` asks for, for the authenticated `client`.
pub(crate) async fn run(
    provider: &Provider,
    client: &Client,
    request: &TokenRequest,
) -> Result<TokenResponse, OidcError> {
    let issued = match request.grant_type.as_str() {
        "authorization_code" => authorization_code::grant(provider, client, request).await,
        "client_credentials" => client_credentials::grant(provider, client, request).await,
        "refresh_token" => refresh_token::grant(provider, client, request).await,
        TOKEN_EXCHANGE => token_exchange::grant(provider, client, request).await,
        other => Err(OidcError::UnsupportedGrantType(format!("the grant type `{other}` is not supported"))),
    };
    // Counted through the `metrics` facade: whoever runs the provider
    // decides whether and where it is exported. The label is one of the
    // supported grant types, never the client's own text.
    if issued.is_ok()
        && let Some(grant_type) = SUPPORTED_GRANT_TYPES.iter().find(|g| **g == request.grant_type)
    {
        metrics::counter!("sigil_tokens_issued_total", "grant_type" => *grant_type).increment(1);
    }
    issued
}

/// `value`, or `invalid_request` naming the missing parameter.
pub(crate) fn required<'a>(value: Option<&'a String>, name: &str) -> Result<&'a str, OidcError> {
    value.map(String::as_str).ok_or_else(|| OidcError::InvalidRequest(format!("`{name}` is required")))
}

/// The user `id`, if it exists and is active: a grant issues nothing for
/// anyone else (`invalid_grant`, or what `refused` makes of it).
pub(crate) async fn active_user(
    provider: &Provider,
    id: &str,
    refused: impl FnOnce() -> OidcError,
) -> Result<sigil_store::users::User, OidcError> {
    let id = id.to_owned();
    match provider.store.read(move |c| sigil_store::users::get(c, &id)).await {
        Ok(user) if user.active => Ok(user),
        Ok(_) | Err(sigil_store::StoreError::NotFound) => Err(refused()),
        Err(other) => Err(other.into()),
    }
}

/// Whether the client is registered for `grant_type`.
pub(crate) fn may_use(client: &Client, grant_type: &str) -> bool {
    client.grant_types.iter().any(|g| g == grant_type)
}

/// Splits a space-separated scope into its values (RFC 6749 §3.3).
pub(crate) fn split_scope(scope: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for value in scope.split(' ').filter(|s| !s.is_empty()) {
        if !out.iter().any(|s| s == value) {
            out.push(value.to_owned());
        }
    }
    out
}

/// RFC 6749 §3.3 and §6: the scope of a new token. `available` is what the
/// source of the token allows (the code's or refresh token's scope, the
/// subject token's); the client's registered scopes bound it as well, so
/// no grant ever widens past either. Without a request, all of both.
pub(crate) fn narrow_scope(
    client: &Client,
    available: &[String],
    requested: Option<&str>,
    lacking: &str,
) -> Result<Vec<String>, OidcError> {
    let allowed: Vec<String> = available.iter().filter(|s| client.scopes.contains(s)).cloned().collect();
    let Some(requested) = requested else { return Ok(allowed) };
    let requested = split_scope(requested);
    if let Some(wider) = requested.iter().find(|s| !allowed.contains(s)) {
        return Err(OidcError::InvalidScope(format!("`{wider}` {lacking}")));
    }
    Ok(requested)
}

/// The audiences of a new access token. Each requested target must be one
/// the client may obtain (`allowed`), or one of Sigil's own APIs whose
/// scope the token carries (`invalid_target` otherwise, RFC 8707 §2,
/// RFC 8693 §2.2.2). Without a request: `default`, and every Sigil API the
/// scope implies, so a client that asks for `scim:write` gets a token SCIM
/// accepts.
pub(crate) fn audiences(
    provider: &Provider,
    requested: &[String],
    allowed: &[String],
    default: Vec<String>,
    scope: &[String],
) -> Result<Vec<String>, OidcError> {
    let implied: Vec<String> = provider.apis_implied_by(scope).map(|api| provider.resource(api)).collect();
    if requested.is_empty() {
        let mut audience = default;
        for api in implied {
            if !audience.contains(&api) {
                audience.push(api);
            }
        }
        return Ok(audience);
    }
    let mut granted: Vec<String> = Vec::new();
    for target in requested {
        let own_api = Api::ALL.iter().any(|api| provider.is_resource(*api, target));
        let permitted = if own_api { implied.contains(target) } else { allowed.contains(target) };
        if !permitted {
            return Err(OidcError::InvalidTarget(format!(
                "this client may not obtain tokens for `{target}`"
            )));
        }
        if !granted.contains(target) {
            granted.push(target.clone());
        }
    }
    Ok(granted)
}

/// The audience a client's tokens have when it asks for none: the
/// audiences it is registered for, or itself.
pub(crate) fn default_audience(client: &Client) -> Vec<String> {
    if client.audiences.is_empty() { vec![client.id.clone()] } else { client.audiences.clone() }
}

/// RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier))).
pub(crate) fn pkce_s256(verifier: &str) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::pkce_s256;

    #[test]
    fn pkce_matches_rfc7636_appendix_b() {
        assert_eq!(
            pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
