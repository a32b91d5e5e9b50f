-- SCIM filters compare case-insensitive attributes through folded copies
-- that Sigil writes (SQL's lower() folds differently on each backend), so
-- the sub-attributes of multi-valued attributes and addresses get theirs.
-- Rows written before this migration are folded with lower() once.
-- (SQLite compares text by code point already.)
ALTER TABLE user_values ADD COLUMN display_folded TEXT;
ALTER TABLE user_values ADD COLUMN type_folded TEXT;
UPDATE user_values SET display_folded = lower(display), type_folded = lower(type);

ALTER TABLE user_addresses ADD COLUMN formatted_folded TEXT;
ALTER TABLE user_addresses ADD COLUMN street_address_folded TEXT;
ALTER TABLE user_addresses ADD COLUMN locality_folded TEXT;
ALTER TABLE user_addresses ADD COLUMN region_folded TEXT;
ALTER TABLE user_addresses ADD COLUMN postal_code_folded TEXT;
ALTER TABLE user_addresses ADD COLUMN country_folded TEXT;
ALTER TABLE user_addresses ADD COLUMN type_folded TEXT;
UPDATE user_addresses SET
    formatted_folded = lower(formatted),
    street_address_folded = lower(street_address),
    locality_folded = lower(locality),
    region_folded = lower(region),
    postal_code_folded = lower(postal_code),
    country_folded = lower(country),
    type_folded = lower(type);
DROP INDEX user_addresses_locality_idx;
DROP INDEX user_addresses_postal_code_idx;
DROP INDEX user_addresses_country_idx;
CREATE INDEX user_addresses_locality_idx ON user_addresses (locality_folded);
CREATE INDEX user_addresses_postal_code_idx ON user_addresses (postal_code_folded);
CREATE INDEX user_addresses_country_idx ON user_addresses (country_folded);
