//! The grants of the token endpoint.

use serde_json::{Map, Value, json};
use sigil_store::clients::Client;
use sigil_store::keys;

use crate::OidcError;
use crate::http::Form;
use crate::http::OidcContext;
use crate::keys::SigningAlg;
use crate::tokens::numeric_date;

/// Grant types the token endpoint implements.
pub(crate) const SUPPORTED_GRANT_TYPES: &[&str] = &["client_credentials"];

/// Scopes about a user, meaningless in a token a client gets for itself.
const USER_SCOPES: &[&str] = &["openid", "profile", "email", "phone", "address", "offline_access", "groups"];

/// RFC 6749 §4.4: a confidential client obtains an access token for itself.
pub(crate) async fn client_credentials(
    ctx: &OidcContext,
    client: &Client,
    form: &Form,
) -> Result<Value, OidcError> {
    if client.is_public {
        // RFC 6749 §4.4: for confidential clients only.
        return Err(OidcError::UnauthorizedClient("public clients cannot use client_credentials".into()));
    }
    if !client.grant_types.iter().any(|g| g == "client_credentials") {
        return Err(OidcError::UnauthorizedClient("this client may not use client_credentials".into()));
    }
    let scope = granted_scope(client, form.single("scope")?)?;
    let audience = granted_audience(client, form)?;

    let now = ctx.store.now();
    let expires = now + ctx.access_token_lifetime;
    let mut claims = Map::new();
    // RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat, jti; sub is the
    // client itself when no resource owner is involved.
    claims.insert("iss".into(), json!(ctx.issuer));
    claims.insert("sub".into(), json!(client.id));
    claims.insert("aud".into(), if audience.len() == 1 { json!(audience[0]) } else { json!(audience) });
    claims.insert("client_id".into(), json!(client.id));
    claims.insert("iat".into(), json!(numeric_date(now)));
    claims.insert("exp".into(), json!(numeric_date(expires)));
    claims.insert("jti".into(), json!(sigil_store::new_id()));
    if !scope.is_empty() {
        claims.insert("scope".into(), json!(scope.join(" ")));
    }
    let keys = ctx.store.read(keys::list).await?;
    // RFC 9068 §2.1: typ "at+jwt"; access tokens are signed with RS256.
    let token = ctx.signers.sign(&keys, SigningAlg::Rs256, "at+jwt", claims)?;
    let mut response = json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": ctx.access_token_lifetime.num_seconds(),
    });
    if !scope.is_empty() {
        response["scope"] = json!(scope.join(" "));
    }
    Ok(response)
}

/// RFC 6749 §3.3: the requested scope, each token of which the client must
/// be allowed; without a request, every non-user scope it is allowed.
fn granted_scope(client: &Client, requested: Option<&str>) -> Result<Vec<String>, OidcError> {
    let Some(requested) = requested else {
        return Ok(client.scopes.iter().filter(|s| !USER_SCOPES.contains(&s.as_str())).cloned().collect());
    };
    let mut granted: Vec<String> = Vec::new();
    for token in requested.split(' ') {
        if token.is_empty() {
            continue;
        }
        if !client.scopes.iter().any(|s| s == token) {
            return Err(OidcError::InvalidScope(format!(
                "the scope `{token}` is not allowed for this client"
            )));
        }
        if !granted.iter().any(|g| g == token) {
            granted.push(token.to_owned());
        }
    }
    Ok(granted)
}

/// The audiences of the token: every `audience` and `resource` requested
/// (RFC 8693 §2.1, RFC 8707 §2), each of which the client must be allowed;
/// without a request, all the client's audiences, or the client itself.
fn granted_audience(client: &Client, form: &Form) -> Result<Vec<String>, OidcError> {
    let requested: Vec<&str> = form.all("audience").into_iter().chain(form.all("resource")).collect();
    if requested.is_empty() {
        return Ok(if client.audiences.is_empty() {
            vec![client.id.clone()]
        } else {
            client.audiences.clone()
        });
    }
    let mut granted: Vec<String> = Vec::new();
    for target in requested {
        if !client.audiences.iter().any(|a| a == target) {
            return Err(OidcError::InvalidTarget(format!(
                "this client may not obtain tokens for `{target}`"
            )));
        }
        if !granted.iter().any(|g| g == target) {
            granted.push(target.to_owned());
        }
    }
    Ok(granted)
}
