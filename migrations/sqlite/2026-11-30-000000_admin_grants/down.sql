DROP TABLE admin_grants;
