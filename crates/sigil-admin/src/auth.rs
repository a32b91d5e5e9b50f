//! Bearer tokens on admin requests (RFC 6750 §2.1): the provider's own
//! access tokens, then the table of rights for the operation asked.

use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;
use sigil_access::{Operation, Refusal};
use sigil_oidc::Api;
use sigil_oidc::http::bearer_token;
use sigil_oidc::tokens::verify::{self, Refused};
use sigil_store::StoreError;

use crate::{AdminContext, AdminError, roles_of};

/// Checks the token of `req` and that its principal may do `operation`.
pub(crate) async fn authorize(
    ctx: &AdminContext,
    req: &HttpRequest,
    operation: Operation,
) -> Result<(), AdminError> {
    let header = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let Some(token) = header.and_then(bearer_token) else {
        return Err(AdminError::Unauthorized {
            token_problem: false,
            description: "a bearer access token is required".into(),
        });
    };
    // The one verifier: signature, iss, typ, exp, revocation, the
    // principal's status, and an audience naming the admin API.
    let principal =
        verify::access_token_with_holdings(&ctx.oidc, token, Api::Admin).await.map_err(|refused| {
            match refused {
                Refused::Invalid(why) => {
                    tracing::info!(why, "admin: token refused");
                    AdminError::Unauthorized {
                        token_problem: true,
                        description: "the access token is not valid".into(),
                    }
                }
                Refused::Unavailable(why) => AdminError::Store(StoreError::Unavailable(why)),
            }
        })?;
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
    sigil_access::check_scope(operation, &principal.scopes).map_err(refused)?;
    let roles = roles_of(&ctx.store, &principal).await?;
    let decision = sigil_access::check(operation, &principal.scopes, &roles);
    // The audit trail: who asked for what, and the answer. Never the token.
    tracing::info!(
        target: "sigil::audit",
        operation = operation.right().name,
        subject = principal.sub,
        client_id = principal.client_id,
        api_token = principal.api_token_id.as_deref(),
        allowed = decision.is_ok(),
        "admin request"
    );
    decision.map_err(refused)
}
