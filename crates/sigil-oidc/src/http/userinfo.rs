//! The UserInfo endpoint (OpenID Connect Core §5.3), GET and POST, with the
//! bearer token in the header or the form body (RFC 6750 §2.1, §2.2).

use actix_web::http::StatusCode;
use actix_web::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde_json::{Map, Value, json};
use sigil_store::StoreError;
use sigil_store::users::{self, User};

use super::form::Form;
use crate::provider::Api;
use crate::provider::Provider;
use crate::tokens::numeric_date;
use crate::tokens::verify::{self, Audience, Refused};

/// RFC 6750 §3: a challenge, with an error code only when a token was sent.
fn challenge(status: StatusCode, error: Option<(&str, &str)>) -> HttpResponse {
    let value = match error {
        Some((code, description)) => {
            format!("Bearer realm=\"sigil\", error=\"{code}\", error_description=\"{description}\"")
        }
        None => "Bearer realm=\"sigil\"".to_owned(),
    };
    HttpResponse::build(status)
        .insert_header((WWW_AUTHENTICATE, value))
        .insert_header(("Cache-Control", "no-store"))
        .finish()
}

/// `GET /userinfo`.
#[get("/userinfo")]
pub(crate) async fn userinfo_get(ctx: web::Data<Provider>, req: HttpRequest) -> HttpResponse {
    userinfo(&ctx, &req, None).await
}

/// `POST /userinfo`.
#[post("/userinfo")]
pub(crate) async fn userinfo_post(ctx: web::Data<Provider>, req: HttpRequest, body: Bytes) -> HttpResponse {
    let form_encoded = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let form = form_encoded.then(|| Form::parse(&body));
    userinfo(&ctx, &req, form.as_ref()).await
}

/// The credentials of an `Authorization: Bearer` header (RFC 6750 §2.1;
/// the scheme is case-insensitive, RFC 9110 §11.1).
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

async fn userinfo(ctx: &Provider, req: &HttpRequest, form: Option<&Form>) -> HttpResponse {
    let header = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let from_header = header.and_then(bearer_token);
    let from_body = form.and_then(|f| f.single("access_token").ok().flatten());
    let token = match (from_header, from_body) {
        (Some(t), None) | (None, Some(t)) => t.trim().to_owned(),
        // RFC 6750 §2: a client MUST NOT use more than one method.
        (Some(_), Some(_)) => {
            return challenge(StatusCode::BAD_REQUEST, Some(("invalid_request", "the token was sent twice")));
        }
        (None, None) => return challenge(StatusCode::UNAUTHORIZED, None),
    };
    let invalid =
        || challenge(StatusCode::UNAUTHORIZED, Some(("invalid_token", "the access token is not valid")));
    let principal = match verify::access_token(ctx, &token, Audience::Api(Api::Userinfo)).await {
        Ok(principal) => principal,
        Err(Refused::Invalid(why)) => {
            tracing::info!(why, "userinfo: token refused");
            return invalid();
        }
        Err(Refused::Unavailable(why)) => return internal(&StoreError::Unavailable(why)),
    };
    if !principal.has_scope("openid") {
        return challenge(
            StatusCode::FORBIDDEN,
            Some(("insufficient_scope", "the token was not issued for openid")),
        );
    }
    // A client's own token has no user to describe.
    let Some(sub) = principal.user_id().map(str::to_owned) else { return invalid() };
    let user = match ctx.store.read(move |c| users::get(c, &sub)).await {
        Ok(user) if user.active => user,
        Ok(_) | Err(StoreError::NotFound) => return invalid(),
        Err(error) => return internal(&error),
    };
    let scope: Vec<&str> = principal.scopes.iter().map(String::as_str).collect();
    let mut claims = user_claims(&user, &scope);
    if scope.contains(&"groups") {
        match crate::issue::groups_claim(ctx, &user.id).await {
            Ok(groups) => {
                claims.insert(ctx.groups_claim.name.clone(), groups);
            }
            Err(error) => {
                tracing::error!(%error, "userinfo: groups");
                return HttpResponse::InternalServerError()
                    .insert_header(("Cache-Control", "no-store"))
                    .finish();
            }
        }
    }
    HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(Value::Object(claims))
}

fn internal(error: &StoreError) -> HttpResponse {
    tracing::error!(%error, "userinfo failed");
    HttpResponse::InternalServerError().insert_header(("Cache-Control", "no-store")).finish()
}

/// The standard claims of OpenID Connect Core §5.1 that the granted scopes
/// release (§5.4); `sub` always.
pub(crate) fn user_claims(user: &User, scope: &[&str]) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(user.id));
    let mut put = |name: &str, value: Option<&String>| {
        if let Some(value) = value {
            claims.insert(name.into(), json!(value));
        }
    };
    if scope.contains(&"profile") {
        put("name", user.display_name.as_ref().or(user.name.formatted.as_ref()));
        put("given_name", user.name.given_name.as_ref());
        put("family_name", user.name.family_name.as_ref());
        put("middle_name", user.name.middle_name.as_ref());
        put("nickname", user.nick_name.as_ref());
        put("preferred_username", Some(&user.user_name));
        // Only web URLs reach a relying party, whatever an older record holds
        // (a `javascript:` URL in a claim is an injection waiting for a page).
        let web = |url: &&String| sigil_store::text::check_web_url(url).is_ok();
        put("profile", user.profile_url.as_ref().filter(web));
        put("picture", user.photos.first().map(|p| &p.value).filter(web));
        put("zoneinfo", user.timezone.as_ref());
        put("locale", user.locale.as_ref().or(user.preferred_language.as_ref()));
        claims.insert("updated_at".into(), json!(numeric_date(user.meta.last_modified)));
    }
    if scope.contains(&"email") {
        let email = user.emails.iter().find(|e| e.primary).or(user.emails.first());
        if let Some(email) = email {
            claims.insert("email".into(), json!(email.value));
            // Sigil does not verify addresses itself.
            claims.insert("email_verified".into(), json!(false));
        }
    }
    if scope.contains(&"phone") {
        let phone = user.phone_numbers.iter().find(|p| p.primary).or(user.phone_numbers.first());
        if let Some(phone) = phone {
            claims.insert("phone_number".into(), json!(phone.value));
            claims.insert("phone_number_verified".into(), json!(false));
        }
    }
    if scope.contains(&"address") {
        let address = user.addresses.iter().find(|a| a.primary).or(user.addresses.first());
        if let Some(a) = address {
            let mut out = Map::new();
            for (name, value) in [
                ("formatted", &a.formatted),
                ("street_address", &a.street_address),
                ("locality", &a.locality),
                ("region", &a.region),
                ("postal_code", &a.postal_code),
                ("country", &a.country),
            ] {
                if let Some(value) = value {
                    out.insert(name.into(), json!(value));
                }
            }
            claims.insert("address".into(), Value::Object(out));
        }
    }
    claims
}
