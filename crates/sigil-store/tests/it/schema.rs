//! The hand-written diesel schema matches what the migrations create.

use diesel::prelude::*;
use sigil_store::schema::*;
use sigil_testkit::{TestDb, backend_tests};

use crate::support;

backend_tests!(schema_matches_migrations, migrations_are_idempotent);

fn schema_matches_migrations(db: &TestDb) {
    let store = support::open(db);
    store
        .read_blocking(|conn| {
            // Naming every declared column fails if one is missing or renamed
            // in the migrations; the round-trip tests catch type mismatches.
            macro_rules! probe {
                ($($table:ident),*) => {$(
                    $table::table
                        .select($table::all_columns)
                        .limit(1)
                        .execute(conn)
                        .unwrap_or_else(|e| panic!("table {}: {e}", stringify!($table)));
                )*};
            }
            probe!(
                users,
                user_values,
                user_addresses,
                user_search_terms,
                groups,
                group_members,
                clients,
                signing_keys,
                sessions,
                authorization_codes,
                refresh_tokens,
                consents,
                revoked_tokens,
                throttle,
                roles,
                role_grants,
                admin_grants,
                server_secrets,
                api_tokens,
                audit_events
            );
            Ok::<_, sigil_store::StoreError>(())
        })
        .unwrap();
}

fn migrations_are_idempotent(db: &TestDb) {
    let store = support::open(db);
    assert!(store.migrate().unwrap().is_empty(), "a second run applies nothing");
    let again = support::open(db);
    assert!(again.migrate().unwrap().is_empty());
}
