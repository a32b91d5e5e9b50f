-- Secrets the provider keeps for itself, by purpose: today the key that
-- signs the CSRF tokens of its forms. One row per purpose, created once by
-- whichever node needs it first (the primary key settles a race), so that
-- every node verifies what any node issued.
CREATE TABLE server_secrets (
    purpose TEXT PRIMARY KEY NOT NULL,
    secret  TEXT NOT NULL,
    created TIMESTAMP NOT NULL
);
