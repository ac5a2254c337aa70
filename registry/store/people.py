"""Each employer's workers (ciphertexts and the BSN blind index), their wrapped data keys,
employments and the operator's identity resolutions.

Each employer knows a person by its own worker id (`workers.id`), with the identity that
employer supplied. A person is all worker rows with one blind index: internal, never in an
answer to an employer.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec

from crypto import WrappedKey
from registry.store.database import Tx, bulk_columns
from registry.store.organisations import utcnow
from schemas.people import EmploymentOut

__all__ = [
    "EncryptedWorker",
    "KeyTable",
    "bsn_indexes",
    "employment_periods",
    "employments_in_windows",
    "insert_employment",
    "insert_employments",
    "insert_resolution",
    "insert_worker",
    "insert_workers",
    "key_ids_of_workers",
    "own_worker",
    "own_worker_by_index",
    "own_worker_ids",
    "persons_of_workers",
    "persons_with_several_records",
    "placements_arranged_by",
    "resolutions_of",
    "worker_by_id",
    "workers_in_scope",
    "workers_of_person",
]


class EncryptedWorker(msgspec.Struct, frozen=True):
    """An employer's worker record: its identity as that employer supplied it, encrypted under
    the data key `key_id` (its own id, or a migrated record's original worker's), and the BSN
    blind index that makes the records of one person one history."""

    id: uuid.UUID
    employer_id: uuid.UUID | None  # None: migrated from before per-employer ids, registrant unknown
    bsn_index: str
    key_id: uuid.UUID
    bsn_ct: bytes
    name_ct: bytes
    birth_date_ct: bytes
    created_at: dt.datetime


_COLUMNS = ", ".join(EncryptedWorker.__struct_fields__)
_WORKER = f"SELECT {_COLUMNS} FROM workers"


def insert_worker(tx: Tx, worker: EncryptedWorker, key: WrappedKey) -> None:
    """A new worker record and its own data key: the same two rows whoever else knows the person."""
    w = worker
    tx.execute(
        f"INSERT INTO workers ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [w.id, w.employer_id, w.bsn_index, w.key_id, w.bsn_ct, w.name_ct, w.birth_date_ct, w.created_at],
    )
    tx.execute("INSERT INTO worker_keys VALUES (?, ?, ?, ?)", [w.key_id, key.kek_id, key.blob, w.created_at])


def insert_workers(
    tx: Tx, columns: Mapping[str, list[Any]], keys: Sequence[WrappedKey], created_at: dt.datetime
) -> None:
    """Many new worker records, each with its own data key, in one statement per table (a bulk
    load): the rows insert_worker writes, given column-wise by EncryptedWorker's fields."""
    fields = [f for f in EncryptedWorker.__struct_fields__ if f != "created_at"]
    tx.insert_columns("workers", bulk_columns(fields, columns, created_at))
    tx.insert_columns(
        "worker_keys",
        {
            "worker_id": columns["key_id"],
            "kek_id": [k.kek_id for k in keys],
            "wrapped_key": [k.blob for k in keys],
            "created_at": [created_at] * len(keys),
        },
    )


def bsn_indexes(tx: Tx) -> set[str]:
    """The blind index of every person with a worker record."""
    return {row[0] for row in tx.all("SELECT DISTINCT bsn_index FROM workers")}


def worker_by_id(tx: Tx, worker_id: uuid.UUID) -> EncryptedWorker | None:
    return tx.struct(EncryptedWorker, f"{_WORKER} WHERE id = ?", [worker_id])


def own_worker_by_index(tx: Tx, employer_id: uuid.UUID, bsn_index: str) -> EncryptedWorker | None:
    """This employer's record of the person with this BSN blind index, if it registered them."""
    return tx.struct(EncryptedWorker, f"{_WORKER} WHERE employer_id = ? AND bsn_index = ?", [employer_id, bsn_index])


def own_worker(tx: Tx, employer_id: uuid.UUID, worker_id: uuid.UUID) -> EncryptedWorker | None:
    """The worker with this id if it is this employer's own; None for anyone else's, so the
    answer is the same for an id that exists elsewhere and one that exists nowhere."""
    return tx.struct(EncryptedWorker, f"{_WORKER} WHERE id = ? AND employer_id = ?", [worker_id, employer_id])


def workers_in_scope(
    tx: Tx, scope: tuple[str, list[object]], limit: int, offset: int
) -> tuple[list[EncryptedWorker], int]:
    """A page of the worker records the policy's scope allows, and their total."""
    where, params = scope
    total = int(tx.scalar(f"SELECT count(*) FROM workers WHERE {where}", params))
    rows = tx.structs(
        EncryptedWorker, f"{_WORKER} WHERE {where} ORDER BY id LIMIT ? OFFSET ?", [*params, limit, offset]
    )
    return rows, total


def workers_of_person(tx: Tx, bsn_index: str) -> list[EncryptedWorker]:
    """Every employer's record of one person, oldest first."""
    return tx.structs(EncryptedWorker, f"{_WORKER} WHERE bsn_index = ? ORDER BY created_at, id", [bsn_index])


def persons_with_several_records(tx: Tx) -> list[list[EncryptedWorker]]:
    """The records of each person registered by more than one employer (candidates for
    reconciliation), in one query."""
    rows = tx.structs(
        EncryptedWorker,
        f"{_WORKER} WHERE bsn_index IN (SELECT bsn_index FROM workers GROUP BY bsn_index HAVING count(*) > 1) "
        "ORDER BY bsn_index, created_at, id",
    )
    persons: dict[str, list[EncryptedWorker]] = {}
    for row in rows:
        persons.setdefault(row.bsn_index, []).append(row)
    return list(persons.values())


def persons_of_workers(tx: Tx, worker_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """worker id -> the person (BSN blind index) it names."""
    rows = tx.all_in("SELECT id, bsn_index FROM workers WHERE id IN (SELECT id FROM _ids)", worker_ids)
    return {row[0]: row[1] for row in rows}


def key_ids_of_workers(tx: Tx, worker_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """worker id -> the data key that encrypts its identity and biological results."""
    rows = tx.all_in("SELECT id, key_id FROM workers WHERE id IN (SELECT id FROM _ids)", worker_ids)
    return {row[0]: row[1] for row in rows}


def insert_resolution(tx: Tx, fingerprint: str, note: str, resolved_by: str) -> None:
    tx.execute("INSERT INTO identity_resolutions VALUES (?, ?, ?, ?)", [fingerprint, note, resolved_by, utcnow()])


def resolutions_of(tx: Tx, fingerprints: Sequence[str]) -> dict[str, tuple[str, str]]:
    """fingerprint -> (note, resolved_by) of the items already settled."""
    if not fingerprints:
        return {}
    marks = ", ".join("?" * len(fingerprints))
    rows = tx.all(
        f"SELECT fingerprint, note, resolved_by FROM identity_resolutions WHERE fingerprint IN ({marks})",
        list(fingerprints),
    )
    return {row[0]: (row[1], row[2]) for row in rows}


class KeyTable:
    """The worker_keys table inside one transaction; crypto's WorkerKeyStore."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    def wrapped_key(self, key_id: uuid.UUID) -> WrappedKey | None:
        row = self._tx.one("SELECT kek_id, wrapped_key FROM worker_keys WHERE worker_id = ?", [key_id])
        return None if row is None else WrappedKey(kek_id=row[0], blob=row[1])

    def wrapped_keys_for(self, key_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, WrappedKey]:
        if not key_ids:
            return {}
        rows = self._tx.all_in(
            "SELECT worker_id, kek_id, wrapped_key FROM worker_keys WHERE worker_id IN (SELECT id FROM _ids)",
            key_ids,
        )
        return {row[0]: WrappedKey(kek_id=row[1], blob=row[2]) for row in rows}

    def wrapped_keys(self) -> Iterable[tuple[uuid.UUID, WrappedKey]]:
        for row in self._tx.all("SELECT worker_id, kek_id, wrapped_key FROM worker_keys ORDER BY worker_id"):
            yield row[0], WrappedKey(kek_id=row[1], blob=row[2])

    def replace_wrapped_key(self, key_id: uuid.UUID, key: WrappedKey) -> None:
        self._tx.execute(
            "UPDATE worker_keys SET kek_id = ?, wrapped_key = ? WHERE worker_id = ?",
            [key.kek_id, key.blob, key_id],
        )

    def delete_wrapped_key(self, key_id: uuid.UUID) -> bool:
        existed = self._tx.scalar("SELECT count(*) FROM worker_keys WHERE worker_id = ?", [key_id])
        self._tx.execute("DELETE FROM worker_keys WHERE worker_id = ?", [key_id])
        return bool(existed)


_EMPLOYMENT = (
    "SELECT e.id, e.worker_id, e.employer_id, e.employment_type, e.agency_employer_id, e.site_id, e.job_title, "
    "e.start_date, e.end_date FROM employments e"
)


def insert_employment(tx: Tx, employment: EmploymentOut) -> None:
    e = employment
    tx.execute(
        "INSERT INTO employments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            e.id,
            e.worker_id,
            e.employer_id,
            e.employment_type,
            e.agency_employer_id,
            e.site_id,
            e.job_title,
            e.start_date,
            e.end_date,
            utcnow(),
        ],
    )


def insert_employments(tx: Tx, columns: Mapping[str, list[Any]], created_at: dt.datetime) -> None:
    """Many employments in one statement, given column-wise by EmploymentOut's fields (a bulk load)."""
    tx.insert_columns("employments", bulk_columns(EmploymentOut.__struct_fields__, columns, created_at))


def employment_periods(
    tx: Tx, employer_id: uuid.UUID, worker_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[dt.date, dt.date | None]]]:
    """By worker: the periods this employer employed (or hired) each of these workers."""
    periods: dict[uuid.UUID, list[tuple[dt.date, dt.date | None]]] = {}
    for worker_id, start, end in tx.all_in(
        "SELECT worker_id, start_date, end_date FROM employments "
        "WHERE worker_id IN (SELECT id FROM _ids) AND employer_id = ?",
        worker_ids,
        [employer_id],
    ):
        periods.setdefault(worker_id, []).append((start, end))
    return periods


def own_worker_ids(tx: Tx, employer_id: uuid.UUID, worker_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these worker ids are this employer's own."""
    rows = tx.all_in(
        "SELECT id FROM workers WHERE id IN (SELECT id FROM _ids) AND employer_id = ?", worker_ids, [employer_id]
    )
    return {row[0] for row in rows}


def placements_arranged_by(tx: Tx, agency_id: uuid.UUID, bsn_index: str) -> list[EmploymentOut]:
    """The placements of one person that this agency arranged, whichever hirer recorded them."""
    return tx.structs(
        EmploymentOut,
        f"{_EMPLOYMENT} JOIN workers w ON w.id = e.worker_id "
        "WHERE e.agency_employer_id = ? AND w.bsn_index = ? ORDER BY e.start_date, e.id",
        [agency_id, bsn_index],
    )


def employments_in_windows(tx: Tx, windows: str) -> list[EmploymentOut]:
    """The employments a history's windows (a registered table, see store.exposure) show."""
    return tx.structs(
        EmploymentOut,
        f"{_EMPLOYMENT} WHERE e.id IN (SELECT e2.id FROM employments e2 JOIN {windows} v "
        "ON e2.worker_id = v.worker_id AND (v.employment_id IS NULL OR e2.id = v.employment_id)) "
        "ORDER BY e.start_date, e.id",
    )
