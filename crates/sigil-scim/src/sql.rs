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

/// Where [`MembersThroughNesting`] starts: the groups that satisfy the
/// condition, or the holders of the roles that do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seed {
    /// The condition is on `groups`: users in those groups.
    Groups,
    /// The condition is on `roles`: users granted those roles, directly or
    /// through a group they belong to.
    RoleGrants,
}

/// `users.id IN (...)`: the users that belong, directly or through nested
/// groups, to a group the seed selects (and, for roles, those granted a
/// selected role themselves). A recursive query walks down from the seed
/// groups to every group inside them, so a filter sees the same nesting
/// as the `groups` a User resource lists. Groups cannot form cycles (the
/// store refuses them), and `UNION` would stop one anyway.
pub(crate) struct MembersThroughNesting<T> {
    seed: Seed,
    condition: Condition<T>,
}

impl<T> std::fmt::Debug for MembersThroughNesting<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MembersThroughNesting").field("seed", &self.seed).finish()
    }
}

impl<T> MembersThroughNesting<T> {
    /// Users under the groups (or the role grants) `condition` selects.
    pub(crate) fn new(seed: Seed, condition: Condition<T>) -> Self {
        Self { seed, condition }
    }

    /// `role_grants.role_id IN (SELECT roles.id FROM roles WHERE condition)`.
    fn role_selected<'b>(&'b self, out: &mut AstPass<'_, 'b, Backend>) -> QueryResult<()> {
        out.push_sql("role_grants.role_id IN (SELECT roles.id FROM roles WHERE ");
        self.condition.walk_ast(out.reborrow())?;
        out.push_sql(")");
        Ok(())
    }
}

impl<T> Expression for MembersThroughNesting<T> {
    type SqlType = Bool;
}

impl<T> QueryFragment<Backend> for MembersThroughNesting<T> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Backend>) -> QueryResult<()> {
        out.push_sql("users.id IN (WITH RECURSIVE sigil_closure (group_id) AS (");
        match self.seed {
            Seed::Groups => {
                out.push_sql("SELECT groups.id FROM groups WHERE ");
                self.condition.walk_ast(out.reborrow())?;
            }
            Seed::RoleGrants => {
                out.push_sql("SELECT role_grants.group_id FROM role_grants WHERE role_grants.group_id IS NOT NULL AND ");
                self.role_selected(&mut out)?;
            }
        }
        out.push_sql(
            " UNION SELECT group_members.member_group_id FROM group_members \
             JOIN sigil_closure ON group_members.group_id = sigil_closure.group_id \
             WHERE group_members.member_group_id IS NOT NULL) \
             SELECT group_members.member_user_id FROM group_members \
             WHERE group_members.member_user_id IS NOT NULL \
             AND group_members.group_id IN (SELECT sigil_closure.group_id FROM sigil_closure)",
        );
        if self.seed == Seed::RoleGrants {
            out.push_sql(
                " UNION SELECT role_grants.user_id FROM role_grants WHERE role_grants.user_id IS NOT NULL AND ",
            );
            self.role_selected(&mut out)?;
        }
        out.push_sql(")");
        Ok(())
    }
}

impl<T> QueryId for MembersThroughNesting<T> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

// Like `InSubquery`, it names `users.id` by name and is only attached to
// conditions on users.
impl<T, QS> AppearsOnTable<QS> for MembersThroughNesting<T> {}
impl<T, QS> SelectableExpression<QS> for MembersThroughNesting<T> {}

impl<T> ValidGrouping<()> for MembersThroughNesting<T> {
    type IsAggregate = is_aggregate::Never;
}
