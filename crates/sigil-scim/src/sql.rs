//! `column IN (SELECT key FROM table WHERE condition)` with a condition
//! built at run time.
//!
//! Diesel's own `eq_any(subquery)` cannot take a boxed subquery through the
//! store's multi-backend connection (each backend must see every part of the
//! query as its own type, and a boxed part is only a multi-backend one), so
//! this expression writes the subquery itself and lets the boxed condition
//! write its part, binds included, through the same pass.

use std::marker::PhantomData;

use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping, is_aggregate};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Bool, Nullable};
use diesel::{BoxableExpression, QueryResult};
use sigil_store::users::Backend;

/// A boxed condition on table `T`.
pub(crate) type Condition<T> = Box<dyn BoxableExpression<T, Backend, SqlType = Nullable<Bool>>>;

/// `outer_table.outer_column IN (SELECT table.key FROM table WHERE condition)`.
pub(crate) struct InSubquery<T> {
    outer: (&'static str, &'static str),
    inner: (&'static str, &'static str),
    condition: Condition<T>,
    table: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for InSubquery<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InSubquery").field("outer", &self.outer).field("inner", &self.inner).finish()
    }
}

impl<T> InSubquery<T> {
    /// `outer.0.outer.1 IN (SELECT inner.0.inner.1 FROM inner.0 WHERE condition)`.
    pub(crate) fn new(
        outer: (&'static str, &'static str),
        inner: (&'static str, &'static str),
        condition: Condition<T>,
    ) -> Self {
        Self { outer, inner, condition, table: PhantomData }
    }
}

impl<T> Expression for InSubquery<T> {
    type SqlType = Bool;
}

impl<T> QueryFragment<Backend> for InSubquery<T> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Backend>) -> QueryResult<()> {
        let (outer_table, outer_column) = self.outer;
        let (inner_table, inner_column) = self.inner;
        out.push_identifier(outer_table)?;
        out.push_sql(".");
        out.push_identifier(outer_column)?;
        out.push_sql(" IN (SELECT ");
        out.push_identifier(inner_table)?;
        out.push_sql(".");
        out.push_identifier(inner_column)?;
        out.push_sql(" FROM ");
        out.push_identifier(inner_table)?;
        out.push_sql(" WHERE ");
        self.condition.walk_ast(out.reborrow())?;
        out.push_sql(")");
        Ok(())
    }
}

impl<T> QueryId for InSubquery<T> {
    type QueryId = ();
    // The SQL depends on the condition, so prepared statements are not
    // cached by type.
    const HAS_STATIC_QUERY_ID: bool = false;
}

// The expression names its outer column by name; `InSubquery::new` is only
// called with the table the condition is attached to.
impl<T, QS> AppearsOnTable<QS> for InSubquery<T> {}
impl<T, QS> SelectableExpression<QS> for InSubquery<T> {}

impl<T> ValidGrouping<()> for InSubquery<T> {
    type IsAggregate = is_aggregate::Never;
}
