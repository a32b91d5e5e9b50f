//! Cursors of RFC 9865 cursor paging: an opaque token naming a position in
//! creation order. It carries the creation time and id of the record it
//! points at (base64url JSON), so any node can continue a walk another
//! began, and a walk stays consistent while records are added: they come
//! after the cursor. A forged cursor only moves the walk; its values are
//! bound as query parameters.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::DateTime;
use serde_json::{Value, json};

use crate::{Position, ScimError};

/// The token for `position`.
pub(crate) fn encode(position: &Position) -> String {
    let body = json!({
        "t": position.created.and_utc().timestamp_micros(),
        "i": position.id,
        "f": position.forward,
    });
    URL_SAFE_NO_PAD.encode(body.to_string())
}

/// The position `token` names; `invalidCursor` when it names none.
pub(crate) fn decode(token: &str) -> Result<Position, ScimError> {
    let invalid = || ScimError::InvalidCursor("the cursor is not one this service issued".into());
    let bytes = URL_SAFE_NO_PAD.decode(token.trim()).map_err(|_| invalid())?;
    let body: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    let created =
        body["t"].as_i64().and_then(DateTime::from_timestamp_micros).ok_or_else(invalid)?.naive_utc();
    let id = body["i"].as_str().filter(|i| !i.is_empty() && i.len() <= 255).ok_or_else(invalid)?.to_owned();
    let forward = body["f"].as_bool().ok_or_else(invalid)?;
    Ok(Position { created, id, forward })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let position = Position {
            created: DateTime::from_timestamp_micros(1_795_000_000_123_456).unwrap().naive_utc(),
            id: "0b8f3c2e".into(),
            forward: false,
        };
        assert_eq!(decode(&encode(&position)).unwrap(), position);
        for bad in ["", "not base64!", "e30", &URL_SAFE_NO_PAD.encode(r#"{"t":"x","i":"a","f":true}"#)] {
            assert!(matches!(decode(bad), Err(ScimError::InvalidCursor(_))), "{bad}");
        }
    }
}
