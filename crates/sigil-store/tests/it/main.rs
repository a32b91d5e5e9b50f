//! Store tests. Every test in the `backend_tests!` lists runs twice, on a
//! fresh SQLite file and on a fresh PostgreSQL database. What they share
//! (opening a store, racing writers, common records) is in `support`.

mod admin_grants;
mod api_tokens;
mod audit;
mod clients;
mod concurrency;
mod copy;
mod crash;
mod groups;
mod indexes;
mod keys;
mod lookups;
mod once;
mod password_resets;
mod roles;
mod schema;
mod support;
mod tokens;
mod users;
mod versions;
mod writer;
