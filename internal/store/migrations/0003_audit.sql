-- 0003: the tamper-evident audit log (package audit). Same conventions as
-- 0001 (times are int64 microseconds; {{.Blob}} and the other types come
-- from the Dialect).

-- One row per entry; seq is the tlog record index (0, 1, 2, …). The columns
-- are the fields of audit.Entry, "" when absent; detail is the canonical
-- JSON object (audit.EncodeDetail), "" when empty. Nothing here is trusted:
-- Verify recomputes each entry's leaf from these columns and compares it
-- with audit_hashes and the signed checkpoints. Times never decrease along
-- seq, so audit_entries_time finds where "since" starts.
CREATE TABLE audit_entries (
	seq            {{.Int64Key}},
	time           BIGINT NOT NULL,
	kind           TEXT NOT NULL,
	actor          TEXT NOT NULL,
	peer           TEXT NOT NULL,
	object_id      TEXT NOT NULL,
	object_version TEXT NOT NULL,
	community      TEXT NOT NULL,
	tlp            TEXT NOT NULL,
	reason         TEXT NOT NULL,
	detail         TEXT NOT NULL
);
CREATE INDEX audit_entries_time ON audit_entries (time, seq);

-- The tlog stored hashes, by tlog.StoredHashIndex: about two per entry. An
-- append reads only the right edge of the tree (O(log n) rows).
CREATE TABLE audit_hashes (
	idx  {{.Int64Key}},
	hash {{.Blob}} NOT NULL
);

-- The log's tip: its size (the next seq) and the time of its last entry,
-- kept apart from the entry rows so that deleting rows cannot make an
-- append reuse a seq.
INSERT INTO counters (name, value) VALUES ('audit_size', 0);
INSERT INTO counters (name, value) VALUES ('audit_time', 0);

-- Checkpoints this node signed of its own log: note is the signed note.
CREATE TABLE audit_checkpoints (
	size    {{.Int64Key}},
	root    {{.Blob}} NOT NULL,
	note    {{.Blob}} NOT NULL,
	created BIGINT NOT NULL
);

-- Peers' cosignatures of our checkpoints: note is the checkpoint text with
-- the peer's signature, as received. peer is the peer's name (its note key
-- name).
CREATE TABLE audit_cosignatures (
	peer     TEXT NOT NULL,
	size     BIGINT NOT NULL,
	root     {{.Blob}} NOT NULL,
	note     {{.Blob}} NOT NULL,
	received BIGINT NOT NULL,
	PRIMARY KEY (peer, size)
);

-- Checkpoints of peers' logs that this node cosigned: checkpoint is the
-- peer's signed note, cosignature ours. The largest size of a peer is what
-- its next checkpoint must be proven consistent with.
CREATE TABLE audit_peer_checkpoints (
	peer        TEXT NOT NULL,
	size        BIGINT NOT NULL,
	root        {{.Blob}} NOT NULL,
	checkpoint  {{.Blob}} NOT NULL,
	cosignature {{.Blob}} NOT NULL,
	created     BIGINT NOT NULL,
	PRIMARY KEY (peer, size)
);
