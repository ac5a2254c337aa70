-- Initial schema. Written in the SQL that DuckDB runs both on its own encrypted file and on
-- an attached PostgreSQL database, so one set of statements serves both stores.
-- Direct identifiers and medical values are ciphertexts (*_ct), encrypted per worker.
-- Times are UTC (TIMESTAMP without zone, by convention UTC).
-- Rows that point at a worker carry no foreign key to workers: retention deletes a
-- worker's rows and the worker in one transaction, which DuckDB's foreign keys forbid.

CREATE TABLE employers (
    id UUID PRIMARY KEY,
    kvk VARCHAR NOT NULL UNIQUE,
    name VARCHAR NOT NULL,
    sbi_code VARCHAR,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE api_keys (
    key_id VARCHAR PRIMARY KEY,
    employer_id UUID NOT NULL REFERENCES employers (id),
    secret_hash VARCHAR NOT NULL,
    label VARCHAR,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);

CREATE TABLE sites (
    id UUID PRIMARY KEY,
    employer_id UUID NOT NULL REFERENCES employers (id),
    name VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    parent_id UUID,
    city VARCHAR,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE workers (
    id UUID PRIMARY KEY,
    bsn_index VARCHAR NOT NULL UNIQUE,
    bsn_ct BLOB NOT NULL,
    name_ct BLOB NOT NULL,
    birth_date_ct BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- A worker's data key, wrapped by a key-encryption key that lives in the key file only.
-- Deleting the row crypto-shreds every *_ct of that worker.
CREATE TABLE worker_keys (
    worker_id UUID PRIMARY KEY,
    kek_id VARCHAR NOT NULL,
    wrapped_key BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE employments (
    id UUID PRIMARY KEY,
    worker_id UUID NOT NULL,
    employer_id UUID NOT NULL REFERENCES employers (id),
    employment_type VARCHAR NOT NULL,
    agency_employer_id UUID,
    site_id UUID,
    job_title VARCHAR,
    start_date DATE NOT NULL,
    end_date DATE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX employments_worker ON employments (worker_id);
CREATE INDEX employments_employer ON employments (employer_id);

CREATE TABLE substances (
    id UUID PRIMARY KEY,
    name VARCHAR NOT NULL,
    cas VARCHAR UNIQUE,
    ec VARCHAR,
    carcinogen_category VARCHAR,
    mutagen_category VARCHAR,
    reprotoxic_category VARCHAR,
    respiratory_sensitiser BOOLEAN NOT NULL,
    skin_sensitiser BOOLEAN NOT NULL,
    molar_mass_g_per_mol DOUBLE,
    source VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE segs (
    id UUID PRIMARY KEY,
    employer_id UUID NOT NULL REFERENCES employers (id),
    name VARCHAR NOT NULL,
    site_id UUID,
    description VARCHAR,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE seg_members (
    id UUID PRIMARY KEY,
    seg_id UUID NOT NULL REFERENCES segs (id),
    worker_id UUID NOT NULL,
    start_date DATE NOT NULL,
    end_date DATE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX seg_members_worker ON seg_members (worker_id);

-- Air results are stored in the clear (inside the encrypted file); a biological result
-- (value, lod, below_lod) is medical data and lives only in result_ct.
CREATE TABLE measurements (
    id UUID PRIMARY KEY,
    employer_id UUID NOT NULL REFERENCES employers (id),
    sample_type VARCHAR NOT NULL,
    substance_id UUID NOT NULL REFERENCES substances (id),
    worker_id UUID,
    seg_id UUID,
    site_id UUID,
    value DOUBLE,
    below_lod BOOLEAN,
    lod DOUBLE,
    result_ct BLOB,
    unit VARCHAR NOT NULL,
    matrix VARCHAR,
    analyte VARCHAR,
    sampling_start TIMESTAMP NOT NULL,
    sampling_end TIMESTAMP NOT NULL,
    sampled_minutes DOUBLE NOT NULL,
    air_volume_l DOUBLE,
    method VARCHAR,
    lab VARCHAR,
    lab_report_id VARCHAR,
    chain_of_custody VARCHAR,
    task VARCHAR,
    location VARCHAR,
    rpe VARCHAR,
    protection_factor DOUBLE,
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX measurements_employer ON measurements (employer_id);
CREATE INDEX measurements_worker ON measurements (worker_id);
CREATE INDEX measurements_seg ON measurements (seg_id);

CREATE TABLE registrations (
    id UUID PRIMARY KEY,
    employer_id UUID NOT NULL REFERENCES employers (id),
    worker_id UUID NOT NULL,
    substance_id UUID NOT NULL REFERENCES substances (id),
    site_id UUID,
    task VARCHAR NOT NULL,
    period_start DATE NOT NULL,
    period_end DATE,
    level_value DOUBLE,
    level_unit VARCHAR,
    level_band VARCHAR,
    basis VARCHAR NOT NULL,
    measurement_ids VARCHAR NOT NULL,
    frequency VARCHAR,
    hours_per_day DOUBLE,
    days_per_year INTEGER,
    controls VARCHAR,
    ppe VARCHAR,
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX registrations_employer ON registrations (employer_id);
CREATE INDEX registrations_worker ON registrations (worker_id);

-- A retried request with the same key returns the first outcome instead of writing twice.
-- Only ids are kept, never response bodies (they may hold personal data).
CREATE TABLE idempotency_keys (
    employer_id UUID NOT NULL,
    idempotency_key VARCHAR NOT NULL,
    request_hash VARCHAR NOT NULL,
    status_code INTEGER NOT NULL,
    resource_type VARCHAR NOT NULL,
    resource_ids VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (employer_id, idempotency_key)
);

-- Who did what with whose data, for which purpose, with what outcome (NEN 7513 style).
-- Hash-chained: entry_hash = sha256(prev_hash || canonical entry). Each API process writes
-- its own chain (stream), so processes never race for the next link. No personal data in
-- the clear: the subject is the worker's pseudonymous id.
CREATE TABLE audit_log (
    stream VARCHAR NOT NULL,
    seq BIGINT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    actor_type VARCHAR NOT NULL,
    actor_id VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    resource_type VARCHAR NOT NULL,
    resource_id VARCHAR,
    subject_worker_id UUID,
    purpose VARCHAR,
    outcome VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    prev_hash VARCHAR NOT NULL,
    entry_hash VARCHAR NOT NULL,
    PRIMARY KEY (stream, seq)
);
CREATE INDEX audit_subject ON audit_log (subject_worker_id);
