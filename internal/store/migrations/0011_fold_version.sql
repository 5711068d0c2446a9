-- 0011: the version of the fold that computed each case's state. Folds
-- change between versions of Entraide (what a node folds for itself, per
-- viewer); a state folded by an older one stays until something new happens
-- on its case unless it is folded again: the engine folds again, when it
-- opens, every case whose fold_version is older than its own
-- (store.WorkflowStore.StaleWorkflowCases). The states already there were
-- folded before versions were recorded: 0.
--
-- (The provenance of 0002 is no longer written once only: a version its
-- originator shares again records the union of the distributions.)
ALTER TABLE workflow_cases ADD COLUMN fold_version INTEGER NOT NULL DEFAULT 0;
CREATE INDEX workflow_cases_fold ON workflow_cases (kind, fold_version, id);
