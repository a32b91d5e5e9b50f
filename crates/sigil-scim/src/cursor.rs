//! Cursors of RFC 9865 cursor paging: an opaque token naming a position in
//! a walk (base64url JSON). It carries the record's value in the sort
//! attribute and its id, so any node can continue a walk another began, and
//! a walk stays consistent while records are added or removed elsewhere in
//! the order. It also names its walk (resource type, sort attribute and
//! direction, a digest of the filter), so that a cursor replayed with other
//! parameters is refused instead of moving through another order. A forged
//! cursor only moves the walk: its values are bound as query parameters.
//!
//! A value is a JSON string (text, as stored: folded for `userName`), an
//! integer (a time, in microseconds since the epoch, the precision times
//! are stored with) or `null` (no value, or the id order).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::DateTime;
use serde_json::{Value, json};
use sigil_store::keyset::SortKey;

use crate::{Position, ScimError, Walk};

/// The longest text a cursor carries in one field; longer is not ours.
const MAX_FIELD: usize = 4096;

/// The token for `position`.
pub(crate) fn encode(position: &Position) -> String {
    let key = match &position.key {
        SortKey::Text(text) => json!(text),
        SortKey::Time(time) => json!(time.and_utc().timestamp_micros()),
        SortKey::Absent => Value::Null,
    };
    let Walk { resource, sort, descending, filter } = &position.walk;
    let body = json!({
        "r": resource,
        "s": sort,
        "d": descending,
        "q": filter,
        "k": key,
        "i": position.id,
        "f": position.forward,
    });
    URL_SAFE_NO_PAD.encode(body.to_string())
}

/// The position `token` names; `invalidCursor` (RFC 9865 §2.1) when it
/// names none. Whether it belongs to the request's walk is checked by the
/// search, which knows the walk.
pub(crate) fn decode(token: &str) -> Result<Position, ScimError> {
    let invalid = || ScimError::InvalidCursor("the cursor is not one this service issued".into());
    let bytes = URL_SAFE_NO_PAD.decode(token.trim()).map_err(|_| invalid())?;
    let body: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    let text = |name: &str, empty: bool| {
        body[name]
            .as_str()
            .filter(|t| (empty || !t.is_empty()) && t.len() <= MAX_FIELD)
            .map(str::to_owned)
            .ok_or_else(invalid)
    };
    let flag = |name: &str| body[name].as_bool().ok_or_else(invalid);
    let key = match &body["k"] {
        Value::String(text) if text.len() <= MAX_FIELD => SortKey::Text(text.clone()),
        Value::Number(micros) => SortKey::Time(
            micros.as_i64().and_then(DateTime::from_timestamp_micros).ok_or_else(invalid)?.naive_utc(),
        ),
        Value::Null if body.get("k").is_some() => SortKey::Absent,
        _ => return Err(invalid()),
    };
    let walk = Walk {
        resource: text("r", false)?,
        sort: text("s", false)?,
        descending: flag("d")?,
        filter: text("q", true)?,
    };
    let id = text("i", false)?;
    if id.len() > 255 {
        return Err(invalid());
    }
    Ok(Position { walk, key, id, forward: flag("f")? })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(key: SortKey, descending: bool, filter: &str, forward: bool) -> Position {
        let walk = Walk {
            resource: "User".into(),
            sort: "name.familyName".into(),
            descending,
            filter: filter.into(),
        };
        Position { walk, key, id: "0b8f3c2e-5c1d-4b7a-9f0e-2d6c1a3b4e5f".into(), forward }
    }

    #[test]
    fn cursors_round_trip_every_kind_of_value() {
        let time = DateTime::from_timestamp_micros(1_795_000_000_123_456).unwrap().naive_utc();
        for position in [
            position(SortKey::Text("jensen".into()), false, "", true),
            position(SortKey::Text(String::new()), true, "0123456789abcdef0123456789abcdef", false),
            position(SortKey::Text("ünïcödé \"quoted\" & spaced".into()), false, "", false),
            position(SortKey::Time(time), true, "", true),
            position(SortKey::Absent, false, "", true),
        ] {
            let token = encode(&position);
            // RFC 9865 §2: only unreserved characters (RFC 3986 §2.3).
            assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)), "{token}");
            assert_eq!(decode(&token).unwrap(), position);
        }
    }

    #[test]
    fn cursors_that_were_not_issued_are_refused() {
        let good = json!({"r": "User", "s": "userName", "d": false, "q": "", "k": "a", "i": "x", "f": true});
        let with = |name: &str, value: Value| {
            let mut body = good.clone();
            body[name] = value;
            URL_SAFE_NO_PAD.encode(body.to_string())
        };
        let without = |name: &str| {
            let mut body = good.clone();
            body.as_object_mut().unwrap().remove(name);
            URL_SAFE_NO_PAD.encode(body.to_string())
        };
        assert!(decode(&URL_SAFE_NO_PAD.encode(good.to_string())).is_ok());
        let bad = [
            String::new(),
            "not base64!".into(),
            "e30".into(), // {}
            URL_SAFE_NO_PAD.encode("[1,2]"),
            URL_SAFE_NO_PAD.encode(r#"{"t":1795000000123456,"i":"a","f":true}"#), // creation order only
            with("k", json!(true)),
            with("k", json!(1.5)),
            with("k", json!({"a": 1})),
            with("k", json!(i64::MAX)),
            with("k", json!("x".repeat(MAX_FIELD + 1))),
            without("k"),
            with("i", json!("")),
            with("i", json!("x".repeat(256))),
            with("i", json!(7)),
            with("f", json!("true")),
            with("d", Value::Null),
            with("s", json!("")),
            without("r"),
            with("q", json!(0)),
        ];
        for token in bad {
            assert!(matches!(decode(&token), Err(ScimError::InvalidCursor(_))), "{token}");
        }
    }
}
