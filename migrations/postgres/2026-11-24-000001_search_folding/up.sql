-- SCIM filters compare case-insensitive attributes through folded copies
-- that Sigil writes (SQL's lower() folds differently on each backend), so
-- the sub-attributes of multi-valued attributes and addresses get theirs.
-- Rows written before this migration are folded with lower() once.
ALTER TABLE user_values ADD COLUMN display_folded TEXT COLLATE "C";
ALTER TABLE user_values ADD COLUMN type_folded TEXT COLLATE "C";
UPDATE user_values SET display_folded = lower(display), type_folded = lower(type);

ALTER TABLE user_addresses ADD COLUMN formatted_folded TEXT COLLATE "C";
ALTER TABLE user_addresses ADD COLUMN street_address_folded TEXT COLLATE "C";
ALTER TABLE user_addresses ADD COLUMN locality_folded TEXT COLLATE "C";
ALTER TABLE user_addresses ADD COLUMN region_folded TEXT COLLATE "C";
ALTER TABLE user_addresses ADD COLUMN postal_code_folded TEXT COLLATE "C";
ALTER TABLE user_addresses ADD COLUMN country_folded TEXT COLLATE "C";
ALTER TABLE user_addresses ADD COLUMN type_folded TEXT COLLATE "C";
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

-- gt, ge, lt, le and sortBy compare code points, as SQLite does, whatever
-- the database's default collation.
ALTER TABLE users ALTER COLUMN user_name_folded TYPE TEXT COLLATE "C";
ALTER TABLE users ALTER COLUMN external_id TYPE TEXT COLLATE "C";
ALTER TABLE users ALTER COLUMN display_name TYPE TEXT COLLATE "C";
ALTER TABLE users ALTER COLUMN family_name TYPE TEXT COLLATE "C";
ALTER TABLE users ALTER COLUMN given_name TYPE TEXT COLLATE "C";
ALTER TABLE users ALTER COLUMN title TYPE TEXT COLLATE "C";
ALTER TABLE user_values ALTER COLUMN value TYPE TEXT COLLATE "C";
ALTER TABLE user_values ALTER COLUMN value_folded TYPE TEXT COLLATE "C";
ALTER TABLE user_search_terms ALTER COLUMN value_folded TYPE TEXT COLLATE "C";
ALTER TABLE groups ALTER COLUMN display_name_folded TYPE TEXT COLLATE "C";
ALTER TABLE groups ALTER COLUMN external_id TYPE TEXT COLLATE "C";
