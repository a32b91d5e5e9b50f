//! `/admin/clients`: list, read, register and remove clients. Secrets are
//! never shown again after registration: the store keeps their digests.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use sigil_access::Operation;
use sigil_oidc::clients::{Changes, Credentials, ExchangePolicy, Registration, register, update};
use sigil_oidc::keys::SigningAlg;
use sigil_store::StoreError;
use sigil_store::clients::{self, Client};

use crate::auth::authorize;
use crate::{AdminContext, AdminError, write};

/// A client as the admin API shows it: settings, never secrets.
fn view(client: &Client) -> Value {
    json!({
        "client_id": client.id,
        "client_name": client.name,
        "public": client.is_public,
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "grant_types": client.grant_types,
        "scope": client.scopes.join(" "),
        "audiences": client.audiences,
        "skip_consent": client.skip_consent,
        "require_pkce": client.require_pkce,
        "id_token_signed_response_alg": client.id_token_signed_response_alg,
        "access_token_signed_response_alg": client.access_token_signed_response_alg,
        "exchange": {
            "audiences": client.exchange_audiences,
            "impersonation": client.exchange_impersonation,
            "refresh_tokens": client.exchange_refresh_tokens,
        },
        "always_groups_claim": client.always_groups_claim,
        "created": client.created.and_utc().to_rfc3339(),
    })
}

/// GET /admin/clients.
pub(crate) async fn list(ctx: web::Data<AdminContext>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    authorize(&ctx, &req, Operation::ClientsRead).await?;
    let all = ctx.store.read(clients::list).await?;
    Ok(HttpResponse::Ok().json(json!({ "clients": all.iter().map(view).collect::<Vec<_>>() })))
}

/// GET /admin/clients/{id}.
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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewClient {
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
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Exchange {
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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientChanges {
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
    if let Some(secret) = secret {
        body["client_secret"] = json!(secret.expose());
    }
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/admin/clients/{}", client.id)))
        .insert_header(("Cache-Control", "no-store"))
        .json(body))
}

/// PATCH /admin/clients/{id}: changes settings under the rules of
/// registration; with `rotate_secret`, answers with the new secret, shown
/// this once (the old one stops working).
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
    if let Some(secret) = secret {
        body["client_secret"] = json!(secret.expose());
    }
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(body))
}

/// DELETE /admin/clients/{id}: the client and every grant, token and
/// consent it holds.
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
