-- 0005: the cooperation workflows (package workflow). Same conventions as
-- 0001 (times are int64 microseconds, 0 for none).

-- One row per workflow object version this node holds: the case object
-- (an alert, an incident, a request…) and every step (a state change,
-- itself a signed STIX object). Written in the transaction that stores the
-- object (store.AddOptions.Workflow), so an object is never stored without
-- its index row. node is the identity id of the node that signed it; at is
-- when the change was made (the object's created). raw is the object's
-- exact JSON (workflow objects are never TLP:RED, so never sealed). seq is
-- the insertion order; applied says the case's state row (workflow_cases)
-- has taken this item into account: a node that stops between the two
-- writes finds the unapplied items and folds their cases again.
CREATE TABLE workflow_items (
	seq       {{.Int64Key}},
	object_id {{.KeyText}} NOT NULL,
	version   {{.KeyText}} NOT NULL,
	case_id   {{.KeyText}} NOT NULL,
	kind      TEXT NOT NULL,
	step      BOOLEAN NOT NULL,
	node      TEXT NOT NULL,
	action    TEXT NOT NULL,
	at        BIGINT NOT NULL,
	raw       {{.Blob}} NOT NULL,
	applied   BOOLEAN NOT NULL
);
CREATE UNIQUE INDEX workflow_items_version ON workflow_items (object_id, version);
CREATE INDEX workflow_items_case ON workflow_items (case_id, at, seq);
CREATE INDEX workflow_items_unapplied ON workflow_items (case_id) WHERE applied = FALSE;

-- The folded state of each case, derived from its items (it can always be
-- recomputed from them). next_due is the earliest open deadline (0: none);
-- waiting_on the JSON array of the node identity ids that deadline waits
-- on; state the kind's JSON view of the case; folded_seq
-- the last item seq the state was folded from (an older fold never
-- replaces a newer one).
CREATE TABLE workflow_cases (
	id        {{.KeyText}} PRIMARY KEY,
	kind      TEXT NOT NULL,
	origin    TEXT NOT NULL,
	title     TEXT NOT NULL,
	severity  INTEGER NOT NULL,
	status    TEXT NOT NULL,
	open      BOOLEAN NOT NULL,
	next_due  BIGINT NOT NULL,
	waiting_on TEXT NOT NULL,
	opened    BIGINT NOT NULL,
	updated   BIGINT NOT NULL,
	state     TEXT NOT NULL,
	folded_seq BIGINT NOT NULL
);
CREATE INDEX workflow_cases_kind ON workflow_cases (kind, opened);
CREATE INDEX workflow_cases_due ON workflow_cases (open, next_due);
INSERT INTO counters (name, value) VALUES ('workflow_seq', 0);
