//! The provider's HTTP endpoints, mounted by `sigil-server` with
//! [`configure`]. Handlers are thin: parse a typed request, call the domain
//! code (`grants`, `tokens::verify`), write the wire format; errors become
//! responses only in `wire`. Expects `web::Data<Provider>` in the app.

mod authorize;
mod client_auth;
mod form;
mod jwks;
mod login;
mod logout;
mod metadata;
mod origin;
mod pages;
mod reset;
mod revocation;
mod token;
mod userinfo;

pub use origin::Origin;
pub use userinfo::bearer_token;
mod wire;

use actix_web::web;

/// Mounts the provider's endpoints. Expects `web::Data<Provider>` in the app.
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
        .service(reset::reset_get)
        .service(reset::reset_post)
        .service(token::token)
        .service(revocation::introspect)
        .service(revocation::revoke)
        .service(userinfo::userinfo_get)
        .service(userinfo::userinfo_post);
}
