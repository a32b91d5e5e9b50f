//! Minting signed tokens with the store's active key, and checking them
//! ([`verify`], the one verifier every consumer calls).
//!
//! Which key is active is read from the store for every token, so a
//! rotation made by any node (or `sigil keys rotate`) takes effect
//! everywhere at once. Parsed private keys are cached per `kid`: a key's
//! material never changes, so the cache cannot go stale across nodes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::NaiveDateTime;
use josekit::jws::{ES256, EdDSA, JwsHeader, JwsSigner, PS256, RS256};
use josekit::jwt::{self, JwtPayload};
use serde_json::{Map, Value};
use sigil_store::keys::{KeyState, SigningKey};

use crate::OidcError;
use crate::keys::SigningAlg;

pub mod verify;

/// Parsed signing keys by `kid`.
#[derive(Debug, Default, Clone)]
pub(crate) struct SignerCache(Arc<Mutex<HashMap<String, Arc<dyn JwsSigner>>>>);

impl SignerCache {
    fn signer(&self, key: &SigningKey) -> Result<Arc<dyn JwsSigner>, OidcError> {
        let mut cache = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(signer) = cache.get(&key.kid) {
            return Ok(Arc::clone(signer));
        }
        let crypto = |e: josekit::JoseError| OidcError::Crypto(format!("key {}: {e}", key.kid));
        let pem = key.private_pem.as_bytes();
        let signer: Arc<dyn JwsSigner> = match key.alg.parse::<SigningAlg>()? {
            SigningAlg::Rs256 => Arc::new(RS256.signer_from_pem(pem).map_err(crypto)?),
            SigningAlg::Ps256 => Arc::new(PS256.signer_from_pem(pem).map_err(crypto)?),
            SigningAlg::Es256 => Arc::new(ES256.signer_from_pem(pem).map_err(crypto)?),
            SigningAlg::EdDsa => Arc::new(EdDSA.signer_from_pem(pem).map_err(crypto)?),
        };
        cache.insert(key.kid.clone(), Arc::clone(&signer));
        Ok(signer)
    }

    /// Signs `claims` as a JWT with header `typ`, using the newest active key
    /// of `alg` among `keys`.
    pub(crate) fn sign(
        &self,
        keys: &[SigningKey],
        alg: SigningAlg,
        typ: &str,
        claims: Map<String, Value>,
    ) -> Result<String, OidcError> {
        let key =
            active_key(keys, alg).ok_or_else(|| OidcError::Crypto(format!("no active {alg} signing key")))?;
        let signer = self.signer(key)?;
        let mut header = JwsHeader::new();
        header.set_token_type(typ);
        header.set_key_id(&key.kid);
        let payload = JwtPayload::from_map(claims).map_err(|e| OidcError::Crypto(e.to_string()))?;
        jwt::encode_with_signer(&payload, &header, signer.as_ref())
            .map_err(|e| OidcError::Crypto(e.to_string()))
    }
}

/// The key list the signing paths use, read from the store at most once per
/// [`KEYS_FRESH_FOR`] per node.
///
/// Safe across nodes: after a rotation elsewhere, this node may sign with
/// the key that was active a moment ago; that key stays published (retired
/// keys are kept a day) so its tokens still verify everywhere.
///
/// The verifier (`verify::access_token`) uses it too: a token it cannot
/// verify is tried again against the store's list, so a key another node
/// published in the last second is found, and a key leaves the store only
/// once nothing it signed can still be valid. The JWKS endpoint reads the
/// store.
#[derive(Debug, Default, Clone)]
pub(crate) struct KeyCache(Arc<Mutex<Option<CachedKeys>>>);

/// A key list and when it was read.
type CachedKeys = (std::time::Instant, Arc<Vec<SigningKey>>);

/// How long the signing paths reuse a key list.
pub(crate) const KEYS_FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(1);

impl KeyCache {
    pub(crate) fn fresh(&self) -> Option<Arc<Vec<SigningKey>>> {
        let cache = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        cache.as_ref().filter(|(at, _)| at.elapsed() < KEYS_FRESH_FOR).map(|(_, keys)| Arc::clone(keys))
    }

    pub(crate) fn store(&self, keys: Vec<SigningKey>) -> Arc<Vec<SigningKey>> {
        let keys = Arc::new(keys);
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((std::time::Instant::now(), Arc::clone(&keys)));
        keys
    }
}

/// The key that signs for `alg`: the most recently activated active key.
pub(crate) fn active_key(keys: &[SigningKey], alg: SigningAlg) -> Option<&SigningKey> {
    keys.iter()
        .filter(|k| k.state == KeyState::Active && k.alg == alg.as_str())
        .max_by_key(|k| (k.activated_at, k.created))
}

/// Seconds since the Unix epoch, as JWT `NumericDate` (RFC 7519 §2).
pub(crate) fn numeric_date(time: NaiveDateTime) -> i64 {
    time.and_utc().timestamp()
}

/// Reads a JWT `NumericDate`, which RFC 7519 §2 allows to be fractional;
/// the fraction is dropped.
pub(crate) fn read_numeric_date(value: Option<&Value>) -> Option<i64> {
    let value = value?;
    value.as_i64().or_else(|| {
        let seconds = value.as_f64()?.floor();
        // Seconds since 1970 fit an i64 for the next 292 billion years.
        #[allow(clippy::cast_possible_truncation, reason = "range checked just above")]
        (seconds.is_finite() && seconds.abs() < 9.0e15).then_some(seconds as i64)
    })
}

/// OpenID Connect Core §3.1.3.6 `at_hash`: the left half of the hash of the
/// access token, base64url-encoded; the hash is the one of the ID token's
/// `alg` (SHA-512 for EdDSA over Ed25519).
pub(crate) fn at_hash(access_token: &str, alg: SigningAlg) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256, Sha512};
    let digest: Vec<u8> = match alg {
        SigningAlg::EdDsa => Sha512::digest(access_token.as_bytes()).to_vec(),
        _ => Sha256::digest(access_token.as_bytes()).to_vec(),
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

/// Checks that `token` is a JWT signed by one of Sigil's published keys and
/// returns its header `typ` and its claims; nothing else is checked.
pub(super) fn verify_signature(
    token: &str,
    keys: &[SigningKey],
) -> Result<(Option<String>, Map<String, Value>), String> {
    use josekit::jwk::Jwk;
    let header = jwt::decode_header(token).map_err(|_| "malformed token".to_owned())?;
    let typ = header.claim("typ").and_then(Value::as_str).map(str::to_owned);
    let kid = header.claim("kid").and_then(Value::as_str).ok_or("no kid")?;
    let key = keys.iter().find(|k| k.kid == kid).ok_or("unknown signing key")?;
    let jwk = Jwk::from_bytes(key.public_jwk.as_bytes()).map_err(|_| "unreadable key".to_owned())?;
    let alg = key.alg.parse::<SigningAlg>().map_err(|e| e.to_string())?;
    let claims = verify_with_jwk(token, alg, &jwk)?;
    Ok((typ, claims))
}

/// Verifies `token`'s signature with `jwk` under `alg`; returns its claims.
pub(crate) fn verify_with_jwk(
    token: &str,
    alg: SigningAlg,
    jwk: &josekit::jwk::Jwk,
) -> Result<Map<String, Value>, String> {
    let result = match alg {
        SigningAlg::Rs256 => RS256.verifier_from_jwk(jwk).and_then(|v| jwt::decode_with_verifier(token, &v)),
        SigningAlg::Ps256 => PS256.verifier_from_jwk(jwk).and_then(|v| jwt::decode_with_verifier(token, &v)),
        SigningAlg::Es256 => ES256.verifier_from_jwk(jwk).and_then(|v| jwt::decode_with_verifier(token, &v)),
        SigningAlg::EdDsa => EdDSA.verifier_from_jwk(jwk).and_then(|v| jwt::decode_with_verifier(token, &v)),
    };
    let (payload, _) = result.map_err(|_| "bad signature".to_owned())?;
    Ok(payload.claims_set().clone())
}
