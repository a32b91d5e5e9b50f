//! Bearer tokens on admin requests (RFC 6750 §2.1): the provider's own
//! access tokens, then the table of rights for the operation asked.

use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;
use sigil_access::{Operation, Refusal};
use sigil_oidc::Api;
use sigil_oidc::http::{Origin, bearer_token};
use sigil_oidc::tokens::verify::{self, Refused};
use sigil_store::StoreError;
use sigil_store::audit::{Kind, NewEvent};

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
    let decision = match sigil_access::check_scope(operation, &principal.scopes) {
        Ok(()) => {
            let roles = roles_of(&ctx.store, &principal).await?;
            sigil_access::check(operation, &principal.scopes, &roles)
        }
        Err(refusal) => Err(refusal),
    };
    // The audit trail: who asked for what, from where, and the answer.
    // Never the token.
    tracing::info!(
        target: "sigil::audit",
        operation = operation.right().name,
        subject = principal.sub,
        client_id = principal.client_id,
        api_token = principal.api_token_id.as_deref(),
        allowed = decision.is_ok(),
        "admin request"
    );
    let event = decision_event(req, operation, &principal, decision);
    let now = ctx.store.now();
    let recorded = ctx.store.write(move |c| sigil_store::audit::record(c, event, now)).await;
    match (decision, recorded) {
        (Err(refusal), recorded) => {
            if let Err(e) = recorded {
                tracing::warn!(error = %e, "admin: a refusal could not be recorded");
            }
            Err(refused(refusal))
        }
        // An allowed request whose record cannot be written is not run:
        // nothing the admin API does goes unrecorded.
        (Ok(()), Err(e)) => Err(AdminError::Store(e)),
        (Ok(()), Ok(())) => Ok(()),
    }
}

/// The audit record of a decision: the principal (`sub`: its user, or its
/// client), its client, the address and request, the operation with the
/// resource the path names, and `allowed`, `denied` (no role) or
/// `insufficient_scope`.
fn decision_event(
    req: &HttpRequest,
    operation: Operation,
    principal: &verify::Principal,
    decision: Result<(), Refusal>,
) -> NewEvent {
    let origin = Origin::of(req);
    // `/admin/{type}/{id...}`: the path without its query, which the
    // admin API never uses for anything secret anyway.
    let mut rest = req.path().trim_start_matches("/admin").trim_start_matches('/').splitn(2, '/');
    let resource_type = rest.next().filter(|t| !t.is_empty()).map(str::to_owned);
    let resource_id = rest.next().filter(|id| !id.is_empty()).map(str::to_owned);
    let outcome = match decision {
        Ok(()) => "allowed",
        Err(Refusal::Role) => "denied",
        Err(Refusal::Scope(_)) => "insufficient_scope",
    };
    NewEvent {
        kind: Kind::AdminDecision,
        actor: Some(principal.sub.clone()),
        client_id: Some(principal.client_id.clone()),
        address: origin.address,
        operation: operation.right().name.to_owned(),
        resource_type,
        resource_id,
        method: Some(req.method().as_str().to_owned()),
        outcome: outcome.to_owned(),
        request_id: origin.request_id,
    }
}
