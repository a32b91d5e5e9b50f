//! Text rules shared by every table: case folding for case-insensitive
//! uniqueness and lookup, and the checks applied to identity values.

/// The folded form stored beside a case-insensitive value (`userName`,
/// a group's `displayName`, multi-valued `value`s).
///
/// Folding happens here, in Rust, rather than with SQL `lower()`: SQLite's
/// `lower()` folds ASCII only while PostgreSQL's folds all of Unicode, so the
/// same query would find different rows on the two backends.
pub fn fold(value: &str) -> String {
    value.to_lowercase()
}

/// Checks the shape of an e-mail address (RFC 5321 §4.1.2 `Mailbox`, loosely):
/// a local part and a domain of dot-separated labels, no whitespace or
/// control characters. Delivery is not checked.
pub fn check_email(address: &str) -> Result<(), String> {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return Err(format!("`{address}` is not an e-mail address: it has no `@`"));
    };
    if local.is_empty() || domain.is_empty() {
        return Err(format!("`{address}` is not an e-mail address: empty local part or domain"));
    }
    if address.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("`{address}` is not an e-mail address: it contains whitespace"));
    }
    if local.contains('@') && !(local.starts_with('"') && local.ends_with('"')) {
        return Err(format!("`{address}` is not an e-mail address: more than one `@`"));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(format!("`{address}` is not an e-mail address: misplaced `.` in the local part"));
    }
    let domain_ok = !domain.starts_with('[')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    let literal_ok = domain.starts_with('[') && domain.ends_with(']') && domain.len() > 2;
    if !(domain_ok || literal_ok) {
        return Err(format!("`{address}` is not an e-mail address: bad domain `{domain}`"));
    }
    if address.len() > 254 {
        return Err(format!("`{address}` is not an e-mail address: longer than 254 characters"));
    }
    Ok(())
}

/// Checks a `userName` or group name: present, printable, bounded.
pub fn check_name(what: &str, value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err(format!("{what} is empty"));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{what} contains control characters"));
    }
    if value.chars().count() > 256 {
        return Err(format!("{what} is longer than 256 characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_is_unicode_aware() {
        assert_eq!(fold("BJensen"), "bjensen");
        assert_eq!(fold("ÉMILE"), "émile");
    }

    #[test]
    fn email_shapes() {
        for good in [
            "a@b.c",
            "bjensen@example.com",
            "first.last+tag@sub.example.org",
            "x@localhost",
            "\"a@b\"@example.com",
            "u@[192.0.2.1]",
        ] {
            assert!(check_email(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a b@example.com",
            "a@@example.com",
            "a@b@c.d",
            "a@exa mple.com",
            "a@.example.com",
            "a@example..com",
            ".a@example.com",
            "a@-x.com",
            "a@x.com\n",
        ] {
            assert!(check_email(bad).is_err(), "{bad:?}");
        }
    }
}
