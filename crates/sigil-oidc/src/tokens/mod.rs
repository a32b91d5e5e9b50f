//! Minting signed tokens with the store's active key, and checking them
//! ([`verify`], the one verifier every consumer calls).
//!
//! Which key is active is read from the store for every token, so a
//! rotation made by any node (or `sigil keys rotate`) takes effect
//! everywhere at once. Parsed private keys are cached per `kid`: a key's
//! material never changes, so the cache cannot go stale across nodes.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::NaiveDateTime;
use josekit::jws::{ES256, EdDSA, JwsSigner, JwsVerifier, PS256, RS256};
use josekit::jwt;
use openssl::ec::EcKey;
use openssl::ecdsa::EcdsaSig;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use sigil_store::keys::{KeyState, SigningKey};

use crate::OidcError;
use crate::keys::SigningAlg;

pub mod verify;

/// Parsed signing keys by `kid`.
#[derive(Debug, Default, Clone)]
pub(crate) struct SignerCache(Arc<Mutex<HashMap<String, Arc<KeySigner>>>>);

/// A parsed private key, ready to sign.
enum KeySigner {
    /// ES256 (RFC 7518 §3.4) through OpenSSL's ECDSA directly: the same
    /// curve arithmetic as josekit's signer, without the fresh EVP signing
    /// context it sets up for every token and the DER signature it then
    /// takes apart (together about 45,000 instructions a token, a sixth of
    /// the signature itself).
    Es256(EcKey<Private>),
    /// The other algorithms, through josekit.
    Jose(Box<dyn JwsSigner>),
}

impl fmt::Debug for KeySigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Es256(_) => "KeySigner::Es256(..)",
            Self::Jose(_) => "KeySigner::Jose(..)",
        })
    }
}

/// The length of each of ES256's two signature integers, R and S.
const P256_INTEGER_LEN: i32 = 32;

impl KeySigner {
    fn from_pem(alg: SigningAlg, pem: &[u8]) -> Result<Self, String> {
        let jose = |e: josekit::JoseError| e.to_string();
        Ok(match alg {
            SigningAlg::Es256 => {
                let key =
                    PKey::private_key_from_pem(pem).and_then(|k| k.ec_key()).map_err(|e| e.to_string())?;
                if key.group().curve_name() != Some(Nid::X9_62_PRIME256V1) {
                    return Err("an ES256 key must be on P-256".into());
                }
                key.check_key().map_err(|e| e.to_string())?;
                Self::Es256(key)
            }
            SigningAlg::Rs256 => Self::Jose(Box::new(RS256.signer_from_pem(pem).map_err(jose)?)),
            SigningAlg::Ps256 => Self::Jose(Box::new(PS256.signer_from_pem(pem).map_err(jose)?)),
            SigningAlg::EdDsa => Self::Jose(Box::new(EdDSA.signer_from_pem(pem).map_err(jose)?)),
        })
    }

    /// The JWS signature of `input` (RFC 7515 §5.1, step 5).
    fn sign(&self, input: &[u8]) -> Result<Vec<u8>, String> {
        match self {
            Self::Es256(key) => {
                // The low-level hasher: OpenSSL 3's one-shot `SHA256()` looks
                // the algorithm up through its providers on every call.
                let mut digest = openssl::sha::Sha256::new();
                digest.update(input);
                let signature = EcdsaSig::sign(&digest.finish(), key).map_err(|e| e.to_string())?;
                // RFC 7518 §3.4: R and S as 32-byte big-endian integers, concatenated.
                let mut out = signature.r().to_vec_padded(P256_INTEGER_LEN).map_err(|e| e.to_string())?;
                out.extend(signature.s().to_vec_padded(P256_INTEGER_LEN).map_err(|e| e.to_string())?);
                Ok(out)
            }
            Self::Jose(signer) => signer.sign(input).map_err(|e| e.to_string()),
        }
    }
}

/// A JWS protected header (RFC 7515 §4.1).
#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    typ: &'a str,
    kid: &'a str,
}

impl SignerCache {
    fn signer(&self, key: &SigningKey) -> Result<Arc<KeySigner>, OidcError> {
        let mut cache = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(signer) = cache.get(&key.kid) {
            return Ok(Arc::clone(signer));
        }
        let signer = KeySigner::from_pem(key.alg.parse()?, key.private_pem.as_bytes())
            .map_err(|e| OidcError::Crypto(format!("key {}: {e}", key.kid)))?;
        let signer = Arc::new(signer);
        cache.insert(key.kid.clone(), Arc::clone(&signer));
        Ok(signer)
    }

    /// Signs `claims` as a JWT (RFC 7519 §7.1, in the JWS compact
    /// serialization of RFC 7515 §7.1) with header `typ`, using the newest
    /// active key of `alg` among `keys`.
    pub(crate) fn sign(
        &self,
        keys: &[SigningKey],
        alg: SigningAlg,
        typ: &str,
        claims: &Map<String, Value>,
    ) -> Result<String, OidcError> {
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let key =
            active_key(keys, alg).ok_or_else(|| OidcError::Crypto(format!("no active {alg} signing key")))?;
        let signer = self.signer(key)?;
        let failed = |e: String| OidcError::Crypto(format!("signing with key {}: {e}", key.kid));
        let header = Header { alg: alg.as_str(), typ, kid: &key.kid };
        let header = serde_json::to_vec(&header).map_err(|e| failed(e.to_string()))?;
        let payload = serde_json::to_vec(claims).map_err(|e| failed(e.to_string()))?;
        // Base64url makes 4 characters of every 3 bytes; then room for the
        // two dots and the signature (86 characters for ES256, 342 for RSA).
        let mut token = String::with_capacity((header.len() + payload.len()) * 4 / 3 + 512);
        URL_SAFE_NO_PAD.encode_string(&header, &mut token);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let signature = signer.sign(token.as_bytes()).map_err(failed)?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
        Ok(token)
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
    let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    if let Some(seen) = VERIFIED.get(&digest)
        && keys.iter().any(|k| k.kid == seen.kid && k.public_jwk == seen.public_jwk)
    {
        return Ok((seen.typ.clone(), seen.claims.clone()));
    }
    let header = jwt::decode_header(token).map_err(|_| "malformed token".to_owned())?;
    let typ = header.claim("typ").and_then(Value::as_str).map(str::to_owned);
    let kid = header.claim("kid").and_then(Value::as_str).ok_or("no kid")?;
    let key = keys.iter().find(|k| k.kid == kid).ok_or("unknown signing key")?;
    let verifier = verifier_of(key)?;
    let (payload, _) =
        jwt::decode_with_verifier(token, &*verifier).map_err(|_| "bad signature".to_owned())?;
    let claims = payload.claims_set().clone();
    let seen = Verified { kid: key.kid.clone(), public_jwk: key.public_jwk.clone(), typ, claims };
    let verified = (seen.typ.clone(), seen.claims.clone());
    VERIFIED.insert(digest, Arc::new(seen));
    Ok(verified)
}

/// Tokens whose signature checked out, by the SHA-256 of the whole token:
/// an RSA or ECDSA check costs about a third of a SCIM request, and a
/// client presents the same access token on every request until it
/// expires.
///
/// An entry says only that these exact bytes carry a good signature by this
/// exact key, which stays true; it is used only while that key is still
/// among the published keys the caller passes (so a key withdrawn by any
/// node stops its tokens within the key list's own staleness bound), and
/// everything that can change (expiry, revocation, the principal's status)
/// is still checked on every request. A changed token is another digest and
/// is checked in full; a failed check is never kept. Bounded: the least
/// recently useful entries go first.
static VERIFIED: std::sync::LazyLock<quick_cache::sync::Cache<[u8; 32], Arc<Verified>>> =
    std::sync::LazyLock::new(|| quick_cache::sync::Cache::new(VERIFIED_CAPACITY));

/// Entries of [`VERIFIED`]: a few kilobytes each at most.
const VERIFIED_CAPACITY: usize = 10_000;

/// A token whose signature was checked, with what the check returned.
#[derive(Debug)]
struct Verified {
    kid: String,
    public_jwk: String,
    typ: Option<String>,
    claims: Map<String, Value>,
}

/// The verifier of `key`, parsed once per key.
fn verifier_of(key: &SigningKey) -> Result<Arc<dyn JwsVerifier>, String> {
    use josekit::jwk::Jwk;
    if let Some(verifier) = cached_verifier(key) {
        return Ok(verifier);
    }
    let jwk = Jwk::from_bytes(key.public_jwk.as_bytes()).map_err(|_| "unreadable key".to_owned())?;
    let alg = key.alg.parse::<SigningAlg>().map_err(|e| e.to_string())?;
    let verifier = match alg {
        SigningAlg::Rs256 => RS256.verifier_from_jwk(&jwk).map(shared),
        SigningAlg::Ps256 => PS256.verifier_from_jwk(&jwk).map(shared),
        SigningAlg::Es256 => ES256.verifier_from_jwk(&jwk).map(shared),
        SigningAlg::EdDsa => EdDSA.verifier_from_jwk(&jwk).map(shared),
    }
    .map_err(|_| "unreadable key".to_owned())?;
    VERIFIERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(key.kid.clone(), (key.public_jwk.clone(), Arc::clone(&verifier)));
    Ok(verifier)
}

/// Verifiers of the store's public keys by `kid`: parsing a key costs
/// several times the signature check. An entry is used only for the very
/// key it was made from, so a key set that changes cannot make it stale.
static VERIFIERS: std::sync::LazyLock<Mutex<HashMap<String, ParsedKey>>> =
    std::sync::LazyLock::new(Mutex::default);

/// A public JWK as stored, and the verifier made from it.
type ParsedKey = (String, Arc<dyn JwsVerifier>);

fn shared(verifier: impl JwsVerifier + 'static) -> Arc<dyn JwsVerifier> {
    Arc::new(verifier)
}

fn cached_verifier(key: &SigningKey) -> Option<Arc<dyn JwsVerifier>> {
    let verifiers = VERIFIERS.lock().unwrap_or_else(PoisonError::into_inner);
    let (public_jwk, verifier) = verifiers.get(&key.kid)?;
    (*public_jwk == key.public_jwk).then(|| Arc::clone(verifier))
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

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sigil_store::keys::KeyState;

    use super::*;
    use crate::keys::new_key;

    #[test]
    fn every_algorithm_signs_what_the_verifier_accepts() {
        let now = chrono::DateTime::from_timestamp(1_795_000_000, 0).unwrap().naive_utc();
        let claims = json!({ "iss": "https://id.example.com", "sub": "reports", "scope": "a b" });
        let claims = claims.as_object().cloned().unwrap();
        let signers = SignerCache::default();
        for alg in SigningAlg::ALL {
            let key = new_key(alg, KeyState::Active, now).unwrap();
            let keys = [key.clone()];
            let token = signers.sign(&keys, alg, "at+jwt", &claims).unwrap();
            let header = jwt::decode_header(&token).unwrap();
            assert_eq!(header.claim("alg"), Some(&json!(alg.as_str())));
            assert_eq!(header.claim("kid"), Some(&json!(key.kid)));
            let (typ, verified) = verify_signature(&token, &keys).unwrap();
            assert_eq!((typ.as_deref(), &verified), (Some("at+jwt"), &claims), "{alg}");
            // A second token reuses the parsed key and still verifies.
            let again = signers.sign(&keys, alg, "JWT", &claims).unwrap();
            assert_eq!(verify_signature(&again, &keys).unwrap().0.as_deref(), Some("JWT"));
            let mut forged = again.clone();
            forged.replace_range(forged.len() - 3.., "AAA");
            assert!(verify_signature(&forged, &keys).is_err(), "{alg}");
        }
    }

    /// A token checked once is remembered only for the key that signed it:
    /// once that key is no longer published, or is published with other
    /// material under the same `kid`, the token is refused.
    #[test]
    fn a_remembered_token_needs_its_key_still_published() {
        let now = chrono::DateTime::from_timestamp(1_795_000_000, 0).unwrap().naive_utc();
        let claims = json!({ "iss": "https://id.example.com", "sub": "reports" });
        let claims = claims.as_object().cloned().unwrap();
        let signers = SignerCache::default();
        let key = new_key(SigningAlg::Es256, KeyState::Active, now).unwrap();
        let other = new_key(SigningAlg::Es256, KeyState::Active, now).unwrap();
        let token = signers.sign(std::slice::from_ref(&key), SigningAlg::Es256, "at+jwt", &claims).unwrap();
        assert!(verify_signature(&token, std::slice::from_ref(&key)).is_ok());
        assert!(verify_signature(&token, std::slice::from_ref(&key)).is_ok(), "remembered");
        assert!(verify_signature(&token, std::slice::from_ref(&other)).is_err(), "key withdrawn");
        let impostor = SigningKey { kid: key.kid.clone(), ..other };
        assert!(verify_signature(&token, &[impostor]).is_err(), "same kid, other key");
        assert!(verify_signature(&token, &[key]).is_ok(), "published again");
    }
}
