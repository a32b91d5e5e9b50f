//! Bearer tokens on SCIM requests (RFC 6750 §2.1): checked by the verifier
//! the server passes in, then against the table of rights in
//! `sigil-access` — the scopes that admit the token, and the built-in roles
//! of its principal — or, for a user's token, the rights per group.

use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;
use sigil_access::{Refusal, Scopes};

use super::{ScimContext, Token, TokenRefused};
use crate::ScimError;
use crate::rights::{Kind, Operation, allowed, any_right};

/// The token of `req`, checked by the verifier; no scope or role is needed
/// yet (`/Me` asks about the token's own user).
pub(crate) async fn authenticate(ctx: &ScimContext, req: &HttpRequest) -> Result<Token, ScimError> {
    let header = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let Some(token) = header.and_then(bearer).filter(|t| !t.is_empty()) else {
        return Err(ScimError::Unauthorized {
            token_problem: false,
            description: "a bearer access token is required".into(),
        });
    };
    match ctx.tokens.check(token).await {
        Ok(token) => Ok(token),
        Err(TokenRefused::Invalid) => Err(ScimError::Unauthorized {
            token_problem: true,
            description: "the access token is not valid".into(),
        }),
        Err(TokenRefused::Unavailable(why)) => {
            Err(ScimError::Store(sigil_store::StoreError::Unavailable(why)))
        }
    }
}

/// The credentials of a Bearer `Authorization` header (RFC 6750 §2.1); the
/// scheme is case-insensitive (RFC 9110 §11.1).
fn bearer(header: &str) -> Option<&str> {
    header.split_once(' ').filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer")).map(|(_, t)| t.trim())
}

/// The checked token of `req`, if it carries one of `scopes`: the door to
/// `/Bulk` (each operation inside is then checked on its own).
pub(crate) async fn authorize_scopes(
    ctx: &ScimContext,
    req: &HttpRequest,
    scopes: Scopes,
) -> Result<Token, ScimError> {
    let token = authenticate(ctx, req).await?;
    if token.scopes.iter().any(|s| scopes.any_of().contains(&s.as_str())) {
        return Ok(token);
    }
    Err(missing_scope(scopes.least()))
}

/// The checked token of `req`, if it may do `operation` on `kind`.
pub(crate) async fn authorize_for(
    ctx: &ScimContext,
    req: &HttpRequest,
    kind: Kind,
    operation: Operation,
) -> Result<Token, ScimError> {
    let token = authenticate(ctx, req).await?;
    permit(ctx, &token, kind, operation)?;
    Ok(token)
}

/// The checked token of `req`, if it may read the discovery endpoints.
pub(crate) async fn authorize_discovery(ctx: &ScimContext, req: &HttpRequest) -> Result<Token, ScimError> {
    let token = authenticate(ctx, req).await?;
    match sigil_access::check(sigil_access::Operation::ScimDiscovery, &token.scopes, &token.roles) {
        Ok(()) => Ok(token),
        Err(Refusal::Scope(scope)) => Err(missing_scope(scope)),
        // Whoever holds a right on some resource may learn its schema.
        Err(Refusal::Role) if token.acts_for_a_user() && any_right(&ctx.rights, &token.groups) => Ok(token),
        Err(Refusal::Role) => Err(no_role("scim.discovery.read")),
    }
}

/// Whether `token` may do `operation` on `kind`: its scopes must admit it,
/// and its principal must hold a built-in role the table allows or, for a
/// user, belong to a group holding the right. Also checked per `/Bulk`
/// operation.
pub(crate) fn permit(
    ctx: &ScimContext,
    token: &Token,
    kind: Kind,
    operation: Operation,
) -> Result<(), ScimError> {
    let in_table = table_operation(kind, operation);
    match sigil_access::check(in_table, &token.scopes, &token.roles) {
        Ok(()) => Ok(()),
        Err(Refusal::Scope(scope)) => Err(missing_scope(scope)),
        Err(Refusal::Role)
            if token.acts_for_a_user() && allowed(&ctx.rights, &token.groups, kind, operation) =>
        {
            Ok(())
        }
        Err(Refusal::Role) => Err(no_role(in_table.right().name)),
    }
}

/// The row of the table of rights for `operation` on `kind`.
pub(crate) fn table_operation(kind: Kind, operation: Operation) -> sigil_access::Operation {
    use sigil_access::Operation as Op;
    match (kind, operation) {
        (Kind::User, Operation::Read) => Op::ScimUsersRead,
        (Kind::User, Operation::Create) => Op::ScimUsersCreate,
        (Kind::User, Operation::Update) => Op::ScimUsersUpdate,
        (Kind::User, Operation::Delete) => Op::ScimUsersDelete,
        (Kind::Group, Operation::Read) => Op::ScimGroupsRead,
        (Kind::Group, Operation::Create) => Op::ScimGroupsCreate,
        (Kind::Group, Operation::Update) => Op::ScimGroupsUpdate,
        (Kind::Group, Operation::Delete) => Op::ScimGroupsDelete,
    }
}

/// RFC 6750 §3.1 `insufficient_scope`, naming the scope to ask for.
fn missing_scope(scope: &'static str) -> ScimError {
    ScimError::Forbidden {
        scope: Some(scope),
        description: format!("the access token lacks the {scope} scope"),
    }
}

fn no_role(operation: &str) -> ScimError {
    ScimError::Forbidden {
        scope: None,
        description: format!("neither the roles nor the groups of this token's principal allow {operation}"),
    }
}
