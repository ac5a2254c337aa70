"""Workers (ciphertexts and blind index only), their wrapped keys and employments."""

from __future__ import annotations

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
    "employment_by_id",
    "employments_of_worker",
    "insert_employment",
    "insert_worker",
    "related_employers",
    "worker_by_id",
    "worker_id_by_index",
    "workers_of_employer",
]


class EncryptedWorker(msgspec.Struct, frozen=True):
    id: uuid.UUID
    bsn_ct: bytes
    name_ct: bytes
    birth_date_ct: bytes


_WORKER = "SELECT id, bsn_ct, name_ct, birth_date_ct FROM workers"


def insert_worker(tx: Tx, worker: EncryptedWorker, bsn_index: str, key: WrappedKey) -> None:
    now = utcnow()
    tx.execute(
        "INSERT INTO workers VALUES (?, ?, ?, ?, ?, ?)",
        [worker.id, bsn_index, worker.bsn_ct, worker.name_ct, worker.birth_date_ct, now],
    )
    tx.execute("INSERT INTO worker_keys VALUES (?, ?, ?, ?)", [worker.id, key.kek_id, key.blob, now])


def worker_id_by_index(tx: Tx, bsn_index: str) -> uuid.UUID | None:
    found: uuid.UUID | None = tx.scalar("SELECT id FROM workers WHERE bsn_index = ?", [bsn_index])
    return found


def worker_by_id(tx: Tx, worker_id: uuid.UUID) -> EncryptedWorker | None:
    return tx.struct(EncryptedWorker, f"{_WORKER} WHERE id = ?", [worker_id])


def workers_of_employer(tx: Tx, employer_id: uuid.UUID, limit: int, offset: int) -> list[EncryptedWorker]:
    return tx.structs(
        EncryptedWorker,
        f"{_WORKER} WHERE id IN (SELECT worker_id FROM employments WHERE employer_id = ? OR agency_employer_id = ?)"
        " ORDER BY id LIMIT ? OFFSET ?",
        [employer_id, employer_id, limit, offset],
    )


class KeyTable:
    """The worker_keys table inside one transaction; crypto's WorkerKeyStore."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx

    def wrapped_key(self, worker_id: uuid.UUID) -> WrappedKey | None:
        row = self._tx.one("SELECT kek_id, wrapped_key FROM worker_keys WHERE worker_id = ?", [worker_id])
        return None if row is None else WrappedKey(kek_id=row[0], blob=row[1])

    def wrapped_keys_for(self, worker_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, WrappedKey]:
        if not worker_ids:
            return {}
        rows = self._tx.all_in(
            "SELECT worker_id, kek_id, wrapped_key FROM worker_keys WHERE worker_id IN (SELECT id FROM _ids)",
            worker_ids,
        )
        return {row[0]: WrappedKey(kek_id=row[1], blob=row[2]) for row in rows}

    def wrapped_keys(self) -> Iterable[tuple[uuid.UUID, WrappedKey]]:
        for row in self._tx.all("SELECT worker_id, kek_id, wrapped_key FROM worker_keys ORDER BY worker_id"):
            yield row[0], WrappedKey(kek_id=row[1], blob=row[2])

    def replace_wrapped_key(self, worker_id: uuid.UUID, key: WrappedKey) -> None:
        self._tx.execute(
            "UPDATE worker_keys SET kek_id = ?, wrapped_key = ? WHERE worker_id = ?",
            [key.kek_id, key.blob, worker_id],
        )

    def delete_wrapped_key(self, worker_id: uuid.UUID) -> bool:
        existed = self._tx.scalar("SELECT count(*) FROM worker_keys WHERE worker_id = ?", [worker_id])
        self._tx.execute("DELETE FROM worker_keys WHERE worker_id = ?", [worker_id])
        return bool(existed)


_EMPLOYMENT = (
    "SELECT id, worker_id, employer_id, employment_type, agency_employer_id, site_id, job_title, "
    "start_date, end_date FROM employments"
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


def employments_of_worker(tx: Tx, worker_id: uuid.UUID, scope: tuple[str, list[object]]) -> list[EmploymentOut]:
    """A worker's employments within the policy's scope (access.scope_sql), oldest first."""
    return tx.structs(
        EmploymentOut,
        f"{_EMPLOYMENT} WHERE worker_id = ? AND {scope[0]} ORDER BY start_date, id",
        [worker_id, *scope[1]],
    )


def employment_by_id(tx: Tx, employment_id: uuid.UUID) -> EmploymentOut | None:
    return tx.struct(EmploymentOut, f"{_EMPLOYMENT} WHERE id = ?", [employment_id])


def related_employers(tx: Tx, worker_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, frozenset[uuid.UUID]]:
    """For each worker, the employers it works or worked for (as employee, hirer or agency)."""
    if not worker_ids:
        return {}
    rows = tx.all_in(
        "SELECT worker_id, employer_id, agency_employer_id FROM employments WHERE worker_id IN (SELECT id FROM _ids)",
        worker_ids,
    )
    related: dict[uuid.UUID, set[uuid.UUID]] = {w: set() for w in worker_ids}
    for worker_id, employer_id, agency_id in rows:
        related[worker_id].add(employer_id)
        if agency_id is not None:
            related[worker_id].add(agency_id)
    return {w: frozenset(e) for w, e in related.items()}
