//! User passwords: argon2id hashes in PHC string form.
//!
//! Parameters are argon2's defaults, the OWASP recommendation (19 MiB,
//! two passes, one lane). A stored hash carries its own parameters, so
//! raising them later does not lock anyone out.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::error::StoreError;

/// Longest password accepted, in bytes: bounds the work one request can cause.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Hashes a user's password with argon2id and a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, StoreError> {
    if password.is_empty() {
        return Err(StoreError::Invalid("the password is empty".into()));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(StoreError::Invalid(format!("the password is longer than {MAX_PASSWORD_BYTES} bytes")));
    }
    let mut salt_bytes = [0u8; 16];
    getrandom::fill(&mut salt_bytes)
        .map_err(|e| StoreError::Other(format!("no randomness available: {e}")))?;
    let salt = SaltString::encode_b64(&salt_bytes)
        .map_err(|e| StoreError::Other(format!("salt encoding failed: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| StoreError::Other(format!("password hashing failed: {e}")))
}

/// Whether `password` matches the stored `hash`. A malformed stored hash
/// never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    PasswordHash::new(hash)
        .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let a = hash_password("s3cret!").unwrap();
        let b = hash_password("s3cret!").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify_password("s3cret!", &a));
        assert!(!verify_password("s3cret", &a));
        assert!(!verify_password("s3cret!", "not a hash"));
        assert!(hash_password("").is_err());
    }
}
