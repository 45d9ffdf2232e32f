-- A sealed password for device administration logins over RADIUS
-- (switches and routers asking with Service-Type Administrative-User).
ALTER TABLE admins ADD COLUMN device_password BYTEA;
