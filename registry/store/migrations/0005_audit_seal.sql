-- A keyed seal per audit entry (crypto.audit_seal): HMAC-SHA-256 under a key from the key
-- file over stream, seq and entry_hash. The SHA-256 chain alone could be recomputed by anyone
-- with SQL access (issue 20). Entries written before this migration are sealed once, at the
-- cut-over, after their chain is checked; the anchor file beside the key file records it.
ALTER TABLE audit_log ADD COLUMN seal VARCHAR;
