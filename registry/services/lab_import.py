"""Lab files straight in: the employer's column mapping, and storing a prepared file all or
nothing through the same use case as a JSON batch (services/measurements.py).

A file of up to 100,000 rows is stored in ONE transaction, in chunks of 10,000 (a batch's
size), through the batch's own columnar path: every chunk is first checked against the
store without writing (`batch_store_problems`), so a bad row anywhere is found before
anything is written and the audit log never notes a record that was not kept; only a file
without any error is then written, chunk by chunk (`record_batch`, which checks again).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import msgspec
import polars as pl

from registry.access import Action, Record, Work
from registry.lab_import.convert import Prepared, RowError, check_defaults
from registry.services import measurements as measurement_service
from registry.store import import_mappings as mapping_table
from schemas.errors import FieldError, InvalidInput
from schemas.lab_import import ImportMapping, ImportMappingOut
from schemas.validation import semantic_problems

__all__ = ["Progress", "mapping_in_force", "mapping_of", "record_prepared", "save_mapping", "valid_mapping"]

# Called after each chunk: (stage, rows done, rows in all); stage is "checking" or "storing".
Progress = Callable[[str, int, int], None]
_RECORD = "import_mapping"
# What the store's rules read of a chunk (services/measurements.py batch_store_problems).
_STORE_RULE_COLUMNS = ("substance_cas", "substance_id", "worker_id", "seg_id", "site_id", "sampling_start")


def mapping_in_force(work: Work) -> ImportMappingOut:
    """The employer's saved mapping, or the template's headers while none is saved."""
    employer_id = work.employer_id()
    work.check(Action.READ, Record(type=_RECORD, owner_employer_id=employer_id))
    stored = mapping_table.mapping_of(work.tx, employer_id)
    if stored is None:
        return _out(ImportMapping.default(), None)
    return _out(msgspec.json.decode(stored.mapping, type=ImportMapping), stored)


def mapping_of(out: ImportMappingOut) -> ImportMapping:
    """The mapping an answer of `mapping_in_force` describes."""
    return msgspec.convert({"columns": out.columns, "defaults": out.defaults}, ImportMapping)


def valid_mapping(mapping: ImportMapping) -> ImportMapping:
    """The mapping, or InvalidInput: a header named twice, a required field without a column
    or default, or a default no cell could hold."""
    errors = semantic_problems(mapping) + check_defaults(mapping)
    if errors:
        raise InvalidInput(errors)
    return mapping


def save_mapping(work: Work, mapping: ImportMapping) -> ImportMappingOut:
    """Replace the employer's mapping (checked by `valid_mapping` first)."""
    valid_mapping(mapping)
    employer_id = work.employer_id()
    work.check(Action.CREATE, Record(type=_RECORD, owner_employer_id=employer_id))
    stored = mapping_table.StoredMapping(
        mapping=msgspec.json.encode(mapping).decode(), updated_by=work.actor.label(), updated_at=work.now
    )
    mapping_table.save_mapping(work.tx, employer_id, stored)
    return _out(mapping, stored)


def record_prepared(work: Work, prepared: Prepared, progress: Progress | None = None) -> list[uuid.UUID]:
    """Store every row of `prepared` or none; raises InvalidInput naming each bad row and
    column (the store's rules in the batch's own words)."""
    if not prepared.rows_read:
        raise InvalidInput([FieldError(field="body", reason="no rows of results under the header row")])
    errors: list[RowError] = list(prepared.errors)
    known_bad = {e.row for e in errors}
    total = sum(len(chunk) for chunk in prepared.chunks)
    done = 0
    for chunk in prepared.chunks:  # the store's rules, nothing written
        frame = chunk.frame(*_STORE_RULE_COLUMNS)
        good = frame.filter(~pl.col("index").is_in(list(known_bad))) if known_bad else frame
        problems = measurement_service.batch_store_problems(work.tx, work.employer_id(), good)
        errors += prepared.locate_frame(problems)
        done += len(chunk)
        if progress:
            progress("checking", done, total)
    if errors:
        raise prepared.refusal(errors)
    ids: list[uuid.UUID] = []
    for chunk in prepared.chunks:
        ids += measurement_service.record_batch(work, chunk).ids
        if progress:
            progress("storing", len(ids), total)
    return ids


def _out(mapping: ImportMapping, stored: mapping_table.StoredMapping | None) -> ImportMappingOut:
    return ImportMappingOut(
        columns=mapping.headers(),
        defaults=mapping.fallbacks(),
        saved=stored is not None,
        updated_at=stored.updated_at if stored else None,
    )
