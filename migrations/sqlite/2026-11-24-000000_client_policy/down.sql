ALTER TABLE clients DROP COLUMN jwks_uri;
ALTER TABLE clients DROP COLUMN refresh_without_offline_access;
ALTER TABLE clients DROP COLUMN access_token_signed_response_alg;
