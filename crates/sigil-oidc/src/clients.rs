//! Client registration rules: what a client may be registered with, checked
//! before anything is stored.

use chrono::NaiveDateTime;
use sigil_store::clients::{self as stored, Client};
use sigil_store::secret::PlainSecret;
use sigil_store::{AnyConnection, StoreError, Unique};
use url::Url;

use crate::OidcError;
use crate::keys::SigningAlg;

/// The grant types Sigil's token endpoint knows.
pub const GRANT_TYPES: &[&str] = &[
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "urn:ietf:params:oauth:grant-type:token-exchange",
];

/// Scopes a client may request when registered without `--scope`.
pub const DEFAULT_SCOPES: &[&str] =
    &["openid", "profile", "email", "phone", "address", "offline_access", "groups"];

/// How a client will prove who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A confidential client; Sigil generates its 256-bit secret.
    GeneratedSecret,
    /// A confidential client with a secret chosen by the operator, which must
    /// be as strong as a generated one.
    ChosenSecret(PlainSecret),
    /// A public client (a browser or native app): no secret, PKCE required.
    Public,
    /// A confidential client that signs JWT assertions with its own keys
    /// (`private_key_jwt`); the value is its public JWK Set.
    PrivateKeyJwt(String),
    /// Like [`Credentials::PrivateKeyJwt`], with the JWK Set fetched from
    /// the client's `jwks_uri` (OpenID Connect Core §10.1.1), so the client
    /// rotates its keys without the operator.
    PrivateKeyJwtUri(String),
}

/// What a client may do at the token endpoint's token exchange (RFC 8693).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExchangePolicy {
    /// Audiences it may exchange tokens for.
    pub audiences: Vec<String>,
    /// Whether it may impersonate: get a token with no `act` claim, as if
    /// the subject had asked for it. Without this, every exchanged token
    /// names its actor.
    pub impersonation: bool,
    /// Whether it may get refresh tokens by exchange.
    pub refresh_tokens: bool,
}

/// What an operator asks to register.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The `client_id`.
    pub id: String,
    /// Display name for the consent page.
    pub name: Option<String>,
    /// Secret policy.
    pub credentials: Credentials,
    /// Redirect URIs, matched exactly at the authorization endpoint.
    pub redirect_uris: Vec<String>,
    /// Where the client may send users after logout.
    pub post_logout_redirect_uris: Vec<String>,
    /// Grant types allowed.
    pub grant_types: Vec<String>,
    /// Scopes allowed; empty means [`DEFAULT_SCOPES`].
    pub scopes: Vec<String>,
    /// Audiences the client may obtain tokens for.
    pub audiences: Vec<String>,
    /// Whether users skip the consent page for this client.
    pub skip_consent: bool,
    /// Whether PKCE is required even though the client is confidential.
    pub require_pkce: bool,
    /// ID token signing algorithm.
    pub id_token_alg: SigningAlg,
    /// Access token signing algorithm.
    pub access_token_alg: SigningAlg,
    /// Issue a refresh token with every code exchange, not only when the
    /// user granted `offline_access`.
    pub refresh_without_offline_access: bool,
    /// Token exchange policy (RFC 8693).
    pub exchange: ExchangePolicy,
    /// Put the user's groups in this client's tokens even without the
    /// `groups` scope.
    pub always_groups_claim: bool,
    /// For secret clients, `client_secret_post` instead of the default
    /// `client_secret_basic`.
    pub secret_in_body: bool,
}

/// Checks `registration` and stores the client. Returns it with the
/// generated secret, which exists only here: the store keeps its digest.
pub fn register(
    conn: &mut AnyConnection,
    registration: Registration,
    now: NaiveDateTime,
) -> Result<(Client, Option<PlainSecret>), OidcError> {
    let client_id = registration.id.clone();
    let (client, secret) = validate(registration, now)?;
    let client = stored::insert(conn, client, now).map_err(|e| match e {
        StoreError::Conflict(Unique::ClientId) => OidcError::ClientExists(client_id),
        other => other.into(),
    })?;
    Ok((client, secret))
}

/// Checks `registration` without storing anything.
pub fn check(registration: &Registration) -> Result<(), OidcError> {
    validate(registration.clone(), NaiveDateTime::default()).map(|_| ())
}

fn validate(r: Registration, now: NaiveDateTime) -> Result<(Client, Option<PlainSecret>), OidcError> {
    check_client_id(&r.id)?;
    let grant_types = if r.grant_types.is_empty() {
        vec!["authorization_code".to_owned(), "refresh_token".to_owned()]
    } else {
        r.grant_types
    };
    let is_public = r.credentials == Credentials::Public;
    let scopes =
        if r.scopes.is_empty() { DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect() } else { r.scopes };
    let auth_method = match &r.credentials {
        Credentials::Public => "none",
        Credentials::PrivateKeyJwt(_) | Credentials::PrivateKeyJwtUri(_) => "private_key_jwt",
        _ if r.secret_in_body => "client_secret_post",
        _ => "client_secret_basic",
    };
    let jwks = match &r.credentials {
        Credentials::PrivateKeyJwt(set) => Some(check_public_jwks(set)?),
        _ => None,
    };
    let jwks_uri = match &r.credentials {
        Credentials::PrivateKeyJwtUri(uri) => Some(check_jwks_uri(uri)?),
        _ => None,
    };
    let (secret_hash, secret) = match r.credentials {
        Credentials::Public | Credentials::PrivateKeyJwt(_) | Credentials::PrivateKeyJwtUri(_) => {
            (None, None)
        }
        Credentials::GeneratedSecret => {
            let secret = PlainSecret::generate()?;
            (Some(secret.hash()), Some(secret))
        }
        Credentials::ChosenSecret(secret) => {
            check_secret_strength(secret.expose())?;
            (Some(secret.hash()), None)
        }
    };
    let client = Client {
        id: r.id,
        name: r.name,
        secret_hash,
        is_public,
        redirect_uris: r.redirect_uris,
        post_logout_redirect_uris: r.post_logout_redirect_uris,
        grant_types,
        scopes,
        audiences: r.audiences,
        token_endpoint_auth_method: auth_method.to_owned(),
        id_token_signed_response_alg: r.id_token_alg.as_str().to_owned(),
        // RFC 7636 §1 / RFC 9700 §2.1.1: public clients cannot be trusted
        // with a code without PKCE.
        require_pkce: is_public || r.require_pkce,
        skip_consent: r.skip_consent,
        jwks,
        jwks_uri,
        access_token_signed_response_alg: r.access_token_alg.as_str().to_owned(),
        refresh_without_offline_access: r.refresh_without_offline_access,
        exchange_audiences: r.exchange.audiences,
        exchange_impersonation: r.exchange.impersonation,
        exchange_refresh_tokens: r.exchange.refresh_tokens,
        always_groups_claim: r.always_groups_claim,
        created: now,
        last_modified: now,
    };
    check_settings(&client)?;
    Ok((client, secret))
}

/// The rules every stored client keeps, checked on registration and on
/// every change.
fn check_settings(client: &Client) -> Result<(), OidcError> {
    for uri in &client.redirect_uris {
        check_redirect_uri("redirect URI", uri)?;
    }
    for uri in &client.post_logout_redirect_uris {
        check_redirect_uri("post-logout redirect URI", uri)?;
    }
    for grant in &client.grant_types {
        if !GRANT_TYPES.contains(&grant.as_str()) {
            return Err(OidcError::Invalid(format!(
                "unknown grant type `{grant}` (one of: {})",
                GRANT_TYPES.join(", ")
            )));
        }
    }
    let grants = |g: &str| client.grant_types.iter().any(|x| x == g);
    let exchanges = grants(crate::grants::TOKEN_EXCHANGE);
    if !client.exchange_audiences.is_empty() && !exchanges {
        return Err(OidcError::Invalid(format!(
            "exchange audiences need the token exchange grant ({})",
            crate::grants::TOKEN_EXCHANGE
        )));
    }
    if exchanges && client.is_public {
        // RFC 8693 §5: the requester is authenticated; a public client is not.
        return Err(OidcError::Invalid("a public client cannot use token exchange".into()));
    }
    for audience in &client.exchange_audiences {
        if audience.trim().is_empty() {
            return Err(OidcError::Invalid("an exchange audience cannot be empty".into()));
        }
    }
    if grants("authorization_code") && client.redirect_uris.is_empty() {
        return Err(OidcError::Invalid(
            "the authorization_code grant needs at least one redirect URI".into(),
        ));
    }
    if client.is_public && grants("client_credentials") {
        // RFC 6749 §4.4: the client credentials grant is for confidential clients only.
        return Err(OidcError::Invalid("a public client cannot use the client_credentials grant".into()));
    }
    for scope in &client.scopes {
        check_scope_token(scope)?;
    }
    client.id_token_signed_response_alg.parse::<SigningAlg>()?;
    client.access_token_signed_response_alg.parse::<SigningAlg>()?;
    Ok(())
}

/// Changes to a registered client; `None` leaves a setting as it is.
#[derive(Debug, Default, Clone)]
pub struct Changes {
    /// New display name.
    pub name: Option<String>,
    /// New redirect URIs (replacing the old ones).
    pub redirect_uris: Option<Vec<String>>,
    /// New post-logout redirect URIs.
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// New grant types.
    pub grant_types: Option<Vec<String>>,
    /// New allowed scopes.
    pub scopes: Option<Vec<String>>,
    /// New allowed audiences.
    pub audiences: Option<Vec<String>>,
    /// Skip the consent page or not.
    pub skip_consent: Option<bool>,
    /// Require PKCE or not (always required for public clients).
    pub require_pkce: Option<bool>,
    /// New ID token algorithm.
    pub id_token_alg: Option<SigningAlg>,
    /// New access token algorithm.
    pub access_token_alg: Option<SigningAlg>,
    /// Issue refresh tokens without `offline_access` or not.
    pub refresh_without_offline_access: Option<bool>,
    /// New token exchange policy.
    pub exchange: Option<ExchangePolicy>,
    /// Groups in every token of the client, or only with the scope.
    pub always_groups_claim: Option<bool>,
    /// Replace the client secret with a newly generated one.
    pub rotate_secret: bool,
}

/// Applies `changes` to the client `id`, under the same rules as
/// registration. Returns the client and, when rotated, its new secret.
pub fn update(
    conn: &mut AnyConnection,
    id: &str,
    changes: Changes,
    now: NaiveDateTime,
) -> Result<(Client, Option<PlainSecret>), OidcError> {
    // Read under the row lock: two concurrent updates apply one after the
    // other, neither undoing the other's change.
    let mut client = match stored::lock(conn, id).and_then(|()| stored::get(conn, id)) {
        Ok(client) => client,
        Err(StoreError::NotFound) => return Err(OidcError::Invalid(format!("there is no client `{id}`"))),
        Err(other) => return Err(other.into()),
    };
    let Changes {
        name,
        redirect_uris,
        post_logout_redirect_uris,
        grant_types,
        scopes,
        audiences,
        skip_consent,
        require_pkce,
        id_token_alg,
        access_token_alg,
        refresh_without_offline_access,
        exchange,
        always_groups_claim,
        rotate_secret,
    } = changes;
    client.name = name.or(client.name);
    client.redirect_uris = redirect_uris.unwrap_or(client.redirect_uris);
    client.post_logout_redirect_uris = post_logout_redirect_uris.unwrap_or(client.post_logout_redirect_uris);
    client.grant_types = grant_types.unwrap_or(client.grant_types);
    client.scopes = scopes.unwrap_or(client.scopes);
    client.audiences = audiences.unwrap_or(client.audiences);
    client.skip_consent = skip_consent.unwrap_or(client.skip_consent);
    client.require_pkce = client.is_public || require_pkce.unwrap_or(client.require_pkce);
    if let Some(alg) = id_token_alg {
        client.id_token_signed_response_alg = alg.as_str().to_owned();
    }
    if let Some(alg) = access_token_alg {
        client.access_token_signed_response_alg = alg.as_str().to_owned();
    }
    client.refresh_without_offline_access =
        refresh_without_offline_access.unwrap_or(client.refresh_without_offline_access);
    client.always_groups_claim = always_groups_claim.unwrap_or(client.always_groups_claim);
    if let Some(exchange) = exchange {
        client.exchange_audiences = exchange.audiences;
        client.exchange_impersonation = exchange.impersonation;
        client.exchange_refresh_tokens = exchange.refresh_tokens;
    }
    let secret = if rotate_secret {
        if client.secret_hash.is_none() {
            return Err(OidcError::Invalid(format!("client `{id}` has no secret to rotate")));
        }
        let secret = PlainSecret::generate()?;
        client.secret_hash = Some(secret.hash());
        Some(secret)
    } else {
        None
    };
    check_settings(&client)?;
    Ok((stored::update(conn, client, now)?, secret))
}

/// A client's key set must be a JWK Set (RFC 7517 §5) of public keys that
/// can verify one of the accepted algorithms; returned in compact form.
pub(crate) fn check_public_jwks(raw: &str) -> Result<String, OidcError> {
    let bad = |why: &str| OidcError::Invalid(format!("the client's JWK Set is not usable: {why}"));
    let set: serde_json::Value = serde_json::from_str(raw).map_err(|e| bad(&format!("not JSON ({e})")))?;
    let keys = set.get("keys").and_then(serde_json::Value::as_array).ok_or_else(|| bad("no `keys` array"))?;
    if keys.is_empty() {
        return Err(bad("it holds no keys"));
    }
    for key in keys {
        // RFC 7518 §6: these members carry private or symmetric key material.
        if ["d", "p", "q", "dp", "dq", "qi", "k"].iter().any(|m| key.get(m).is_some()) {
            return Err(bad("it contains private or symmetric key material; register public keys only"));
        }
        if !matches!(key.get("kty").and_then(serde_json::Value::as_str), Some("RSA" | "EC" | "OKP")) {
            return Err(bad("every key needs kty RSA, EC or OKP"));
        }
    }
    josekit::jwk::JwkSet::from_bytes(raw.as_bytes()).map_err(|e| bad(&e.to_string()))?;
    Ok(set.to_string())
}

/// A `jwks_uri` is fetched by the server, so it must be https (OpenID
/// Connect Core §10.1.1 publishes keys over TLS); plain http is accepted
/// only for the loopback host, where no network is crossed.
fn check_jwks_uri(raw: &str) -> Result<String, OidcError> {
    let bad = |why: &str| OidcError::Invalid(format!("jwks_uri `{raw}` is not usable: {why}"));
    let url = Url::parse(raw).map_err(|e| bad(&format!("not an absolute URL ({e})")))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(bad("it has no host")),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(bad("it must be https (http only on the loopback host)")),
    }
    if url.fragment().is_some() {
        return Err(bad("it must not contain a fragment"));
    }
    Ok(raw.to_owned())
}

/// RFC 6749 Appendix A.1: `client-id = *VSCHAR` (printable ASCII); Sigil also
/// requires it to be non-empty and bounded.
fn check_client_id(id: &str) -> Result<(), OidcError> {
    if id.is_empty() || id.len() > 255 {
        return Err(OidcError::Invalid("the client id must have 1 to 255 characters".into()));
    }
    if !id.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(OidcError::Invalid(format!(
            "client id `{id}` may only contain printable ASCII without spaces"
        )));
    }
    Ok(())
}

/// RFC 6749 §3.1.2: a redirection endpoint URI MUST be an absolute URI and
/// MUST NOT include a fragment component. Schemes that would run code or
/// read local files in the user agent are refused outright.
pub fn check_redirect_uri(what: &str, raw: &str) -> Result<(), OidcError> {
    let bad = |why: &str| OidcError::Invalid(format!("{what} `{raw}` is not valid: {why}"));
    if raw.contains('*') {
        return Err(bad("wildcards are not allowed; redirect URIs are matched exactly"));
    }
    let url = Url::parse(raw).map_err(|e| bad(&format!("not an absolute URI ({e})")))?;
    if url.fragment().is_some() || raw.contains('#') {
        return Err(bad("it must not contain a fragment (RFC 6749 §3.1.2)"));
    }
    match url.scheme() {
        "javascript" | "data" | "file" | "vbscript" | "about" | "blob" => {
            Err(bad(&format!("the `{}` scheme is not allowed", url.scheme())))
        }
        // The WHATWG parser reads `https:///x` as host `x`; the string is what
        // gets matched and redirected to, so it must name its host itself.
        "http" | "https"
            if url.host_str().is_none_or(str::is_empty)
                || !raw[url.scheme().len()..].starts_with("://")
                || raw[url.scheme().len() + 3..].starts_with('/') =>
        {
            Err(bad("it has no host"))
        }
        "http" | "https" => Ok(()),
        // RFC 8252 §7.1: native apps use private-use schemes in reverse
        // domain form, such as `com.example.app:/callback`.
        scheme if scheme.contains('.') => Ok(()),
        scheme => Err(bad(&format!(
            "`{scheme}` is neither http(s) nor a private-use scheme in reverse domain form (RFC 8252 §7.1)"
        ))),
    }
}

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
fn check_scope_token(scope: &str) -> Result<(), OidcError> {
    let valid = !scope.is_empty()
        && scope.bytes().all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
    if valid {
        Ok(())
    } else {
        Err(OidcError::Invalid(format!("`{scope}` is not a valid scope token (RFC 6749 §3.3)")))
    }
}

/// Bits a chosen secret must carry: as many as a generated one.
const SECRET_BITS: f64 = 256.0;

/// An alphabet random secrets are written in.
struct Alphabet {
    /// What its characters are called, for a refusal.
    name: &'static str,
    /// How many characters it has.
    size: u32,
    /// Whether a byte is one of them.
    holds: fn(u8) -> bool,
}

/// The alphabets of `openssl rand -hex`, base32, base62 and base64(url)
/// encoders and password generators, smallest first.
const SECRET_ALPHABETS: &[Alphabet] = &[
    Alphabet { name: "decimal digits", size: 10, holds: |b| b.is_ascii_digit() },
    Alphabet {
        name: "hexadecimal digits",
        size: 16,
        holds: |b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
    },
    Alphabet {
        name: "hexadecimal digits",
        size: 16,
        holds: |b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b),
    },
    Alphabet {
        name: "base32 characters",
        size: 32,
        holds: |b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b),
    },
    Alphabet {
        name: "lowercase letters and digits",
        size: 36,
        holds: |b| b.is_ascii_lowercase() || b.is_ascii_digit(),
    },
    Alphabet {
        name: "uppercase letters and digits",
        size: 36,
        holds: |b| b.is_ascii_uppercase() || b.is_ascii_digit(),
    },
    Alphabet { name: "letters and digits", size: 62, holds: |b| b.is_ascii_alphanumeric() },
    Alphabet {
        name: "base64url characters",
        size: 64,
        holds: |b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_',
    },
    Alphabet {
        name: "base64 characters",
        size: 64,
        holds: |b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/',
    },
    Alphabet { name: "printable ASCII characters", size: 94, holds: |b| b.is_ascii_graphic() },
];

/// A chosen secret must be as hard to guess as a generated one (256 bits),
/// because it is stored as a fast digest, not a slow password hash.
///
/// Its strength is estimated as length × log2(alphabet), where the alphabet
/// is the smallest of [`SECRET_ALPHABETS`] holding every character: a
/// secret of lowercase hex counts 4 bits a character whether or not it
/// happens to use every digit, so 64 hex characters (`openssl rand -hex
/// 32`) count 256 bits and 43 base64url characters 258. Trailing `=` of
/// base64 padding count nothing. The estimate is an upper bound that holds
/// only for random characters, so values that are visibly not random are
/// refused on their own account: few distinct characters, or a shorter
/// string repeated. A random secret of the lengths above trips neither
/// (fewer than 8 distinct characters among 64 random hex digits happens
/// about once in 10^19 draws).
fn check_secret_strength(secret: &str) -> Result<(), OidcError> {
    let weak = |why: String| {
        OidcError::Invalid(format!(
            "the client secret is too weak ({why}; at least 256 bits are required, e.g. 43 random base64url \
             or 64 random hex characters); omit --secret to have one generated"
        ))
    };
    if secret.bytes().any(|b| !b.is_ascii_graphic()) {
        return Err(OidcError::Invalid(
            "the client secret may only contain printable ASCII without spaces".into(),
        ));
    }
    let unpadded = secret.trim_end_matches('=');
    let unpadded = if secret.len() - unpadded.len() <= 2 { unpadded } else { secret };
    let bytes = unpadded.as_bytes();
    // Every byte is printable ASCII by now, so the last alphabet holds them.
    let (name, size) = SECRET_ALPHABETS
        .iter()
        .find(|alphabet| bytes.iter().all(|&b| (alphabet.holds)(b)))
        .map_or(("printable ASCII characters", 94), |alphabet| (alphabet.name, alphabet.size));
    let length = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    let bits = f64::from(length) * f64::from(size).log2();
    if bits < SECRET_BITS {
        return Err(weak(format!("about {bits:.0} bits: {length} {name} of {size}")));
    }
    let distinct = bytes.iter().collect::<std::collections::HashSet<_>>().len();
    let needed = usize::try_from((size / 2).min(8)).unwrap_or(8);
    if distinct < needed {
        return Err(weak(format!(
            "only {distinct} distinct characters: random {name} would show at least {needed}"
        )));
    }
    if let Some(period) =
        (1..=bytes.len() / 2).find(|&p| bytes.len() % p == 0 && bytes.chunks(p).all(|c| c == &bytes[..p]))
    {
        return Err(weak(format!("a string of {period} characters repeated")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris() {
        for good in [
            "https://app.example.com/callback",
            "https://app.example.com/cb?tenant=1",
            "http://127.0.0.1:3000/cb",
            "http://localhost/cb",
            "com.example.app:/oauth2redirect",
        ] {
            assert!(check_redirect_uri("redirect URI", good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "/relative/path",
            "app.example.com/cb",
            "https://app.example.com/cb#frag",
            "https://*.example.com/cb",
            "javascript:alert(1)",
            "data:text/html,hi",
            "file:///etc/passwd",
            "myapp:/cb",
            "https:///nohost",
            "not a uri",
        ] {
            assert!(check_redirect_uri("redirect URI", bad).is_err(), "{bad:?}");
        }
    }

    fn refusal(secret: &str) -> String {
        match check_secret_strength(secret) {
            Err(OidcError::Invalid(why)) => why,
            other => panic!("{secret:?} should be refused: {other:?}"),
        }
    }

    #[test]
    fn chosen_secrets_must_be_strong() {
        assert!(refusal("s3cret").contains("about 31 bits: 6 lowercase letters and digits of 36"));
        assert!(refusal(&"a".repeat(100)).contains("only 1 distinct"), "repetition is not entropy");
        assert!(refusal(&"0123456789abcdef".repeat(4)).contains("16 characters repeated"));
        assert!(refusal(&"9".repeat(60)).contains("about 199 bits: 60 decimal digits"));
        assert!(refusal(&"ab12".repeat(17)).contains("only 4 distinct"));
        assert!(check_secret_strength("Zq7xV2mN9pR4tL8wK3sD6fH1jG5bC0yE_aUoIeXr-Tn").is_ok());
        assert!(
            check_secret_strength("0f1e2d3c4b5a69788796a5b4c3d2e1f00123456789abcdeffedcba9876543210").is_ok()
        );
        // `openssl rand -base64 32`: 43 characters and one `=` of padding.
        assert!(check_secret_strength("q3Ux+9vW/0aTbZ1yKc7LmN2pRs4dEf5gHi6jOk8lQrA=").is_ok());
        assert!(refusal("0123456789abcdef0123456789abcdef").contains("about 128 bits: 32 hexadecimal"));
        assert!(check_secret_strength("has space has space has space has space has space").is_err());
    }

    /// A uniformly random secret over `alphabet`, from a seeded generator
    /// (SplitMix64) so a failure reproduces.
    fn random_secret(state: &mut u64, alphabet: &[u8], length: usize) -> String {
        (0..length)
            .map(|_| {
                *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = *state;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                z ^= z >> 31;
                char::from(alphabet[usize::try_from(z % alphabet.len() as u64).unwrap()])
            })
            .collect()
    }

    /// What `openssl rand -hex 32` and a 32-byte base64url secret look like
    /// is accepted every time, and the estimate the refusal would print
    /// agrees with the decision (at least 256 bits).
    #[test]
    fn every_random_256_bit_secret_is_accepted() {
        let hex = b"0123456789abcdef";
        let base64url = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut state = 0x5eed_u64;
        for round in 0..20_000 {
            let (alphabet, length) = if round % 2 == 0 { (&hex[..], 64) } else { (&base64url[..], 43) };
            let secret = random_secret(&mut state, alphabet, length);
            assert!(check_secret_strength(&secret).is_ok(), "{secret}: {:?}", check_secret_strength(&secret));
            if length == 64 {
                let upper = secret.to_uppercase();
                assert!(check_secret_strength(&upper).is_ok(), "{upper}");
            }
        }
        // One character fewer is below 256 bits, and says so.
        let short = random_secret(&mut state, hex, 63);
        assert!(refusal(&short).contains("about 252 bits: 63 hexadecimal digits of 16"), "{short}");
        // Sigil's own generated secrets pass the same check.
        for _ in 0..1000 {
            let generated = PlainSecret::generate().unwrap();
            assert!(check_secret_strength(generated.expose()).is_ok(), "{}", generated.expose());
        }
    }

    #[test]
    fn scope_tokens() {
        assert!(check_scope_token("openid").is_ok());
        assert!(check_scope_token("api:read").is_ok());
        assert!(check_scope_token("a\"b").is_err());
        assert!(check_scope_token("").is_err());
    }
}
