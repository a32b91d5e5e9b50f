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
use serde::{Deserialize, Serialize};
use sigil_access::Operation;
use sigil_oidc::api_tokens::{Request, create as create_token};
use sigil_store::StoreError;
use sigil_store::api_tokens::{self, ApiToken};
use utoipa::{IntoParams, ToSchema};

use crate::auth::authorize;
use crate::error::ErrorBody;
use crate::{AdminContext, AdminError, write};

/// An API token as the admin API shows it: never its value (but in the
/// answer that makes it) nor its digest.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ApiTokenView {
    id: String,
    client_id: String,
    name: Option<String>,
    /// Space-separated, as in OAuth.
    scope: String,
    #[schema(format = DateTime)]
    created: String,
    #[schema(format = DateTime)]
    expires_at: String,
    #[schema(format = DateTime)]
    last_used_at: Option<String>,
    #[schema(format = DateTime)]
    revoked_at: Option<String>,
    state: TokenState,
    /// The token itself: only in the answer that makes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
}

/// Whether a token can still be used.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TokenState {
    Active,
    Expired,
    Revoked,
}

/// GET /admin/api-tokens.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ApiTokenList {
    api_tokens: Vec<ApiTokenView>,
}

/// A token as the admin API shows it, at `now`.
fn view(token: &ApiToken, now: NaiveDateTime) -> ApiTokenView {
    let time = |t: NaiveDateTime| t.and_utc().to_rfc3339();
    let state = match (token.revoked_at, token.expires_at <= now) {
        (Some(_), _) => TokenState::Revoked,
        (None, true) => TokenState::Expired,
        (None, false) => TokenState::Active,
    };
    ApiTokenView {
        id: token.id.clone(),
        client_id: token.client_id.clone(),
        name: token.name.clone(),
        scope: token.scope.clone(),
        created: time(token.created),
        expires_at: time(token.expires_at),
        last_used_at: token.last_used_at.map(time),
        revoked_at: token.revoked_at.map(time),
        state,
        token: None,
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Filter {
    /// Only the tokens of this client.
    client: Option<String>,
}

/// GET /admin/api-tokens[?client=ID].
#[utoipa::path(get, path = "/admin/api-tokens", tag = "api-tokens", operation_id = "api_tokens_list", params(Filter),
    extensions(("x-sigil-operation" = json!("admin.clients.read"))),
    responses((status = 200, description = "API tokens, active or not", body = ApiTokenList), crate::openapi::Refusals))]
pub(crate) async fn list(
    ctx: web::Data<AdminContext>,
    req: HttpRequest,
    filter: web::Query<Filter>,
) -> Result<HttpResponse, AdminError> {
    authorize(&ctx, &req, Operation::ClientsRead).await?;
    let client = filter.into_inner().client;
    let tokens = ctx.store.read(move |c| api_tokens::list(c, client.as_deref())).await?;
    let now = ctx.store.now();
    Ok(HttpResponse::Ok().json(ApiTokenList { api_tokens: tokens.iter().map(|t| view(t, now)).collect() }))
}

/// GET /admin/api-tokens/{id}.
#[utoipa::path(get, path = "/admin/api-tokens/{id}", tag = "api-tokens", operation_id = "api_tokens_get",
    params(("id" = String, Path, description = "The token's id")),
    extensions(("x-sigil-operation" = json!("admin.clients.read"))),
    responses((status = 200, description = "The token, without its value", body = ApiTokenView),
        crate::openapi::Refusals, (status = 404, description = "No such token", body = ErrorBody)))]
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
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewToken {
    client_id: String,
    /// Space-separated, as in OAuth.
    scope: String,
    /// Seconds, as OAuth's `expires_in`; the default lifetime when absent.
    expires_in: Option<i64>,
    name: Option<String>,
}

/// POST /admin/api-tokens: 201 with the token, shown this once.
#[utoipa::path(post, path = "/admin/api-tokens", tag = "api-tokens", operation_id = "api_tokens_create", request_body = NewToken,
    extensions(("x-sigil-operation" = json!("admin.clients.write"))),
    responses((status = 201, description = "Made; `token` shown this once", body = ApiTokenView,
            headers(("Location" = String, description = "The token's URL"))),
        (status = 400, description = "Not a valid request", body = ErrorBody), crate::openapi::Refusals))]
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
    body.token = Some(secret.expose().to_owned());
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/admin/api-tokens/{}", token.id)))
        .insert_header(("Cache-Control", "no-store"))
        .json(body))
}

/// DELETE /admin/api-tokens/{id}: revokes it at once on every node; 204
/// again for a token already revoked.
#[utoipa::path(delete, path = "/admin/api-tokens/{id}", tag = "api-tokens", operation_id = "api_tokens_revoke",
    params(("id" = String, Path, description = "The token's id")),
    extensions(("x-sigil-operation" = json!("admin.clients.write"))),
    responses((status = 204, description = "Revoked"), crate::openapi::Refusals,
        (status = 404, description = "No such token", body = ErrorBody)))]
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
