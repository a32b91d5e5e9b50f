//! Text rules shared by every table: case folding for case-insensitive
//! uniqueness and lookup, and the checks applied to identity values.

use url::{Host, Url};

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

/// Longest web URL accepted: what browsers and servers reliably handle.
const MAX_WEB_URL_CHARS: usize = 2048;

/// Checks a URL a user agent will follow or load: a `profileUrl` or photo
/// (RFC 7643 §4.1.1 and §4.1.2: "a uniform resource locator"), released
/// as the `profile` and `picture` claims (OpenID Connect Core 1.0 §5.1),
/// which relying parties put in links and `<img>` tags. So only absolute
/// `https` URLs with a host pass, and `http` on a loopback host for
/// development: `javascript:`, `data:` and other schemes would run or
/// smuggle content in the relying party's page. User information
/// (`https://user@host/`) is refused too, a classic way to disguise the
/// real host.
pub fn check_web_url(raw: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("`{raw}` is not a web URL: {why}"));
    if raw.chars().count() > MAX_WEB_URL_CHARS {
        return Err(format!("a web URL has at most {MAX_WEB_URL_CHARS} characters"));
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("it contains whitespace or control characters");
    }
    // The WHATWG parser forgives `https:host` and `https:///host`; what is
    // stored is the string, so the string itself must be in full form.
    let lowered = raw.to_ascii_lowercase();
    let rest = if let Some(rest) = lowered.strip_prefix("https://") {
        rest
    } else if let Some(rest) = lowered.strip_prefix("http://") {
        rest
    } else {
        return bad("it must be an absolute https URL (http only on 127.0.0.1, ::1 or localhost)");
    };
    if rest.is_empty() || rest.starts_with(['/', '\\']) {
        return bad("it has no host");
    }
    let url = match Url::parse(raw) {
        Ok(url) => url,
        Err(e) => return bad(&e.to_string()),
    };
    if !url.username().is_empty() || url.password().is_some() {
        return bad("it must not carry a user name or password");
    }
    let loopback = match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip == std::net::Ipv4Addr::LOCALHOST,
        Some(Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
        None => return bad("it has no host"),
    };
    if url.scheme() == "http" && !loopback {
        return bad("plain http is accepted only on 127.0.0.1, ::1 or localhost; use https");
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

    #[test]
    fn web_urls_are_https_or_loopback_http() {
        for good in [
            "https://photos.example.com/profilephoto/72930000000Ccne/F",
            "https://login.example.com/bjensen?tab=1#top",
            "HTTPS://Example.COM",
            "https://[2001:db8::1]:8443/p.png",
            "http://127.0.0.1:8080/me.png",
            "http://localhost/me",
            "http://[::1]/me",
        ] {
            assert_eq!(check_web_url(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "javascript:alert(1)",
            "JavaScript:alert(document.cookie)",
            " javascript:alert(1)",
            "java\tscript:alert(1)",
            "data:image/png;base64,iVBORw0KGgo=",
            "vbscript:msgbox(1)",
            "file:///etc/passwd",
            "ftp://example.com/me.png",
            "//example.com/me.png",
            "/me.png",
            "example.com/me.png",
            "https:example.com",
            "https:///example.com",
            "https://",
            "http://example.com/me.png",
            "http://127.0.0.2/me.png",
            "http://localhost.example.com/me.png",
            "https://user:pw@example.com/",
            "https://trusted.example@evil.example/",
            "https://exa mple.com/",
            "https://example.com/\n",
        ] {
            assert!(check_web_url(bad).is_err(), "{bad:?}");
        }
        assert!(check_web_url(&format!("https://example.com/{}", "a".repeat(2048))).is_err());
    }
}
