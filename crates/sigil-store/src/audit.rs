//! The audit trail: sign-in attempts, SCIM writes, the admin API's
//! decisions and password resets, each one row saying who, what, from
//! where and how it ended.
//!
//! What a record means belongs to its callers; the store keeps the rows,
//! bounds their text, lists them newest first a page at a time, and
//! forgets the old ones ([`purge`]). A record is one INSERT, run inside the
//! caller's own write where there is one (a SCIM change and its record
//! commit or roll back together), so auditing adds no transaction of its
//! own to a write that succeeds.
//!
//! Nothing secret is ever given to [`record`]: no password, token, secret
//! or request body, only names, ids, addresses and outcome codes.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::AnyConnection;
use crate::error::StoreError;
use crate::schema::audit_events;

/// The most characters kept of a text value; a username a sign-in typed
/// is kept as typed, up to this.
pub const MAX_TEXT_CHARS: usize = 256;

/// The most records one page lists.
pub const MAX_PAGE: i64 = 500;

/// What kind of event a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A sign-in attempt at the sign-in form.
    SignIn,
    /// A SCIM write: POST, PUT, PATCH, DELETE on Users or Groups, or one
    /// operation of a `/Bulk` request.
    ScimWrite,
    /// A decision of the admin API: an operation allowed or denied (client,
    /// API token, role and grant changes among them).
    AdminDecision,
    /// A new password posted through a one-time reset link.
    PasswordReset,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 4] = [Kind::SignIn, Kind::ScimWrite, Kind::AdminDecision, Kind::PasswordReset];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::SignIn => "sign_in",
            Kind::ScimWrite => "scim_write",
            Kind::AdminDecision => "admin_decision",
            Kind::PasswordReset => "password_reset",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            format!("`{s}` is not an audit event kind (sign_in, scim_write, admin_decision, password_reset)")
        })
    }
}

/// An event to record. Every text is cut to [`MAX_TEXT_CHARS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// Its kind.
    pub kind: Kind,
    /// Who: a user id, a client id, or the username a sign-in typed.
    pub actor: Option<String>,
    /// The OAuth client of the sign-in or of the token.
    pub client_id: Option<String>,
    /// The client address, as the server resolved it.
    pub address: Option<String>,
    /// What was asked (`sign_in`, or an operation of the table of rights).
    pub operation: String,
    /// The resource type written (`User`, `Group`, ...).
    pub resource_type: Option<String>,
    /// The resource's id, when known.
    pub resource_id: Option<String>,
    /// The HTTP method.
    pub method: Option<String>,
    /// `success`, or a reason code.
    pub outcome: String,
    /// The request's id, as logged and echoed in `X-Request-Id`.
    pub request_id: Option<String>,
}

impl NewEvent {
    /// An event of `kind` doing `operation`, outcome `success`, nothing else
    /// known yet.
    pub fn new(kind: Kind, operation: impl Into<String>) -> Self {
        Self {
            kind,
            actor: None,
            client_id: None,
            address: None,
            operation: operation.into(),
            resource_type: None,
            resource_id: None,
            method: None,
            outcome: SUCCESS.to_owned(),
            request_id: None,
        }
    }

    /// The same event with `outcome`.
    #[must_use]
    pub fn with_outcome(mut self, outcome: impl Into<String>) -> Self {
        self.outcome = outcome.into();
        self
    }
}

/// The outcome of what went as asked.
pub const SUCCESS: &str = "success";

/// A recorded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Its id (a UUID).
    pub id: String,
    /// When it happened.
    pub at: NaiveDateTime,
    /// The stored kind's name.
    pub kind: String,
    /// Who.
    pub actor: Option<String>,
    /// The OAuth client.
    pub client_id: Option<String>,
    /// From where.
    pub address: Option<String>,
    /// What was asked.
    pub operation: String,
    /// The resource type.
    pub resource_type: Option<String>,
    /// The resource's id.
    pub resource_id: Option<String>,
    /// The HTTP method.
    pub method: Option<String>,
    /// How it ended.
    pub outcome: String,
    /// The request's id.
    pub request_id: Option<String>,
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
struct Row {
    id: String,
    at: NaiveDateTime,
    kind: String,
    actor: Option<String>,
    client_id: Option<String>,
    address: Option<String>,
    operation: String,
    resource_type: Option<String>,
    resource_id: Option<String>,
    method: Option<String>,
    outcome: String,
    request_id: Option<String>,
}

impl Row {
    fn into_event(self) -> Event {
        Event {
            id: self.id,
            at: self.at,
            kind: self.kind,
            actor: self.actor,
            client_id: self.client_id,
            address: self.address,
            operation: self.operation,
            resource_type: self.resource_type,
            resource_id: self.resource_id,
            method: self.method,
            outcome: self.outcome,
            request_id: self.request_id,
        }
    }
}

/// `text` cut to [`MAX_TEXT_CHARS`] characters, so an attacker typing a
/// megabyte as a username stores a bounded row.
fn bounded(text: String) -> String {
    match text.char_indices().nth(MAX_TEXT_CHARS) {
        Some((end, _)) => text[..end].to_owned(),
        None => text,
    }
}

/// Records `event` at `now`: one INSERT, in the caller's transaction.
pub fn record(conn: &mut AnyConnection, event: NewEvent, now: NaiveDateTime) -> Result<(), StoreError> {
    let row = Row {
        id: crate::new_id(),
        at: now,
        kind: event.kind.as_str().to_owned(),
        actor: event.actor.map(bounded),
        client_id: event.client_id.map(bounded),
        address: event.address.map(bounded),
        operation: bounded(event.operation),
        resource_type: event.resource_type.map(bounded),
        resource_id: event.resource_id.map(bounded),
        method: event.method.map(bounded),
        outcome: bounded(event.outcome),
        request_id: event.request_id.map(bounded),
    };
    diesel::insert_into(audit_events::table).values(&row).execute(conn)?;
    Ok(())
}

/// Which records to list; every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only this kind.
    pub kind: Option<Kind>,
    /// Only this actor, exactly.
    pub actor: Option<String>,
    /// Only this outcome, exactly.
    pub outcome: Option<String>,
    /// At or after this time.
    pub since: Option<NaiveDateTime>,
    /// Before this time.
    pub until: Option<NaiveDateTime>,
}

/// Where a page begins: right after (older than) the record with this time
/// and id, the last of the previous page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    /// The record's time.
    pub at: NaiveDateTime,
    /// Its id, which orders records of the same time.
    pub id: String,
}

/// Up to `limit` (at most [`MAX_PAGE`]) records matching `filter`, newest
/// first (by time, then id), starting after `after`: keyset paging, so a
/// page costs the same however deep it is, and records added meanwhile
/// never shift a page.
pub fn list(
    conn: &mut AnyConnection,
    filter: &Filter,
    after: Option<&After>,
    limit: i64,
) -> Result<Vec<Event>, StoreError> {
    let mut query = audit_events::table.into_boxed();
    if let Some(kind) = filter.kind {
        query = query.filter(audit_events::kind.eq(kind.as_str()));
    }
    if let Some(actor) = &filter.actor {
        query = query.filter(audit_events::actor.eq(actor.clone()));
    }
    if let Some(outcome) = &filter.outcome {
        query = query.filter(audit_events::outcome.eq(outcome.clone()));
    }
    if let Some(since) = filter.since {
        query = query.filter(audit_events::at.ge(since));
    }
    if let Some(until) = filter.until {
        query = query.filter(audit_events::at.lt(until));
    }
    if let Some(after) = after {
        query = query.filter(
            audit_events::at
                .lt(after.at)
                .or(audit_events::at.eq(after.at).and(audit_events::id.lt(after.id.clone()))),
        );
    }
    let rows: Vec<Row> = query
        .order((audit_events::at.desc(), audit_events::id.desc()))
        .limit(limit.clamp(1, MAX_PAGE))
        .select(Row::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(Row::into_event).collect())
}

/// Deletes the records older than `before`; returns how many. One DELETE
/// over the time index.
pub fn purge(conn: &mut AnyConnection, before: NaiveDateTime) -> Result<usize, StoreError> {
    Ok(diesel::delete(audit_events::table.filter(audit_events::at.lt(before))).execute(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_bounded_on_a_character_boundary() {
        assert_eq!(bounded("alice".into()), "alice");
        let long = "é".repeat(MAX_TEXT_CHARS + 10);
        assert_eq!(bounded(long).chars().count(), MAX_TEXT_CHARS);
    }

    #[test]
    fn kinds_round_trip() {
        for kind in Kind::ALL {
            assert_eq!(kind.as_str().parse::<Kind>(), Ok(kind));
        }
        assert!("login".parse::<Kind>().is_err());
    }
}
