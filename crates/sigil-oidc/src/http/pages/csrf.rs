//! CSRF tokens for the provider's own forms: sign-in, consent, the
//! logout confirmation and the password reset.
//!
//! A token is an HMAC-SHA-256 (RFC 2104) over three things: the browser it
//! was served to (its session, or before sign-in a random cookie of its
//! own), the form it belongs to, and the exact request the form carries.
//! So a token taken from another browser or session, or from another kind
//! of form, does not verify; nor does one whose hidden request was edited
//! (a scope added on the way back), so the scopes a user grants are the
//! ones the consent page showed. A plain double-submit cookie proves none
//! of this: any pair of equal values passes, and a cookie planted by a
//! sibling host supplies one.
//!
//! The key is kept in the store, created by the first node that needs it
//! (the primary key settles a race), so any node verifies what another
//! served. It is read per form; forms are human-paced.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sigil_store::secret::PlainSecret;
use sigil_store::{Store, StoreError, grants};

/// What the key is kept under in the store.
const KEY_PURPOSE: &str = "form-csrf";

/// The cookie that names a browser before it has a session.
pub(crate) const BROWSER_COOKIE: &str = "sigil_csrf";

/// Which form a token is for; a token of one never passes as another's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    SignIn,
    Consent,
    Logout,
    PasswordReset,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Self::SignIn => "sign-in",
            Self::Consent => "consent",
            Self::Logout => "logout",
            Self::PasswordReset => "password-reset",
        }
    }
}

/// Whom a token is for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Binding<'a> {
    /// A browser without a session, by its `sigil_csrf` cookie.
    Browser(&'a str),
    /// A signed-in browser, by its session's id digest.
    Session(&'a str),
}

/// The key of every form token.
pub(crate) struct FormKey(Hmac<Sha256>);

impl std::fmt::Debug for FormKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FormKey(<redacted>)")
    }
}

impl FormKey {
    /// The key kept in `store`, made and kept first if there is none yet.
    pub(crate) async fn load(store: &Store) -> Result<Self, StoreError> {
        if let Some(secret) = stored(store).await? {
            return Self::from_secret(&secret);
        }
        let fresh = PlainSecret::generate()?;
        let now = store.now();
        let created =
            store.write(move |c| grants::create_server_secret(c, KEY_PURPOSE, fresh.expose(), now)).await;
        match created {
            // Conflict: another node kept its key first; that one is used.
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
        let secret = stored(store).await?.ok_or_else(|| StoreError::Other("the form key vanished".into()))?;
        Self::from_secret(&secret)
    }

    fn from_secret(secret: &str) -> Result<Self, StoreError> {
        Hmac::new_from_slice(secret.as_bytes())
            .map(Self)
            .map_err(|e| StoreError::Other(format!("unusable form key: {e}")))
    }

    fn mac(&self, binding: Binding<'_>, purpose: Purpose, request: &str) -> Hmac<Sha256> {
        let (kind, id) = match binding {
            Binding::Browser(id) => ("browser", id),
            Binding::Session(id) => ("session", id),
        };
        let mut mac = self.0.clone();
        // Each field with its length first, so no two different triples
        // feed the same bytes.
        for field in ["sigil-form-v1", kind, id, purpose.label(), request] {
            mac.update(&(field.len() as u64).to_be_bytes());
            mac.update(field.as_bytes());
        }
        mac
    }

    /// The token of a form for `binding` that carries `request`.
    pub(crate) fn token(&self, binding: Binding<'_>, purpose: Purpose, request: &str) -> String {
        use base64::Engine;
        let tag = self.mac(binding, purpose, request).finalize().into_bytes();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag)
    }

    /// Whether `token` is the one [`FormKey::token`] gives, compared in
    /// constant time.
    pub(crate) fn verify(&self, binding: Binding<'_>, purpose: Purpose, request: &str, token: &str) -> bool {
        use base64::Engine;
        let Ok(tag) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token) else { return false };
        self.mac(binding, purpose, request).verify_slice(&tag).is_ok()
    }
}

async fn stored(store: &Store) -> Result<Option<String>, StoreError> {
    store.read(|c| grants::server_secret(c, KEY_PURPOSE)).await
}

/// The browser's own id, sent back from an earlier form, if it looks like
/// one Sigil made.
pub(crate) fn browser_of(req: &HttpRequest, secure: bool) -> Option<String> {
    let cookie = req.cookie(&super::cookie_name(BROWSER_COOKIE, secure))?;
    let value = cookie.value();
    let made_here =
        value.len() == 43 && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    made_here.then(|| value.to_owned())
}

/// The browser's id, and the cookie to set when it has none yet. The cookie
/// is `SameSite=Lax` so that a browser arriving from the client keeps the
/// id it had (two sign-in tabs stay valid); a cross-site POST carries no
/// cookie and is refused.
pub(crate) fn browser(
    req: &HttpRequest,
    secure: bool,
) -> Result<(String, Option<Cookie<'static>>), StoreError> {
    if let Some(id) = browser_of(req, secure) {
        return Ok((id, None));
    }
    let id = PlainSecret::generate()?.expose().to_owned();
    let cookie = super::cookie(BROWSER_COOKIE, id.clone(), secure, SameSite::Lax);
    Ok((id, Some(cookie)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_bind_browser_form_and_request() {
        let key = FormKey::from_secret("k").unwrap();
        let token = key.token(Binding::Session("s1"), Purpose::Consent, "scope=openid");
        assert!(key.verify(Binding::Session("s1"), Purpose::Consent, "scope=openid", &token));
        assert!(!key.verify(Binding::Session("s2"), Purpose::Consent, "scope=openid", &token));
        assert!(!key.verify(Binding::Browser("s1"), Purpose::Consent, "scope=openid", &token));
        assert!(!key.verify(Binding::Session("s1"), Purpose::SignIn, "scope=openid", &token));
        assert!(!key.verify(Binding::Session("s1"), Purpose::Consent, "scope=openid+email", &token));
        assert!(!key.verify(Binding::Session("s1"), Purpose::Consent, "scope=openid", "x"));
        let other = FormKey::from_secret("other").unwrap();
        assert!(!other.verify(Binding::Session("s1"), Purpose::Consent, "scope=openid", &token));
    }
}
