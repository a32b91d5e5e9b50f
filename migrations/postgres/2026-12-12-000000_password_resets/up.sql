-- One-time password reset links an operator issues (`sigil user
-- reset-link`). Only the SHA-256 digest of a link's token is kept: the
-- link is shown once, to the operator, who hands it to the user.
CREATE TABLE password_resets (
    -- Lowercase hex SHA-256 of the token; the lookup key.
    token_hash TEXT PRIMARY KEY NOT NULL,
    -- A removed user takes their links along.
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created    TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    -- Set once, by the one conditional UPDATE that redeems the link.
    used_at    TIMESTAMP
);
CREATE INDEX password_resets_user_idx ON password_resets (user_id);
