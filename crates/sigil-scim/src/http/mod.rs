//! The SCIM endpoints under `/scim/v2`, mounted by `sigil-server` with
//! [`configure`]. Handlers parse, call the store, answer; errors become
//! responses only in `wire`.

mod audit;
mod auth;
mod bulk;
mod discovery;
mod group_patch;
mod groups;
mod openapi;
mod projection;
mod request;
mod root;
mod users;
mod wire;
mod write;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::web;
use sigil_store::Store;
use sigil_store::password::PasswordPolicy;

pub use openapi::openapi;

/// The path every SCIM endpoint lives under.
pub const PREFIX: &str = "/scim/v2";

/// The largest request body accepted (advertised as `bulk.maxPayloadSize`).
pub const MAX_PAYLOAD_BYTES: usize = 1024 * 1024;

/// What an access token says about its bearer, once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// `sub`: the user, or the client for a client credentials token.
    pub subject: String,
    /// `client_id`: the client the token was issued to.
    pub client_id: String,
    /// The granted scopes.
    pub scopes: Vec<String>,
    /// The groups the principal belongs to now, nested ones included (display
    /// names and ids), as the store has them; never the token's claim.
    pub groups: Vec<String>,
    /// The built-in roles of the token's principal: the user's (directly
    /// or through groups), or the client's for a client's own token.
    pub roles: Vec<sigil_access::Role>,
}

impl Token {
    /// Whether the token acts for a user rather than for its client alone.
    pub fn acts_for_a_user(&self) -> bool {
        self.subject != self.client_id
    }
}

/// Why a token was refused; shown to the client as `invalid_token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRefused {
    /// Malformed, badly signed, expired, revoked, or issued by someone else.
    Invalid,
    /// The check itself failed (the store is down); answered with 503.
    Unavailable(String),
}

/// The future [`AccessTokens::check`] returns.
pub type TokenCheck<'a> = Pin<Box<dyn Future<Output = Result<Token, TokenRefused>> + 'a>>;

/// How bearer tokens are checked. The server passes in the OpenID provider's
/// verifier; this crate does not know OAuth.
pub trait AccessTokens: Send + Sync + fmt::Debug {
    /// Checks `token` with the provider's one verifier (signature, issuer,
    /// audience, expiry, revocation, the principal's status) and reads what
    /// its principal holds from the store.
    fn check<'a>(&'a self, token: &'a str) -> TokenCheck<'a>;
}

/// What the endpoints need; one per server, shared by its workers.
#[derive(Debug, Clone)]
pub struct ScimContext {
    pub(crate) store: Store,
    pub(crate) base: String,
    pub(crate) tokens: Arc<dyn AccessTokens>,
    pub(crate) max_results: i64,
    pub(crate) rights: Vec<crate::rights::Right>,
    pub(crate) passwords: PasswordPolicy,
}

impl ScimContext {
    /// The service of the issuer `issuer`, whose SCIM base URL is
    /// `{issuer}/scim/v2`.
    pub fn new(store: Store, issuer: &str, tokens: Arc<dyn AccessTokens>) -> Self {
        Self {
            store,
            base: format!("{}{PREFIX}", issuer.trim_end_matches('/')),
            tokens,
            max_results: 200,
            rights: Vec::new(),
            passwords: PasswordPolicy::default(),
        }
    }

    /// What a password set over SCIM must be (the default is NIST SP
    /// 800-63B's floor).
    #[must_use]
    pub fn with_password_policy(mut self, passwords: PasswordPolicy) -> Self {
        self.passwords = passwords;
        self
    }

    /// Rights per group (see [`crate::rights`]); without any, scopes alone
    /// decide.
    #[must_use]
    pub fn with_rights(mut self, rights: Vec<crate::rights::Right>) -> Self {
        self.rights = rights;
        self
    }
}

/// Mounts the SCIM endpoints. Expects `web::Data<ScimContext>` in the app.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(PREFIX)
            .route("/ServiceProviderConfig", web::get().to(discovery::service_provider_config))
            .route("/ResourceTypes", web::get().to(discovery::resource_types))
            .route("/ResourceTypes/{name}", web::get().to(discovery::resource_type))
            .route("/Schemas", web::get().to(discovery::schemas))
            .route("/Schemas/{urn}", web::get().to(discovery::schema_by_id))
            .route("/Users", web::get().to(users::list))
            .route("/Users", web::post().to(users::create))
            .route("/Users/.search", web::post().to(users::search))
            .route("/Users/{id}", web::get().to(users::get))
            .route("/Users/{id}", web::put().to(users::replace))
            .route("/Users/{id}", web::delete().to(users::delete))
            .route("/Users/{id}", web::patch().to(users::patch))
            .route("/.search", web::post().to(root::search))
            .route("/Bulk", web::post().to(bulk::bulk))
            .route("/Me", web::get().to(users::me_get))
            .route("/Me", web::put().to(users::me_put))
            .route("/Me", web::patch().to(users::me_patch))
            .route("/Me", web::delete().to(users::me_delete))
            .route("/Groups", web::get().to(groups::list))
            .route("/Groups", web::post().to(groups::create))
            .route("/Groups/.search", web::post().to(groups::search))
            .route("/Groups/{id}", web::get().to(groups::get))
            .route("/Groups/{id}", web::put().to(groups::replace))
            .route("/Groups/{id}", web::delete().to(groups::delete))
            .route("/Groups/{id}", web::patch().to(groups::patch))
            .default_service(web::to(wire::not_found)),
    );
}
