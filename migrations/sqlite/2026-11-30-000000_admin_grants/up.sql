-- Sigil's built-in roles (platform-operator, user-admin, auditor,
-- service-account) and who holds them: users, groups (whose members,
-- through nesting too, then hold them) or clients (for their own tokens).
CREATE TABLE admin_grants (
    role      TEXT NOT NULL
              CHECK (role IN ('platform-operator', 'user-admin', 'auditor', 'service-account')),
    -- `user:ID`, `group:ID` or `client:ID`: one key whatever the kind, as a
    -- client id is chosen by the operator and could look like any other id.
    holder    TEXT NOT NULL,
    -- Exactly one of these is set, so each kind has its foreign key.
    user_id   TEXT REFERENCES users (id) ON DELETE CASCADE,
    group_id  TEXT REFERENCES groups (id) ON DELETE CASCADE,
    client_id TEXT REFERENCES clients (id) ON DELETE CASCADE,
    created   TIMESTAMP NOT NULL,
    PRIMARY KEY (role, holder),
    CHECK (CAST(user_id IS NOT NULL AS INTEGER) + CAST(group_id IS NOT NULL AS INTEGER)
           + CAST(client_id IS NOT NULL AS INTEGER) = 1)
);
CREATE INDEX admin_grants_holder_idx ON admin_grants (holder);
CREATE INDEX admin_grants_user_idx ON admin_grants (user_id);
CREATE INDEX admin_grants_group_idx ON admin_grants (group_id);
CREATE INDEX admin_grants_client_idx ON admin_grants (client_id);
