//! Provider metadata: OpenID Connect Discovery 1.0 and RFC 8414, listing
//! only what is implemented.

use actix_web::{HttpResponse, get, web};
use serde_json::json;

use crate::grants::SUPPORTED_GRANT_TYPES;
use crate::provider::Provider;

/// `GET /.well-known/oauth-authorization-server` (RFC 8414 §3).
#[get("/.well-known/oauth-authorization-server")]
pub(crate) async fn authorization_server(ctx: web::Data<Provider>) -> HttpResponse {
    HttpResponse::Ok().insert_header(("Cache-Control", "public, max-age=300")).json(json!({
        // RFC 8414 §3.3: MUST be identical to the issuer the client used.
        "issuer": ctx.issuer,
        "token_endpoint": ctx.endpoint("/token"),
        "jwks_uri": ctx.endpoint("/jwks"),
        "introspection_endpoint": ctx.endpoint("/introspect"),
        "revocation_endpoint": ctx.endpoint("/revoke"),
        "grant_types_supported": SUPPORTED_GRANT_TYPES,
        "authorization_endpoint": ctx.endpoint("/authorize"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256", "ES256", "EdDSA"],
        "scopes_supported": ctx.scopes_supported(),
        "authorization_response_iss_parameter_supported": true,
    }))
}

/// `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §3, §4).
#[get("/.well-known/openid-configuration")]
pub(crate) async fn openid_configuration(ctx: web::Data<Provider>) -> HttpResponse {
    HttpResponse::Ok().insert_header(("Cache-Control", "public, max-age=300")).json(json!({
        // Discovery §4.3: MUST be identical to the issuer the client used.
        "issuer": ctx.issuer,
        "authorization_endpoint": ctx.endpoint("/authorize"),
        "token_endpoint": ctx.endpoint("/token"),
        "userinfo_endpoint": ctx.endpoint("/userinfo"),
        "end_session_endpoint": ctx.endpoint("/logout"),
        "introspection_endpoint": ctx.endpoint("/introspect"),
        "revocation_endpoint": ctx.endpoint("/revoke"),
        "jwks_uri": ctx.endpoint("/jwks"),
        "scopes_supported": ctx.scopes_supported(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": SUPPORTED_GRANT_TYPES,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "PS256", "ES256", "EdDSA"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256", "ES256", "EdDSA"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "azp", "sid",
            "name", "given_name", "family_name", "middle_name", "nickname", "preferred_username",
            "profile", "picture", "zoneinfo", "locale", "updated_at", "email", "email_verified",
            "phone_number", "phone_number_verified", "address", "groups", "roles"
        ],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
    }))
}
