-- Token exchange (RFC 8693) policy per client: the audiences it may
-- exchange tokens for (a JSON list), whether it may impersonate (get a
-- token with no `act` claim naming it), and whether it may get refresh
-- tokens by exchange.
ALTER TABLE clients ADD COLUMN exchange_audiences TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN exchange_impersonation BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN exchange_refresh_tokens BOOLEAN NOT NULL DEFAULT 0;
