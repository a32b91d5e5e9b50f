-- Identity store schema, SQLite flavour. Keep in step with ../../postgres/ (same
-- tables, columns, constraints and indexes; only the type spelling differs).
-- Times are UTC `TIMESTAMP`s truncated to microseconds; UUIDs are text.
-- Connections set case_sensitive_like, so LIKE 'abc%' on the folded
-- (BINARY-collated) columns can use their indexes.

CREATE TABLE users (
    id                 TEXT PRIMARY KEY NOT NULL,
    user_name          TEXT NOT NULL,
    -- Unicode case fold of user_name, computed by the application so both
    -- backends fold identically (SQLite's lower() only folds ASCII).
    user_name_folded   TEXT NOT NULL,
    external_id        TEXT,
    name_formatted     TEXT,
    family_name        TEXT,
    given_name         TEXT,
    middle_name        TEXT,
    honorific_prefix   TEXT,
    honorific_suffix   TEXT,
    display_name       TEXT,
    nick_name          TEXT,
    profile_url        TEXT,
    title              TEXT,
    user_type          TEXT,
    preferred_language TEXT,
    locale             TEXT,
    timezone           TEXT,
    active             BOOLEAN NOT NULL DEFAULT 1,
    password_hash      TEXT,
    employee_number    TEXT,
    cost_center        TEXT,
    organization       TEXT,
    division           TEXT,
    department         TEXT,
    manager_id         TEXT REFERENCES users (id) ON DELETE SET NULL,
    created            TIMESTAMP NOT NULL,
    last_modified      TIMESTAMP NOT NULL,
    version            BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_user_name_folded_key ON users (user_name_folded);
CREATE INDEX users_external_id_idx ON users (external_id);
CREATE INDEX users_display_name_idx ON users (display_name);
CREATE INDEX users_family_name_idx ON users (family_name);
CREATE INDEX users_given_name_idx ON users (given_name);
CREATE INDEX users_created_idx ON users (created, id);
CREATE INDEX users_last_modified_idx ON users (last_modified, id);
CREATE INDEX users_employee_number_idx ON users (employee_number);
CREATE INDEX users_cost_center_idx ON users (cost_center);
CREATE INDEX users_organization_idx ON users (organization);
CREATE INDEX users_division_idx ON users (division);
CREATE INDEX users_department_idx ON users (department);
CREATE INDEX users_manager_id_idx ON users (manager_id);

-- Multi-valued attributes whose values share the shape
-- {value, display, type, primary}: emails, phoneNumbers, ims, photos,
-- entitlements, roles, x509Certificates. One row per value, in order.
CREATE TABLE user_values (
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    attribute    TEXT NOT NULL,
    position     BIGINT NOT NULL,
    value        TEXT NOT NULL,
    value_folded TEXT NOT NULL,
    display      TEXT,
    type         TEXT,
    is_primary   BOOLEAN NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, attribute, position)
);
CREATE INDEX user_values_lookup_idx ON user_values (attribute, value_folded);
CREATE INDEX user_values_type_idx ON user_values (attribute, type);

CREATE TABLE user_addresses (
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    position       BIGINT NOT NULL,
    formatted      TEXT,
    street_address TEXT,
    locality       TEXT,
    region         TEXT,
    postal_code    TEXT,
    country        TEXT,
    type           TEXT,
    is_primary     BOOLEAN NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, position)
);
-- Folded copies of the case-insensitive single-valued string attributes
-- (displayName, name parts, title, enterprise attributes, ...), one row per
-- attribute that has a value: a case-insensitive search on any of them is an
-- indexed lookup on either backend, where lower() on the column would be
-- neither indexed nor folded the same way by both.
CREATE TABLE user_search_terms (
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    attribute    TEXT NOT NULL,
    value_folded TEXT NOT NULL,
    PRIMARY KEY (user_id, attribute)
);
CREATE INDEX user_search_terms_lookup_idx ON user_search_terms (attribute, value_folded);

CREATE INDEX user_addresses_locality_idx ON user_addresses (locality);
CREATE INDEX user_addresses_postal_code_idx ON user_addresses (postal_code);
CREATE INDEX user_addresses_country_idx ON user_addresses (country);

CREATE TABLE groups (
    id                  TEXT PRIMARY KEY NOT NULL,
    display_name        TEXT NOT NULL,
    display_name_folded TEXT NOT NULL,
    external_id         TEXT,
    created             TIMESTAMP NOT NULL,
    last_modified       TIMESTAMP NOT NULL,
    version             BIGINT NOT NULL
);
CREATE UNIQUE INDEX groups_display_name_folded_key ON groups (display_name_folded);
CREATE INDEX groups_external_id_idx ON groups (external_id);
CREATE INDEX groups_created_idx ON groups (created, id);
CREATE INDEX groups_last_modified_idx ON groups (last_modified, id);

-- A member is a user or a group (nested groups): exactly one of the two
-- columns is set, so deleting either kind of member cascades here.
CREATE TABLE group_members (
    group_id        TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    member_id       TEXT NOT NULL,
    member_user_id  TEXT REFERENCES users (id) ON DELETE CASCADE,
    member_group_id TEXT REFERENCES groups (id) ON DELETE CASCADE,
    position        BIGINT NOT NULL,
    PRIMARY KEY (group_id, member_id),
    CHECK ((member_user_id IS NULL) <> (member_group_id IS NULL)),
    CHECK (member_id = COALESCE(member_user_id, member_group_id))
);
CREATE INDEX group_members_user_idx ON group_members (member_user_id);
CREATE INDEX group_members_group_idx ON group_members (member_group_id);
CREATE INDEX group_members_member_idx ON group_members (member_id);

CREATE TABLE clients (
    id                           TEXT PRIMARY KEY NOT NULL,
    name                         TEXT,
    -- SHA-256 of a generated 256-bit secret; NULL for public clients.
    secret_hash                  TEXT,
    is_public                    BOOLEAN NOT NULL,
    -- Lists are JSON arrays of strings: they are read whole with their client
    -- and never searched.
    redirect_uris                TEXT NOT NULL,
    post_logout_redirect_uris    TEXT NOT NULL,
    grant_types                  TEXT NOT NULL,
    scopes                       TEXT NOT NULL,
    audiences                    TEXT NOT NULL,
    token_endpoint_auth_method   TEXT NOT NULL,
    id_token_signed_response_alg TEXT NOT NULL,
    require_pkce                 BOOLEAN NOT NULL,
    skip_consent                 BOOLEAN NOT NULL,
    jwks                         TEXT,
    created                      TIMESTAMP NOT NULL,
    last_modified                TIMESTAMP NOT NULL
);

CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY NOT NULL,
    alg          TEXT NOT NULL,
    -- 'next' (published, not yet signing), 'active' (signing), 'retired'
    -- (published until what it signed has expired).
    state        TEXT NOT NULL CHECK (state IN ('next', 'active', 'retired')),
    private_pem  TEXT NOT NULL,
    public_jwk   TEXT NOT NULL,
    created      TIMESTAMP NOT NULL,
    activated_at TIMESTAMP,
    retired_at   TIMESTAMP
);
CREATE INDEX signing_keys_state_idx ON signing_keys (state, alg);

CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time  TIMESTAMP NOT NULL,
    amr        TEXT NOT NULL,
    created    TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    ended_at   TIMESTAMP
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE TABLE authorization_codes (
    code_hash             TEXT PRIMARY KEY NOT NULL,
    client_id             TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id               TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id_hash       TEXT,
    redirect_uri          TEXT NOT NULL,
    scope                 TEXT NOT NULL,
    nonce                 TEXT,
    code_challenge        TEXT,
    code_challenge_method TEXT,
    auth_time             TIMESTAMP NOT NULL,
    created               TIMESTAMP NOT NULL,
    expires_at            TIMESTAMP NOT NULL,
    -- Set once by a single conditional UPDATE; a second redemption finds it set.
    redeemed_at           TIMESTAMP,
    -- Grant id shared by every token issued from this code, so a replay can
    -- revoke them all.
    grant_id              TEXT NOT NULL
);
CREATE INDEX authorization_codes_expires_idx ON authorization_codes (expires_at);

CREATE TABLE refresh_tokens (
    token_hash      TEXT PRIMARY KEY NOT NULL,
    family_id       TEXT NOT NULL,
    client_id       TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id         TEXT REFERENCES users (id) ON DELETE CASCADE,
    scope           TEXT NOT NULL,
    session_id_hash TEXT,
    auth_time       TIMESTAMP,
    created         TIMESTAMP NOT NULL,
    expires_at      TIMESTAMP NOT NULL,
    used_at         TIMESTAMP,
    revoked_at      TIMESTAMP
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at);

CREATE TABLE consents (
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id     TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scope         TEXT NOT NULL,
    created       TIMESTAMP NOT NULL,
    last_modified TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

-- Token ids that must no longer be honoured (revoked access tokens, whole
-- grants under the id `grant:<grant_id>`, and
-- consumed client-assertion jti values), kept until the token would expire.
CREATE TABLE revoked_tokens (
    jti        TEXT PRIMARY KEY NOT NULL,
    reason     TEXT NOT NULL,
    grant_id   TEXT,
    revoked_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX revoked_tokens_expires_idx ON revoked_tokens (expires_at);

-- Failed attempts per key (an account, a client address), to slow down
-- guessing. Generic: the caller decides what a key names and when to lock.
CREATE TABLE throttle (
    throttle_key TEXT PRIMARY KEY NOT NULL,
    failures     BIGINT NOT NULL,
    window_start TIMESTAMP NOT NULL,
    locked_until TIMESTAMP
);
