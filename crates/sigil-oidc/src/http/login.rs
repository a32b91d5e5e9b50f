//! The sign-in and consent form handlers. Both are CSRF-protected by a
//! double-submit token (a `SameSite=Strict` cookie that must equal the
//! form's hidden field) and send the browser back to the authorization
//! endpoint with the original request.
//!
//! Sign-in attempts are counted before the password is checked, per
//! account and per address (`sigil_store::throttle`), so a burst of
//! guesses in parallel gets no more password checks than a patient
//! guesser would.

use std::sync::OnceLock;

use actix_web::cookie::SameSite;
use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, post, web};
use chrono::TimeDelta;
use sigil_store::grants::{self, Session};
use sigil_store::password::{hash_password, verify_password};
use sigil_store::secret::{HashedSecret, PlainSecret};
use sigil_store::throttle::{self, Limit, Reserved};
use sigil_store::{AnyConnection, StoreError, users};
use url::form_urlencoded;

use super::OidcContext;
use super::authorize::{AuthRequest, Refusal, check, current_session, redirect_to_client, refusal_response};
use super::form::Form;
use super::pages::{self, SESSION_COOKIE, csrf_ok};

/// How long a browser stays signed in.
const SESSION_LIFETIME: TimeDelta = TimeDelta::hours(8);

/// The one message for every failed sign-in, so it reveals nothing about
/// which accounts exist.
const SIGN_IN_FAILED: &str = "The username or password is incorrect.";

/// The request with some `prompt` values removed, once they are satisfied.
fn without_prompt(request: &str, satisfied: &str) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(request.as_bytes()) {
        if k == "prompt" {
            let rest: Vec<&str> = v.split(' ').filter(|p| !p.is_empty() && *p != satisfied).collect();
            if !rest.is_empty() {
                out.append_pair(&k, &rest.join(" "));
            }
        } else {
            out.append_pair(&k, &v);
        }
    }
    out.finish()
}

fn back_to_authorize(request: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((LOCATION, format!("authorize?{request}"))).finish()
}

/// Shown while an account or address is locked after repeated failures.
const TOO_MANY: &str = "Too many failed sign-ins. Wait a little, then try again.";

/// Attempts allowed per account within 15 minutes before a lock of 30
/// seconds, doubling with every attempt after it.
const ACCOUNT_LIMIT: Limit =
    Limit { allowed: 5, window: TimeDelta::minutes(15), first_lock: TimeDelta::seconds(30) };

/// The same per client address, higher: many people can share one address.
const ADDRESS_LIMIT: Limit =
    Limit { allowed: 20, window: TimeDelta::minutes(15), first_lock: TimeDelta::seconds(30) };

/// The throttle keys of an attempt: the account (whether or not it exists,
/// so locks reveal nothing) and the address the connection came from. The
/// peer address is used, not a forwarded header a client could forge.
fn throttle_keys(username: &str, req: &HttpRequest) -> Vec<(String, Limit)> {
    let address = req.peer_addr().map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string());
    vec![
        (format!("account:{}", sigil_store::text::fold(username)), ACCOUNT_LIMIT),
        (format!("address:{address}"), ADDRESS_LIMIT),
    ]
}

/// Counts the attempt on every key, or on none: `None` when one is locked.
fn reserve_all(
    conn: &mut AnyConnection,
    keys: &[(String, Limit)],
    now: chrono::NaiveDateTime,
) -> Result<Option<Vec<Reserved>>, StoreError> {
    let mut held = Vec::new();
    for (key, limit) in keys {
        match throttle::reserve(conn, key, now, limit)? {
            Some(reserved) => held.push(reserved),
            None => {
                for reserved in &held {
                    throttle::release(conn, reserved)?;
                }
                return Ok(None);
            }
        }
    }
    Ok(Some(held))
}

/// Counts the attempt before its password is checked (see the module
/// docs); `None`: locked, do not check.
async fn reserve_attempt(
    ctx: &OidcContext,
    keys: Vec<(String, Limit)>,
) -> Result<Option<Vec<Reserved>>, StoreError> {
    let mut tries = 0;
    loop {
        let (keys, now) = (keys.clone(), ctx.store.now());
        match ctx.store.write(move |c| reserve_all(c, &keys, now)).await {
            // Another node counted a key's first attempt at the same moment;
            // the key's row exists now, so a second round counts on it.
            Err(StoreError::Conflict(_)) if tries < 3 => tries += 1,
            other => return other,
        }
    }
}

/// Reads a posted form: its CSRF token must match the cookie, and the
/// authorization request it carries must still pass every check.
async fn read_form(
    ctx: &OidcContext,
    req: &HttpRequest,
    body: &[u8],
) -> Result<(Form, String, AuthRequest), HttpResponse> {
    let form = Form::parse(body);
    if !csrf_ok(req, &form, ctx.secure_cookies()) {
        return Err(pages::error(
            StatusCode::FORBIDDEN,
            "The form expired or was not sent by this site. Go back and try again.",
        ));
    }
    let request = form.single("request").ok().flatten().unwrap_or_default().to_owned();
    match check(ctx, &Form::parse(request.as_bytes())).await {
        Ok(checked) => Ok((form, request, checked)),
        Err((refusal, target)) => Err(refusal_response(ctx, refusal, target)),
    }
}

/// A fixed hash to verify against when the user does not exist, so that a
/// missing account costs the same time as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password").unwrap_or_default())
}

/// `POST /login`.
#[post("/login")]
pub(crate) async fn login(ctx: web::Data<OidcContext>, req: HttpRequest, body: Bytes) -> HttpResponse {
    let (form, request, checked) = match read_form(&ctx, &req, &body).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let username = form.single("username").ok().flatten().unwrap_or_default().to_owned();
    let password = form.single("password").ok().flatten().unwrap_or_default().to_owned();
    let client_name = checked.client.name.clone().unwrap_or_else(|| checked.client.id.clone());
    let csrf = form.single("csrf").ok().flatten().unwrap_or_default().to_owned();
    let keys = throttle_keys(&username, &req);
    let account_key = keys[0].0.clone();
    let reserved = match reserve_attempt(&ctx, keys).await {
        Ok(Some(reserved)) => reserved,
        Ok(None) => {
            // Refused before the password is looked at, so a locked account
            // gives a guesser nothing, not even a slow "no".
            let mut page = pages::login(
                &client_name,
                &request,
                Some(&checked.redirect_uri),
                &csrf,
                Some(TOO_MANY),
                &username,
                ctx.secure_cookies(),
            );
            *page.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            return page;
        }
        Err(e) => return refusal_response(&ctx, e.into(), None),
    };
    let lookup = username.clone();
    let user = match ctx.store.read(move |c| users::find_by_user_name(c, &lookup)).await {
        Ok(user) => user,
        Err(e) => return refusal_response(&ctx, e.into(), None),
    };
    let hash = user.as_ref().and_then(|u| u.password_hash.clone()).unwrap_or_else(|| decoy_hash().to_owned());
    let verified = web::block(move || verify_password(&password, &hash)).await.unwrap_or(false);
    let user = user.filter(|u| verified && u.active && u.password_hash.is_some());
    let Some(user) = user else {
        // Already counted: the reservation stands as the failure.
        tracing::info!("sign-in failed");
        return pages::login(
            &client_name,
            &request,
            Some(&checked.redirect_uri),
            &csrf,
            Some(SIGN_IN_FAILED),
            &username,
            ctx.secure_cookies(),
        );
    };
    let Ok(secret) = PlainSecret::generate() else {
        return refusal_response(&ctx, Refusal::Page("No randomness available.".into()), None);
    };
    let now = ctx.store.now();
    let session = Session {
        id_hash: secret.hash().as_str().to_owned(),
        user_id: user.id.clone(),
        auth_time: now,
        amr: "pwd".into(),
        created: now,
        expires_at: now + SESSION_LIFETIME,
        ended_at: None,
    };
    // The session this browser had (perhaps another user's) ends here, in
    // the store: replacing the cookie alone would leave it usable by anyone
    // who kept a copy of the old one.
    let previous = pages::read_cookie(&req, SESSION_COOKIE, ctx.secure_cookies())
        .map(|old| HashedSecret::of(&old).as_str().to_owned());
    let begun = ctx
        .store
        .write(move |c| {
            // A sign-in is not a failure: the account starts afresh, and the
            // address gets its attempt back.
            throttle::clear(c, &account_key)?;
            for held in reserved.iter().filter(|r| r.key() != account_key) {
                throttle::release(c, held)?;
            }
            if let Some(previous) = &previous {
                grants::end_session(c, previous, now)?;
            }
            grants::insert_session(c, &session)
        })
        .await;
    if let Err(e) = begun {
        return refusal_response(&ctx, e.into(), None);
    }
    tracing::info!(user_id = %user.id, "signed in");
    let mut response = back_to_authorize(&without_prompt(&request, "login"));
    let cookie =
        pages::cookie(SESSION_COOKIE, secret.expose().to_owned(), ctx.secure_cookies(), SameSite::Lax);
    let _ = response.add_cookie(&cookie);
    response
}

/// `POST /consent`.
#[post("/consent")]
pub(crate) async fn consent(ctx: web::Data<OidcContext>, req: HttpRequest, body: Bytes) -> HttpResponse {
    let (form, request, checked) = match read_form(&ctx, &req, &body).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let session = match current_session(&ctx, &req).await {
        Ok(Some(session)) => session,
        Ok(None) => return back_to_authorize(&request),
        Err(e) => return refusal_response(&ctx, e.into(), None),
    };
    if form.single("decision").ok().flatten() != Some("allow") {
        // RFC 6749 §4.1.2.1: the resource owner denied the request.
        return redirect_to_client(
            &ctx,
            &checked.reply(),
            &[("error", "access_denied"), ("error_description", "the user denied the request")],
        );
    }
    let now = ctx.store.now();
    let (user_id, client_id, scope) = (session.user_id, checked.client.id.clone(), checked.scope.join(" "));
    if let Err(e) =
        ctx.store.write(move |c| grants::record_consent(c, &user_id, &client_id, &scope, now)).await
    {
        return refusal_response(&ctx, e.into(), None);
    }
    back_to_authorize(&without_prompt(&request, "consent"))
}

#[cfg(test)]
mod tests {
    use super::without_prompt;

    #[test]
    fn satisfied_prompts_are_removed() {
        assert_eq!(without_prompt("a=1&prompt=login+consent&b=2", "login"), "a=1&prompt=consent&b=2");
        assert_eq!(without_prompt("prompt=login&b=2", "login"), "b=2");
    }
}
