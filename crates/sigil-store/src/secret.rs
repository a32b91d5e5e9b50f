//! Secrets Sigil generates (client secrets, codes, refresh tokens, session
//! ids) and how they are kept: as SHA-256 digests, compared in constant time.
//!
//! A generated secret carries 256 random bits, so a fast digest is as strong
//! as a slow password hash against guessing, and keeps the token endpoint
//! from spending tens of milliseconds of CPU per request.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::StoreError;

/// Bytes of randomness in a generated secret (256 bits).
pub const SECRET_BYTES: usize = 32;

/// A secret in the clear, as handed to its owner once. Its `Debug` never
/// shows the value, so it cannot leak through a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainSecret(String);

impl PlainSecret {
    /// 256 bits from the operating system's generator, base64url without
    /// padding. Never starts with `-`, which command-line tools would read
    /// as an option when the secret is passed as an argument: one draw in
    /// 64 is made again, which costs less than 0.03 bits.
    pub fn generate() -> Result<Self, StoreError> {
        loop {
            let mut bytes = [0u8; SECRET_BYTES];
            getrandom::fill(&mut bytes)
                .map_err(|e| StoreError::Other(format!("no randomness available: {e}")))?;
            let encoded = URL_SAFE_NO_PAD.encode(bytes);
            if !encoded.starts_with('-') {
                return Ok(Self(encoded));
            }
        }
    }

    /// Wraps a secret received from a client.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, to hand to its owner or compare.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its stored form.
    pub fn hash(&self) -> HashedSecret {
        HashedSecret::of(&self.0)
    }
}

impl fmt::Debug for PlainSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainSecret(<redacted>)")
    }
}

/// The stored form of a secret: lowercase hex SHA-256.
#[derive(Clone, PartialEq, Eq)]
pub struct HashedSecret(String);

impl HashedSecret {
    /// The digest of `secret`.
    pub fn of(secret: &str) -> Self {
        let digest = Sha256::digest(secret.as_bytes());
        let mut hex = String::with_capacity(64);
        for byte in digest {
            hex.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
            hex.push(char::from(b"0123456789abcdef"[usize::from(byte & 0xf)]));
        }
        Self(hex)
    }

    /// A digest read back from the store.
    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    /// The digest as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `candidate` is the secret this digest was made from. The
    /// comparison takes the same time wherever the digests differ.
    pub fn matches(&self, candidate: &str) -> bool {
        Self::of(candidate).0.as_bytes().ct_eq(self.0.as_bytes()).into()
    }
}

impl fmt::Debug for HashedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HashedSecret(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_never_look_like_options() {
        // Without the rule, 2,000 draws all avoid a leading '-' with
        // probability (63/64)^2000 < 1e-13.
        assert!((0..2000).all(|_| !PlainSecret::generate().unwrap().expose().starts_with('-')));
    }

    #[test]
    fn generated_secrets_are_long_distinct_and_redacted() {
        let a = PlainSecret::generate().unwrap();
        let b = PlainSecret::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 43, "256 bits in unpadded base64url");
        assert!(!format!("{a:?}").contains(a.expose()));
    }

    #[test]
    fn digest_is_sha256_hex_and_matches_only_its_secret() {
        // FIPS 180-2 test vector.
        assert_eq!(
            HashedSecret::of("abc").as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let stored = PlainSecret::new("correct horse").hash();
        assert!(stored.matches("correct horse"));
        assert!(!stored.matches("correct horse "));
        assert!(!stored.matches(""));
    }
}
