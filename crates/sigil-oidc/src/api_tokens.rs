//! API tokens: long-lived, revocable bearer tokens a machine client holds
//! for itself, for provisioning services that take a fixed token (Entra
//! ID's "Secret Token", Okta's "HTTP Header" authentication) rather than
//! running an OAuth grant.
//!
//! A token is `sigil_at_` followed by 256 random bits in base64url (52
//! characters in all). The prefix lets secret scanners recognise a leaked
//! token and lets the verifier tell one from a JWT without parsing it.
//! Only its SHA-256 digest is stored; the token is shown once, when made.
//!
//! The rules, the same from the CLI and the admin API:
//! - the client must be registered and confidential (a public client
//!   cannot keep a secret, and could not introspect or revoke its token);
//! - the scopes must be scopes of Sigil's APIs (SCIM, the admin API) that
//!   the client is registered for: scopes only narrow. The verifier
//!   narrows again on every use, to what the client is registered for
//!   *then*;
//! - every token expires: [`DEFAULT_LIFETIME`] unless asked, at most
//!   [`MAX_LIFETIME`].
//!
//! A token acts as its client: the verifier ([`crate::tokens::verify`])
//! turns it into a [`Principal`](crate::tokens::verify::Principal) whose
//! subject is the client, with exactly the token's scopes and the client's
//! built-in roles read in the same query.

use chrono::{NaiveDateTime, TimeDelta};
use sigil_store::api_tokens::{self as stored, ApiToken, NewApiToken};
use sigil_store::secret::PlainSecret;
use sigil_store::{AnyConnection, StoreError, clients, text};

use crate::OidcError;

/// What every API token starts with.
pub const PREFIX: &str = "sigil_at_";

/// How long a token lives when no lifetime is asked for: a year, about
/// the period after which provisioning credentials are usually rotated.
pub const DEFAULT_LIFETIME: TimeDelta = TimeDelta::days(365);

/// The longest lifetime a token may be given: two years.
pub const MAX_LIFETIME: TimeDelta = TimeDelta::days(730);

/// What an operator asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The client the token acts as.
    pub client_id: String,
    /// The scopes it carries.
    pub scopes: Vec<String>,
    /// How long it lives; [`DEFAULT_LIFETIME`] when `None`.
    pub lifetime: Option<TimeDelta>,
    /// What the operator calls it.
    pub name: Option<String>,
}

/// Checks what needs no store: scopes among `api_scopes` (the scopes of
/// Sigil's own APIs), a lifetime within bounds, a sensible name.
pub fn check(request: &Request, api_scopes: &[&str]) -> Result<(), OidcError> {
    if request.scopes.is_empty() {
        return Err(OidcError::Invalid("an API token needs at least one scope".into()));
    }
    if let Some(other) = request.scopes.iter().find(|s| !api_scopes.contains(&s.as_str())) {
        return Err(OidcError::Invalid(format!(
            "`{other}` is not a scope of Sigil's APIs; an API token may carry {}",
            api_scopes.join(", ")
        )));
    }
    if let Some(lifetime) = request.lifetime {
        if lifetime <= TimeDelta::zero() {
            return Err(OidcError::Invalid("an API token's lifetime must be positive".into()));
        }
        if lifetime > MAX_LIFETIME {
            return Err(OidcError::Invalid(format!(
                "an API token lives at most {} days",
                MAX_LIFETIME.num_days()
            )));
        }
    }
    if let Some(name) = &request.name {
        text::check_name("the token's name", name).map_err(OidcError::Invalid)?;
    }
    Ok(())
}

/// Makes a token for `request.client_id`, after [`check`] and the client's
/// own rules (registered, confidential, registered for every scope asked).
/// Returns the record and the token itself, which is not kept.
pub fn create(
    conn: &mut AnyConnection,
    request: Request,
    api_scopes: &[&str],
    now: NaiveDateTime,
) -> Result<(ApiToken, PlainSecret), OidcError> {
    check(&request, api_scopes)?;
    let client = match clients::get(conn, &request.client_id) {
        Ok(client) => client,
        Err(StoreError::NotFound) => {
            return Err(OidcError::Invalid(format!("there is no client `{}`", request.client_id)));
        }
        Err(other) => return Err(other.into()),
    };
    if client.is_public {
        return Err(OidcError::Invalid(format!(
            "`{}` is a public client: API tokens are for confidential clients",
            client.id
        )));
    }
    if let Some(other) = request.scopes.iter().find(|s| !client.scopes.contains(s)) {
        return Err(OidcError::Invalid(format!(
            "client `{}` is not registered for the scope `{other}`",
            client.id
        )));
    }
    let mut scopes = request.scopes;
    scopes.sort();
    scopes.dedup();
    let token = PlainSecret::new(format!("{PREFIX}{}", PlainSecret::generate()?.expose()));
    let new = NewApiToken {
        id: sigil_store::new_id(),
        client_id: client.id,
        token_hash: token.hash(),
        scope: scopes.join(" "),
        name: request.name,
        expires_at: now + request.lifetime.unwrap_or(DEFAULT_LIFETIME),
    };
    let record = match stored::insert(conn, new, now) {
        // The client went away between the read and the lock.
        Err(StoreError::NotFound) => {
            return Err(OidcError::Invalid(format!("there is no client `{}`", request.client_id)));
        }
        other => other?,
    };
    Ok((record, token))
}

/// Whether `token` has the shape of an API token (it may still be unknown).
pub fn is_api_token(token: &str) -> bool {
    token.starts_with(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const API: &[&str] = &["scim:read", "scim:write", "admin"];

    fn request(scopes: &[&str], lifetime: Option<TimeDelta>) -> Request {
        Request {
            client_id: "entra".into(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            lifetime,
            name: None,
        }
    }

    #[test]
    fn scopes_must_be_api_scopes_and_lifetimes_bounded() {
        assert!(check(&request(&["scim:read", "scim:write"], None), API).is_ok());
        assert!(check(&request(&["admin"], Some(MAX_LIFETIME)), API).is_ok());
        for bad in [
            request(&[], None),
            request(&["openid"], None),
            request(&["scim:read", "offline_access"], None),
            request(&["scim:read"], Some(TimeDelta::zero())),
            request(&["scim:read"], Some(TimeDelta::seconds(-1))),
            request(&["scim:read"], Some(MAX_LIFETIME + TimeDelta::seconds(1))),
            Request { name: Some("tab\there".into()), ..request(&["scim:read"], None) },
            Request { name: Some(" ".into()), ..request(&["scim:read"], None) },
        ] {
            assert!(matches!(check(&bad, API), Err(OidcError::Invalid(_))), "{bad:?}");
        }
    }

    #[test]
    fn the_prefix_tells_an_api_token_from_a_jwt() {
        assert!(is_api_token("sigil_at_abc"));
        assert!(!is_api_token("eyJhbGciOiJFUzI1NiJ9.e30.sig"));
        assert!(!is_api_token("sigil_atx"));
    }
}
