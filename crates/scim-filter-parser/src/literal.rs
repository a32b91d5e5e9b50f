//! JSON string literals (RFC 8259 §7), which RFC 7644 §3.4.2.2 names as the
//! form of `compValue` strings.
//!
//! Hand-written rather than built from nom's `escaped_transform` so that each
//! mistake (a bad escape, a lone surrogate, a raw control character) is
//! reported at its own position with its own explanation.

use crate::parse::{PResult, fail};

/// Parses `"..."` at the start of `i`, resolving every escape.
pub(crate) fn json_string(i: &str) -> PResult<'_, String> {
    let Some(body) = i.strip_prefix('"') else {
        return fail(i, "'\"' to start a string");
    };
    // Fast path: most values have no escapes, so one scan and one copy.
    let plain_len = body.bytes().position(|b| b == b'"' || b == b'\\' || b < 0x20).unwrap_or(body.len());
    let mut out = String::with_capacity(plain_len + 8);
    out.push_str(&body[..plain_len]);
    let mut rest = &body[plain_len..];
    loop {
        let Some(c) = rest.chars().next() else {
            return fail(rest, "'\"' to close the string");
        };
        match c {
            '"' => return Ok((&rest[1..], out)),
            '\\' => {
                let (r, decoded) = escape(rest)?;
                out.push(decoded);
                rest = r;
            }
            c if u32::from(c) < 0x20 => {
                return fail(
                    rest,
                    "a printable character; control characters must be escaped in a JSON string",
                );
            }
            c => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
}

/// One escape sequence at `\`, with `\uD83D\uDE00` pairs joined into one
/// character.
fn escape(i: &str) -> PResult<'_, char> {
    const EXPECT_ESCAPE: &str = "an escape: \\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\u and four hex digits";
    let b = i.as_bytes();
    let simple = match b.get(1) {
        Some(b'"') => '"',
        Some(b'\\') => '\\',
        Some(b'/') => '/',
        Some(b'b') => '\u{8}',
        Some(b'f') => '\u{c}',
        Some(b'n') => '\n',
        Some(b'r') => '\r',
        Some(b't') => '\t',
        Some(b'u') => return unicode_escape(i),
        _ => return fail(i, EXPECT_ESCAPE),
    };
    Ok((&i[2..], simple))
}

fn hex4(i: &str) -> Option<u32> {
    let digits = i.get(2..6)?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(digits, 16).ok()
}

fn unicode_escape(i: &str) -> PResult<'_, char> {
    let Some(first) = hex4(i) else {
        return fail(i, "four hex digits after \\u");
    };
    let rest = &i[6..];
    match first {
        0xD800..=0xDBFF => {
            // RFC 8259 §7: characters outside the BMP are written as a
            // surrogate pair; half a pair is not a character.
            let low = if rest.starts_with("\\u") { hex4(rest) } else { None };
            match low {
                Some(low @ 0xDC00..=0xDFFF) => {
                    let code = 0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00);
                    match char::from_u32(code) {
                        Some(c) => Ok((&rest[6..], c)),
                        None => fail(i, "a valid surrogate pair"),
                    }
                }
                _ => fail(
                    i,
                    "a high surrogate (\\uD800-\\uDBFF) to be followed by a low one (\\uDC00-\\uDFFF)",
                ),
            }
        }
        0xDC00..=0xDFFF => fail(i, "a character, not an unpaired low surrogate"),
        code => match char::from_u32(code) {
            Some(c) => Ok((rest, c)),
            None => fail(i, "a valid \\u escape"),
        },
    }
}
