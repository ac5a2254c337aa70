-- Medical facts a company doctor records about a worker record (issue 19): what a limit for a
-- group of people needs (sex, and for a woman whether she can bear children) and the date
-- from which they apply. Medical data: the facts and their date are one ciphertext under the
-- worker record's data key (worker_keys), so crypto-shredding the record takes them along.
-- A change is a new row, never an update: what was recorded, by whom and when, stays.
CREATE TABLE medical_facts (
    id UUID PRIMARY KEY,
    worker_id UUID NOT NULL,
    facts_ct BLOB NOT NULL,
    recorded_by VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX medical_facts_worker ON medical_facts (worker_id);
