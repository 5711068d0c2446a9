-- 0010: the console finds the cases it shows with an index, whatever their
-- number: the alerts this node received among thousands it sent, the cases
-- whose next deadline waits on this node (store.WorkflowQuery Origin,
-- NotOrigin, WaitingOn).
--
-- Cases by kind and originating node, newest first (id: the order's last
-- term).
CREATE INDEX workflow_cases_origin ON workflow_cases (kind, origin, opened, id);

-- workflow_waiting has one row per node the next deadline of an open case
-- waits on (workflow_cases.waiting_on, one row per element), with the
-- case's kind and deadline: the cases waiting on a node are a range of its
-- index, soonest first. PutWorkflowCase rewrites a case's rows in the
-- transaction that writes its state; a closed case, or one without an open
-- deadline, has none. It is filled here from the states already there.
CREATE TABLE workflow_waiting (
	case_id  {{.KeyText}} NOT NULL,
	node     {{.KeyText}} NOT NULL,
	kind     TEXT NOT NULL,
	next_due BIGINT NOT NULL,
	PRIMARY KEY (case_id, node)
){{.WithoutRowID}};
CREATE INDEX workflow_waiting_node ON workflow_waiting (node, kind, next_due, case_id);
{{if eq .Name "postgres"}}
INSERT INTO workflow_waiting (case_id, node, kind, next_due)
	SELECT DISTINCT c.id, w.node, c.kind, c.next_due
	FROM workflow_cases c CROSS JOIN LATERAL json_array_elements_text(c.waiting_on::json) AS w(node)
	WHERE c.open AND c.next_due > 0;
{{else}}
INSERT INTO workflow_waiting (case_id, node, kind, next_due)
	SELECT DISTINCT c.id, w.value, c.kind, c.next_due
	FROM workflow_cases c, json_each(c.waiting_on) AS w
	WHERE c.open AND c.next_due > 0;
{{end}}
