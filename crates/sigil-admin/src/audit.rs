//! `/admin/audit`: the audit trail (sign-in attempts, SCIM writes, the
//! admin API's decisions), newest first, a page at a time, for auditors
//! and platform operators (`admin.audit.read`).
//!
//! Paging is by keyset: `next_cursor` names the last record of a page (its
//! time and id), and the next page starts right after it, so records added
//! meanwhile never shift a page.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDateTime, SecondsFormat};
use serde::{Deserialize, Serialize};
use sigil_access::Operation;
use sigil_store::audit::{self, After, Event, Filter, Kind, MAX_PAGE};
use utoipa::{IntoParams, ToSchema};

use crate::auth::authorize;
use crate::error::ErrorBody;
use crate::{AdminContext, AdminError};

/// A page's size when the request names none.
const DEFAULT_PAGE: i64 = 100;

/// The query parameters; any other is refused, so a misspelt filter never
/// silently lists everything.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct Params {
    /// Only this kind: `sign_in`, `scim_write`, `admin_decision` or
    /// `password_reset`.
    kind: Option<String>,
    /// Only this actor: a user id, a client id, or a username as typed.
    actor: Option<String>,
    /// Only this outcome: `success`, or a reason code such as `bad_password`.
    outcome: Option<String>,
    /// Only records at or after this RFC 3339 time.
    since: Option<String>,
    /// Only records before this RFC 3339 time.
    until: Option<String>,
    /// Records per page, 1 to 500 (100 when absent).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// One record of the audit trail.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EventView {
    id: String,
    /// RFC 3339, always with microseconds, so times sort as text too.
    time: String,
    /// `sign_in`, `scim_write`, `admin_decision` or `password_reset`.
    kind: String,
    /// A user id, a client id, or the username a sign-in typed.
    actor: Option<String>,
    /// The OAuth client of the sign-in or of the token.
    client_id: Option<String>,
    /// The client address, as the server resolved it (trusted proxies).
    address: Option<String>,
    /// `sign_in`, or the operation of the table of rights.
    operation: String,
    resource_type: Option<String>,
    resource_id: Option<String>,
    method: Option<String>,
    /// `success`, or a reason code.
    outcome: String,
    /// The request's id, as logged and echoed in `X-Request-Id`.
    request_id: Option<String>,
}

/// A page of the audit trail, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EventPage {
    events: Vec<EventView>,
    /// Where the next page starts; null on the last page.
    next_cursor: Option<String>,
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

fn view(event: &Event) -> EventView {
    EventView {
        id: event.id.clone(),
        time: event.at.and_utc().to_rfc3339_opts(SecondsFormat::Micros, true),
        kind: event.kind.clone(),
        actor: event.actor.clone(),
        client_id: event.client_id.clone(),
        address: event.address.clone(),
        operation: event.operation.clone(),
        resource_type: event.resource_type.clone(),
        resource_id: event.resource_id.clone(),
        method: event.method.clone(),
        outcome: event.outcome.clone(),
        request_id: event.request_id.clone(),
    }
}

/// GET /admin/audit[?kind=&actor=&outcome=&since=&until=&limit=&cursor=].
#[utoipa::path(get, path = "/admin/audit", tag = "audit", operation_id = "audit_list", params(Params),
    extensions(("x-sigil-operation" = json!("admin.audit.read"))),
    responses((status = 200, description = "A page of the audit trail, newest first", body = EventPage),
        (status = 400, description = "An unknown parameter or a bad value", body = ErrorBody),
        crate::openapi::Refusals))]
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
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(EventPage { events: events.iter().map(view).collect(), next_cursor: next.flatten() }))
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
