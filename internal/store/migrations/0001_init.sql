-- 0001: the node's first schema.
--
-- Written once for both engines: {{.Blob}}, {{.RowID}}, {{.Int64Key}},
-- {{.KeyText}} and {{.WithoutRowID}} come from the Dialect (see dialect.go). Times are int64 microseconds since
-- the Unix epoch, UTC. Every statement ends with a semicolon at the end of a
-- line; the migration runner splits on those.

-- A TAXII collection. pk is the compact key entries use; last_added is the
-- newest date_added given in the collection, so that date_added never goes
-- backwards even if the clock does.
CREATE TABLE collections (
	pk          {{.RowID}},
	id          TEXT NOT NULL UNIQUE,
	title       TEXT NOT NULL,
	description TEXT NOT NULL,
	alias       TEXT UNIQUE,
	media_types TEXT NOT NULL,
	created     BIGINT NOT NULL,
	last_added  BIGINT NOT NULL
);

-- One row per object version, whatever the collections it is in. pk is
-- handed out from counters (so that a batch is written without a round trip
-- per row). version_key
-- is the normalised version (stix.TimestampKey): byte order is time order and
-- two spellings of one instant are equal. An unversioned object (most SCOs)
-- is identified by (id, digest): its key is the key of its first date_added
-- followed by "~" and 16 hex digits of its digest, so that two contents first
-- stored in the same microsecond stay distinct and still sort by time.
CREATE TABLE objects (
	pk           {{.Int64Key}},
	id           {{.KeyText}} NOT NULL,
	version_key  {{.KeyText}} NOT NULL,
	version      TEXT NOT NULL,
	type         TEXT NOT NULL,
	spec_version TEXT NOT NULL,
	revoked      BOOLEAN NOT NULL,
	digest       {{.Blob}} NOT NULL,
	raw          {{.Blob}} NOT NULL
);
CREATE UNIQUE INDEX objects_version ON objects (id, version_key);

-- One row per object version per collection. seq is the insertion order,
-- strictly increasing and never reused (handed out from counters, in input
-- order). Listings are ordered by (date_added, seq) and paged by keyset on
-- that pair; pos is the pair as one 16-byte big-endian key, so that "after
-- this cursor" and "added after this time" are each one range on one column
-- of one index (SQLite seeks a row-value range on its first column only).
-- The primary key (coll, pos) lists all versions; on SQLite the table is
-- clustered on it. type, spec_version and version_key are copied from
-- objects so that the filters of a listing are answered from this table.
-- is_latest and is_first mark, per (collection, object id), the entry with
-- the highest and the lowest version_key; partial indexes make "latest
-- versions" and "first versions" index range scans. coll and object are
-- not declared foreign keys: the store is the only writer and never deletes
-- collections or objects, and PostgreSQL would lock every referenced row
-- (a write to each object's page) for each entry inserted.
CREATE TABLE entries (
	coll         BIGINT NOT NULL,
	pos          {{.Blob}} NOT NULL,
	seq          BIGINT NOT NULL,
	date_added   BIGINT NOT NULL,
	object       BIGINT NOT NULL,
	id           {{.KeyText}} NOT NULL,
	type         {{.KeyText}} NOT NULL,
	spec_version {{.KeyText}} NOT NULL,
	version_key  {{.KeyText}} NOT NULL,
	is_latest    BOOLEAN NOT NULL,
	is_first     BOOLEAN NOT NULL,
	PRIMARY KEY (coll, pos)
){{.WithoutRowID}};
CREATE UNIQUE INDEX entries_object ON entries (coll, object);
CREATE INDEX entries_latest ON entries (coll, pos) WHERE is_latest;
CREATE INDEX entries_first ON entries (coll, pos) WHERE is_first;
CREATE INDEX entries_latest_type ON entries (coll, type, pos) WHERE is_latest;

-- Counters handed out by write transactions (which are serialised).
CREATE TABLE counters (
	name  TEXT PRIMARY KEY,
	value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('entry_seq', 0);
INSERT INTO counters (name, value) VALUES ('object_pk', 0);

-- TAXII status resources; the details are JSON arrays of StatusDetail.
CREATE TABLE statuses (
	id                TEXT PRIMARY KEY,
	owner             TEXT NOT NULL,
	status            TEXT NOT NULL,
	request_timestamp BIGINT NOT NULL,
	total_count       BIGINT NOT NULL,
	successes         TEXT NOT NULL,
	failures          TEXT NOT NULL,
	pendings          TEXT NOT NULL
);

CREATE TABLE users (
	name          TEXT PRIMARY KEY,
	password_hash TEXT NOT NULL,
	admin         BOOLEAN NOT NULL,
	disabled      BOOLEAN NOT NULL,
	created       BIGINT NOT NULL
);

-- A permission may name a collection that does not exist (yet): it grants
-- nothing until it does.
CREATE TABLE permissions (
	user_name  TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
	collection TEXT NOT NULL,
	can_read   BOOLEAN NOT NULL,
	can_write  BOOLEAN NOT NULL,
	PRIMARY KEY (user_name, collection)
);

-- Bearer tokens, by the SHA-256 of the secret. expires is 0 for none.
CREATE TABLE tokens (
	id        TEXT PRIMARY KEY,
	user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
	hash      {{.Blob}} NOT NULL UNIQUE,
	label     TEXT NOT NULL,
	created   BIGINT NOT NULL,
	expires   BIGINT NOT NULL,
	revoked   BOOLEAN NOT NULL
);
CREATE INDEX tokens_user ON tokens (user_name);
