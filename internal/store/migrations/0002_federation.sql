-- 0002: the federation: pinned peers and their keys, communities, the
-- provenance of every stored object version, and the outbox that delivery
-- workers drain. Same conventions as 0001 (times are int64 microseconds, 0
-- for none; {{.Blob}} and the other types come from the Dialect).

-- A pinned peer. identity_id is the peer's STIX identity (derived from its
-- first signing key, so it never changes); name is how people call it and
-- may be chosen locally. tls_spki is the SHA-256 of its federation TLS
-- certificate's SubjectPublicKeyInfo, lowercase hex: the only thing the
-- mutual-TLS check looks at. card is the signed card as received.
-- last_contact is the last successful exchange; last_error and
-- last_error_at the last failed one.
CREATE TABLE peers (
	identity_id   TEXT PRIMARY KEY,
	name          TEXT NOT NULL UNIQUE,
	organisation  TEXT NOT NULL,
	country       TEXT NOT NULL,
	endpoint      TEXT NOT NULL,
	tls_spki      TEXT NOT NULL UNIQUE,
	card          {{.Blob}} NOT NULL,
	added         BIGINT NOT NULL,
	last_contact  BIGINT NOT NULL,
	last_error    TEXT NOT NULL,
	last_error_at BIGINT NOT NULL
);

-- Every Ed25519 signing key a peer ever had, in the order they were pinned
-- (seq 1 is its first key): after a rotation both the old and the new key,
-- so that objects signed before the rotation keep verifying.
CREATE TABLE peer_keys (
	peer   TEXT NOT NULL REFERENCES peers (identity_id) ON DELETE CASCADE,
	seq    INTEGER NOT NULL,
	pubkey {{.Blob}} NOT NULL,
	added  BIGINT NOT NULL,
	PRIMARY KEY (peer, seq),
	UNIQUE (peer, pubkey)
);

-- A community: a named trust group with the highest TLP level and the object
-- types it carries (types is a JSON array of strings, [] for every type).
-- collection is the id of the TAXII collection (alias = name) where the
-- objects shared to the community live and where members push and pull.
CREATE TABLE communities (
	name       TEXT PRIMARY KEY,
	max_tlp    TEXT NOT NULL,
	types      TEXT NOT NULL,
	collection TEXT NOT NULL,
	created    BIGINT NOT NULL
);

-- Members are node identity ids, this node's own included when it is a member.
CREATE TABLE community_members (
	community TEXT NOT NULL REFERENCES communities (name) ON DELETE CASCADE,
	member    TEXT NOT NULL,
	PRIMARY KEY (community, member)
);

-- Where an object version came from, as this node first learnt it: one row
-- per objects.pk, written once (the first provenance of a version is never
-- overwritten). origin is the signer's identity id ("" when unknown, an
-- import); received_from the peer that delivered it ("" for our own);
-- received_via the community it came through ("" for a direct send or our
-- own). distribution is JSON {"communities":[…],"nodes":[…]}, the
-- originator's choice; red_recipients JSON [{"node":…,"user":…}].
CREATE TABLE provenance (
	object         BIGINT PRIMARY KEY,
	origin         TEXT NOT NULL,
	received_from  TEXT NOT NULL,
	received_via   TEXT NOT NULL,
	distribution   TEXT NOT NULL,
	red_recipients TEXT NOT NULL,
	received_at    BIGINT NOT NULL
);

-- The transactional outbox: one row per (object version, peer) to deliver,
-- written in the transaction that stores the object. seq is handed out from
-- counters, strictly increasing in commit order. object is objects.pk.
-- community is the community the send is made for ("" for a direct send);
-- tlp the object's strictest TLP level when it was shared ("" for none), for
-- the transparency report. A row is pending while delivered_at = 0 and
-- failed_at = 0 (failed_at marks a final failure); a pending row is due when
-- next_attempt <= now.
CREATE TABLE outbox (
	seq          {{.Int64Key}},
	peer         TEXT NOT NULL,
	object       BIGINT NOT NULL,
	community    TEXT NOT NULL,
	tlp          TEXT NOT NULL,
	created      BIGINT NOT NULL,
	attempts     INTEGER NOT NULL,
	next_attempt BIGINT NOT NULL,
	delivered_at BIGINT NOT NULL,
	failed_at    BIGINT NOT NULL,
	last_error   TEXT NOT NULL
);
CREATE INDEX outbox_pending ON outbox (peer, seq) WHERE delivered_at = 0 AND failed_at = 0;
CREATE INDEX outbox_created ON outbox (created);
INSERT INTO counters (name, value) VALUES ('outbox_seq', 0);
