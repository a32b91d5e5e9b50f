//! Minting signed tokens with the store's active key.
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
