-- Each employer knows a person by its own worker id (issue 14).
--
-- Before: one `workers` row per person (BSN), shared by every employer, so any employer
-- holding the id could read the identity another employer supplied. After: one `workers`
-- row per (employer, person): the employer's own worker id, the identity *that employer*
-- supplied, and the BSN blind index. A person is every worker row with the same blind index:
-- no row is shared, so registering someone another employer knows does exactly the work of
-- registering someone new (no oracle in the answer, the errors or the timing).
-- Each worker row's ciphertexts (identity, biological results) are under the data key
-- `key_id` in worker_keys: its own id for a new row.
--
-- Migrating existing stores: every (old worker, employer) pair found in the records or in the
-- audit log of worker registrations becomes a worker row. The employer seen first keeps the
-- old id; every other employer gets a new id and its records are moved to it. Their
-- ciphertexts stay as they were, under the old worker's key (key_id = the old id). A worker
-- that no employer ever recorded anything for keeps a row without an employer: visible to the
-- worker and the operator only.

CREATE TABLE migration_worker_split AS
WITH evidence AS (
    SELECT TRY_CAST(a.resource_id AS UUID) AS worker_id, k.employer_id, a.occurred_at AS seen
    FROM audit_log a JOIN api_keys k ON a.actor_id = 'key:' || k.key_id
    WHERE a.resource_type = 'worker' AND a.action = 'create' AND a.outcome = 'allowed'
    UNION ALL SELECT worker_id, employer_id, created_at FROM employments
    UNION ALL SELECT worker_id, employer_id, recorded_at FROM measurements WHERE worker_id IS NOT NULL
    UNION ALL SELECT worker_id, employer_id, recorded_at FROM registrations
    UNION ALL SELECT m.worker_id, g.employer_id, m.created_at FROM seg_members m JOIN segs g ON g.id = m.seg_id
),
pairs AS (
    SELECT worker_id, employer_id, min(seen) AS first_seen
    FROM evidence
    WHERE worker_id IN (SELECT id FROM workers)
    GROUP BY worker_id, employer_id
)
SELECT
    worker_id AS old_id,
    employer_id,
    CASE
        WHEN row_number() OVER (PARTITION BY worker_id ORDER BY first_seen, employer_id) = 1 THEN worker_id
        ELSE gen_random_uuid()
    END AS new_id
FROM pairs;

CREATE TABLE workers_per_employer (
    id UUID PRIMARY KEY,
    employer_id UUID,
    bsn_index VARCHAR NOT NULL,
    key_id UUID NOT NULL,
    bsn_ct BLOB NOT NULL,
    name_ct BLOB NOT NULL,
    birth_date_ct BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (employer_id, bsn_index)
);
INSERT INTO workers_per_employer
SELECT s.new_id, s.employer_id, w.bsn_index, w.id, w.bsn_ct, w.name_ct, w.birth_date_ct, w.created_at
FROM migration_worker_split s JOIN workers w ON w.id = s.old_id;
INSERT INTO workers_per_employer
SELECT w.id, NULL, w.bsn_index, w.id, w.bsn_ct, w.name_ct, w.birth_date_ct, w.created_at
FROM workers w WHERE w.id NOT IN (SELECT old_id FROM migration_worker_split);

UPDATE employments SET worker_id = s.new_id FROM migration_worker_split s
WHERE employments.worker_id = s.old_id AND employments.employer_id = s.employer_id AND s.new_id <> s.old_id;
UPDATE measurements SET worker_id = s.new_id FROM migration_worker_split s
WHERE measurements.worker_id = s.old_id AND measurements.employer_id = s.employer_id AND s.new_id <> s.old_id;
UPDATE registrations SET worker_id = s.new_id FROM migration_worker_split s
WHERE registrations.worker_id = s.old_id AND registrations.employer_id = s.employer_id AND s.new_id <> s.old_id;
UPDATE seg_members SET worker_id = s.new_id FROM migration_worker_split s, segs g
WHERE g.id = seg_members.seg_id AND seg_members.worker_id = s.old_id AND g.employer_id = s.employer_id
    AND s.new_id <> s.old_id;

DROP TABLE migration_worker_split;
DROP TABLE workers;
ALTER TABLE workers_per_employer RENAME TO workers;
CREATE INDEX workers_person ON workers (bsn_index);
CREATE INDEX workers_employer ON workers (employer_id);
CREATE INDEX seg_members_seg ON seg_members (seg_id);
CREATE INDEX employments_agency ON employments (agency_employer_id);

-- Mandates (a hygienist or sector body recording for an employer) and contracts (a company
-- doctor for an employer's workers), each for a period. The person is known by the OpenID
-- issuer that vouches for them and their subject there.
CREATE TABLE grants (
    id UUID PRIMARY KEY,
    role VARCHAR NOT NULL,
    issuer VARCHAR NOT NULL,
    subject VARCHAR NOT NULL,
    employer_id UUID NOT NULL REFERENCES employers (id),
    valid_from DATE NOT NULL,
    valid_to DATE,
    granted_by VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX grants_subject ON grants (subject);

-- The operator's decisions on persons whose employers supplied differing identity data.
-- `fingerprint` names the set of worker rows decided on: a later registration reopens it.
CREATE TABLE identity_resolutions (
    fingerprint VARCHAR PRIMARY KEY,
    note VARCHAR NOT NULL,
    resolved_by VARCHAR NOT NULL,
    resolved_at TIMESTAMP NOT NULL
);

-- For whom an actor acted (the employer behind an API key, a mandate or a contract), so a
-- worker's access log can say who read their data on whose behalf.
ALTER TABLE audit_log ADD COLUMN acting_for VARCHAR;
