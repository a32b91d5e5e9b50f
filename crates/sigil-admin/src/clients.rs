//! `/admin/clients`: list, read, register and remove clients. Secrets are
//! never shown again after registration: the store keeps their digests.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use sigil_access::Operation;
use sigil_oidc::clients::{Changes, Credentials, ExchangePolicy, Registration, register, update};
use sigil_oidc::keys::SigningAlg;
use sigil_store::StoreError;
use sigil_store::clients::{self, Client};
use utoipa::ToSchema;

use crate::auth::authorize;
use crate::error::ErrorBody;
use crate::{AdminContext, AdminError, write};

/// A client as the admin API shows it: settings, never secrets (but the
/// secret made by registration or rotation, in that one answer).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ClientView {
    client_id: String,
    client_name: Option<String>,
    public: bool,
    token_endpoint_auth_method: String,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    grant_types: Vec<String>,
    /// Space-separated, as in OAuth.
    scope: String,
    audiences: Vec<String>,
    skip_consent: bool,
    require_pkce: bool,
    id_token_signed_response_alg: String,
    access_token_signed_response_alg: String,
    exchange: ExchangeView,
    always_groups_claim: bool,
    #[schema(format = DateTime)]
    created: String,
    /// Only when registering a confidential client or rotating its secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
}

/// A client's token exchange policy (RFC 8693).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ExchangeView {
    audiences: Vec<String>,
    impersonation: bool,
    refresh_tokens: bool,
}

/// GET /admin/clients: every client.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ClientList {
    clients: Vec<ClientView>,
}

fn view(client: &Client) -> ClientView {
    ClientView {
        client_id: client.id.clone(),
        client_name: client.name.clone(),
        public: client.is_public,
        token_endpoint_auth_method: client.token_endpoint_auth_method.clone(),
        redirect_uris: client.redirect_uris.clone(),
        post_logout_redirect_uris: client.post_logout_redirect_uris.clone(),
        grant_types: client.grant_types.clone(),
        scope: client.scopes.join(" "),
        audiences: client.audiences.clone(),
        skip_consent: client.skip_consent,
        require_pkce: client.require_pkce,
        id_token_signed_response_alg: client.id_token_signed_response_alg.clone(),
        access_token_signed_response_alg: client.access_token_signed_response_alg.clone(),
        exchange: ExchangeView {
            audiences: client.exchange_audiences.clone(),
            impersonation: client.exchange_impersonation,
            refresh_tokens: client.exchange_refresh_tokens,
        },
        always_groups_claim: client.always_groups_claim,
        created: client.created.and_utc().to_rfc3339(),
        client_secret: None,
    }
}

/// GET /admin/clients.
#[utoipa::path(get, path = "/admin/clients", tag = "clients", operation_id = "clients_list",
    extensions(("x-sigil-operation" = json!("admin.clients.read"))),
    responses((status = 200, description = "Every client", body = ClientList), crate::openapi::Refusals))]
pub(crate) async fn list(ctx: web::Data<AdminContext>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    authorize(&ctx, &req, Operation::ClientsRead).await?;
    let all = ctx.store.read(clients::list).await?;
    Ok(HttpResponse::Ok().json(ClientList { clients: all.iter().map(view).collect() }))
}

/// GET /admin/clients/{id}.
#[utoipa::path(get, path = "/admin/clients/{id}", tag = "clients", operation_id = "clients_get",
    params(("id" = String, Path, description = "The client_id")),
    extensions(("x-sigil-operation" = json!("admin.clients.read"))),
    responses((status = 200, description = "The client", body = ClientView), crate::openapi::Refusals,
        (status = 404, description = "No such client", body = ErrorBody)))]
pub(crate) async fn get(
    ctx: web::Data<AdminContext>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    authorize(&ctx, &req, Operation::ClientsRead).await?;
    let wanted = id.clone();
    match ctx.store.read(move |c| clients::get(c, &wanted)).await {
        Ok(client) => Ok(HttpResponse::Ok().json(view(&client))),
        Err(StoreError::NotFound) => Err(AdminError::NotFound(format!("there is no client `{id}`"))),
        Err(other) => Err(other.into()),
    }
}

/// What POST /admin/clients accepts; unknown members are refused, so a
/// misspelt setting is not silently dropped.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewClient {
    client_id: String,
    client_name: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    grant_types: Vec<String>,
    scope: Option<String>,
    #[serde(default)]
    audiences: Vec<String>,
    #[serde(default)]
    public: bool,
    #[serde(default)]
    skip_consent: bool,
    #[serde(default)]
    require_pkce: bool,
    id_token_signed_response_alg: Option<String>,
    access_token_signed_response_alg: Option<String>,
    #[serde(default)]
    refresh_without_offline_access: bool,
    #[serde(default)]
    exchange: Exchange,
    #[serde(default)]
    always_groups_claim: bool,
}

/// The token exchange policy (RFC 8693) as the API takes it; in a PATCH,
/// what is left out stays as it was.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Exchange {
    audiences: Option<Vec<String>>,
    impersonation: Option<bool>,
    refresh_tokens: Option<bool>,
}

impl Exchange {
    fn over(self, current: ExchangePolicy) -> ExchangePolicy {
        ExchangePolicy {
            audiences: self.audiences.unwrap_or(current.audiences),
            impersonation: self.impersonation.unwrap_or(current.impersonation),
            refresh_tokens: self.refresh_tokens.unwrap_or(current.refresh_tokens),
        }
    }
}

/// What PATCH /admin/clients/{id} accepts: each member present replaces
/// that setting (a list replaces the whole list).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClientChanges {
    client_name: Option<String>,
    redirect_uris: Option<Vec<String>>,
    post_logout_redirect_uris: Option<Vec<String>>,
    grant_types: Option<Vec<String>>,
    scope: Option<String>,
    audiences: Option<Vec<String>>,
    skip_consent: Option<bool>,
    require_pkce: Option<bool>,
    id_token_signed_response_alg: Option<String>,
    access_token_signed_response_alg: Option<String>,
    refresh_without_offline_access: Option<bool>,
    exchange: Option<Exchange>,
    always_groups_claim: Option<bool>,
    #[serde(default)]
    rotate_secret: bool,
}

/// A signing algorithm by its JWA name; RS256 when none is asked for
/// (OpenID Connect Registration 1.0 §2).
fn alg(name: Option<&str>) -> Result<SigningAlg, AdminError> {
    name.map_or(Ok(SigningAlg::Rs256), |name| {
        name.parse().map_err(|_| AdminError::Invalid(format!("`{name}` is not RS256, PS256, ES256 or EdDSA")))
    })
}

/// POST /admin/clients: 201 with the client and, for a confidential one,
/// its generated secret, shown this once.
#[utoipa::path(post, path = "/admin/clients", tag = "clients", operation_id = "clients_create",
    request_body = NewClient,
    extensions(("x-sigil-operation" = json!("admin.clients.write"))),
    responses((status = 201, description = "Registered; `client_secret` shown this once", body = ClientView,
            headers(("Location" = String, description = "The client's URL"))),
        (status = 400, description = "Not a valid registration", body = ErrorBody),
        crate::openapi::Refusals,
        (status = 409, description = "The client_id is taken", body = ErrorBody)))]
pub(crate) async fn create(
    ctx: web::Data<AdminContext>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AdminError> {
    authorize(&ctx, &req, Operation::ClientsWrite).await?;
    let new: NewClient = serde_json::from_slice(&body)
        .map_err(|e| AdminError::Invalid(format!("the body is not a client registration: {e}")))?;
    let registration = Registration {
        id: new.client_id,
        name: new.client_name,
        credentials: if new.public { Credentials::Public } else { Credentials::GeneratedSecret },
        redirect_uris: new.redirect_uris,
        post_logout_redirect_uris: new.post_logout_redirect_uris,
        grant_types: new.grant_types,
        scopes: new.scope.map(|s| s.split_whitespace().map(str::to_owned).collect()).unwrap_or_default(),
        audiences: new.audiences,
        skip_consent: new.skip_consent,
        require_pkce: new.require_pkce,
        id_token_alg: alg(new.id_token_signed_response_alg.as_deref())?,
        access_token_alg: alg(new.access_token_signed_response_alg.as_deref())?,
        refresh_without_offline_access: new.refresh_without_offline_access,
        exchange: new.exchange.over(ExchangePolicy::default()),
        always_groups_claim: new.always_groups_claim,
        secret_in_body: false,
    };
    let now = ctx.store.now();
    let (client, secret) = write(&ctx.store, move |c| Ok(register(c, registration, now)?)).await?;
    let mut body = view(&client);
    body.client_secret = secret.map(|s| s.expose().to_owned());
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/admin/clients/{}", client.id)))
        .insert_header(("Cache-Control", "no-store"))
        .json(body))
}

/// PATCH /admin/clients/{id}: changes settings under the rules of
/// registration; with `rotate_secret`, answers with the new secret, shown
/// this once (the old one stops working).
#[utoipa::path(patch, path = "/admin/clients/{id}", tag = "clients", operation_id = "clients_change",
    params(("id" = String, Path, description = "The client_id")),
    request_body = ClientChanges,
    extensions(("x-sigil-operation" = json!("admin.clients.write"))),
    responses((status = 200, description = "The changed client; `client_secret` when rotated", body = ClientView),
        (status = 400, description = "Not a valid change", body = ErrorBody),
        crate::openapi::Refusals,
        (status = 404, description = "No such client", body = ErrorBody)))]
pub(crate) async fn change(
    ctx: web::Data<AdminContext>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AdminError> {
    authorize(&ctx, &req, Operation::ClientsWrite).await?;
    let asked: ClientChanges = serde_json::from_slice(&body)
        .map_err(|e| AdminError::Invalid(format!("the body is not a set of client changes: {e}")))?;
    let mut changes = Changes {
        name: asked.client_name,
        redirect_uris: asked.redirect_uris,
        post_logout_redirect_uris: asked.post_logout_redirect_uris,
        grant_types: asked.grant_types,
        scopes: asked.scope.map(|s| s.split_whitespace().map(str::to_owned).collect()),
        audiences: asked.audiences,
        skip_consent: asked.skip_consent,
        require_pkce: asked.require_pkce,
        id_token_alg: asked.id_token_signed_response_alg.as_deref().map(|a| alg(Some(a))).transpose()?,
        access_token_alg: asked
            .access_token_signed_response_alg
            .as_deref()
            .map(|a| alg(Some(a)))
            .transpose()?,
        refresh_without_offline_access: asked.refresh_without_offline_access,
        exchange: None,
        always_groups_claim: asked.always_groups_claim,
        rotate_secret: asked.rotate_secret,
    };
    let (id, exchange, now) = (id.into_inner(), asked.exchange, ctx.store.now());
    let (client, secret) = write(&ctx.store, move |c| {
        let current = match clients::get(c, &id) {
            Ok(client) => client,
            Err(StoreError::NotFound) => {
                return Err(AdminError::NotFound(format!("there is no client `{id}`")));
            }
            Err(other) => return Err(other.into()),
        };
        changes.exchange = exchange.map(|asked| {
            asked.over(ExchangePolicy {
                audiences: current.exchange_audiences,
                impersonation: current.exchange_impersonation,
                refresh_tokens: current.exchange_refresh_tokens,
            })
        });
        Ok(update(c, &id, changes, now)?)
    })
    .await?;
    let mut body = view(&client);
    body.client_secret = secret.map(|s| s.expose().to_owned());
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(body))
}

/// DELETE /admin/clients/{id}: the client and every grant, token and
/// consent it holds.
#[utoipa::path(delete, path = "/admin/clients/{id}", tag = "clients", operation_id = "clients_delete",
    params(("id" = String, Path, description = "The client_id")),
    extensions(("x-sigil-operation" = json!("admin.clients.write"))),
    responses((status = 204, description = "Removed"), crate::openapi::Refusals,
        (status = 404, description = "No such client", body = ErrorBody)))]
pub(crate) async fn delete(
    ctx: web::Data<AdminContext>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    authorize(&ctx, &req, Operation::ClientsWrite).await?;
    let target = id.clone();
    if ctx.store.write(move |c| clients::delete(c, &target)).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(AdminError::NotFound(format!("there is no client `{id}`")))
    }
}
