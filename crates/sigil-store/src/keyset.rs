//! Keyset paging: a page that starts right after (or ends right before) a
//! record named by its value in the sort column and its id, instead of at
//! an offset. Records added or removed elsewhere in the order then neither
//! repeat nor skip records on later pages.
//!
//! The ORDER BY of a search and the condition that starts a page after a
//! record are both written here, from one description of the sort column
//! ([`SortColumn`]), so that the two cannot disagree: a walk visits every
//! record exactly once, in order, in either direction, on either backend.
//!
//! **The order.** Records are ordered by the sort column, then by id in the
//! same direction, so ties on the column keep one fixed order. A nullable
//! column is ordered by `(column IS NULL)` first, which puts records
//! without a value last whether the order ascends or descends, on both
//! backends (SQLite sorts NULL first and PostgreSQL last when left to
//! themselves). A page walked backwards is read in exactly the reverse
//! order and turned round, so the condition only ever asks for what comes
//! after a record in the order the query runs.
//!
//! Values from a position are bound as parameters: a forged position can
//! only move a walk, never change the query.

use chrono::NaiveDateTime;
use diesel::dsl::{Asc, Desc};
use diesel::expression::BoxableExpression;
use diesel::expression::TypedExpressionType;
use diesel::prelude::*;
use diesel::query_dsl::methods::{FilterDsl, ThenOrderDsl};
use diesel::sql_types::{Bool, Nullable, SingleValue, SqlType, Text, Timestamp};

use crate::error::StoreError;
use crate::users::Backend;

/// A record's value in the column a search is ordered by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortKey {
    /// A text column's value, as stored (the folded copy for a column
    /// compared without regard to case).
    Text(String),
    /// A time column's value.
    Time(NaiveDateTime),
    /// No value: a nullable column's NULL, or the id order, which needs
    /// nothing beside the id.
    Absent,
}

/// Where a keyset page begins: right after the record with `key` and `id`
/// in the search's order (`forward`), or right before it (the page then
/// holds the records just before it, still in the search's order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seek {
    /// The record's value in the sort column.
    pub key: SortKey,
    /// The record's id, which orders records with the same value.
    pub id: String,
    /// After the record (`true`) or before it.
    pub forward: bool,
}

/// A boxed expression of SQL type `ST` on table `T`.
pub(crate) type Expr<T, ST> = Box<dyn BoxableExpression<T, Backend, SqlType = ST>>;

/// A condition on table `T`.
pub(crate) type Condition<T> = Expr<T, Nullable<Bool>>;

/// The column a search of table `T` is ordered by, as a function that
/// builds it (boxed expressions cannot be cloned).
pub(crate) enum SortColumn<T> {
    /// The id alone.
    Id,
    /// A text column that always has a value.
    Text(fn() -> Expr<T, Text>),
    /// A text column that may be NULL.
    OptionalText(fn() -> Expr<T, Nullable<Text>>),
    /// A time column that always has a value.
    Time(fn() -> Expr<T, Timestamp>),
}

impl<T> SortColumn<T> {
    /// Whether `key` is a value this column can hold.
    pub(crate) fn admits(&self, key: &SortKey) -> bool {
        matches!(
            (self, key),
            (Self::Id, SortKey::Absent)
                | (Self::Text(_), SortKey::Text(_))
                | (Self::OptionalText(_), SortKey::Text(_) | SortKey::Absent)
                | (Self::Time(_), SortKey::Time(_))
        )
    }
}

/// The order a query runs in: the search's own, or its exact reverse when
/// a page is read backwards from a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    /// Values (and ids) descend.
    descending: bool,
    /// Records without a value come after those with one.
    nulls_last: bool,
}

impl Run {
    /// The order of a search, `descending` or not; records without a value
    /// come last either way.
    fn of(descending: bool) -> Self {
        Self { descending, nulls_last: true }
    }

    /// The same order backwards.
    fn reversed(self) -> Self {
        Self { descending: !self.descending, nulls_last: !self.nulls_last }
    }
}

/// A query that can be ordered by any of the expressions a [`SortColumn`]
/// orders by, ascending or descending.
pub(crate) trait Orderable<T>:
    Sized
    + ThenOrderDsl<Asc<Expr<T, Bool>>, Output = Self>
    + ThenOrderDsl<Desc<Expr<T, Bool>>, Output = Self>
    + ThenOrderDsl<Asc<Expr<T, Text>>, Output = Self>
    + ThenOrderDsl<Desc<Expr<T, Text>>, Output = Self>
    + ThenOrderDsl<Asc<Expr<T, Nullable<Text>>>, Output = Self>
    + ThenOrderDsl<Desc<Expr<T, Nullable<Text>>>, Output = Self>
    + ThenOrderDsl<Asc<Expr<T, Timestamp>>, Output = Self>
    + ThenOrderDsl<Desc<Expr<T, Timestamp>>, Output = Self>
{
}

impl<T, Q> Orderable<T> for Q where
    Q: Sized
        + ThenOrderDsl<Asc<Expr<T, Bool>>, Output = Q>
        + ThenOrderDsl<Desc<Expr<T, Bool>>, Output = Q>
        + ThenOrderDsl<Asc<Expr<T, Text>>, Output = Q>
        + ThenOrderDsl<Desc<Expr<T, Text>>, Output = Q>
        + ThenOrderDsl<Asc<Expr<T, Nullable<Text>>>, Output = Q>
        + ThenOrderDsl<Desc<Expr<T, Nullable<Text>>>, Output = Q>
        + ThenOrderDsl<Asc<Expr<T, Timestamp>>, Output = Q>
        + ThenOrderDsl<Desc<Expr<T, Timestamp>>, Output = Q>
{
}

/// Orders `query` by `expr`, descending or not.
fn by<T, ST, Q>(query: Q, expr: Expr<T, ST>, descending: bool) -> Q
where
    ST: SqlType + TypedExpressionType + SingleValue,
    Q: ThenOrderDsl<Asc<Expr<T, ST>>, Output = Q> + ThenOrderDsl<Desc<Expr<T, ST>>, Output = Q>,
{
    if descending { query.then_order_by(expr.desc()) } else { query.then_order_by(expr.asc()) }
}

/// Orders `query` by `column`, then by `id`, in `run`'s order.
fn order<T, Q: Orderable<T>>(query: Q, column: &SortColumn<T>, id: fn() -> Expr<T, Text>, run: Run) -> Q
where
    T: Table + 'static,
{
    let query = match column {
        SortColumn::Id => query,
        SortColumn::Text(column) => by(query, column(), run.descending),
        SortColumn::Time(column) => by(query, column(), run.descending),
        SortColumn::OptionalText(column) => {
            // false (has a value) sorts before true on both backends.
            let missing: Expr<T, Bool> = Box::new(column().is_null());
            let query = by(query, missing, !run.nulls_last);
            by(query, column(), run.descending)
        }
    };
    by(query, id(), run.descending)
}

/// `left` past `right` in the direction `run` walks: greater when
/// ascending, smaller when descending.
macro_rules! past {
    ($left:expr, $right:expr, $run:expr) => {{
        let past: Condition<_> = if $run.descending {
            Box::new($left.lt($right).nullable())
        } else {
            Box::new($left.gt($right).nullable())
        };
        past
    }};
}

/// The records after `seek`'s record in `run`'s order: a greater value
/// (smaller, descending), or the same value and a greater (smaller) id,
/// with records without a value on the side `run` puts them.
///
/// `seek.forward` is not read: the caller passes `run` already reversed
/// for a backward page.
fn after<T: Table + 'static>(
    column: &SortColumn<T>,
    id: fn() -> Expr<T, Text>,
    seek: &Seek,
    run: Run,
) -> Result<Condition<T>, StoreError> {
    let pid = seek.id.clone();
    let id_past = || past!(id(), pid.clone(), run);
    let or = |a: Condition<T>, b: Condition<T>| -> Condition<T> { Box::new(a.or(b)) };
    let and = |a: Condition<T>, b: Condition<T>| -> Condition<T> { Box::new(a.and(b)) };
    Ok(match (column, &seek.key) {
        (SortColumn::Id, SortKey::Absent) => id_past(),
        (SortColumn::Text(column), SortKey::Text(value)) => {
            let same: Condition<T> = Box::new(column().eq(value.clone()).nullable());
            or(past!(column(), value.clone(), run), and(same, id_past()))
        }
        (SortColumn::Time(column), SortKey::Time(value)) => {
            let same: Condition<T> = Box::new(column().eq(*value).nullable());
            or(past!(column(), *value, run), and(same, id_past()))
        }
        (SortColumn::OptionalText(column), SortKey::Text(value)) => {
            // `column > value` is NULL, so false, where there is no value.
            let same: Condition<T> = Box::new(column().eq(value.clone()));
            let with_value = or(past!(column(), value.clone(), run), and(same, id_past()));
            if run.nulls_last {
                let missing: Condition<T> = Box::new(column().is_null().nullable());
                or(with_value, missing)
            } else {
                with_value
            }
        }
        (SortColumn::OptionalText(column), SortKey::Absent) => {
            let missing: Condition<T> = Box::new(column().is_null().nullable());
            if run.nulls_last {
                and(missing, id_past())
            } else {
                let present: Condition<T> = Box::new(column().is_not_null().nullable());
                // Every record with a value, and those without one past the id.
                or(present, id_past())
            }
        }
        _ => return Err(StoreError::Invalid("the position does not fit the sort order".into())),
    })
}

/// Orders `query` by `column` (then `id`), ascending or `descending`, and
/// with a `seek`, keeps only the records after (or before) its record.
/// Returns the query and whether its rows come back reversed: a page
/// before a record is read in the reverse order, so that it is the first
/// rows after the record, and must be turned round.
pub(crate) fn arrange<T, Q>(
    query: Q,
    column: &SortColumn<T>,
    id: fn() -> Expr<T, Text>,
    descending: bool,
    seek: Option<&Seek>,
) -> Result<(Q, bool), StoreError>
where
    T: Table + 'static,
    Q: Orderable<T> + FilterDsl<Condition<T>, Output = Q>,
{
    let run = Run::of(descending);
    let Some(seek) = seek else {
        return Ok((order(query, column, id, run), false));
    };
    let run = if seek.forward { run } else { run.reversed() };
    let query = query.filter(after(column, id, seek, run)?);
    Ok((order(query, column, id, run), !seek.forward))
}

/// How many records match in all, when a page already says so: a page from
/// the first record (no keyset position) that came back shorter than asked
/// holds everything from `offset` on, so the total is `offset` plus its
/// length. Then the search needs no `COUNT(*)`, which for a look-up by a
/// unique attribute (`userName eq`) is a statement of three. `None` when
/// only a count can tell: a full page, a page after a position, or an empty
/// page past the first record (the offset may lie beyond the end).
pub(crate) fn total_from_page(after_position: bool, offset: i64, limit: i64, found: usize) -> Option<i64> {
    let found = i64::try_from(found).ok()?;
    if after_position || found >= limit || (found == 0 && offset > 0) {
        return None;
    }
    Some(offset + found)
}

#[cfg(test)]
mod tests {
    use super::total_from_page;

    #[test]
    fn a_short_first_page_is_its_own_count() {
        assert_eq!(total_from_page(false, 0, 10, 1), Some(1));
        assert_eq!(total_from_page(false, 0, 10, 0), Some(0));
        assert_eq!(total_from_page(false, 20, 10, 3), Some(23));
        // A full page: more may follow.
        assert_eq!(total_from_page(false, 0, 10, 10), None);
        // count=0 asks for the total alone.
        assert_eq!(total_from_page(false, 0, 0, 0), None);
        // Past the end, nothing says where the end is.
        assert_eq!(total_from_page(false, 50, 10, 0), None);
        // After a cursor position, records before it are not on the page.
        assert_eq!(total_from_page(true, 0, 10, 3), None);
    }
}
