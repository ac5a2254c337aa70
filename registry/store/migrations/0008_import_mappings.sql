-- Lab import (issue 15, item 3): each employer's column mapping of lab files, saved once and
-- used for every import (field -> header of the lab's file, and defaults for fields a file
-- leaves empty). One row per employer, replaced when the employer saves another mapping; the
-- audit log keeps who saved it when.
CREATE TABLE import_mappings (
    employer_id UUID PRIMARY KEY,
    mapping VARCHAR NOT NULL,
    updated_by VARCHAR NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
