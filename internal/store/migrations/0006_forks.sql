-- 0006: find the forks the audit log recorded (audit.KindForkDetected)
-- without reading the whole log: `entraide status` shows, per peer, that
-- its audit log was seen forked.
CREATE INDEX audit_entries_forks ON audit_entries (peer, time) WHERE kind = 'fork-detected';
