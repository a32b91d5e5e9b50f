//! Bearer tokens on SCIM requests (RFC 6750 §2.1): checked by the verifier
//! the server passes in, then the scope the operation needs.

use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;

use super::{ScimContext, Token, TokenRefused};
use crate::ScimError;
use crate::rights::{Kind, Operation, allowed};

/// What an operation does, and so which scope it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Any valid token (`/Me` asks about the token's own user).
    Any,
    /// Reads and searches: `scim:read` (or `scim:write`, which includes it).
    Read,
    /// Creates, changes and deletes: `scim:write`.
    Write,
}

/// The checked token of `req`, if it allows `access`.
pub(crate) async fn authorize(
    ctx: &ScimContext,
    req: &HttpRequest,
    access: Access,
) -> Result<Token, ScimError> {
    let header = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let Some(token) = header.and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
    else {
        return Err(ScimError::Unauthorized {
            token_problem: false,
            description: "a bearer access token is required".into(),
        });
    };
    let token = match ctx.tokens.check(token.trim()).await {
        Ok(token) => token,
        Err(TokenRefused::Invalid) => {
            return Err(ScimError::Unauthorized {
                token_problem: true,
                description: "the access token is not valid".into(),
            });
        }
        Err(TokenRefused::Unavailable(why)) => {
            return Err(ScimError::Store(sigil_store::StoreError::Unavailable(why)));
        }
    };
    let has = |scope: &str| token.scopes.iter().any(|s| s == scope);
    let allowed = match access {
        Access::Any => true,
        Access::Read => has("scim:read") || has("scim:write"),
        Access::Write => has("scim:write"),
    };
    if !allowed {
        let scope = if access == Access::Write { "scim:write" } else { "scim:read" };
        return Err(ScimError::Forbidden {
            scope: Some(scope),
            description: format!("the access token lacks the {scope} scope"),
        });
    }
    Ok(token)
}

/// The checked token of `req`, if its scopes allow `operation` and, for a
/// token acting for a user, one of the user's groups holds the right.
pub(crate) async fn authorize_for(
    ctx: &ScimContext,
    req: &HttpRequest,
    kind: Kind,
    operation: Operation,
) -> Result<Token, ScimError> {
    let access = if operation == Operation::Read { Access::Read } else { Access::Write };
    let token = authorize(ctx, req, access).await?;
    permit(ctx, &token, kind, operation)?;
    Ok(token)
}

/// The rights check alone, for a token already checked (also per /Bulk
/// operation).
pub(crate) fn permit(
    ctx: &ScimContext,
    token: &Token,
    kind: Kind,
    operation: Operation,
) -> Result<(), ScimError> {
    if ctx.rights.is_empty()
        || !token.acts_for_a_user()
        || allowed(&ctx.rights, &token.groups, kind, operation)
    {
        return Ok(());
    }
    Err(ScimError::Forbidden {
        scope: None,
        description: format!("none of your groups may {operation} {kind}"),
    })
}
