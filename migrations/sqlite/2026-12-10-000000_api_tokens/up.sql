-- Long-lived bearer tokens a machine client (a provisioning service such
-- as Entra ID or Okta) presents to Sigil's own APIs. Only the SHA-256
-- digest of a token is kept: it is shown once, when created.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY NOT NULL,
    -- A removed client takes its tokens along.
    client_id    TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    -- Lowercase hex SHA-256 of the whole token; the lookup key.
    token_hash   TEXT NOT NULL UNIQUE,
    -- Space-separated scopes, a subset of the client's.
    scope        TEXT NOT NULL,
    -- What the operator calls it ("Entra ID provisioning").
    name         TEXT,
    created      TIMESTAMP NOT NULL,
    -- Every token expires; there is no "never".
    expires_at   TIMESTAMP NOT NULL,
    -- Moved at most once a minute (a conditional UPDATE), not per request.
    last_used_at TIMESTAMP,
    revoked_at   TIMESTAMP
);
CREATE INDEX api_tokens_client_idx ON api_tokens (client_id);
