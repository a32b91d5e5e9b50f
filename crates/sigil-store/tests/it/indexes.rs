//! Every attribute a directory client may search on is reachable through an
//! index on both backends. Each query below is the shape a SCIM filter on
//! that attribute compiles to; the test reads the database's own plan.

use diesel::prelude::*;
use diesel::sql_types::Text;
use sigil_store::AnyConnection;
use sigil_testkit::{TestDb, backend_tests};

use crate::support;

backend_tests!(searchable_attributes_use_an_index, group_members_are_read_in_order_from_an_index);

/// (what a client filters on, the query it becomes)
const SEARCHES: &[(&str, &str)] = &[
    ("userName eq", "SELECT id FROM users WHERE user_name_folded = 'bjensen'"),
    ("userName sw", "SELECT id FROM users WHERE user_name_folded LIKE 'bj%'"),
    ("externalId eq", "SELECT id FROM users WHERE external_id = 'ext-1'"),
    ("meta.lastModified gt", "SELECT id FROM users WHERE last_modified > '2026-01-01 00:00:00'"),
    ("meta.created lt", "SELECT id FROM users WHERE created < '2026-01-01 00:00:00'"),
    ("manager.value eq", "SELECT id FROM users WHERE manager_id = 'u-1'"),
    (
        "emails.value eq",
        "SELECT user_id FROM user_values WHERE attribute = 'emails' AND value_folded = 'b@example.com'",
    ),
    (
        "emails.value sw",
        "SELECT user_id FROM user_values WHERE attribute = 'emails' AND value_folded LIKE 'b@%'",
    ),
    ("emails.type eq", "SELECT user_id FROM user_values WHERE attribute = 'emails' AND type = 'work'"),
    (
        "displayName eq",
        "SELECT user_id FROM user_search_terms WHERE attribute = 'displayName' AND value_folded = 'babs'",
    ),
    (
        "name.familyName sw",
        "SELECT user_id FROM user_search_terms WHERE attribute = 'name.familyName' AND value_folded LIKE 'jen%'",
    ),
    (
        "enterprise employeeNumber eq",
        "SELECT user_id FROM user_search_terms WHERE attribute = 'employeeNumber' AND value_folded = '701984'",
    ),
    (
        "enterprise department eq",
        "SELECT user_id FROM user_search_terms WHERE attribute = 'department' AND value_folded = 'tour operations'",
    ),
    ("addresses.locality eq", "SELECT user_id FROM user_addresses WHERE locality_folded = 'hollywood'"),
    ("addresses.postalCode eq", "SELECT user_id FROM user_addresses WHERE postal_code_folded = '91608'"),
    ("addresses.country eq", "SELECT user_id FROM user_addresses WHERE country_folded = 'us'"),
    ("groups.value eq (user side)", "SELECT group_id FROM group_members WHERE member_user_id = 'u-1'"),
    ("members.value eq", "SELECT group_id FROM group_members WHERE member_id = 'u-1'"),
    ("group members", "SELECT member_id FROM group_members WHERE group_id = 'g-1'"),
    ("group displayName eq", "SELECT id FROM groups WHERE display_name_folded = 'admins'"),
    ("group externalId eq", "SELECT id FROM groups WHERE external_id = 'ext-g'"),
];

/// (what is read, the query) for reads of a group's members that must
/// follow their order through an index, without sorting or reading them
/// all: a group may have tens of thousands.
const IN_ORDER: &[(&str, &str)] = &[
    ("members in order", "SELECT member_id FROM group_members WHERE group_id = 'g-1' ORDER BY position"),
    (
        "members of a page of groups in order",
        "SELECT member_id FROM group_members WHERE group_id IN ('g-1', 'g-2') ORDER BY group_id, position",
    ),
    ("the last position", "SELECT max(position) FROM group_members WHERE group_id = 'g-1'"),
];

#[derive(QueryableByName)]
struct SqlitePlanRow {
    #[diesel(sql_type = Text)]
    detail: String,
}

#[derive(QueryableByName)]
struct PostgresPlanRow {
    #[diesel(sql_type = Text)]
    #[diesel(column_name = "QUERY PLAN")]
    line: String,
}

fn plan(conn: &mut AnyConnection, query: &str) -> String {
    match conn {
        AnyConnection::Sqlite(_) => diesel::sql_query(format!("EXPLAIN QUERY PLAN {query}"))
            .load::<SqlitePlanRow>(conn)
            .unwrap()
            .into_iter()
            .map(|r| r.detail)
            .collect::<Vec<_>>()
            .join("; "),
        AnyConnection::Postgres(_) => {
            // Empty tables are cheapest to scan, and a handful of rows to
            // sort; forbid both so the plan shows whether an index *can*
            // serve the query, and its order. (`SET LOCAL` lasts for the
            // transaction: the plans are read in one.)
            diesel::sql_query("SET LOCAL enable_seqscan = off").execute(conn).unwrap();
            diesel::sql_query("SET LOCAL enable_sort = off").execute(conn).unwrap();
            diesel::sql_query(format!("EXPLAIN {query}"))
                .load::<PostgresPlanRow>(conn)
                .unwrap()
                .into_iter()
                .map(|r| r.line)
                .collect::<Vec<_>>()
                .join("; ")
        }
    }
}

fn searchable_attributes_use_an_index(db: &TestDb) {
    let store = support::open(db);
    // A write transaction, though nothing is written: `SET LOCAL` needs a
    // transaction, and reads on PostgreSQL run outside one.
    store
        .write_blocking(|conn| {
            for (what, query) in SEARCHES {
                let plan = plan(conn, query);
                let indexed = plan.contains("USING INDEX")
                    || plan.contains("USING COVERING INDEX")
                    || plan.contains("USING PRIMARY KEY")
                    || (plan.contains("Index") && !plan.contains("Seq Scan"));
                assert!(indexed, "{what}: `{query}` is not indexed: {plan}");
            }
            Ok::<_, sigil_store::StoreError>(())
        })
        .unwrap();
}

fn group_members_are_read_in_order_from_an_index(db: &TestDb) {
    let store = support::open(db);
    store
        .write_blocking(|conn| {
            for (what, query) in IN_ORDER {
                let plan = plan(conn, query);
                let ordered = plan.contains("group_members_position_idx")
                    && !plan.contains("TEMP B-TREE")
                    && !plan.contains("Sort");
                assert!(ordered, "{what}: `{query}` is not read in order from an index: {plan}");
            }
            Ok::<_, sigil_store::StoreError>(())
        })
        .unwrap();
}
