//! `/admin/audit`: the audit trail (sign-in attempts, SCIM writes, the
//! admin API's decisions), newest first, a page at a time, for auditors
//! and platform operators (`admin.audit.read`).
//!
//! Paging is by keyset: `next_cursor` names the last record of a page (its
//! time and id), and the next page starts right after it, so records added
//! meanwhile never shift a page.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDateTime, SecondsFormat};
use serde::Deserialize;
use serde_json::{Value, json};
use sigil_access::Operation;
use sigil_store::audit::{self, After, Event, Filter, Kind, MAX_PAGE};

use crate::auth::authorize;
use crate::{AdminContext, AdminError};

/// A page's size when the request names none.
const DEFAULT_PAGE: i64 = 100;

/// The query parameters; any other is refused, so a misspelt filter never
/// silently lists everything.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    kind: Option<String>,
    actor: Option<String>,
    outcome: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

fn time(name: &str, value: &str) -> Result<NaiveDateTime, AdminError> {
    DateTime::parse_from_rfc3339(value).map(|t| t.naive_utc()).map_err(|_| {
        AdminError::Invalid(format!("`{name}` must be an RFC 3339 time, such as 2026-01-31T00:00:00Z"))
    })
}

/// A cursor: the last record's time in microseconds since the epoch, a
/// dot, and its id.
fn cursor_of(event: &Event) -> String {
    format!("{}.{}", event.at.and_utc().timestamp_micros(), event.id)
}

fn parse_cursor(cursor: &str) -> Result<After, AdminError> {
    let refused = || AdminError::Invalid("`cursor` is not one this endpoint returned".into());
    let (micros, id) = cursor.split_once('.').ok_or_else(refused)?;
    let micros: i64 = micros.parse().map_err(|_| refused())?;
    let at = DateTime::from_timestamp_micros(micros).ok_or_else(refused)?.naive_utc();
    if id.is_empty() || id.len() > 64 {
        return Err(refused());
    }
    Ok(After { at, id: id.to_owned() })
}

fn view(event: &Event) -> Value {
    json!({
        "id": event.id,
        // Microseconds always, so times sort as text too.
        "time": event.at.and_utc().to_rfc3339_opts(SecondsFormat::Micros, true),
        "kind": event.kind,
        "actor": event.actor,
        "client_id": event.client_id,
        "address": event.address,
        "operation": event.operation,
        "resource_type": event.resource_type,
        "resource_id": event.resource_id,
        "method": event.method,
        "outcome": event.outcome,
        "request_id": event.request_id,
    })
}

/// GET /admin/audit[?kind=&actor=&outcome=&since=&until=&limit=&cursor=].
pub(crate) async fn list(ctx: web::Data<AdminContext>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    authorize(&ctx, &req, Operation::ReadAudit).await?;
    let params = web::Query::<Params>::from_query(req.query_string())
        .map_err(|e| AdminError::Invalid(format!("bad query parameters: {e}")))?
        .into_inner();
    let filter = Filter {
        kind: params.kind.as_deref().map(str::parse::<Kind>).transpose().map_err(AdminError::Invalid)?,
        actor: params.actor,
        outcome: params.outcome,
        since: params.since.as_deref().map(|t| time("since", t)).transpose()?,
        until: params.until.as_deref().map(|t| time("until", t)).transpose()?,
    };
    let limit = params.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(AdminError::Invalid(format!("`limit` must be between 1 and {MAX_PAGE}")));
    }
    let after = params.cursor.as_deref().map(parse_cursor).transpose()?;
    let events = ctx.store.read(move |c| audit::list(c, &filter, after.as_ref(), limit)).await?;
    // A full page may have a next one; a short page is the last.
    let next =
        (i64::try_from(events.len()).unwrap_or(i64::MAX) == limit).then(|| events.last().map(cursor_of));
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(json!({
        "events": events.iter().map(view).collect::<Vec<_>>(),
        "next_cursor": next.flatten(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_as_its_record() {
        let at = DateTime::from_timestamp_micros(1_765_000_000_123_456).unwrap().naive_utc();
        let event = Event {
            id: "0b0c".into(),
            at,
            kind: "sign_in".into(),
            actor: None,
            client_id: None,
            address: None,
            operation: "sign_in".into(),
            resource_type: None,
            resource_id: None,
            method: None,
            outcome: "success".into(),
            request_id: None,
        };
        assert_eq!(parse_cursor(&cursor_of(&event)).unwrap(), After { at, id: "0b0c".into() });
        assert!(parse_cursor("nonsense").is_err());
        assert!(parse_cursor("12.").is_err());
    }
}
