-- 0008: the state of each peer's queue (OutboxStats, `entraide status`)
-- without reading every delivery row ever queued: the outbox only grows, and
-- counting it took most of the time of `status` on a busy node.
--
-- outbox_totals has a row for every peer with a queue (from its first
-- queued row on) and keeps its settled rows: delivered counts the rows with
-- delivered_at <> 0; failed the final failures still undelivered
-- (delivered_at = 0 AND failed_at <> 0); last_delivered the largest
-- delivered_at (0 for none). The transaction that queues a peer's first row
-- inserts its row; those that settle rows (MarkDelivered, MarkFailed without
-- retry, RemovePeer) update it. It is filled here from the rows already
-- there.
CREATE TABLE outbox_totals (
	peer           TEXT PRIMARY KEY,
	delivered      BIGINT NOT NULL,
	failed         BIGINT NOT NULL,
	last_delivered BIGINT NOT NULL
);
INSERT INTO outbox_totals (peer, delivered, failed, last_delivered)
	SELECT peer, COUNT(CASE WHEN delivered_at <> 0 THEN 1 END),
		COUNT(CASE WHEN delivered_at = 0 AND failed_at <> 0 THEN 1 END), MAX(delivered_at)
	FROM outbox
	GROUP BY peer;

-- The pending rows' index also carries created, so that the pending count
-- and the oldest pending row of a peer are read from its range of the index
-- alone, whatever the number of rows delivered before. PendingOutbox scans
-- it by (peer, seq) as before.
DROP INDEX outbox_pending;
CREATE INDEX outbox_pending ON outbox (peer, seq, created) WHERE delivered_at = 0 AND failed_at = 0;
