//! The provider's HTTP endpoints, mounted by `sigil-server` with
//! [`configure`]. Handlers are thin: parse, call the domain code, answer;
//! errors become responses only in `wire`.

mod authorize;
mod client_auth;
mod form;
mod jwks;
mod login;
mod logout;
mod metadata;
mod pages;
mod revocation;
mod token;
mod userinfo;
mod wire;

pub(crate) use form::Form;

use std::sync::Arc;

use actix_web::web;
use chrono::TimeDelta;
use sigil_store::Store;

use crate::remote_keys::RemoteKeySets;
use crate::tokens::SignerCache;

/// How long the tokens Sigil issues are valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// Access tokens: short, because a JWT access token is checked by
    /// resource servers without asking Sigil.
    pub access_token: TimeDelta,
    /// ID tokens.
    pub id_token: TimeDelta,
    /// Refresh tokens (each rotation starts a new one).
    pub refresh_token: TimeDelta,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            access_token: TimeDelta::minutes(5),
            id_token: TimeDelta::minutes(5),
            refresh_token: TimeDelta::days(30),
        }
    }
}

/// How tokens carry a user's groups (with the `groups` scope).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupsClaim {
    /// The claim's name (`groups` by default).
    pub name: String,
    /// Group ids instead of display names.
    pub ids: bool,
}

impl Default for GroupsClaim {
    fn default() -> Self {
        Self { name: "groups".into(), ids: false }
    }
}

/// What the endpoints need; one per server, shared by its workers.
#[derive(Debug, Clone)]
pub struct OidcContext {
    pub(crate) store: Store,
    pub(crate) issuer: String,
    pub(crate) signers: SignerCache,
    pub(crate) signing_keys: crate::tokens::KeyCache,
    pub(crate) remote_keys: RemoteKeySets,
    pub(crate) access_token_lifetime: TimeDelta,
    pub(crate) id_token_lifetime: TimeDelta,
    pub(crate) refresh_token_lifetime: TimeDelta,
    pub(crate) trusted_issuers: Vec<crate::trusted::TrustedIssuer>,
    pub(crate) groups_claim: GroupsClaim,
    pub(crate) service_scopes: Vec<String>,
}

impl OidcContext {
    /// A context for the issuer `issuer` (an absolute URL; a bare trailing
    /// `/` is dropped so that `iss` matches what clients configure).
    pub fn new(store: Store, issuer: &str, lifetimes: Lifetimes) -> Self {
        Self {
            store,
            issuer: issuer.trim_end_matches('/').to_owned(),
            signers: SignerCache::default(),
            signing_keys: crate::tokens::KeyCache::default(),
            remote_keys: RemoteKeySets::default(),
            access_token_lifetime: lifetimes.access_token,
            id_token_lifetime: lifetimes.id_token,
            refresh_token_lifetime: lifetimes.refresh_token,
            trusted_issuers: Vec::new(),
            groups_claim: GroupsClaim::default(),
            service_scopes: Vec::new(),
        }
    }

    /// Scopes of the services beside the provider (SCIM, the admin API),
    /// advertised in the metadata's `scopes_supported` with the OpenID ones.
    #[must_use]
    pub fn with_service_scopes(mut self, scopes: &[&str]) -> Self {
        self.service_scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// `scopes_supported` (RFC 8414 §2, Discovery 1.0 §3).
    pub(crate) fn scopes_supported(&self) -> Vec<&str> {
        let openid = crate::http::authorize::OIDC_SCOPES.iter().copied();
        openid.chain(self.service_scopes.iter().map(String::as_str)).collect()
    }

    /// How tokens carry groups.
    #[must_use]
    pub fn with_groups_claim(mut self, claim: GroupsClaim) -> Self {
        self.groups_claim = claim;
        self
    }

    /// The name of the claim that carries a user's groups.
    pub fn groups_claim_name(&self) -> &str {
        &self.groups_claim.name
    }

    /// Issuers whose JWTs token exchange accepts (see [`crate::trusted`]).
    #[must_use]
    pub fn with_trusted_issuers(mut self, issuers: Vec<crate::trusted::TrustedIssuer>) -> Self {
        self.trusted_issuers = issuers;
        self
    }

    /// The keys to sign with (see `tokens::KeyCache`).
    pub(crate) async fn keys_for_signing(
        &self,
    ) -> Result<std::sync::Arc<Vec<sigil_store::keys::SigningKey>>, sigil_store::StoreError> {
        if let Some(keys) = self.signing_keys.fresh() {
            return Ok(keys);
        }
        let keys = self.store.read(sigil_store::keys::list).await?;
        Ok(self.signing_keys.store(keys))
    }

    /// The issuer identifier, as it appears in `iss`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Cookies are `Secure` when the issuer is served over https.
    pub(crate) fn secure_cookies(&self) -> bool {
        self.issuer.starts_with("https://")
    }

    pub(crate) fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// Checks an access token this server issued, for resource servers that
    /// run in the same process (SCIM): a published key's signature, `typ`
    /// `at+jwt`, this issuer, not expired (RFC 9068 §4), and neither the
    /// token nor its grant revoked. Returns its claims.
    pub async fn check_access_token(
        &self,
        token: &str,
    ) -> Result<serde_json::Map<String, serde_json::Value>, AccessTokenRefused> {
        let unavailable = |e: sigil_store::StoreError| AccessTokenRefused::Unavailable(e.to_string());
        let now = self.store.now();
        // The key list of the last second will do (see `tokens::KeyCache`);
        // a token it cannot verify is tried once more against the store's
        // list, in case another node published its key since.
        let cached = self.signing_keys.fresh();
        let keys = match &cached {
            Some(keys) => Arc::clone(keys),
            None => {
                self.signing_keys.store(self.store.read(sigil_store::keys::list).await.map_err(unavailable)?)
            }
        };
        let claims = match crate::tokens::verify_access_token(token, &keys, &self.issuer, now) {
            Ok(claims) => claims,
            Err(_) if cached.is_some() => {
                let keys = self
                    .signing_keys
                    .store(self.store.read(sigil_store::keys::list).await.map_err(unavailable)?);
                crate::tokens::verify_access_token(token, &keys, &self.issuer, now)
                    .map_err(|_| AccessTokenRefused::Invalid)?
            }
            Err(_) => return Err(AccessTokenRefused::Invalid),
        };
        let probe = claims.clone();
        let revoked =
            self.store.read(move |c| revocation::access_revoked(c, &probe)).await.map_err(unavailable)?;
        if revoked { Err(AccessTokenRefused::Invalid) } else { Ok(claims) }
    }
}

/// Why [`OidcContext::check_access_token`] refused a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessTokenRefused {
    /// Not a valid, live access token from this server.
    Invalid,
    /// The store could not be asked.
    Unavailable(String),
}

/// Mounts the provider's endpoints. Expects `web::Data<OidcContext>` in the app.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(metadata::authorization_server)
        .service(metadata::openid_configuration)
        .service(jwks::jwks)
        .service(authorize::authorize_get)
        .service(authorize::authorize_post)
        .service(login::login)
        .service(login::consent)
        .service(logout::logout_get)
        .service(logout::logout_post)
        .service(token::token)
        .service(revocation::introspect)
        .service(revocation::revoke)
        .service(userinfo::userinfo_get)
        .service(userinfo::userinfo_post);
}
