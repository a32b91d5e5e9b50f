//! `/admin/clients`: list, read, register and remove clients. Secrets are
//! never shown again after registration: the store keeps their digests.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use sigil_access::Operation;
use sigil_oidc::clients::{Credentials, ExchangePolicy, Registration, register};
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
        refresh_without_offline_access: false,
        exchange: ExchangePolicy::default(),
        always_groups_claim: false,
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
