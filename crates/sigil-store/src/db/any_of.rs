//! `column IN (list)` written so that its SQL does not depend on the
//! list's length, and so is prepared once per connection.
//!
//! Diesel's `eq_any` writes `IN (?, ?, …)` on SQLite: one placeholder per
//! value, so each length is another statement, and diesel marks the query
//! as not cacheable: every call prepares it again. Preparing a statement
//! costs SQLite several times what running these indexed look-ups does
//! (a page of users ran six such statements, about 0.69M instructions of
//! preparation against 0.07M of work). [`any_of`] binds the whole list as
//! one value instead:
//!
//! - SQLite: `column IN (SELECT value FROM json_each(?))`, the list as a
//!   JSON array; the planner still searches the column's index once per
//!   value (`SEARCH … USING INDEX … LIST SUBQUERY`);
//! - PostgreSQL: `column = ANY(?)`, the list as a `text[]`, which is what
//!   diesel writes there already.

use std::marker::PhantomData;

use diesel::expression::{AppearsOnTable, Expression, ValidGrouping};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Array, Bool, Text};
use diesel::sqlite::Sqlite;
use diesel::{QueryResult, SelectableExpression};

use super::AnyConnection;

/// The backend of [`AnyConnection`].
type MultiBackend = <AnyConnection as diesel::Connection>::Backend;

/// `column IN values`, one prepared statement whatever the number of
/// values (see the module's documentation). `column` is a text column,
/// nullable or not; an empty list matches nothing.
pub(crate) fn any_of<C, S: AsRef<str>>(column: C, values: &[S]) -> AnyOf<C> {
    let values: Vec<String> = values.iter().map(|v| v.as_ref().to_owned()).collect();
    let json = serde_json::to_string(&values).unwrap_or_else(|_| "[]".to_owned());
    AnyOf { column, values, json }
}

/// See [`any_of`].
#[derive(Debug, Clone)]
pub(crate) struct AnyOf<C> {
    column: C,
    /// Bound on PostgreSQL.
    values: Vec<String>,
    /// Bound on SQLite: `values` as a JSON array of strings.
    json: String,
}

impl<C: Expression> Expression for AnyOf<C> {
    type SqlType = Bool;
}

impl<C: AppearsOnTable<QS>, QS> AppearsOnTable<QS> for AnyOf<C> where Self: Expression {}

impl<C: SelectableExpression<QS>, QS> SelectableExpression<QS> for AnyOf<C> where Self: AppearsOnTable<QS> {}

impl<C: ValidGrouping<GB>, GB> ValidGrouping<GB> for AnyOf<C> {
    type IsAggregate = C::IsAggregate;
}

/// The statement's identity for diesel's cache: the column's, since the
/// SQL is the same for every list.
#[derive(Debug)]
pub(crate) struct AnyOfId<C>(PhantomData<C>);

impl<C: QueryId> QueryId for AnyOf<C> {
    type QueryId = AnyOfId<C::QueryId>;
    const HAS_STATIC_QUERY_ID: bool = C::HAS_STATIC_QUERY_ID;
}

impl<C: QueryFragment<Sqlite>> QueryFragment<Sqlite> for AnyOf<C> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (SELECT value FROM json_each(");
        out.push_bind_param::<Text, _>(&self.json)?;
        out.push_sql("))");
        Ok(())
    }
}

impl<C: QueryFragment<Pg>> QueryFragment<Pg> for AnyOf<C> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" = ANY(");
        out.push_bind_param::<Array<Text>, _>(&self.values)?;
        out.push_sql(")");
        Ok(())
    }
}

impl<C: QueryFragment<Sqlite> + QueryFragment<Pg>> QueryFragment<MultiBackend> for AnyOf<C> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        MultiBackend::walk_variant_ast(self, pass)
    }
}
