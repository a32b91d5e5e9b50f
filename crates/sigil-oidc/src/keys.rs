//! The signing key set and its rotation.
//!
//! At any time the set holds one `active` key per algorithm in use, which
//! signs; one `next` key, already published in the JWKS so that relying
//! parties have it cached before it signs anything; and `retired` keys,
//! still published until every token they signed has expired (OpenID
//! Connect Core 1.0 §10.1.1: the signer must give verifiers time to pick up
//! a new key before using it). Keys live in the store, so every node signs
//! with the same key and sees a rotation on its next read.

use std::fmt;
use std::str::FromStr;

use chrono::{NaiveDateTime, TimeDelta};
use josekit::jwk::KeyPair;
use josekit::jwk::alg::ed::EdCurve;
use josekit::jws::{ES256, EdDSA, PS256, RS256};
use sigil_store::keys::{self as stored, KeyState, SigningKey};
use sigil_store::{AnyConnection, Store};

use crate::OidcError;

/// RSA modulus size for RS256 and PS256 keys.
const RSA_BITS: u32 = 2048;

/// A JWS algorithm Sigil signs with (RFC 7518 §3.1; EdDSA from RFC 8037).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256; every OpenID provider must offer it
    /// (OpenID Connect Core 1.0 §15.1).
    Rs256,
    /// RSASSA-PSS with SHA-256.
    Ps256,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// Ed25519.
    EdDsa,
}

impl SigningAlg {
    /// Every algorithm Sigil signs with; each has its own key set.
    pub const ALL: [Self; 4] = [Self::Rs256, Self::Ps256, Self::Es256, Self::EdDsa];

    /// The `alg` header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Ps256 => "PS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }

    /// Makes a new key pair: the private key as PKCS#8 PEM and the public key
    /// as a JWK carrying `kid`, `alg` and `use`.
    fn generate(self, kid: &str) -> Result<(String, String), OidcError> {
        let crypto = |e: josekit::JoseError| OidcError::Crypto(e.to_string());
        let pair: Box<dyn KeyPair> = match self {
            Self::Rs256 => Box::new(RS256.generate_key_pair(RSA_BITS).map_err(crypto)?),
            Self::Ps256 => Box::new(PS256.generate_key_pair(RSA_BITS).map_err(crypto)?),
            Self::Es256 => Box::new(ES256.generate_key_pair().map_err(crypto)?),
            Self::EdDsa => Box::new(EdDSA.generate_key_pair(EdCurve::Ed25519).map_err(crypto)?),
        };
        let pem = String::from_utf8(pair.to_pem_private_key())
            .map_err(|e| OidcError::Crypto(format!("private key PEM is not UTF-8: {e}")))?;
        let mut jwk = pair.to_jwk_public_key();
        jwk.set_key_id(kid);
        jwk.set_algorithm(self.as_str());
        jwk.set_key_use("sig");
        Ok((pem, jwk.to_string()))
    }
}

impl fmt::Display for SigningAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SigningAlg {
    type Err = OidcError;

    fn from_str(raw: &str) -> Result<Self, OidcError> {
        match raw {
            "RS256" => Ok(Self::Rs256),
            "PS256" => Ok(Self::Ps256),
            "ES256" => Ok(Self::Es256),
            "EdDSA" => Ok(Self::EdDsa),
            other => Err(OidcError::Invalid(format!(
                "unsupported signing algorithm `{other}` (RS256, PS256, ES256 or EdDSA)"
            ))),
        }
    }
}

/// How long a retired key stays published: at least the longest lifetime of
/// anything it signed.
pub const DEFAULT_RETIRED_KEY_RETENTION: TimeDelta = TimeDelta::days(1);

pub(crate) fn new_key(alg: SigningAlg, state: KeyState, now: NaiveDateTime) -> Result<SigningKey, OidcError> {
    let kid = sigil_store::new_id();
    let (private_pem, public_jwk) = alg.generate(&kid)?;
    Ok(SigningKey {
        kid,
        alg: alg.as_str().to_owned(),
        state,
        private_pem,
        public_jwk,
        created: now,
        activated_at: (state == KeyState::Active).then_some(now),
        retired_at: None,
    })
}

/// Makes sure `alg` has an active key and a published next key, creating
/// what is missing (on first start). Returns the keys created.
///
/// The store is read first, so a start on an existing key set generates
/// nothing (RSA keys take hundreds of milliseconds each). Only the missing
/// keys are generated, before the write transaction, so the database lock
/// is held only for the writes; under the lock the set is read again, and a
/// key another node created meanwhile wins: ours is discarded.
pub async fn ensure_key_set(store: &Store, alg: SigningAlg) -> Result<Vec<String>, OidcError> {
    const WANTED: [KeyState; 2] = [KeyState::Active, KeyState::Next];
    let present = store.read(|conn| Ok::<_, OidcError>(stored::list(conn)?)).await?;
    let missing = move |present: &[SigningKey], state: KeyState| {
        !present.iter().any(|k| k.alg == alg.as_str() && k.state == state)
    };
    let now = store.now();
    let candidates = WANTED
        .into_iter()
        .filter(|&state| missing(&present, state))
        .map(|state| new_key(alg, state, now))
        .collect::<Result<Vec<_>, _>>()?;
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let created = store
        .write(move |conn| {
            sigil_store::lock(conn, sigil_store::Lock::KeySet)?;
            let present = stored::list(conn)?;
            let mut created = Vec::new();
            for candidate in candidates {
                if missing(&present, candidate.state) {
                    stored::insert(conn, &candidate)?;
                    created.push(candidate.kid);
                }
            }
            Ok::<_, OidcError>(created)
        })
        .await?;
    Ok(created)
}

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The key that now signs (the former `next` key).
    pub activated: String,
    /// The key that stopped signing, if there was one.
    pub retired: Option<String>,
    /// The new `next` key, published from now on.
    pub next: String,
    /// Retired keys dropped from the set because nothing they signed can
    /// still be valid.
    pub removed: usize,
}

/// The key a rotation of `alg` will publish as its new `next` key, made
/// before the rotation's transaction: generating a key (hundreds of
/// milliseconds for RSA) must not happen while holding the key-set lock,
/// nor, on SQLite, the database's only write lock.
#[derive(Debug)]
pub struct NextKey(SigningKey);

impl NextKey {
    /// Generates the key for a rotation of `alg` at `now`.
    pub fn generate(alg: SigningAlg, now: NaiveDateTime) -> Result<Self, OidcError> {
        new_key(alg, KeyState::Next, now).map(Self)
    }
}

/// Rotates the keys of `alg`: the published `next` key starts signing, the
/// active key retires, `fresh_next` (a key of `alg`, from
/// [`NextKey::generate`]) is published as the new `next` key, and retired
/// keys older than `retention` are removed.
pub fn rotate(
    conn: &mut AnyConnection,
    alg: SigningAlg,
    fresh_next: NextKey,
    retention: TimeDelta,
    now: NaiveDateTime,
) -> Result<Rotation, OidcError> {
    let NextKey(fresh_next) = fresh_next;
    if fresh_next.alg != alg.as_str() {
        return Err(OidcError::Invalid(format!("a {} key cannot be the next {alg} key", fresh_next.alg)));
    }
    sigil_store::lock(conn, sigil_store::Lock::KeySet)?;
    let present = stored::list(conn)?;
    let of_alg = |state| present.iter().find(|k| k.alg == alg.as_str() && k.state == state);
    // A key set without a published `next` key (never started) gets one now
    // and is activated at once: there is nothing older for verifiers to use.
    let next_kid = match of_alg(KeyState::Next) {
        Some(key) => key.kid.clone(),
        None => {
            let key = new_key(alg, KeyState::Next, now)?;
            stored::insert(conn, &key)?;
            key.kid
        }
    };
    let retired = match of_alg(KeyState::Active) {
        Some(active) => {
            stored::transition(conn, &active.kid, KeyState::Active, KeyState::Retired, now)?;
            Some(active.kid.clone())
        }
        None => None,
    };
    if !stored::transition(conn, &next_kid, KeyState::Next, KeyState::Active, now)? {
        return Err(OidcError::Invalid("the next key changed during rotation; try again".into()));
    }
    stored::insert(conn, &fresh_next)?;
    let removed = stored::delete_retired_before(conn, now - retention)?;
    Ok(Rotation { activated: next_kid, retired, next: fresh_next.kid, removed })
}

/// The public keys to publish (RFC 7517 §5 JWK Set): next, active and
/// retired keys, never a private part.
pub fn public_jwks(keys: &[SigningKey]) -> Result<serde_json::Value, OidcError> {
    let keys = keys
        .iter()
        .map(|k| {
            serde_json::from_str::<serde_json::Value>(&k.public_jwk)
                .map_err(|e| OidcError::Crypto(format!("stored JWK {} is not JSON: {e}", k.kid)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(serde_json::json!({ "keys": keys }))
}
