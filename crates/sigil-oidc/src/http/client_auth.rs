//! Client authentication at the token endpoint (RFC 6749 §2.3):
//! `client_secret_basic` and `client_secret_post`.
//!
//! A client secret is compared as a SHA-256 digest in constant time; no slow
//! hash is spent per request (the secrets carry 256 random bits).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sigil_store::clients::{self, Client};
use sigil_store::{Store, StoreError};
use url::form_urlencoded;

use super::form::Form;
use crate::OidcError;

/// How the client presented itself.
#[derive(Debug)]
pub(crate) struct Presented {
    client_id: String,
    secret: Option<String>,
    used_basic: bool,
}

/// Reads the client's credentials from the `Authorization` header or the
/// body. RFC 6749 §2.3: a client MUST NOT use more than one method.
pub(crate) fn presented(authorization: Option<&str>, form: &Form) -> Result<Presented, OidcError> {
    let body_id = form.single("client_id")?;
    let body_secret = form.single("client_secret")?;
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
            used_basic: false,
        });
    };
    let bad = |why: &str| OidcError::InvalidClient { used_basic: true, description: why.into() };
    let Some(encoded) = header.strip_prefix("Basic ").or_else(|| header.strip_prefix("basic ")) else {
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
    Ok(Presented { client_id: id, secret: Some(secret), used_basic: true })
}

fn form_decode(part: &str) -> String {
    form_urlencoded::parse(format!("v={part}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Checks the presented credentials against the store. Every failure reads
/// the same to the client, so it cannot tell an unknown client from a wrong
/// secret.
pub(crate) async fn authenticate(store: &Store, presented: Presented) -> Result<Client, OidcError> {
    let Presented { client_id, secret, used_basic } = presented;
    let failed =
        || OidcError::InvalidClient { used_basic, description: "client authentication failed".into() };
    let client = match store.read(move |conn| clients::get(conn, &client_id)).await {
        Ok(client) => client,
        Err(StoreError::NotFound) => return Err(failed()),
        Err(other) => return Err(other.into()),
    };
    match (&client.secret_hash, secret) {
        (Some(digest), Some(secret)) if digest.matches(&secret) => Ok(client),
        // A public client identifies itself without a secret; what it may do
        // is limited by the grant (PKCE for codes, never client credentials).
        (None, None) if client.is_public => Ok(client),
        _ => Err(failed()),
    }
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
