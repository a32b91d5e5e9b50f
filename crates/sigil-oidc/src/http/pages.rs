//! Server-rendered pages: sign-in, consent, logout confirmation, password
//! reset and errors. Plain HTML forms that
//! work without JavaScript, with labels, focus and error text for assistive
//! technology, and the headers that keep them out of frames and scripts.
//! Their CSRF tokens are made and checked in [`csrf`].

pub(crate) mod csrf;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use url::{Host, Origin, Url};

// Form actions and the redirects between pages are relative references, so
// that an issuer with a path (`https://example.com/id`, behind a proxy that
// strips `/id`) keeps the browser under that path.

/// The cookie that names a signed-in browser's session.
pub(crate) const SESSION_COOKIE: &str = "sigil_session";

/// A cookie's name: with the `__Host-` prefix when served over https
/// (RFC 6265bis §4.1.3.2: the browser then accepts it only with `Secure`,
/// `Path=/` and no `Domain`, so no other host, such as a sibling
/// subdomain, can plant or overwrite it). Only the name in use is read.
pub(crate) fn cookie_name(name: &str, secure: bool) -> String {
    if secure { format!("__Host-{name}") } else { name.to_owned() }
}

/// One of Sigil's cookies: for the whole site, never for scripts, `Secure`
/// (and so `__Host-`) over https.
pub(crate) fn cookie(name: &str, value: String, secure: bool, same_site: SameSite) -> Cookie<'static> {
    Cookie::build(cookie_name(name, secure), value)
        .path("/")
        .http_only(true)
        .same_site(same_site)
        .secure(secure)
        .finish()
}

/// The value of one of Sigil's cookies in a request.
pub(crate) fn read_cookie(req: &HttpRequest, name: &str, secure: bool) -> Option<String> {
    req.cookie(&cookie_name(name, secure)).map(|c| c.value().to_owned())
}

/// A cookie that removes one of Sigil's cookies (same name and attributes,
/// or a browser keeps the `__Host-` one).
pub(crate) fn removal_cookie(name: &str, secure: bool) -> Cookie<'static> {
    let mut cookie = cookie(name, String::new(), secure, SameSite::Lax);
    cookie.make_removal();
    cookie
}

/// The CSP source (CSP Level 3 §2.3.1) that admits `uri` as a form target:
/// its origin, or its scheme alone for what a host source cannot name (an
/// IPv6 literal, a private-use scheme of a native app, RFC 8252 §7.1).
fn source_of(uri: &str) -> Option<String> {
    let url = Url::parse(uri).ok()?;
    Some(match url.origin() {
        origin @ Origin::Tuple(_, Host::Domain(_) | Host::Ipv4(_), _) => origin.ascii_serialization(),
        _ => format!("{}:", url.scheme()),
    })
}

/// `form-action` for a page whose form posts to this site and whose answer
/// may redirect to `redirect_uri`: browsers check every redirect after a
/// form submission against `form-action` too (CSP Level 3 §6.4.1), so the
/// client's redirect URI (after sign-in or consent) or post-logout URI
/// must be allowed beside `'self'`, or the browser stops short of it.
pub(crate) fn form_targets(redirect_uri: Option<&str>) -> String {
    match redirect_uri.and_then(source_of) {
        Some(source) => format!("'self' {source}"),
        None => "'self'".to_owned(),
    }
}

/// What a form page carries: the request it sends back, the CSRF token for
/// it, the cookie naming the browser when one must be set, and where the
/// answer to the form may redirect.
#[derive(Debug)]
pub(crate) struct Carried<'a> {
    pub(crate) request: &'a str,
    pub(crate) token: &'a str,
    pub(crate) cookie: Option<Cookie<'static>>,
    pub(crate) redirect_uri: Option<&'a str>,
}

/// Escapes text for HTML element content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;line-height:1.5}\
label{display:block;margin-top:1rem;font-weight:600}input[type=text],input[type=password]{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}\
button{margin-top:1.5rem;padding:.6rem 1.2rem;font-size:1rem}.error{color:#a00;border:1px solid #a00;padding:.5rem}";

fn page(
    status: StatusCode,
    title: &str,
    body: &str,
    form_action: &str,
    cookie: Option<Cookie<'static>>,
) -> HttpResponse {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        escape(title)
    );
    let mut response = HttpResponse::build(status);
    response
        .content_type("text/html; charset=utf-8")
        // No scripts at all; styles only inline from this page; forms only
        // to where this page's form is meant to lead.
        .insert_header((
            "Content-Security-Policy",
            format!(
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; \
                 form-action {form_action}"
            ),
        ))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Cache-Control", "no-store"));
    if let Some(cookie) = cookie {
        response.cookie(cookie);
    }
    response.body(html)
}

/// The sign-in form. `carried.request` is the authorization request's query
/// string, carried through the form and checked again after sign-in.
pub(crate) fn login(
    client_name: &str,
    carried: Carried<'_>,
    error: Option<&str>,
    username: &str,
) -> HttpResponse {
    let error_html = error.map_or_else(String::new, |e| {
        format!("<p class=\"error\" id=\"login-error\" role=\"alert\">{}</p>", escape(e))
    });
    let described =
        if error.is_some() { " aria-describedby=\"login-error\" aria-invalid=\"true\"" } else { "" };
    let focus_user = if username.is_empty() || error.is_none() { " autofocus" } else { "" };
    let focus_password = if focus_user.is_empty() { " autofocus" } else { "" };
    let body = format!(
        "<h1>Sign in</h1><p>to continue to <strong>{client}</strong></p>{error_html}\
         <form method=\"post\" action=\"login\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"request\" value=\"{request}\">\
         <label for=\"username\">Username</label>\
         <input type=\"text\" id=\"username\" name=\"username\" value=\"{username}\" autocomplete=\"username\" required{focus_user}{described}>\
         <label for=\"password\">Password</label>\
         <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required{focus_password}{described}>\
         <button type=\"submit\">Sign in</button></form>",
        client = escape(client_name),
        csrf = escape(carried.token),
        request = escape(carried.request),
        username = escape(username),
    );
    page(StatusCode::OK, "Sign in", &body, &form_targets(carried.redirect_uri), carried.cookie)
}

/// What granting a scope Sigil knows lets the client do, in words a user
/// deciding on the consent page can weigh.
fn scope_meaning(scope: &str) -> Option<&'static str> {
    Some(match scope {
        "openid" => "know who you are",
        "profile" => "see your name, picture and profile details",
        "email" => "see your e-mail address",
        "phone" => "see your phone number",
        "address" => "see your postal address",
        "offline_access" => "keep access while you are away",
        "groups" => "see the groups you belong to",
        "scim:read" => "read users and groups, as far as your roles allow",
        "scim:write" => "change users and groups, as far as your roles allow",
        "admin" => "administer this identity service, as far as your roles allow",
        _ => return None,
    })
}

/// The consent form. Its token covers `carried.request`, so the scopes
/// granted are the ones listed here.
pub(crate) fn consent(client_name: &str, scopes: &[String], carried: Carried<'_>) -> HttpResponse {
    let items: String = scopes
        .iter()
        .map(|s| match scope_meaning(s) {
            Some(meaning) => format!("<li><code>{}</code>: {meaning}</li>", escape(s)),
            None => format!("<li><code>{}</code></li>", escape(s)),
        })
        .collect();
    let body = format!(
        "<h1>Allow access?</h1><p><strong>{client}</strong> asks for:</p><ul>{items}</ul>\
         <form method=\"post\" action=\"consent\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"request\" value=\"{request}\">\
         <button type=\"submit\" name=\"decision\" value=\"allow\" autofocus>Allow</button> \
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>",
        client = escape(client_name),
        csrf = escape(carried.token),
        request = escape(carried.request),
    );
    page(StatusCode::OK, "Allow access?", &body, &form_targets(carried.redirect_uri), carried.cookie)
}

/// RP-Initiated Logout 1.0 §2 and §6: asks the user before ending the
/// session when the request does not prove which client sent it. The
/// request's parameters go back through the form, covered by its token.
pub(crate) fn confirm_logout(
    client_name: Option<&str>,
    params: &[(&str, String)],
    csrf: &str,
    redirect_uri: Option<&str>,
) -> HttpResponse {
    let fields: String = params
        .iter()
        .map(|(k, v)| format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", escape(k), escape(v)))
        .collect();
    let asked_by = client_name
        .map(|name| format!("<p><strong>{}</strong> asks to sign you out.</p>", escape(name)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Sign out?</h1>{asked_by}<p>You will be signed out of every application that uses this \
         sign-in. To stay signed in, close this window.</p>\
         <form method=\"post\" action=\"logout\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">{fields}\
         <button type=\"submit\" name=\"confirm\" value=\"yes\" autofocus>Sign out</button></form>",
        csrf = escape(csrf),
    );
    page(StatusCode::OK, "Sign out?", &body, &form_targets(redirect_uri), None)
}

/// An error shown to the user instead of redirecting, for requests whose
/// client or redirect URI cannot be trusted (RFC 6749 §4.1.2.1).
pub(crate) fn error(status: StatusCode, message: &str) -> HttpResponse {
    let body = format!(
        "<h1>This request cannot be completed</h1><p class=\"error\" role=\"alert\">{}</p>",
        escape(message)
    );
    page(status, "Request error", &body, "'none'", None)
}

/// The password reset form. It carries the link's token back, with a CSRF
/// token bound to the browser and to that link.
pub(crate) fn reset_form(
    reset_token: &str,
    csrf: &str,
    cookie: Option<Cookie<'static>>,
    error: Option<&str>,
    status: StatusCode,
) -> HttpResponse {
    let error_html = error.map_or_else(String::new, |e| {
        format!("<p class=\"error\" id=\"reset-error\" role=\"alert\">{}</p>", escape(e))
    });
    let described =
        if error.is_some() { " aria-describedby=\"reset-error\" aria-invalid=\"true\"" } else { "" };
    let body = format!(
        "<h1>Choose a new password</h1>{error_html}\
         <form method=\"post\" action=\"reset\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"token\" value=\"{token}\">\
         <label for=\"password\">New password</label>\
         <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"new-password\" required autofocus{described}>\
         <label for=\"confirm\">New password, again</label>\
         <input type=\"password\" id=\"confirm\" name=\"confirm\" autocomplete=\"new-password\" required{described}>\
         <button type=\"submit\">Set password</button></form>",
        csrf = escape(csrf),
        token = escape(reset_token),
    );
    page(status, "Choose a new password", &body, "'self'", cookie)
}

/// The one answer for a reset link that is unknown, used or expired, so
/// the page tells nobody which.
pub(crate) fn reset_invalid() -> HttpResponse {
    page(
        StatusCode::BAD_REQUEST,
        "Reset link not valid",
        "<h1>This link is not valid</h1><p class=\"error\" role=\"alert\">The password reset link is \
         invalid or has expired, or was already used. Ask your administrator for a new one.</p>",
        "'none'",
        None,
    )
}

/// Shown once a reset link has set the password.
pub(crate) fn reset_done() -> HttpResponse {
    page(
        StatusCode::OK,
        "Password set",
        "<h1>Your password is set</h1><p>You can now sign in with your new password. \
         You were signed out everywhere else.</p>",
        "'none'",
        None,
    )
}

/// Shown after logout when the client asked for no redirect.
pub(crate) fn signed_out() -> HttpResponse {
    page(
        StatusCode::OK,
        "Signed out",
        "<h1>You are signed out</h1><p>You can close this window.</p>",
        "'none'",
        None,
    )
}

/// OAuth 2.0 Form Post Response Mode §2: a form that posts the response
/// parameters to the client. A nonce-allowed script submits it; without
/// scripts the user presses the button.
pub(crate) fn form_post(action: &str, params: &[(&str, &str)]) -> HttpResponse {
    let nonce = sigil_store::new_id().replace('-', "");
    let fields: String = params
        .iter()
        .map(|(k, v)| format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", escape(k), escape(v)))
        .collect();
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Continue</title></head><body>\
         <form method=\"post\" action=\"{action}\">{fields}<noscript><button type=\"submit\">Continue</button></noscript></form>\
         <script nonce=\"{nonce}\">document.forms[0].submit();</script></body></html>",
        action = escape(action),
    );
    let target = source_of(action).unwrap_or_else(|| "'none'".to_owned());
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            "Content-Security-Policy",
            format!(
                "default-src 'none'; script-src 'nonce-{nonce}'; frame-ancestors 'none'; base-uri 'none'; \
                 form-action {target}"
            ),
        ))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("Cache-Control", "no-store"))
        .body(html)
}
