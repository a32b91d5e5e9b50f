-- Roles an application (a client) defines, and who holds them: users
-- directly, or groups, whose members (through nesting too) then hold them.
CREATE TABLE roles (
    id          TEXT PRIMARY KEY NOT NULL,
    client_id   TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    description TEXT,
    created     TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX roles_client_name_key ON roles (client_id, name);

CREATE TABLE role_grants (
    role_id  TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    -- The user's or the group's id; exactly one of the two columns below
    -- is set, so each has its foreign key.
    holder_id TEXT NOT NULL,
    user_id  TEXT REFERENCES users (id) ON DELETE CASCADE,
    group_id TEXT REFERENCES groups (id) ON DELETE CASCADE,
    created  TIMESTAMP NOT NULL,
    PRIMARY KEY (role_id, holder_id),
    CHECK ((user_id IS NULL) <> (group_id IS NULL))
);
CREATE INDEX role_grants_user_idx ON role_grants (user_id);
CREATE INDEX role_grants_group_idx ON role_grants (group_id);
