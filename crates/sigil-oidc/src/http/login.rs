//! The sign-in and consent form handlers. Both check the form's CSRF token
//! (`pages::csrf`: bound to the browser or its session, to the form and to
//! the exact request it carries) and send the browser back to the
//! authorization endpoint with the original request.
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
use sigil_store::audit::{self, Kind, NewEvent};
use sigil_store::grants::{self, Session};
use sigil_store::password::{hash_password, verify_password};
use sigil_store::secret::{HashedSecret, PlainSecret};
use sigil_store::throttle::{self, Limit, Reserved};
use sigil_store::{AnyConnection, StoreError, users};
use url::form_urlencoded;

use super::authorize::{AuthRequest, Refusal, check, current_session, redirect_to_client, refusal_response};
use super::form::Form;
use super::origin::Origin;
use super::pages::csrf::{self, Binding, FormKey, Purpose};
use super::pages::{self, Carried, SESSION_COOKIE};
use crate::provider::Provider;

/// How long a browser stays signed in.
const SESSION_LIFETIME: TimeDelta = TimeDelta::hours(8);

/// The one message for every failed sign-in, so it reveals nothing about
/// which accounts exist.
const SIGN_IN_FAILED: &str = "The username or password is incorrect.";

/// Shown while an account or address is locked after repeated failures.
const TOO_MANY: &str = "Too many failed sign-ins. Wait a little, then try again.";

/// Shown when a form's token does not match the browser, form or request.
const FORM_REFUSED: &str = "The form expired or was not sent by this site. Go back and try again.";

/// Attempts allowed per account within 15 minutes before a lock of 30
/// seconds, doubling with every attempt after it.
const ACCOUNT_LIMIT: Limit =
    Limit { allowed: 5, window: TimeDelta::minutes(15), first_lock: TimeDelta::seconds(30) };

/// The same per client address, higher: many people can share one address.
const ADDRESS_LIMIT: Limit =
    Limit { allowed: 20, window: TimeDelta::minutes(15), first_lock: TimeDelta::seconds(30) };

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

/// `request` must be as the authorization endpoint encoded it (printable
/// ASCII only) before it goes into a `Location` header.
fn back_to_authorize(request: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((LOCATION, format!("authorize?{request}"))).finish()
}

/// The throttle keys of an attempt: the account (whether or not it exists,
/// so locks reveal nothing) and the address the connection came from. The
/// peer address is used, not a forwarded header a client could forge; the
/// server puts the client's address there when the peer is a proxy it
/// trusts, having read the proxy's header itself.
fn throttle_keys(username: &str, req: &HttpRequest) -> Vec<(String, Limit)> {
    let address = req.peer_addr().map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string());
    vec![
        (format!("account:{}", sigil_store::text::fold(username)), ACCOUNT_LIMIT),
        (format!("address:{address}"), ADDRESS_LIMIT),
    ]
}

/// Counts the attempt on every key, or on none: `None` when one is locked.
/// A refused attempt is recorded in the audit trail in the same write.
fn reserve_all(
    conn: &mut AnyConnection,
    keys: &[(String, Limit)],
    event: NewEvent,
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
                audit::record(conn, event.with_outcome("throttled"), now)?;
                return Ok(None);
            }
        }
    }
    Ok(Some(held))
}

/// Counts the attempt before its password is checked (see the module
/// docs); `None`: locked, do not check.
pub(super) async fn reserve_attempt(
    ctx: &Provider,
    keys: Vec<(String, Limit)>,
    event: &NewEvent,
) -> Result<Option<Vec<Reserved>>, StoreError> {
    let mut tries = 0;
    loop {
        let (keys, event, now) = (keys.clone(), event.clone(), ctx.store.now());
        match ctx.store.write(move |c| reserve_all(c, &keys, event, now)).await {
            // Another node counted a key's first attempt at the same moment;
            // the key's row exists now, so a second round counts on it.
            Err(StoreError::Conflict(_)) if tries < 3 => tries += 1,
            other => return other,
        }
    }
}

/// The request a posted form carries, once its token proves the form was
/// served to `binding` for `purpose` with exactly this request, and the
/// request still passes every check.
async fn read_form(
    ctx: &Provider,
    form: &Form,
    binding: Option<Binding<'_>>,
    purpose: Purpose,
) -> Result<(String, AuthRequest), HttpResponse> {
    let request = form.single("request").ok().flatten().unwrap_or_default().to_owned();
    // The authorization endpoint encodes what it carries; anything else
    // (a raw CR or LF) was edited on the way.
    if !request.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(pages::error(StatusCode::BAD_REQUEST, "The form was changed after it was sent."));
    }
    let token = form.single("csrf").ok().flatten().unwrap_or_default();
    let key = FormKey::load(&ctx.store).await.map_err(|e| refusal_response(ctx, e.into(), None))?;
    if !binding.is_some_and(|binding| key.verify(binding, purpose, &request, token)) {
        return Err(pages::error(StatusCode::FORBIDDEN, FORM_REFUSED));
    }
    match check(ctx, &Form::parse(request.as_bytes())).await {
        Ok(checked) => Ok((request, checked)),
        Err((refusal, target)) => Err(refusal_response(ctx, refusal, target)),
    }
}

/// A fixed hash to verify against when the user does not exist, so that a
/// missing account costs the same time as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password").unwrap_or_default())
}

/// Counts a sign-in attempt by how it ended (`success`, `failure`, `locked`)
/// through the `metrics` facade; the server decides whether it is exported.
fn sign_in_outcome(outcome: &'static str) {
    metrics::counter!("sigil_sign_ins_total", "outcome" => outcome).increment(1);
}

/// The audit record of a sign-in attempt: the username as typed (bounded
/// by the store; it need not name anyone), the client the sign-in is for,
/// the client address, and the account it named once found. Never the
/// password.
fn sign_in_event(username: &str, client_id: &str, origin: Origin) -> NewEvent {
    NewEvent {
        actor: Some(username.to_owned()),
        client_id: Some(client_id.to_owned()),
        address: origin.address,
        method: Some("POST".into()),
        request_id: origin.request_id,
        ..NewEvent::new(Kind::SignIn, "sign_in")
    }
}

/// Why a checked password did not sign `user` in, as an audit outcome.
fn failure_reason(user: Option<&users::User>, verified: bool) -> &'static str {
    match user {
        None => "unknown_user",
        Some(u) if u.password_hash.is_none() => "no_password",
        Some(_) if !verified => "bad_password",
        Some(u) if !u.active => "disabled",
        Some(_) => "refused",
    }
}

/// `POST /login`.
#[post("/login")]
pub(crate) async fn login(ctx: web::Data<Provider>, req: HttpRequest, body: Bytes) -> HttpResponse {
    let secure = ctx.secure_cookies();
    let form = Form::parse(&body);
    let browser = csrf::browser_of(&req, secure);
    let (request, checked) =
        match read_form(&ctx, &form, browser.as_deref().map(Binding::Browser), Purpose::SignIn).await {
            Ok(read) => read,
            Err(response) => return response,
        };
    let username = form.single("username").ok().flatten().unwrap_or_default().to_owned();
    let password = form.single("password").ok().flatten().unwrap_or_default().to_owned();
    let client_name = checked.client.name.clone().unwrap_or_else(|| checked.client.id.clone());
    let token = form.single("csrf").ok().flatten().unwrap_or_default().to_owned();
    let again = |message: &str, status: StatusCode| {
        let carried = Carried {
            request: &request,
            token: &token,
            cookie: None,
            redirect_uri: Some(&checked.redirect_uri),
        };
        let mut page = pages::login(&client_name, carried, Some(message), &username);
        *page.status_mut() = status;
        page
    };
    let keys = throttle_keys(&username, &req);
    let account_key = keys[0].0.clone();
    let event = sign_in_event(&username, &checked.client.id, Origin::of(&req));
    let reserved = match reserve_attempt(&ctx, keys, &event).await {
        Ok(Some(reserved)) => reserved,
        // Refused before the password is looked at, so a locked account
        // gives a guesser nothing, not even a slow "no".
        Ok(None) => {
            sign_in_outcome("locked");
            return again(TOO_MANY, StatusCode::TOO_MANY_REQUESTS);
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
    let reason = failure_reason(user.as_ref(), verified);
    let event = NewEvent {
        resource_type: Some("User".into()),
        resource_id: user.as_ref().map(|u| u.id.clone()),
        ..event
    };
    let user = user.filter(|u| verified && u.active && u.password_hash.is_some());
    let Some(user) = user else {
        // Already counted: the reservation stands as the failure. Its
        // record is one INSERT, the same for every reason.
        tracing::info!(reason, "sign-in failed");
        sign_in_outcome("failure");
        let (failed, now) = (event.with_outcome(reason), ctx.store.now());
        if let Err(e) = ctx.store.write(move |c| audit::record(c, failed, now)).await {
            tracing::warn!(error = %e, "a failed sign-in could not be recorded");
        }
        return again(SIGN_IN_FAILED, StatusCode::OK);
    };
    let Ok(secret) = PlainSecret::generate() else {
        return refusal_response(&ctx, Refusal::Page("No randomness available.".into()), None);
    };
    let now = ctx.store.now();
    let until = now + ctx.lifetimes.refresh_token;
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
    let previous = pages::read_cookie(&req, SESSION_COOKIE, secure)
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
                // Another user's session takes its grants with it; the same
                // user signing in again (prompt=login, max_age) keeps them.
                let someone_else =
                    grants::live_session(c, previous, now)?.is_some_and(|old| old.user_id != session.user_id);
                grants::end_session(c, previous, now, someone_else.then_some(until))?;
            }
            grants::insert_session(c, &session)?;
            audit::record(c, event, now)
        })
        .await;
    if let Err(e) = begun {
        return refusal_response(&ctx, e.into(), None);
    }
    tracing::info!(user_id = %user.id, "signed in");
    sign_in_outcome("success");
    let mut response = back_to_authorize(&without_prompt(&request, "login"));
    let cookie = pages::cookie(SESSION_COOKIE, secret.expose().to_owned(), secure, SameSite::Lax);
    let _ = response.add_cookie(&cookie);
    response
}

/// `POST /consent`.
#[post("/consent")]
pub(crate) async fn consent(ctx: web::Data<Provider>, req: HttpRequest, body: Bytes) -> HttpResponse {
    let form = Form::parse(&body);
    let session = match current_session(&ctx, &req).await {
        Ok(session) => session,
        Err(e) => return refusal_response(&ctx, e.into(), None),
    };
    let Some(session) = session else {
        // Signed out since the page was shown: back to sign in, with the
        // request only if it is as the authorization endpoint wrote it.
        let request = form.single("request").ok().flatten().unwrap_or_default();
        if request.is_empty() || !request.bytes().all(|b| b.is_ascii_graphic()) {
            return pages::error(StatusCode::BAD_REQUEST, "The form was changed after it was sent.");
        }
        return back_to_authorize(request);
    };
    let binding = Some(Binding::Session(&session.id_hash));
    let (request, checked) = match read_form(&ctx, &form, binding, Purpose::Consent).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    if form.single("decision").ok().flatten() != Some("allow") {
        // RFC 6749 §4.1.2.1: the resource owner denied the request.
        return redirect_to_client(
            &ctx,
            &checked.reply(),
            &[("error", "access_denied"), ("error_description", "the user denied the request")],
        );
    }
    // The token covered this very request, so these are the scopes the
    // page listed.
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
