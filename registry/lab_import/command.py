"""`registry import FILE --employer KVK`: a lab's file from the command line, with the API's
rules (the employer's mapping, all or nothing, errors by row and column) and a progress bar.

The operator acts for the employer named by its KvK number: the audit log records the CLI
as the actor and the employer it acted for, as for a request with the employer's key.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from registry.access import Actor, ActorKind, Purpose, Work
from registry.command_io import CommandFailed, Io
from registry.lab_import.convert import numeric_headers, prepare
from registry.lab_import.files import format_of, read_table
from registry.runtime import Runtime
from registry.services import lab_import as service
from registry.store import organisations as org_table
from schemas.errors import InvalidInput
from schemas.identifiers import normalise_kvk
from schemas.lab_import import ImportFormat, ImportMapping, ImportResult
from schemas.validation import parse

__all__ = ["import_lab_file"]

_STAGES = {"checking": "controleren / checking", "storing": "opslaan / storing"}


def import_lab_file(rt: Runtime, path: str, kvk: str, mapping_path: str | None, io: Io) -> ImportResult:
    """Read, check and store the file for the employer; CommandFailed (each error on stderr as
    FILE: row R, column "C": reason) when anything is wrong, and then nothing is stored."""
    name = Path(path).name
    content = io.read_bytes(path)
    work = Work(rt.db, rt.vault, _acting_for(rt, kvk), Purpose.LEGAL_DUTY)
    mapping = _mapping(io, mapping_path) if mapping_path else service.mapping_of(work.read(service.mapping_in_force))
    try:
        table = read_table(content, _format(path, content), numeric_headers(mapping))
        prepared = prepare(table, mapping)
        with _progress(io) as progress:
            ids = work.write(lambda w: service.record_prepared(w, prepared, progress))
    except InvalidInput as exc:
        for error in exc.errors:
            io.err.write(f"{name}: {error.field}: {error.reason}\n" if error.field else f"{name}: {error.reason}\n")
        raise CommandFailed(f"nothing imported: {exc.detail}") from None
    return ImportResult(stored=len(ids), ids=ids, ignored_columns=prepared.ignored_columns)


def _acting_for(rt: Runtime, kvk: str) -> Actor:
    try:
        number = normalise_kvk(kvk)
    except ValueError as exc:
        raise CommandFailed(f"--employer: {exc}") from None
    operator = Work(rt.db, rt.vault, Actor(kind=ActorKind.OPERATOR, id="cli"), Purpose.ADMINISTRATION)
    employer = operator.read(lambda w: org_table.employer_by_kvk(w.tx, number))
    if employer is None:
        raise CommandFailed(f"no employer with KvK number {kvk}")
    employer_id: uuid.UUID = employer.id
    return Actor(kind=ActorKind.EMPLOYER, id="cli", employer_id=employer_id, acting_for=f"employer:{employer_id}")


def _mapping(io: Io, path: str) -> ImportMapping:
    """A mapping file: the JSON of PUT /api/v1/measurements/import/mapping."""
    try:
        raw = msgspec.json.decode(io.read_text(path))
    except msgspec.DecodeError as exc:
        raise CommandFailed(f"--mapping: {path} is not JSON: {exc}") from None
    try:
        return service.valid_mapping(parse(ImportMapping, raw))
    except InvalidInput as exc:
        problems = "; ".join(f"{e.field}: {e.reason}" for e in exc.errors)
        raise CommandFailed(f"--mapping: {path}: {problems}") from None


def _format(path: str, content: bytes) -> ImportFormat:
    suffix = Path(path).suffix.lower()
    if suffix == ".xlsx":
        return "xlsx"
    if suffix in (".csv", ".txt"):
        return "csv"
    return format_of(None, content)


@contextmanager
def _progress(io: Io) -> Iterator[service.Progress | None]:
    """A bar per stage on the operator's terminal; none inside the server (channel)."""
    if io.err is not sys.stderr:
        yield None
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(file=sys.stderr),
    )
    tasks: dict[str, TaskID] = {}

    def advance(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(_STAGES.get(stage, stage), total=total)
        bar.update(tasks[stage], completed=done)

    with bar:
        yield advance
