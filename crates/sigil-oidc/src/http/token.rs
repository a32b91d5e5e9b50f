//! The token endpoint (RFC 6749 §3.2).

use actix_web::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, post, web};

use super::OidcContext;
use super::client_auth::{authenticate, presented};
use super::form::Form;
use super::wire::token_error;
use crate::OidcError;
use crate::grants;

/// `POST /token`: authenticates the client, then runs the requested grant.
#[post("/token")]
#[tracing::instrument(skip_all, fields(client_id, grant_type))]
pub(crate) async fn token(ctx: web::Data<OidcContext>, req: HttpRequest, body: Bytes) -> HttpResponse {
    match issue(&ctx, &req, &body).await {
        // RFC 6749 §5.1: token responses MUST carry Cache-Control: no-store.
        Ok(response) => HttpResponse::Ok()
            .insert_header((CACHE_CONTROL, "no-store"))
            .insert_header((PRAGMA, "no-cache"))
            .json(response),
        Err(error) => token_error(&error),
    }
}

async fn issue(ctx: &OidcContext, req: &HttpRequest, body: &[u8]) -> Result<serde_json::Value, OidcError> {
    // RFC 6749 §3.2: parameters arrive as application/x-www-form-urlencoded.
    let form_encoded = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
    });
    if !form_encoded {
        return Err(OidcError::InvalidRequest("the body must be application/x-www-form-urlencoded".into()));
    }
    let form = Form::parse(body);
    let authorization = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let client = authenticate(ctx, presented(authorization, &form)?).await?;
    tracing::Span::current().record("client_id", client.id.as_str());
    let grant_type = form.required("grant_type")?;
    tracing::Span::current().record("grant_type", grant_type);
    match grant_type {
        "authorization_code" => grants::authorization_code(ctx, &client, &form).await,
        "client_credentials" => grants::client_credentials(ctx, &client, &form).await,
        "refresh_token" => grants::refresh_token(ctx, &client, &form).await,
        crate::exchange::GRANT_TYPE => crate::exchange::token_exchange(ctx, &client, &form).await,
        other => Err(OidcError::UnsupportedGrantType(format!("the grant type `{other}` is not supported"))),
    }
}
