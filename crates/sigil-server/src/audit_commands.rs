//! `sigil audit list`: the audit trail (sign-in attempts, SCIM writes,
//! admin decisions) read from the store on this machine, newest first, as
//! `GET /admin/audit` shows it over HTTP.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat};
use serde_json::{Value, json};
use sigil_store::audit::{self, Event, Filter, Kind, MAX_PAGE};

use crate::cli::AuditList;
use crate::commands::{open_store, print_json, print_table};
use crate::config::Config;

/// `--kind`: one of the stored kinds.
pub(crate) fn parse_kind(text: &str) -> Result<Kind, String> {
    text.parse()
}

/// `--since` / `--until`: an RFC 3339 time, or a date (its midnight, UTC).
pub(crate) fn parse_time(text: &str) -> Result<NaiveDateTime, String> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.naive_utc());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().and_then(|date| date.and_hms_opt(0, 0, 0)).ok_or_else(
        || format!("`{text}` is neither an RFC 3339 time (2026-01-31T08:00:00Z) nor a date (2026-01-31)"),
    )
}

fn time(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// `sigil audit list`.
pub(crate) fn list(config: &Config, args: AuditList) -> anyhow::Result<()> {
    let store = open_store(config)?;
    let filter = Filter {
        kind: args.kind,
        actor: args.actor,
        outcome: args.outcome,
        since: args.since,
        until: args.until,
    };
    let limit = i64::from(args.limit.min(u32::try_from(MAX_PAGE).unwrap_or(u32::MAX)));
    let events = store.read_blocking(move |c| audit::list(c, &filter, None, limit))?;
    if args.output.json {
        return print_json(&Value::Array(events.iter().map(view).collect()));
    }
    let rows: Vec<Vec<String>> = events
        .into_iter()
        .map(|e| {
            let resource = match (e.resource_type, e.resource_id) {
                (Some(kind), Some(id)) => format!("{kind}/{id}"),
                (kind, id) => kind.or(id).unwrap_or_default(),
            };
            vec![
                time(e.at),
                e.kind,
                e.actor.unwrap_or_default(),
                e.client_id.unwrap_or_default(),
                e.address.unwrap_or_default(),
                e.operation,
                resource,
                e.method.unwrap_or_default(),
                e.outcome,
            ]
        })
        .collect();
    print_table(
        &["TIME", "KIND", "ACTOR", "CLIENT", "ADDRESS", "OPERATION", "RESOURCE", "METHOD", "OUTCOME"],
        &rows,
    );
    Ok(())
}

/// An event as JSON: the admin API's field names.
fn view(event: &Event) -> Value {
    json!({
        "id": event.id,
        "time": time(event.at),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc_3339_or_dates() {
        let midnight = NaiveDate::from_ymd_opt(2026, 1, 31).unwrap().and_hms_opt(0, 0, 0).unwrap();
        assert_eq!(parse_time("2026-01-31").unwrap(), midnight);
        assert_eq!(parse_time("2026-01-31T01:00:00+01:00").unwrap(), midnight);
        for bad in ["", "yesterday", "2026-13-01", "31/01/2026"] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_kind("sign_in"), Ok(Kind::SignIn));
        assert!(parse_kind("login").is_err());
    }
}
