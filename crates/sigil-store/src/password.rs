//! User passwords: the policy a chosen password must meet, and argon2id
//! hashes in PHC string form.
//!
//! The policy ([`PasswordPolicy`]) is NIST SP 800-63B §5.1.1.2 for
//! memorized secrets: at least 8 characters, at least 64 permitted, every
//! Unicode character allowed, counted as characters rather than bytes, no
//! composition rules, and a refusal of values found in a list of commonly
//! used or compromised passwords. Every path that sets a password (SCIM,
//! the `sigil` command) asks it, so the rule exists once.
//!
//! Hashing parameters are argon2's defaults, the OWASP recommendation
//! (19 MiB, two passes, one lane). A stored hash carries its own
//! parameters, so raising them later does not lock anyone out.

use std::collections::HashSet;
use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::error::StoreError;
use crate::text::fold;

/// Fewest characters a password may have: NIST SP 800-63B §5.1.1.2 says
/// memorized secrets SHALL be at least 8 characters long. The configured
/// minimum may be higher, never lower.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Most characters a password may have. NIST SP 800-63B §5.1.1.2 asks
/// that at least 64 be permitted; a bound at all keeps one request from
/// feeding argon2 an arbitrarily long input.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// Longest password hashed or verified, in bytes: the longest accepted
/// password, every character taking UTF-8's four bytes, still fits.
pub const MAX_PASSWORD_BYTES: usize = 4 * MAX_PASSWORD_CHARS;

/// Commonly used passwords, most frequent first: the Openwall Project's
/// `password.lst` (3,546 entries, compiled by Solar Designer from
/// passwords seen on Unix systems and in public "top N" lists of website
/// compromises, 1996–2011, in the public domain; shipped by Debian's
/// `john-data` package as `/usr/share/john/password.lst`). Lines starting
/// `#!comment:` are its header. Entries shorter than the minimum length are
/// kept so the file stays the published list; the length rule refuses
/// them anyway.
const COMMON_PASSWORDS: &str = include_str!("common-passwords.txt");

/// The list, folded, for case-insensitive lookup: `Password1` is as easy
/// to guess as `password1`.
static COMMON: LazyLock<HashSet<String>> = LazyLock::new(|| {
    COMMON_PASSWORDS
        .lines()
        .filter(|line| !line.starts_with("#!comment:") && !line.is_empty())
        .map(fold)
        .collect()
});

/// What a chosen password must be; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    min_chars: usize,
    refuse_common: bool,
}

impl Default for PasswordPolicy {
    /// NIST's floor of 8 characters, common passwords refused.
    fn default() -> Self {
        Self { min_chars: MIN_PASSWORD_CHARS, refuse_common: true }
    }
}

impl PasswordPolicy {
    /// A policy asking for at least `min_chars` characters, which must lie
    /// in [`MIN_PASSWORD_CHARS`]`..=`[`MAX_PASSWORD_CHARS`], and refusing
    /// common passwords when `refuse_common` is set.
    pub fn new(min_chars: usize, refuse_common: bool) -> Result<Self, String> {
        if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&min_chars) {
            return Err(format!(
                "the minimum password length must lie in {MIN_PASSWORD_CHARS}..={MAX_PASSWORD_CHARS} \
                 (NIST SP 800-63B §5.1.1.2 sets the floor at {MIN_PASSWORD_CHARS})"
            ));
        }
        Ok(Self { min_chars, refuse_common })
    }

    /// The fewest characters accepted.
    pub fn min_chars(&self) -> usize {
        self.min_chars
    }

    /// Whether common passwords are refused.
    pub fn refuses_common(&self) -> bool {
        self.refuse_common
    }

    /// Checks `password`, chosen for the user named `user_name`. The reason
    /// for a refusal is fit to show the person choosing it (NIST SP 800-63B
    /// §5.1.1.2: "the verifier SHALL advise the subscriber that they need to
    /// select a different secret"), and never repeats the password.
    pub fn check(&self, password: &str, user_name: &str) -> Result<(), String> {
        // Characters, not bytes: "pässwörd" is 8 characters long, and a
        // 4-byte emoji counts once (NIST SP 800-63B §5.1.1.2: each Unicode
        // code point counts as a single character).
        let chars = password.chars().count();
        if chars < self.min_chars {
            return Err(format!(
                "the password is too short: at least {} characters are required, it has {chars}",
                self.min_chars
            ));
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(format!("the password is too long: at most {MAX_PASSWORD_CHARS} characters"));
        }
        if !self.refuse_common {
            return Ok(());
        }
        // NIST SP 800-63B §5.1.1.2 names what the comparison list includes:
        // passwords from breach corpuses, repetitive or sequential
        // characters, and context-specific words such as the user name.
        let folded = fold(password);
        if COMMON.contains(&folded) {
            return Err("the password is one of the most commonly used passwords; choose another".into());
        }
        if is_repetition_or_sequence(&folded) {
            return Err("the password is one repeated or sequential run of characters; choose another".into());
        }
        if !user_name.is_empty() && folded == fold(user_name) {
            return Err("the password is the user name; choose another".into());
        }
        Ok(())
    }
}

/// Whether `text` is one character repeated (`aaaaaaaa`) or a run of
/// consecutive characters up or down (`abcdefgh`, `98765432`).
fn is_repetition_or_sequence(text: &str) -> bool {
    let codes: Vec<u32> = text.chars().map(u32::from).collect();
    let steps: HashSet<i64> = codes.windows(2).map(|w| i64::from(w[1]) - i64::from(w[0])).collect();
    steps.len() == 1 && steps.iter().all(|step| step.abs() <= 1)
}

/// Hashes a user's password with argon2id and a fresh random salt. Only
/// its length is checked here: a password a user chooses is first checked
/// by [`PasswordPolicy::check`].
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

    #[test]
    fn the_policy_follows_nist_800_63b() {
        let policy = PasswordPolicy::default();
        for good in [
            "correct horse battery staple",
            "t1meMa$heen",
            "pässwörd",         // 8 characters, 10 bytes
            "🔑🔑🔑🔑🗝️🗝️🗝️🗝️", // any Unicode
            &"x1".repeat(32),   // 64 characters must be permitted
            &"ab".repeat(512),  // up to 1024
        ] {
            assert_eq!(policy.check(good, "bjensen"), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("", "too short"),
            ("x", "too short"),
            ("seven77", "too short"),
            ("pässwö", "too short"), // 8 bytes, 6 characters
            (&"ab".repeat(513), "too long"),
            ("password", "commonly used"),
            ("PassWord1", "commonly used"),
            ("iloveyou", "commonly used"),
            ("12345678", "commonly used"),
            ("aaaaaaaaaaaa", "repeated or sequential"),
            ("abcdefghij", "repeated or sequential"),
            ("9876543210", "repeated or sequential"),
        ] {
            let refused = policy.check(bad, "bjensen").err().unwrap_or_default();
            assert!(refused.contains(why), "{bad:?}: {refused:?}");
            assert!(
                bad.chars().count() < 9 || !refused.contains(bad),
                "the reason never repeats the password"
            );
        }
        assert!(policy.check("BJensen-Tours", "bjensen-tours").unwrap_err().contains("user name"));
    }

    #[test]
    fn the_policy_can_be_stricter_or_skip_the_list_never_looser() {
        let long = PasswordPolicy::new(15, true).unwrap();
        assert!(long.check("t1meMa$heen", "u").unwrap_err().contains("at least 15"));
        let no_list = PasswordPolicy::new(8, false).unwrap();
        assert_eq!(no_list.check("password", "u"), Ok(()));
        assert!(no_list.check("short", "u").is_err(), "the length rule stays");
        assert!(PasswordPolicy::new(7, true).is_err());
        assert!(PasswordPolicy::new(1025, true).is_err());
    }

    #[test]
    fn the_common_list_is_the_published_one() {
        assert_eq!(COMMON.len(), 3410, "3,545 passwords and a blank line; 3,410 once letter case is ignored");
        assert!(COMMON.contains("trustno1"));
    }
}
