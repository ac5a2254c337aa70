"""Persons (blind index only), their wrapped keys, each employer's workers (ciphertexts),
employments and the operator's identity resolutions.

A person is internal: no answer ever carries a person id. Each employer knows the person by
its own worker id (`workers.id`), with the identity that employer supplied.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence

import msgspec

from crypto import WrappedKey
from registry.store.database import Tx
from registry.store.organisations import utcnow
from schemas.people import EmploymentOut

__all__ = [
    "EncryptedWorker",
    "KeyTable",
    "employment_periods",
    "employments_in_windows",
    "insert_employment",
    "insert_person",
    "insert_resolution",
    "insert_worker",
    "own_worker",
    "own_worker_ids",
    "person_id_by_index",
    "persons_of_workers",
    "persons_with_several_identities",
    "placements_arranged_by",
    "resolutions_of",
    "worker_by_id",
    "worker_of_employer",
    "workers_in_scope",
    "workers_of_person",
]


class EncryptedWorker(msgspec.Struct, frozen=True):
    """An employer's worker record: its identity as that employer supplied it, encrypted
    under the person's key (bound to the person id)."""

    id: uuid.UUID
    employer_id: uuid.UUID | None  # None: migrated from before per-employer ids, registrant unknown
    person_id: uuid.UUID
    bsn_ct: bytes
    name_ct: bytes
    birth_date_ct: bytes
    created_at: dt.datetime


_WORKER = "SELECT id, employer_id, person_id, bsn_ct, name_ct, birth_date_ct, created_at FROM workers"


def insert_person(tx: Tx, person_id: uuid.UUID, bsn_index: str, key: WrappedKey) -> None:
    now = utcnow()
    tx.execute("INSERT INTO persons VALUES (?, ?, ?)", [person_id, bsn_index, now])
    tx.execute("INSERT INTO person_keys VALUES (?, ?, ?, ?)", [person_id, key.kek_id, key.blob, now])


def person_id_by_index(tx: Tx, bsn_index: str) -> uuid.UUID | None:
    found: uuid.UUID | None = tx.scalar("SELECT id FROM persons WHERE bsn_index = ?", [bsn_index])
    return found


def insert_worker(tx: Tx, worker: EncryptedWorker) -> None:
    w = worker
    tx.execute(
        "INSERT INTO workers VALUES (?, ?, ?, ?, ?, ?, ?)",
        [w.id, w.employer_id, w.person_id, w.bsn_ct, w.name_ct, w.birth_date_ct, w.created_at],
    )


def worker_by_id(tx: Tx, worker_id: uuid.UUID) -> EncryptedWorker | None:
    return tx.struct(EncryptedWorker, f"{_WORKER} WHERE id = ?", [worker_id])


def worker_of_employer(tx: Tx, employer_id: uuid.UUID, person_id: uuid.UUID) -> EncryptedWorker | None:
    """This employer's record of the person, if it registered them."""
    return tx.struct(EncryptedWorker, f"{_WORKER} WHERE employer_id = ? AND person_id = ?", [employer_id, person_id])


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


def workers_of_person(tx: Tx, person_id: uuid.UUID) -> list[EncryptedWorker]:
    """Every employer's record of one person, oldest first."""
    return tx.structs(EncryptedWorker, f"{_WORKER} WHERE person_id = ? ORDER BY created_at, id", [person_id])


def persons_with_several_identities(tx: Tx) -> list[uuid.UUID]:
    """Persons registered by more than one employer: the candidates for reconciliation."""
    rows = tx.all("SELECT person_id FROM workers GROUP BY person_id HAVING count(*) > 1 ORDER BY person_id")
    return [row[0] for row in rows]


def insert_resolution(tx: Tx, person_id: uuid.UUID, fingerprint: str, note: str, resolved_by: str) -> None:
    tx.execute(
        "INSERT INTO identity_resolutions VALUES (?, ?, ?, ?, ?)", [person_id, fingerprint, note, resolved_by, utcnow()]
    )


def resolutions_of(tx: Tx, person_ids: Sequence[uuid.UUID]) -> dict[tuple[uuid.UUID, str], tuple[str, str]]:
    """(person, fingerprint) -> (note, resolved_by) for these persons."""
    rows = tx.all_in(
        "SELECT person_id, fingerprint, note, resolved_by FROM identity_resolutions "
        "WHERE person_id IN (SELECT id FROM _ids)",
        person_ids,
    )
    return {(row[0], row[1]): (row[2], row[3]) for row in rows}


class KeyTable:
    """The person_keys table inside one transaction; crypto's WorkerKeyStore (crypto calls
    the key's owner a worker; here it is the person)."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    def wrapped_key(self, person_id: uuid.UUID) -> WrappedKey | None:
        row = self._tx.one("SELECT kek_id, wrapped_key FROM person_keys WHERE person_id = ?", [person_id])
        return None if row is None else WrappedKey(kek_id=row[0], blob=row[1])

    def wrapped_keys_for(self, person_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, WrappedKey]:
        if not person_ids:
            return {}
        rows = self._tx.all_in(
            "SELECT person_id, kek_id, wrapped_key FROM person_keys WHERE person_id IN (SELECT id FROM _ids)",
            person_ids,
        )
        return {row[0]: WrappedKey(kek_id=row[1], blob=row[2]) for row in rows}

    def wrapped_keys(self) -> Iterable[tuple[uuid.UUID, WrappedKey]]:
        for row in self._tx.all("SELECT person_id, kek_id, wrapped_key FROM person_keys ORDER BY person_id"):
            yield row[0], WrappedKey(kek_id=row[1], blob=row[2])

    def replace_wrapped_key(self, person_id: uuid.UUID, key: WrappedKey) -> None:
        self._tx.execute(
            "UPDATE person_keys SET kek_id = ?, wrapped_key = ? WHERE person_id = ?",
            [key.kek_id, key.blob, person_id],
        )

    def delete_wrapped_key(self, person_id: uuid.UUID) -> bool:
        existed = self._tx.scalar("SELECT count(*) FROM person_keys WHERE person_id = ?", [person_id])
        self._tx.execute("DELETE FROM person_keys WHERE person_id = ?", [person_id])
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


def persons_of_workers(tx: Tx, worker_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """worker id -> person id (whose key encrypts the worker's medical values)."""
    return {
        row[0]: row[1]
        for row in tx.all_in("SELECT id, person_id FROM workers WHERE id IN (SELECT id FROM _ids)", worker_ids)
    }


def own_worker_ids(tx: Tx, employer_id: uuid.UUID, worker_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these worker ids are this employer's own."""
    rows = tx.all_in(
        "SELECT id FROM workers WHERE id IN (SELECT id FROM _ids) AND employer_id = ?", worker_ids, [employer_id]
    )
    return {row[0] for row in rows}


def placements_arranged_by(tx: Tx, agency_id: uuid.UUID, person_id: uuid.UUID) -> list[EmploymentOut]:
    """The placements of one person that this agency arranged, whichever hirer recorded them."""
    return tx.structs(
        EmploymentOut,
        f"{_EMPLOYMENT} JOIN workers w ON w.id = e.worker_id "
        "WHERE e.agency_employer_id = ? AND w.person_id = ? ORDER BY e.start_date, e.id",
        [agency_id, person_id],
    )


def employments_in_windows(tx: Tx, windows: str) -> list[EmploymentOut]:
    """The employments a history's windows (a registered table, see store.exposure) show."""
    return tx.structs(
        EmploymentOut,
        f"{_EMPLOYMENT} WHERE e.id IN (SELECT e2.id FROM employments e2 JOIN {windows} v "
        "ON e2.worker_id = v.worker_id AND (v.employment_id IS NULL OR e2.id = v.employment_id)) "
        "ORDER BY e.start_date, e.id",
    )
