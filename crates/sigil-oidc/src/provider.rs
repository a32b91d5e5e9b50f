//! The provider: everything the grants, the verifier and the endpoints
//! share, one per server (cheap to clone; clones share caches and the pool).
//!
//! It also names Sigil's own APIs as resource servers. Each has a resource
//! identifier (RFC 8707 §2), `{issuer}{path}`, that an access token's `aud`
//! must contain for that API to accept it (RFC 9068 §4); a token asked for
//! with one of the API's scopes gets its identifier without asking, so a
//! provisioning client that asks only for `scim:write` keeps working.

use std::sync::Arc;

use chrono::TimeDelta;
use sigil_store::Store;
use sigil_store::keys::SigningKey;
use sigil_store::password::PasswordPolicy;

use crate::remote_keys::RemoteKeySets;
use crate::tokens::{KeyCache, SignerCache};
use crate::trusted::TrustedIssuer;

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
    /// Authorization codes: how long one may wait to be redeemed. RFC 6749
    /// §4.1.2: "A maximum authorization code lifetime of 10 minutes is
    /// RECOMMENDED"; the configuration keeps it within that.
    pub authorization_code: TimeDelta,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            access_token: TimeDelta::minutes(5),
            id_token: TimeDelta::minutes(5),
            refresh_token: TimeDelta::days(30),
            authorization_code: TimeDelta::seconds(60),
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

/// One of Sigil's own APIs, a resource server inside this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// The UserInfo endpoint (OpenID Connect Core §5.3); `openid` implies it.
    Userinfo,
    /// The SCIM service under `/scim/v2`.
    Scim,
    /// The admin API under `/admin`.
    Admin,
}

impl Api {
    /// Every API, in a fixed order.
    pub const ALL: [Api; 3] = [Api::Userinfo, Api::Scim, Api::Admin];

    /// Where it is served, below the issuer; with the issuer in front, its
    /// resource identifier.
    pub fn path(self) -> &'static str {
        match self {
            Self::Userinfo => "/userinfo",
            Self::Scim => "/scim/v2",
            Self::Admin => "/admin",
        }
    }
}

/// What the grants, the verifier and the endpoints need.
#[derive(Debug, Clone)]
pub struct Provider {
    pub(crate) store: Store,
    pub(crate) issuer: String,
    pub(crate) signers: SignerCache,
    pub(crate) signing_keys: KeyCache,
    pub(crate) remote_keys: RemoteKeySets,
    pub(crate) lifetimes: Lifetimes,
    pub(crate) trusted_issuers: Vec<TrustedIssuer>,
    pub(crate) groups_claim: GroupsClaim,
    /// The scopes of each API beside the provider; a token granted one of
    /// them is for that API (`openid` stands for UserInfo's).
    pub(crate) api_scopes: Vec<(Api, Vec<String>)>,
    /// The rule for a password a user chooses on the reset page.
    pub(crate) passwords: PasswordPolicy,
}

impl Provider {
    /// A provider for the issuer `issuer` (an absolute URL; a bare trailing
    /// `/` is dropped so that `iss` matches what clients configure).
    pub fn new(store: Store, issuer: &str, lifetimes: Lifetimes) -> Self {
        Self {
            store,
            issuer: issuer.trim_end_matches('/').to_owned(),
            signers: SignerCache::default(),
            signing_keys: KeyCache::default(),
            remote_keys: RemoteKeySets::default(),
            lifetimes,
            trusted_issuers: Vec::new(),
            groups_claim: GroupsClaim::default(),
            api_scopes: vec![(Api::Userinfo, vec!["openid".to_owned()])],
            passwords: PasswordPolicy::default(),
        }
    }

    /// The scopes of an API served beside the provider (SCIM, the admin
    /// API): advertised in `scopes_supported`, and granting one makes a
    /// token's audience include the API.
    #[must_use]
    pub fn with_api(mut self, api: Api, scopes: &[&str]) -> Self {
        self.api_scopes.retain(|(known, _)| *known != api);
        self.api_scopes.push((api, scopes.iter().map(|s| (*s).to_owned()).collect()));
        self
    }

    /// How tokens carry groups.
    #[must_use]
    pub fn with_groups_claim(mut self, claim: GroupsClaim) -> Self {
        self.groups_claim = claim;
        self
    }

    /// The password policy the reset page applies: the one `sigil user
    /// add` and `set-password` apply.
    #[must_use]
    pub fn with_password_policy(mut self, passwords: PasswordPolicy) -> Self {
        self.passwords = passwords;
        self
    }

    /// Issuers whose JWTs token exchange accepts (see [`crate::trusted`]).
    #[must_use]
    pub fn with_trusted_issuers(mut self, issuers: Vec<TrustedIssuer>) -> Self {
        self.trusted_issuers = issuers;
        self
    }

    /// The name of the claim that carries a user's groups.
    pub fn groups_claim_name(&self) -> &str {
        &self.groups_claim.name
    }

    /// The issuer identifier, as it appears in `iss`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The resource identifier of `api` (RFC 8707 §2).
    pub fn resource(&self, api: Api) -> String {
        format!("{}{}", self.issuer, api.path())
    }

    /// Whether `target` is [`Provider::resource`] of `api`, without writing
    /// the resource out (the token endpoint asks for every target).
    pub(crate) fn is_resource(&self, api: Api, target: &str) -> bool {
        target.strip_prefix(self.issuer.as_str()) == Some(api.path())
    }

    /// The APIs whose scopes are among `scope`: a token granted them is for
    /// those APIs too.
    pub(crate) fn apis_implied_by<'a>(&'a self, scope: &'a [String]) -> impl Iterator<Item = Api> + 'a {
        self.api_scopes
            .iter()
            .filter(|(_, scopes)| scope.iter().any(|s| scopes.contains(s)))
            .map(|(api, _)| *api)
    }

    /// `scopes_supported` (RFC 8414 §2, Discovery 1.0 §3).
    pub(crate) fn scopes_supported(&self) -> Vec<&str> {
        let mut supported: Vec<&str> = crate::grants::USER_SCOPES.to_vec();
        for (_, scopes) in &self.api_scopes {
            for scope in scopes {
                if !supported.contains(&scope.as_str()) {
                    supported.push(scope);
                }
            }
        }
        supported
    }

    /// The keys to sign with (see `tokens::KeyCache`).
    pub(crate) async fn keys_for_signing(&self) -> Result<Arc<Vec<SigningKey>>, sigil_store::StoreError> {
        if let Some(keys) = self.signing_keys.fresh() {
            return Ok(keys);
        }
        let keys = self.store.read(sigil_store::keys::list).await?;
        Ok(self.signing_keys.store(keys))
    }

    /// Cookies are `Secure` when the issuer is served over https.
    pub(crate) fn secure_cookies(&self) -> bool {
        self.issuer.starts_with("https://")
    }

    pub(crate) fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}
