//! `/admin/api-tokens`: make, list and revoke the long-lived API tokens
//! clients present to SCIM and the admin API (see
//! `sigil_oidc::api_tokens`). A token is shown once, in the answer that
//! makes it; listings show everything else about it, never its digest.
//!
//! An API token is a credential of its client, as its secret is: reading
//! them is `admin.clients.read`, making and revoking them
//! `admin.clients.write`.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{NaiveDateTime, TimeDelta};
use serde::Deserialize;
use serde_json::{Value, json};
use sigil_access::Operation;
use sigil_oidc::api_tokens::{Request, create as create_token};
use sigil_store::StoreError;
use sigil_store::api_tokens::{self, ApiToken};

use crate::auth::authorize;
use crate::{AdminContext, AdminError, write};

/// A token as the admin API shows it, at `now`.
fn view(token: &ApiToken, now: NaiveDateTime) -> Value {
    let time = |t: Option<NaiveDateTime>| t.map(|t| t.and_utc().to_rfc3339());
    let state = match (token.revoked_at, token.expires_at <= now) {
        (Some(_), _) => "revoked",
        (None, true) => "expired",
        (None, false) => "active",
    };
    json!({
        "id": token.id,
        "client_id": token.client_id,
        "name": token.name,
        "scope": token.scope,
        "created": time(Some(token.created)),
        "expires_at": time(Some(token.expires_at)),
        "last_used_at": time(token.last_used_at),
        "revoked_at": time(token.revoked_at),
        "state": state,
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct Filter {
    client: Option<String>,
}

/// GET /admin/api-tokens[?client=ID].
pub(crate) async fn list(
    ctx: web::Data<AdminContext>,
    req: HttpRequest,
    filter: web::Query<Filter>,
) -> Result<HttpResponse, AdminError> {
    authorize(&ctx, &req, Operation::ClientsRead).await?;
    let client = filter.into_inner().client;
    let tokens = ctx.store.read(move |c| api_tokens::list(c, client.as_deref())).await?;
    let now = ctx.store.now();
    Ok(HttpResponse::Ok()
        .json(json!({ "api_tokens": tokens.iter().map(|t| view(t, now)).collect::<Vec<_>>() })))
}

/// GET /admin/api-tokens/{id}.
pub(crate) async fn get(
    ctx: web::Data<AdminContext>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    authorize(&ctx, &req, Operation::ClientsRead).await?;
    let wanted = id.clone();
    match ctx.store.read(move |c| api_tokens::get(c, &wanted)).await {
        Ok(token) => Ok(HttpResponse::Ok().json(view(&token, ctx.store.now()))),
        Err(StoreError::NotFound) => Err(AdminError::NotFound(format!("there is no API token `{id}`"))),
        Err(other) => Err(other.into()),
    }
}

/// What POST /admin/api-tokens accepts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    client_id: String,
    /// Space-separated, as in OAuth.
    scope: String,
    /// Seconds, as OAuth's `expires_in`; the default lifetime when absent.
    expires_in: Option<i64>,
    name: Option<String>,
}

/// POST /admin/api-tokens: 201 with the token, shown this once.
pub(crate) async fn create(
    ctx: web::Data<AdminContext>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AdminError> {
    authorize(&ctx, &req, Operation::ClientsWrite).await?;
    let new: NewToken = serde_json::from_slice(&body)
        .map_err(|e| AdminError::Invalid(format!("the body is not an API token request: {e}")))?;
    let request = Request {
        client_id: new.client_id,
        scopes: new.scope.split_whitespace().map(str::to_owned).collect(),
        lifetime: new
            .expires_in
            .map(|seconds| {
                TimeDelta::try_seconds(seconds)
                    .ok_or_else(|| AdminError::Invalid(format!("expires_in {seconds} is out of range")))
            })
            .transpose()?,
        name: new.name,
    };
    // Refuse what needs no store before writing.
    sigil_oidc::api_tokens::check(&request, sigil_access::API_SCOPES)?;
    let now = ctx.store.now();
    let (token, secret) =
        write(&ctx.store, move |c| Ok(create_token(c, request, sigil_access::API_SCOPES, now)?)).await?;
    let mut body = view(&token, now);
    body["token"] = json!(secret.expose());
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/admin/api-tokens/{}", token.id)))
        .insert_header(("Cache-Control", "no-store"))
        .json(body))
}

/// DELETE /admin/api-tokens/{id}: revokes it at once on every node; 204
/// again for a token already revoked.
pub(crate) async fn revoke(
    ctx: web::Data<AdminContext>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    authorize(&ctx, &req, Operation::ClientsWrite).await?;
    let (target, now) = (id.clone(), ctx.store.now());
    match ctx.store.write(move |c| api_tokens::revoke(c, &target, now)).await {
        Ok(_) => Ok(HttpResponse::NoContent().finish()),
        Err(StoreError::NotFound) => Err(AdminError::NotFound(format!("there is no API token `{id}`"))),
        Err(other) => Err(other.into()),
    }
}
