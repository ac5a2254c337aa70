-- Limit management (issue 19, item 7).
--
-- fraction: the particle-size fraction a dust limit refers to (inhalable, respirable,
-- thoracic), a column of the corrected reference file.
-- sector_sbi: the SBI code of the sector a sector limit belongs to; it applies to every
-- employer whose SBI code starts with it.
-- superseded_at / superseded_by: a row is never deleted. Re-importing a changed row marks
-- the stored row superseded by the import batch that replaced it, and an employer's
-- withdrawal of its company limit marks it withdrawn, so that a report made before still
-- names the row it used. Only rows with superseded_at NULL are in use.
ALTER TABLE limit_values ADD COLUMN fraction VARCHAR;
ALTER TABLE limit_values ADD COLUMN sector_sbi VARCHAR;
ALTER TABLE limit_values ADD COLUMN superseded_at TIMESTAMP;
ALTER TABLE limit_values ADD COLUMN superseded_by VARCHAR;
CREATE INDEX limit_values_owner ON limit_values (owner_employer_id);
