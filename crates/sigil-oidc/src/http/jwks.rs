//! The JWK Set (RFC 7517 §5): public halves of the next, active and retired
//! keys, read from the store on every request so a rotation shows at once.

use actix_web::{HttpResponse, get, web};
use sigil_store::keys;

use super::wire::token_error;
use crate::keys::public_jwks;
use crate::provider::Provider;

/// `GET /jwks`.
#[get("/jwks")]
pub(crate) async fn jwks(ctx: web::Data<Provider>) -> HttpResponse {
    let set = match ctx.store.read(keys::list).await {
        Ok(keys) => public_jwks(&keys),
        Err(e) => Err(e.into()),
    };
    match set {
        // Short caching: relying parties refetch on an unknown `kid` anyway,
        // and the next key is published well before it signs.
        Ok(set) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "public, max-age=60"))
            .content_type("application/jwk-set+json")
            .json(set),
        Err(error) => token_error(&error),
    }
}
