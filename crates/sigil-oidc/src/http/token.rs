//! The token endpoint (RFC 6749 §3.2): authenticates the client, parses
//! the form into a typed request, runs the grant, writes the response.

use actix_web::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, post, web};

use super::client_auth::{authenticate, presented};
use super::form::Form;
use super::wire::token_error;
use crate::OidcError;
use crate::grants::{self, TokenRequest, TokenResponse};
use crate::provider::Provider;

/// `POST /token`: authenticates the client, then runs the requested grant.
#[post("/token")]
#[tracing::instrument(skip_all, fields(client_id, grant_type))]
pub(crate) async fn token(ctx: web::Data<Provider>, req: HttpRequest, body: Bytes) -> HttpResponse {
    match issue(&ctx, &req, &body).await {
        // RFC 6749 §5.1: token responses MUST carry Cache-Control: no-store.
        Ok(response) => HttpResponse::Ok()
            .insert_header((CACHE_CONTROL, "no-store"))
            .insert_header((PRAGMA, "no-cache"))
            .json(response),
        Err(error) => token_error(&error),
    }
}

async fn issue(ctx: &Provider, req: &HttpRequest, body: &[u8]) -> Result<TokenResponse, OidcError> {
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
    let request = token_request(&form)?;
    tracing::Span::current().record("grant_type", request.grant_type.as_str());
    grants::run(ctx, &client, &request).await
}

/// The typed request: each parameter once (RFC 6749 §3.2), `audience` and
/// `resource` as often as the client likes (RFC 8693 §2.1, RFC 8707 §2).
fn token_request(form: &Form) -> Result<TokenRequest, OidcError> {
    let one = |name: &str| form.single(name).map(|v| v.map(str::to_owned));
    Ok(TokenRequest {
        grant_type: form.required("grant_type")?.to_owned(),
        code: one("code")?,
        redirect_uri: one("redirect_uri")?,
        code_verifier: one("code_verifier")?,
        refresh_token: one("refresh_token")?,
        scope: one("scope")?,
        targets: form.all("audience").into_iter().chain(form.all("resource")).map(str::to_owned).collect(),
        subject_token: one("subject_token")?,
        subject_token_type: one("subject_token_type")?,
        actor_token: one("actor_token")?,
        actor_token_type: one("actor_token_type")?,
        requested_token_type: one("requested_token_type")?,
    })
}
