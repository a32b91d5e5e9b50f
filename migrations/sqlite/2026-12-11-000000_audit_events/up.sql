-- The audit trail: sign-in attempts, SCIM writes and the admin API's
-- decisions. Who, what, from where, and how it ended; never a password,
-- a token, a secret or a request body.
CREATE TABLE audit_events (
    id            TEXT PRIMARY KEY NOT NULL,
    at            TIMESTAMP NOT NULL,
    -- sign_in, scim_write, admin_decision.
    kind          TEXT NOT NULL,
    -- A user id, a client id, or the username a sign-in typed (bounded),
    -- which need not exist: no foreign key, so the record outlives it.
    actor         TEXT,
    -- The OAuth client of the sign-in or of the token.
    client_id     TEXT,
    -- The client address as the server resolved it (trusted proxies).
    address       TEXT,
    -- What was asked: sign_in, an operation name of the table of rights.
    operation     TEXT NOT NULL,
    resource_type TEXT,
    resource_id   TEXT,
    method        TEXT,
    -- success, or a reason code (bad_password, denied, precondition_failed...).
    outcome       TEXT NOT NULL,
    request_id    TEXT
);
-- Newest first, and retention's DELETE by time.
CREATE INDEX audit_events_at_idx ON audit_events (at, id);
CREATE INDEX audit_events_kind_idx ON audit_events (kind, at);
CREATE INDEX audit_events_actor_idx ON audit_events (actor, at);
