//! The authorization endpoint (OpenID Connect Core 1.0 §3.1.2, RFC 6749
//! §4.1.1), GET and POST, with the code response type.
//!
//! A request whose client or redirect URI cannot be trusted gets an error
//! page; every later error is sent back to the client's redirect URI with
//! `state` and `iss` (RFC 9207). Without a suitable session the user is
//! shown the sign-in page; the request's query string travels through the
//! form and is checked again afterwards, so nothing about a pending request
//! is kept on the server: the form's CSRF token covers it, so it cannot be
//! changed on the way.

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use sigil_store::clients::{self, Client};
use sigil_store::grants::{self, AuthorizationCode, Session};
use sigil_store::secret::{HashedSecret, PlainSecret};
use sigil_store::{StoreError, users};
use url::Url;

use super::form::Form;
use super::pages::csrf::{self, Binding, FormKey, Purpose};
use super::pages::{self, Carried, SESSION_COOKIE};
use crate::OidcError;
use crate::provider::Provider;

/// Parameters that may appear more than once: RFC 8707 §2 `resource`.
const MAY_REPEAT: &[&str] = &["resource"];

/// A checked authorization request.
#[derive(Debug)]
pub(crate) struct AuthRequest {
    pub(crate) form_post: bool,
    pub(crate) client: Client,
    pub(crate) redirect_uri: String,
    pub(crate) state: Option<String>,
    pub(crate) nonce: Option<String>,
    pub(crate) scope: Vec<String>,
    pub(crate) code_challenge: Option<String>,
    pub(crate) prompt_none: bool,
    pub(crate) prompt_login: bool,
    pub(crate) prompt_consent: bool,
    pub(crate) max_age: Option<i64>,
    pub(crate) login_hint: Option<String>,
}

/// Why a request failed: shown to the user, or sent to the client.
#[derive(Debug)]
pub(crate) enum Refusal {
    Page(String),
    Redirect { error: &'static str, description: String },
    Internal(OidcError),
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

fn to_client(error: &'static str, description: impl Into<String>) -> Refusal {
    Refusal::Redirect { error, description: description.into() }
}

/// Checks the parameters of an authorization request.
pub(crate) async fn check(ctx: &Provider, form: &Form) -> Result<AuthRequest, (Refusal, Option<Reply>)> {
    let page = |m: &str| (Refusal::Page(m.to_owned()), None);
    let client_id = form.single("client_id").map_err(|_| page("The client_id parameter is repeated."))?;
    let Some(client_id) = client_id else {
        return Err(page("The request names no client (client_id is missing)."));
    };
    let id = client_id.to_owned();
    let client = match ctx.store.read(move |c| clients::get(c, &id)).await {
        Ok(client) => client,
        Err(StoreError::NotFound) => return Err(page("The request names a client that is not registered.")),
        Err(e) => return Err((Refusal::from(e), None)),
    };
    // OpenID Connect Core §3.1.2.1: redirect_uri is required and must match
    // a registered value exactly (simple string comparison, §3.1.2.1 and
    // RFC 6749 §3.1.2.3); otherwise never redirect.
    let redirect_uri = match form.single("redirect_uri") {
        Ok(Some(uri)) if client.redirect_uris.iter().any(|r| r == uri) => uri.to_owned(),
        Ok(Some(_)) => return Err(page("The redirect URI is not registered for this client.")),
        Ok(None) => return Err(page("The request has no redirect URI (redirect_uri is missing).")),
        Err(_) => return Err(page("The redirect_uri parameter is repeated.")),
    };
    // A repeated or unprintable state is not echoed: which one, or what,
    // would the client expect back?
    let state = form.single("state").ok().flatten().filter(|s| !s.chars().any(char::is_control));
    let state = state.map(str::to_owned);
    // Known before anything else can fail, so errors travel the way the
    // client asked for responses to travel.
    let form_post = form.single("response_mode").ok().flatten() == Some("form_post");
    let reply = Reply { uri: redirect_uri.clone(), state: state.clone(), form_post };
    let back = |refusal: Refusal| (refusal, Some(reply.clone()));
    // RFC 6749 §3.1: request parameters MUST NOT be included more than
    // once, whichever they are (a second `state` must not go unnoticed).
    if let Some(name) = form.repeated(MAY_REPEAT) {
        return Err(back(to_client("invalid_request", format!("the `{name}` parameter is repeated"))));
    }
    // RFC 6749 Appendix A: every value here is printable; a CR or LF could
    // only be an attempt to break a header or a page.
    if let Some(name) = form.with_control_characters() {
        return Err(back(to_client(
            "invalid_request",
            format!("the `{name}` parameter holds control characters"),
        )));
    }
    let single =
        |name: &str| form.single(name).map_err(|e| back(to_client("invalid_request", e.to_string())));

    match single("response_type")? {
        Some("code") => {}
        Some(other) => {
            return Err(back(to_client(
                "unsupported_response_type",
                format!("response_type `{other}` is not supported"),
            )));
        }
        None => return Err(back(to_client("invalid_request", "response_type is missing"))),
    }
    if !client.grant_types.iter().any(|g| g == "authorization_code") {
        return Err(back(to_client(
            "unauthorized_client",
            "this client may not use the authorization code grant",
        )));
    }
    match single("response_mode")? {
        None | Some("query" | "form_post") => {}
        Some(other) => {
            return Err(back(to_client(
                "invalid_request",
                format!("response_mode `{other}` is not supported"),
            )));
        }
    }
    if single("request")?.is_some() {
        return Err(back(to_client("request_not_supported", "request objects are not supported")));
    }
    if single("request_uri")?.is_some() {
        return Err(back(to_client("request_uri_not_supported", "request_uri is not supported")));
    }
    let mut scope = Vec::new();
    for token in single("scope")?.unwrap_or_default().split(' ').filter(|s| !s.is_empty()) {
        if !client.scopes.iter().any(|s| s == token) {
            return Err(back(to_client(
                "invalid_scope",
                format!("the scope `{token}` is not allowed for this client"),
            )));
        }
        if !scope.iter().any(|s: &String| s == token) {
            scope.push(token.to_owned());
        }
    }
    // RFC 7636 §4.3/§4.4.1: only S256; plain is refused as it protects nothing
    // against an observer of the authorization request.
    let code_challenge = single("code_challenge")?.map(str::to_owned);
    match (code_challenge.as_deref(), single("code_challenge_method")?) {
        (Some(_), Some("S256")) => {}
        (Some(_), Some(other)) => {
            return Err(back(to_client(
                "invalid_request",
                format!("code_challenge_method `{other}` is not supported; use S256"),
            )));
        }
        (Some(_), None) => {
            return Err(back(to_client("invalid_request", "code_challenge_method must be S256")));
        }
        (None, Some(_)) => return Err(back(to_client("invalid_request", "code_challenge is missing"))),
        (None, None) if client.require_pkce => {
            return Err(back(to_client(
                "invalid_request",
                "this client must use PKCE (code_challenge with S256)",
            )));
        }
        (None, None) => {}
    }
    if let Some(challenge) = &code_challenge
        && (challenge.len() != 43
            || !challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    {
        return Err(back(to_client("invalid_request", "code_challenge is not a base64url SHA-256 digest")));
    }
    let prompts: Vec<&str> =
        single("prompt")?.unwrap_or_default().split(' ').filter(|p| !p.is_empty()).collect();
    for prompt in &prompts {
        if !matches!(*prompt, "none" | "login" | "consent" | "select_account") {
            return Err(back(to_client("invalid_request", format!("unknown prompt value `{prompt}`"))));
        }
    }
    // OpenID Connect Core §3.1.2.1: none with any other value is an error.
    if prompts.contains(&"none") && prompts.len() > 1 {
        return Err(back(to_client("invalid_request", "prompt=none cannot be combined with other values")));
    }
    let max_age = match single("max_age")? {
        None => None,
        Some(raw) => match raw.parse::<i64>() {
            Ok(seconds) if seconds >= 0 => Some(seconds),
            _ => {
                return Err(back(to_client(
                    "invalid_request",
                    "max_age must be a non-negative number of seconds",
                )));
            }
        },
    };
    Ok(AuthRequest {
        form_post,
        nonce: single("nonce")?.map(str::to_owned),
        login_hint: single("login_hint")?.map(str::to_owned),
        prompt_none: prompts.contains(&"none"),
        prompt_login: prompts.contains(&"login"),
        prompt_consent: prompts.contains(&"consent"),
        client,
        redirect_uri,
        state,
        scope,
        code_challenge,
        max_age,
    })
}

/// Where and how the authorization response goes.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) uri: String,
    pub(crate) state: Option<String>,
    /// OAuth 2.0 Form Post Response Mode instead of the query string.
    pub(crate) form_post: bool,
}

impl AuthRequest {
    pub(crate) fn reply(&self) -> Reply {
        Reply { uri: self.redirect_uri.clone(), state: self.state.clone(), form_post: self.form_post }
    }
}

/// Sends the authorization response to the client (RFC 6749 §4.1.2 and
/// §4.1.2.1), always with `iss` (RFC 9207 §2): in the redirect's query, or
/// as a self-submitting form (Form Post Response Mode §2).
pub(crate) fn redirect_to_client(ctx: &Provider, reply: &Reply, params: &[(&str, &str)]) -> HttpResponse {
    let mut all: Vec<(&str, &str)> = params.to_vec();
    if let Some(state) = &reply.state {
        all.push(("state", state));
    }
    all.push(("iss", &ctx.issuer));
    if reply.form_post {
        return pages::form_post(&reply.uri, &all);
    }
    let Ok(mut url) = Url::parse(&reply.uri) else {
        return pages::error(StatusCode::BAD_REQUEST, "The redirect URI is not a valid URL.");
    };
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in &all {
            query.append_pair(k, v);
        }
    }
    HttpResponse::Found()
        .insert_header((LOCATION, url.as_str()))
        .insert_header(("Cache-Control", "no-store"))
        .finish()
}

pub(crate) fn refusal_response(ctx: &Provider, refusal: Refusal, target: Option<Reply>) -> HttpResponse {
    match (refusal, target) {
        (Refusal::Redirect { error, description }, Some(reply)) => {
            redirect_to_client(ctx, &reply, &[("error", error), ("error_description", &description)])
        }
        (Refusal::Page(message), _) | (Refusal::Redirect { description: message, .. }, None) => {
            pages::error(StatusCode::BAD_REQUEST, &message)
        }
        (Refusal::Internal(error), _) => {
            tracing::error!(%error, "authorization request failed");
            pages::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side. Please try again.",
            )
        }
    }
}

/// The live session named by the request's cookie, if any.
pub(crate) async fn current_session(
    ctx: &Provider,
    req: &HttpRequest,
) -> Result<Option<Session>, StoreError> {
    let Some(cookie) = pages::read_cookie(req, SESSION_COOKIE, ctx.secure_cookies()) else {
        return Ok(None);
    };
    let hash = HashedSecret::of(&cookie).as_str().to_owned();
    let now = ctx.store.now();
    ctx.store.read(move |c| grants::live_session(c, &hash, now)).await
}

/// `GET /authorize`.
#[get("/authorize")]
pub(crate) async fn authorize_get(ctx: web::Data<Provider>, req: HttpRequest) -> HttpResponse {
    let query = req.query_string().to_owned();
    authorize(&ctx, &req, &query).await
}

/// `POST /authorize` (OpenID Connect Core §3.1.2.1: form-encoded body).
#[post("/authorize")]
pub(crate) async fn authorize_post(ctx: web::Data<Provider>, req: HttpRequest, body: Bytes) -> HttpResponse {
    let query = String::from_utf8_lossy(&body).into_owned();
    authorize(&ctx, &req, &query).await
}

/// Decides a request: sign-in page, consent page, or a code for the client.
pub(crate) async fn authorize(ctx: &Provider, req: &HttpRequest, query: &str) -> HttpResponse {
    let form = Form::parse(query.as_bytes());
    let request = match check(ctx, &form).await {
        Ok(request) => request,
        Err((refusal, target)) => return refusal_response(ctx, refusal, target),
    };
    // What the forms carry and their tokens cover: the request encoded
    // again from what was parsed, never the raw bytes the browser sent.
    let query = form.encode();
    let back = Some(request.reply());
    let session = match current_session(ctx, req).await {
        Ok(session) => session,
        Err(e) => return refusal_response(ctx, e.into(), back),
    };
    let now = ctx.store.now();
    // OpenID Connect Core §3.1.2.1 max_age: re-authenticate when the last
    // sign-in is older than allowed.
    let fresh = |s: &Session| request.max_age.is_none_or(|max| (now - s.auth_time).num_seconds() <= max);
    let session = session.filter(|s| !request.prompt_login && fresh(s));
    let Some(session) = session else {
        if request.prompt_none {
            return refusal_response(ctx, to_client("login_required", "the user is not signed in"), back);
        }
        let (browser, cookie) = match csrf::browser(req, ctx.secure_cookies()) {
            Ok(browser) => browser,
            Err(e) => return refusal_response(ctx, e.into(), back),
        };
        let key = match FormKey::load(&ctx.store).await {
            Ok(key) => key,
            Err(e) => return refusal_response(ctx, e.into(), back),
        };
        let token = key.token(Binding::Browser(&browser), Purpose::SignIn, &query);
        let name = request.client.name.clone().unwrap_or_else(|| request.client.id.clone());
        let hint = request.login_hint.clone().unwrap_or_default();
        let carried =
            Carried { request: &query, token: &token, cookie, redirect_uri: Some(&request.redirect_uri) };
        return pages::login(&name, carried, None, &hint);
    };
    if !request.client.skip_consent {
        let (user_id, client_id) = (session.user_id.clone(), request.client.id.clone());
        let consented = match ctx.store.read(move |c| grants::consented_scope(c, &user_id, &client_id)).await
        {
            Ok(scope) => scope.unwrap_or_default(),
            Err(e) => return refusal_response(ctx, e.into(), back),
        };
        let covered = request.scope.iter().all(|s| consented.split(' ').any(|c| c == s));
        if !covered || request.prompt_consent {
            if request.prompt_none {
                return refusal_response(
                    ctx,
                    to_client("consent_required", "the user has not consented"),
                    back,
                );
            }
            let key = match FormKey::load(&ctx.store).await {
                Ok(key) => key,
                Err(e) => return refusal_response(ctx, e.into(), back),
            };
            let token = key.token(Binding::Session(&session.id_hash), Purpose::Consent, &query);
            let name = request.client.name.clone().unwrap_or_else(|| request.client.id.clone());
            let carried = Carried {
                request: &query,
                token: &token,
                cookie: None,
                redirect_uri: Some(&request.redirect_uri),
            };
            return pages::consent(&name, &request.scope, carried);
        }
    }
    match issue_code(ctx, &request, &session).await {
        Ok(code) => redirect_to_client(ctx, &request.reply(), &[("code", code.expose())]),
        // A deactivated account cannot authorize anything (RFC 6749 §4.1.2.1).
        Err(OidcError::InvalidGrant(why)) => refusal_response(ctx, to_client("access_denied", why), back),
        Err(e) => refusal_response(ctx, Refusal::Internal(e), back),
    }
}

async fn issue_code(
    ctx: &Provider,
    request: &AuthRequest,
    session: &Session,
) -> Result<PlainSecret, OidcError> {
    let user_id = session.user_id.clone();
    let user = ctx.store.read(move |c| users::get(c, &user_id)).await?;
    if !user.active {
        return Err(OidcError::InvalidGrant("the user is not active".into()));
    }
    let code = PlainSecret::generate()?;
    let now = ctx.store.now();
    let record = AuthorizationCode {
        code_hash: code.hash().as_str().to_owned(),
        client_id: request.client.id.clone(),
        user_id: session.user_id.clone(),
        session_id_hash: Some(session.id_hash.clone()),
        redirect_uri: request.redirect_uri.clone(),
        scope: request.scope.join(" "),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        code_challenge_method: request.code_challenge.as_ref().map(|_| "S256".to_owned()),
        auth_time: session.auth_time,
        created: now,
        expires_at: now + ctx.lifetimes.authorization_code,
        redeemed_at: None,
        grant_id: sigil_store::new_id(),
    };
    ctx.store.write(move |c| grants::insert_code(c, &record)).await?;
    Ok(code)
}
