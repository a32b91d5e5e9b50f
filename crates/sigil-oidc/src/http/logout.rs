//! RP-Initiated Logout 1.0: the end-session endpoint.
//!
//! A session ends without asking only when `id_token_hint` is an ID token
//! Sigil issued for this very session: its `sub` is the session's user, its
//! `sid` (if any) the session, and its audience includes the `client_id`
//! sent with it. Anything less (no hint, an access token, another user's or
//! another session's ID token) could come from any page the browser
//! visits, so the user is asked (§2 and §4: the OP MUST ask when the hint
//! does not belong to the current session or user).

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde_json::{Map, Value};
use sigil_store::clients::{self, Client};
use sigil_store::grants::Session;
use sigil_store::{StoreError, grants};
use url::Url;

use super::authorize::current_session;
use super::form::Form;
use super::pages::csrf::{Binding, FormKey, Purpose};
use super::pages::{self, SESSION_COOKIE};
use crate::provider::Provider;
use crate::tokens::verify::{self, Refused};

/// `GET /logout`.
#[get("/logout")]
pub(crate) async fn logout_get(ctx: web::Data<Provider>, req: HttpRequest) -> HttpResponse {
    let form = Form::parse(req.query_string().as_bytes());
    end_session(&ctx, &req, &form).await
}

/// `POST /logout` (RP-Initiated Logout §2: form-encoded body).
#[post("/logout")]
pub(crate) async fn logout_post(ctx: web::Data<Provider>, req: HttpRequest, body: Bytes) -> HttpResponse {
    end_session(&ctx, &req, &Form::parse(&body)).await
}

fn refuse(message: &str) -> HttpResponse {
    pages::error(StatusCode::BAD_REQUEST, message)
}

/// What an `id_token_hint` that Sigil signed says.
struct IdTokenHint {
    sub: Option<String>,
    sid: Option<String>,
    audience: Vec<String>,
    /// The client it was issued to: `azp`, or the one audience.
    client: Option<String>,
}

impl IdTokenHint {
    fn of(claims: &Map<String, Value>) -> Self {
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
        let audience: Vec<String> = match claims.get("aud") {
            Some(Value::String(one)) => vec![one.clone()],
            Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            _ => Vec::new(),
        };
        let client = text("azp").or_else(|| (audience.len() == 1).then(|| audience[0].clone()));
        Self { sub: text("sub"), sid: text("sid"), audience, client }
    }

    /// Whether the hint proves the request is about `session` and, when
    /// one is named, for `client_id` (§2: the hint's `sid`, `sub` and `aud`).
    fn belongs_to(&self, session: &Session, client_id: Option<&str>) -> bool {
        self.sub.as_deref() == Some(session.user_id.as_str())
            && self.sid.as_deref().is_none_or(|sid| sid == session.id_hash)
            && client_id.is_none_or(|id| self.audience.iter().any(|a| a == id))
    }
}

/// The parameters the confirmation form carries back, in a fixed order;
/// its token covers them, so none can be changed on the way.
fn carried(
    client: Option<&Client>,
    redirect: Option<&str>,
    state: Option<&str>,
) -> Vec<(&'static str, String)> {
    [
        ("client_id", client.map(|c| c.id.clone())),
        ("post_logout_redirect_uri", redirect.map(str::to_owned)),
        ("state", state.map(str::to_owned)),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.map(|v| (name, v)))
    .collect()
}

fn encode(params: &[(&str, String)]) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        out.append_pair(name, value);
    }
    out.finish()
}

async fn end_session(ctx: &Provider, req: &HttpRequest, form: &Form) -> HttpResponse {
    let param = |name: &str| form.single(name).ok().flatten().map(str::to_owned);
    // §2: the OP MUST check it issued the hint (signature and `iss`); an
    // expired ID token is still a good hint, so `exp` is not checked. A
    // token of ours that is not an ID token (RFC 9068 §2.1: `typ`
    // `at+jwt`) says nothing about a session: no hint.
    let mut hint = None;
    if let Some(raw) = param("id_token_hint") {
        match verify::id_token_hint(ctx, &raw).await {
            Ok(claims) => hint = claims.as_ref().map(IdTokenHint::of),
            Err(Refused::Invalid(_)) => return refuse("The id_token_hint is not an ID token issued here."),
            Err(Refused::Unavailable(why)) => return internal(&StoreError::Unavailable(why)),
        }
    }
    let client_id = param("client_id").or_else(|| hint.as_ref().and_then(|h| h.client.clone()));
    let client: Option<Client> = match client_id {
        Some(id) => match ctx.store.read(move |c| clients::get(c, &id)).await {
            Ok(client) => Some(client),
            Err(StoreError::NotFound) => return refuse("The request names a client that is not registered."),
            Err(e) => return internal(&e),
        },
        None => None,
    };
    // §3: redirect only to a URI registered for the client, compared exactly.
    let redirect = match (param("post_logout_redirect_uri"), &client) {
        (None, _) => None,
        (Some(uri), Some(client)) if client.post_logout_redirect_uris.contains(&uri) => Some(uri),
        (Some(_), Some(_)) => {
            return refuse("The post-logout redirect URI is not registered for this client.");
        }
        (Some(_), None) => return refuse("A post-logout redirect URI needs id_token_hint or client_id."),
    };
    let state = param("state");
    let session = match current_session(ctx, req).await {
        Ok(session) => session,
        Err(e) => return internal(&e),
    };
    if let Some(session) = &session {
        let params = carried(client.as_ref(), redirect.as_deref(), state.as_deref());
        let key = match FormKey::load(&ctx.store).await {
            Ok(key) => key,
            Err(e) => return internal(&e),
        };
        let binding = Binding::Session(&session.id_hash);
        let request = encode(&params);
        let proven = hint.as_ref().is_some_and(|h| h.belongs_to(session, param("client_id").as_deref()));
        // §6: a confirmation counts only from the form served to this
        // session for these very parameters.
        let confirmed = form.single("confirm").ok().flatten() == Some("yes")
            && form
                .single("csrf")
                .ok()
                .flatten()
                .is_some_and(|token| key.verify(binding, Purpose::Logout, &request, token));
        if !proven && !confirmed {
            let token = key.token(binding, Purpose::Logout, &request);
            let name = client.as_ref().map(|c| c.name.clone().unwrap_or_else(|| c.id.clone()));
            return pages::confirm_logout(name.as_deref(), &params, &token, redirect.as_deref());
        }
        let (hash, now) = (session.id_hash.clone(), ctx.store.now());
        let until = now + ctx.lifetimes.refresh_token;
        if let Err(e) = ctx.store.write(move |c| grants::end_session(c, &hash, now, Some(until))).await {
            return internal(&e);
        }
    }
    let mut response = match redirect.and_then(|uri| Url::parse(&uri).ok()) {
        Some(mut url) => {
            if let Some(state) = state {
                url.query_pairs_mut().append_pair("state", &state);
            }
            HttpResponse::Found().insert_header((LOCATION, url.as_str())).finish()
        }
        None => pages::signed_out(),
    };
    let _ = response.add_cookie(&pages::removal_cookie(SESSION_COOKIE, ctx.secure_cookies()));
    response
}

fn internal(error: &StoreError) -> HttpResponse {
    tracing::error!(%error, "logout failed");
    pages::error(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on our side. Please try again.")
}
