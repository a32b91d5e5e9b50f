//! Bearer tokens on admin requests (RFC 6750 §2.1): the provider's own
//! access tokens, then the table of rights for the operation asked.

use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;
use serde_json::Value;
use sigil_access::{Operation, Refusal};
use sigil_oidc::http::AccessTokenRefused;
use sigil_store::StoreError;

use crate::{AdminContext, AdminError, roles_of};

/// Checks the token of `req` and that its principal may do `operation`.
pub(crate) async fn authorize(
    ctx: &AdminContext,
    req: &HttpRequest,
    operation: Operation,
) -> Result<(), AdminError> {
    let header = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let Some(token) = header.and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
    else {
        return Err(AdminError::Unauthorized {
            token_problem: false,
            description: "a bearer access token is required".into(),
        });
    };
    let claims = ctx.oidc.check_access_token(token.trim()).await.map_err(|refused| match refused {
        AccessTokenRefused::Invalid => AdminError::Unauthorized {
            token_problem: true,
            description: "the access token is not valid".into(),
        },
        AccessTokenRefused::Unavailable(why) => AdminError::Store(StoreError::Unavailable(why)),
    })?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str).unwrap_or_default();
    let scopes: Vec<&str> = text("scope").split(' ').filter(|s| !s.is_empty()).collect();
    // The scope first: without it, the principal's roles are not asked.
    let refused = |refusal| match refusal {
        Refusal::Scope(scope) => AdminError::Forbidden {
            scope: Some(scope),
            description: format!("the access token lacks the {scope} scope"),
        },
        Refusal::Role => AdminError::Forbidden {
            scope: None,
            description: format!("no role of this token's principal allows {}", operation.right().name),
        },
    };
    sigil_access::check_scope(operation, &scopes).map_err(refused)?;
    let roles = roles_of(&ctx.store, text("sub"), text("client_id")).await?;
    let decision = sigil_access::check(operation, &scopes, &roles);
    // The audit trail: who asked for what, and the answer. Never the token.
    tracing::info!(
        target: "sigil::audit",
        operation = operation.right().name,
        subject = text("sub"),
        client_id = text("client_id"),
        allowed = decision.is_ok(),
        "admin request"
    );
    decision.map_err(refused)
}
