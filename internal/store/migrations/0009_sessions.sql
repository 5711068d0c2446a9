-- 0009: the web console's sessions (package web), kept in the database so
-- that restarting `entraide serve` logs no one out and replicas behind one
-- address need no sticky sessions.
--
-- hash is the SHA-256 of the 256-bit random token the session cookie
-- carries; the token itself is never stored, so a copy of this table opens
-- no session. stamp is the digest the console makes of what the session
-- was granted on (the user's password hash, admin flag and role): when it
-- no longer matches the user, the user's sessions end. created, last_seen
-- and expires (the absolute end: created + the console's maximum age) are
-- int64 microseconds; the idle end is last_seen + the console's idle
-- timeout. lang is the console language of the session ('' for none).
-- There is no CSRF token: every state-changing request passes
-- http.CrossOriginProtection and the cookie is SameSite=Strict.
CREATE TABLE sessions (
	hash      {{.Blob}} PRIMARY KEY,
	user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
	stamp     {{.Blob}} NOT NULL,
	created   BIGINT NOT NULL,
	last_seen BIGINT NOT NULL,
	expires   BIGINT NOT NULL,
	lang      TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_name, created);
CREATE INDEX sessions_expires ON sessions (expires);
