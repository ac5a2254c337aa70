-- Limit values (grenswaarden) as versioned data: every row keeps its validity interval
-- [valid_from, valid_to) and its citation, so a measurement is always compared with the
-- limit in force on its date and a report can say which row it used.
CREATE TABLE limit_values (
    id UUID PRIMARY KEY,
    substance_name VARCHAR NOT NULL,
    cas VARCHAR,
    ec VARCHAR,
    jurisdiction VARCHAR NOT NULL,
    limit_type VARCHAR NOT NULL,
    value DOUBLE NOT NULL,
    unit VARCHAR NOT NULL,
    valid_from DATE,
    valid_to DATE,
    notation VARCHAR NOT NULL,
    population VARCHAR,
    matrix VARCHAR,
    analyte VARCHAR,
    owner_employer_id VARCHAR,
    source_citation VARCHAR NOT NULL,
    import_batch VARCHAR NOT NULL,
    imported_at TIMESTAMP NOT NULL
);
CREATE INDEX limit_values_cas ON limit_values (cas);
