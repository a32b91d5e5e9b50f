-- Per-client token policy. Existing clients keep today's behaviour through
-- the defaults: RS256 access tokens, refresh tokens only with
-- offline_access, keys registered inline.
ALTER TABLE clients ADD COLUMN access_token_signed_response_alg TEXT NOT NULL DEFAULT 'RS256';
ALTER TABLE clients ADD COLUMN refresh_without_offline_access BOOLEAN NOT NULL DEFAULT FALSE;
-- Where the client publishes its JWK Set for private_key_jwt; NULL when
-- its keys are stored in `jwks`.
ALTER TABLE clients ADD COLUMN jwks_uri TEXT;
