//! The password reset page: `GET /reset?token=…` shows a form for a new
//! password while the link an operator issued (`sigil user reset-link`)
//! is live; `POST /reset` sets it.
//!
//! The token travels in the query string of the link, which is why the
//! server's request log writes paths without their query and every page
//! here is sent with `Referrer-Policy: no-referrer`; the form then carries
//! it in its body. An unknown, used and expired link get the same answer,
//! so the page is no oracle. The form's CSRF token (`pages::csrf`) is
//! bound to the browser and to the link. Posts are counted before
//! anything is checked, per link and per address (`sigil_store::throttle`,
//! as sign-ins are), and each one is recorded in the audit trail.
//!
//! The new password obeys the one password policy (NIST SP 800-63B
//! §5.1.1.2), checked against the user's name. Redeeming the link and
//! writing the password are one transaction
//! (`sigil_store::password_resets::reset_password`), which also ends the
//! user's sessions and refresh tokens.

use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::TimeDelta;
use sigil_store::audit::{self, Kind, NewEvent};
use sigil_store::password::hash_password;
use sigil_store::password_resets;
use sigil_store::secret::HashedSecret;
use sigil_store::throttle::{self, Limit};
use sigil_store::{StoreError, users};

use super::form::Form;
use super::login::reserve_attempt;
use super::origin::Origin;
use super::pages::csrf::{self, Binding, FormKey, Purpose};
use super::pages::{self};
use crate::provider::Provider;

/// Posts allowed per link within 15 minutes before a lock: enough for a
/// person retrying a password the policy refused.
const LINK_LIMIT: Limit =
    Limit { allowed: 10, window: TimeDelta::minutes(15), first_lock: TimeDelta::seconds(30) };

/// Posts allowed per client address, as for sign-ins.
const ADDRESS_LIMIT: Limit =
    Limit { allowed: 20, window: TimeDelta::minutes(15), first_lock: TimeDelta::seconds(30) };

const FORM_REFUSED: &str = "The form expired or was not sent by this site. Open the link again.";
const MISMATCH: &str = "The two passwords differ. Type the same password twice.";
const TOO_MANY: &str = "Too many attempts. Wait a little, then try again.";

/// What a link is known by in the store, the throttle and the CSRF token:
/// its digest, never the token itself.
fn digest(token: &str) -> HashedSecret {
    HashedSecret::of(token)
}

fn internal(error: &StoreError) -> HttpResponse {
    tracing::error!(%error, "password reset failed");
    pages::error(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on our side. Please try again.")
}

/// The user a live link resets; `None` for an unknown, used or expired one.
async fn live_user(ctx: &Provider, token: &str) -> Result<Option<users::User>, StoreError> {
    let (hash, now) = (digest(token), ctx.store.now());
    ctx.store
        .read(move |c| match password_resets::live_user(c, &hash, now)? {
            Some(id) => users::get(c, &id).map(Some),
            None => Ok(None),
        })
        .await
}

/// `GET /reset?token=…`: the form while the link is live.
#[get("/reset")]
pub(crate) async fn reset_get(ctx: web::Data<Provider>, req: HttpRequest) -> HttpResponse {
    let query = Form::parse(req.query_string().as_bytes());
    let token = query.single("token").ok().flatten().unwrap_or_default().to_owned();
    if token.is_empty() {
        return pages::reset_invalid();
    }
    match live_user(&ctx, &token).await {
        Ok(Some(user)) if user.active => {}
        Ok(_) => return pages::reset_invalid(),
        Err(e) => return internal(&e),
    }
    let secure = ctx.secure_cookies();
    let key = match FormKey::load(&ctx.store).await {
        Ok(key) => key,
        Err(e) => return internal(&e),
    };
    let (browser, cookie) = match csrf::browser(&req, secure) {
        Ok(found) => found,
        Err(e) => return internal(&e),
    };
    let form_token = key.token(Binding::Browser(&browser), Purpose::PasswordReset, digest(&token).as_str());
    pages::reset_form(&token, &form_token, cookie, None, StatusCode::OK)
}

/// Records a post's outcome in the audit trail, on its own.
async fn record(ctx: &Provider, event: NewEvent, outcome: &str) {
    let (event, now) = (event.with_outcome(outcome), ctx.store.now());
    if let Err(e) = ctx.store.write(move |c| audit::record(c, event, now)).await {
        tracing::warn!(error = %e, "a password reset could not be recorded");
    }
}

/// `POST /reset`: sets the password a live link allows.
#[post("/reset")]
pub(crate) async fn reset_post(ctx: web::Data<Provider>, req: HttpRequest, body: Bytes) -> HttpResponse {
    let form = Form::parse(&body);
    let field = |name: &str| form.single(name).ok().flatten().unwrap_or_default().to_owned();
    let (token, csrf_token) = (field("token"), field("csrf"));
    let (password, confirm) = (field("password"), field("confirm"));
    let origin = Origin::of(&req);
    let event = NewEvent {
        address: origin.address.clone(),
        method: Some("POST".into()),
        request_id: origin.request_id,
        resource_type: Some("User".into()),
        ..NewEvent::new(Kind::PasswordReset, "password_reset")
    };
    let hash = digest(&token);
    let key = match FormKey::load(&ctx.store).await {
        Ok(key) => key,
        Err(e) => return internal(&e),
    };
    let browser = csrf::browser_of(&req, ctx.secure_cookies());
    let forged = !browser.as_deref().is_some_and(|browser| {
        key.verify(Binding::Browser(browser), Purpose::PasswordReset, hash.as_str(), &csrf_token)
    });
    if forged || token.is_empty() {
        record(&ctx, event, "forged").await;
        return pages::error(StatusCode::FORBIDDEN, FORM_REFUSED);
    }
    // Counted before the link is looked at, as a sign-in is before its
    // password is checked.
    let address = origin.address.unwrap_or_else(|| "unknown".to_owned());
    let keys = vec![
        (format!("reset-link:{}", hash.as_str()), LINK_LIMIT),
        (format!("reset-address:{address}"), ADDRESS_LIMIT),
    ];
    let reserved = match reserve_attempt(&ctx, keys, &event).await {
        Ok(Some(reserved)) => reserved,
        Ok(None) => return pages::error(StatusCode::TOO_MANY_REQUESTS, TOO_MANY),
        Err(e) => return internal(&e),
    };
    let user = match live_user(&ctx, &token).await {
        Ok(Some(user)) if user.active => user,
        Ok(_) => {
            record(&ctx, event, "invalid").await;
            return pages::reset_invalid();
        }
        Err(e) => return internal(&e),
    };
    let event = NewEvent { actor: Some(user.id.clone()), resource_id: Some(user.id.clone()), ..event };
    let again =
        |message: &str| pages::reset_form(&token, &csrf_token, None, Some(message), StatusCode::BAD_REQUEST);
    if password != confirm {
        record(&ctx, event, "mismatch").await;
        return again(MISMATCH);
    }
    if let Err(message) = ctx.passwords.check(&password, &user.user_name) {
        record(&ctx, event, "policy").await;
        return again(&message);
    }
    // Hashed before the write: argon2id takes a while on purpose.
    let Ok(Ok(password_hash)) = web::block(move || hash_password(&password)).await else {
        return internal(&StoreError::Other("the password could not be hashed".into()));
    };
    let (now, link_key) = (ctx.store.now(), format!("reset-link:{}", hash.as_str()));
    let done = ctx
        .store
        .write(move |c| {
            let Some(user) = password_resets::reset_password(c, &hash, password_hash, now)? else {
                audit::record(c, event.with_outcome("invalid"), now)?;
                return Ok(None);
            };
            // The link is spent: its count goes, and the address gets its
            // attempt back, as after a sign-in.
            throttle::clear(c, &link_key)?;
            for held in reserved.iter().filter(|r| r.key() != link_key) {
                throttle::release(c, held)?;
            }
            audit::record(c, event, now)?;
            Ok(Some(user))
        })
        .await;
    match done {
        Ok(Some(user)) => {
            tracing::info!(user_id = %user.id, "password reset");
            pages::reset_done()
        }
        Ok(None) => pages::reset_invalid(),
        Err(e) => internal(&e),
    }
}
