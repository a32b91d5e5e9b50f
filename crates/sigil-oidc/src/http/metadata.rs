//! Authorization server metadata (RFC 8414 §2), listing only what is
//! implemented.

use actix_web::{HttpResponse, get, web};
use serde_json::json;

use super::OidcContext;
use crate::grants::SUPPORTED_GRANT_TYPES;

/// `GET /.well-known/oauth-authorization-server` (RFC 8414 §3).
#[get("/.well-known/oauth-authorization-server")]
pub(crate) async fn authorization_server(ctx: web::Data<OidcContext>) -> HttpResponse {
    HttpResponse::Ok().insert_header(("Cache-Control", "public, max-age=300")).json(json!({
        // RFC 8414 §3.3: MUST be identical to the issuer the client used.
        "issuer": ctx.issuer,
        "token_endpoint": ctx.endpoint("/token"),
        "jwks_uri": ctx.endpoint("/jwks"),
        "grant_types_supported": SUPPORTED_GRANT_TYPES,
        // No response type is offered until the authorization endpoint is.
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    }))
}
