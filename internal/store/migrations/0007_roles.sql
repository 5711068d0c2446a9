-- 0007: console roles (package web). Every user has one role: admin,
-- analyst, liaison or viewer; '' means none was ever set, and the user is
-- then an admin when the admin flag is set and a viewer otherwise (see
-- store.EffectiveRole). Users who existed before keep what they could do:
-- administrators become admin, users who may write a collection analyst,
-- the others viewer.
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT '';
UPDATE users SET role = 'admin' WHERE admin;
UPDATE users SET role = 'analyst' WHERE role = '' AND name IN (SELECT user_name FROM permissions WHERE can_write);
UPDATE users SET role = 'viewer' WHERE role = '';
