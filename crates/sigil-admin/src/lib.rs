//! The admin API under `/admin`: clients and their API tokens, the roles applications define and
//! who holds them, who holds Sigil's built-in roles, signing keys, and the audit trail — what
//! the `sigil` CLI does on the machine, over HTTP for operators and their
//! automation elsewhere.
//!
//! Every request carries an access token Sigil issued with the `admin`
//! scope; what its principal may do is the table of rights in
//! `sigil-access`, checked in [`auth`] before a handler touches the store.

mod access;
mod api_tokens;
mod audit;
mod auth;
mod clients;
mod error;
mod keys;
mod openapi;
mod roles;

use actix_web::web;
use sigil_oidc::Provider;
use sigil_oidc::tokens::verify::Principal;
use sigil_store::{Store, StoreError};

pub use error::AdminError;
pub use openapi::openapi;

/// What the admin endpoints need; one per server, shared by its workers.
#[derive(Debug, Clone)]
pub struct AdminContext {
    pub(crate) store: Store,
    pub(crate) oidc: Provider,
}

impl AdminContext {
    /// A context over `store`, checking tokens with `oidc`'s verifier.
    pub fn new(store: Store, oidc: Provider) -> Self {
        Self { store, oidc }
    }
}

/// Mounts the admin API. Expects `web::Data<AdminContext>` in the app.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin")
            .service(web::resource("/clients").get(clients::list).post(clients::create))
            .service(
                web::resource("/clients/{id}")
                    .get(clients::get)
                    .patch(clients::change)
                    .delete(clients::delete),
            )
            .service(web::resource("/api-tokens").get(api_tokens::list).post(api_tokens::create))
            .service(web::resource("/api-tokens/{id}").get(api_tokens::get).delete(api_tokens::revoke))
            .service(web::resource("/roles").get(roles::list).post(roles::define))
            .service(web::resource("/roles/{client}/{name}").delete(roles::remove))
            .service(
                web::resource("/roles/{client}/{name}/{kind}/{id}").put(roles::grant).delete(roles::revoke),
            )
            .service(web::resource("/access").get(access::list))
            .service(web::resource("/access/{role}/{kind}/{id}").put(access::grant).delete(access::revoke))
            .service(web::resource("/keys").get(keys::list))
            .service(web::resource("/keys/rotate").post(keys::rotate))
            .service(web::resource("/audit").get(audit::list))
            .default_service(web::to(error::no_such_endpoint)),
    );
}

/// The built-in roles of a verified token's principal: the user it acts
/// for (directly or through nested groups; none while the user is
/// inactive), or its client for a client's own token (client credentials).
/// Read from the store on every request, so a revoked role stops working
/// at once on every node.
///
/// A principal verified with its holdings (`access_token_with_holdings`)
/// already carries them, read in the verifier's transaction.
pub async fn roles_of(store: &Store, principal: &Principal) -> Result<Vec<sigil_access::Role>, StoreError> {
    if let Some(holdings) = &principal.holdings {
        return Ok(holdings.roles.iter().filter_map(|name| name.parse().ok()).collect());
    }
    let (user, client_id) = (principal.user_id().map(str::to_owned), principal.client_id.clone());
    let names = store
        .read(move |c| match user {
            None => sigil_store::admin_grants::held_by_client(c, &client_id),
            Some(user) => match sigil_store::users::is_active(c, &user)? {
                Some(true) => sigil_store::admin_grants::held_by_user(c, &user),
                Some(false) | None => Ok(Vec::new()),
            },
        })
        .await?;
    // The schema admits only the built-in names, so none is dropped here.
    Ok(names.iter().filter_map(|name| name.parse().ok()).collect())
}

/// Runs `f` in one write transaction. A refusal rolls the transaction back
/// just as a store error does, and is answered as itself.
pub(crate) async fn write<T: Send + 'static>(
    store: &Store,
    f: impl FnOnce(&mut sigil_store::AnyConnection) -> Result<T, AdminError> + Send + 'static,
) -> Result<T, AdminError> {
    store.write(f).await
}
