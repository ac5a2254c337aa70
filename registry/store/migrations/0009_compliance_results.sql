-- Compliance report rows kept between reports (issue 15, item 4; registry/store/compliance_results.py).
-- A row is derived data: the EN 689 and Bayesian figures of one SEG and substance, keyed by a
-- hash of what it was computed from, so a report after new measurements recomputes only the
-- groups whose results changed. Rows belong to the employer whose results they summarise and
-- are read back for that employer only (or, by the operator, for all); deleting them loses
-- nothing but the time to compute them again.
CREATE TABLE compliance_inputs (
    employer_id UUID NOT NULL,
    variant VARCHAR NOT NULL,
    fingerprint VARCHAR NOT NULL,
    computed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (employer_id, variant)
);
CREATE TABLE compliance_rows (
    employer_id UUID NOT NULL,
    seg_id UUID NOT NULL,
    substance_id UUID NOT NULL,
    variant VARCHAR NOT NULL,
    compared BOOLEAN NOT NULL,
    data_key VARCHAR NOT NULL,
    row_data BLOB NOT NULL,
    PRIMARY KEY (employer_id, seg_id, substance_id, variant)
);
