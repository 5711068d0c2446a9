-- 0004: TLP:RED at rest. sealed marks an object version whose raw column
-- holds the sealed bytes (store.Sealer: AES-256-GCM, nonce first, the
-- additional data binding the row to its id and version) instead of the
-- exact JSON. Only TLP:RED versions are sealed, so the flag is also the
-- clear-text index of "this is RED" that listings and the policy read
-- without opening anything. Rows written before this migration are in
-- clear (sealed = FALSE).
ALTER TABLE objects ADD COLUMN sealed BOOLEAN NOT NULL DEFAULT FALSE;
