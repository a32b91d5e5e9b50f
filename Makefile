# Sigil: the commands a developer types. See README.md.

CARGO ?= cargo

.PHONY: run build test fmt lint test-only bench

## Build and start the server on the embedded default (./sigil.db, 127.0.0.1:8080).
run:
	$(CARGO) run --package sigil-server --bin sigil -- serve

build:
	$(CARGO) build --workspace

## Formatting and lint checks, then every test: on SQLite always, and on
## PostgreSQL too when SIGIL_TEST_POSTGRES_URL (default
## postgres://postgres@127.0.0.1:5432/postgres) answers. Each test makes its
## own database and drops it afterwards.
test:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) test --workspace

## The tests alone, without the fmt and clippy gates.
test-only:
	$(CARGO) test --workspace

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## Benchmarks, release build: criterion (filter parser; signing ceiling per
## algorithm), then the token endpoint under wrk side by side with node
## oidc-provider (bench/token-endpoint.sh). The filter parser against the
## Python scim2-filter-parser: crates/scim-filter-parser/benches/compare_python.sh
## Then start-up on an existing database, exec to /readyz 200 (bench/startup.sh).
## Then SCIM on SQLite and PostgreSQL beside the Python scim2-server: creates,
## searches at 100,000 users, a 1,000-member PATCH, /Bulk (bench/scim.sh; the
## PostgreSQL half is skipped when the server does not answer).
bench:
	$(CARGO) bench --workspace
	bash bench/token-endpoint.sh
	bash bench/startup.sh
	bash bench/scim.sh
