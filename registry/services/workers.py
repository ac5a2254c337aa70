"""Workers and employments: identities are encrypted with the worker's own key and found
by a keyed blind index of the BSN, never by the BSN itself."""

from __future__ import annotations

import datetime as dt
import uuid

from crypto import Vault, WrappedKey
from registry.access import Action, Decision, Gate, Record, scope_sql
from registry.services.organisations import require_own_site
from registry.store import Tx
from registry.store import organisations as org_table
from registry.store import people as table
from schemas.errors import Conflict, FieldError, InvalidInput, NotFound
from schemas.identifiers import normalise_bsn, normalise_kvk
from schemas.people import EmploymentIn, EmploymentOut, WorkerIn, WorkerOut

__all__ = [
    "check_worker_access",
    "create_employment",
    "decrypt_worker",
    "employment_scope",
    "get_worker",
    "list_employments",
    "list_workers",
    "register_worker",
]

_BSN, _NAME, _BIRTH = "workers.bsn", "workers.name", "workers.birth_date"


def register_worker(tx: Tx, vault: Vault, gate: Gate, worker: WorkerIn) -> tuple[WorkerOut, bool]:
    """(worker, created). A BSN already known returns that person's id, so every employer
    of one person adds to one history; the answer echoes only what the caller sent."""
    bsn = normalise_bsn(worker.bsn)
    index = vault.blind_index("bsn", bsn)
    existing = table.worker_id_by_index(tx, index)
    worker_id = existing or uuid.uuid4()
    gate.check(Action.CREATE, Record(type="worker", id=str(worker_id), subject_worker_id=worker_id))
    out = WorkerOut(id=worker_id, bsn=bsn, name=worker.name.strip(), date_of_birth=worker.date_of_birth)
    if existing is not None:
        stored = decrypt_worker(vault, tx, existing)
        if stored.date_of_birth != worker.date_of_birth:
            raise Conflict("a person with this BSN is registered with a different date of birth; check both")
        return out, False
    encrypted, index, key = encrypt_worker(vault, worker_id, bsn, out.name, worker.date_of_birth)
    table.insert_worker(tx, encrypted, index, key)
    return out, True


def encrypt_worker(
    vault: Vault, worker_id: uuid.UUID, bsn: str, name: str, date_of_birth: dt.date
) -> tuple[table.EncryptedWorker, str, WrappedKey]:
    """A new worker's ciphertexts, blind index and wrapped key (for the API and bulk loads)."""
    key = vault.new_worker_key(worker_id)
    cipher = vault.worker_cipher(worker_id, key)
    encrypted = table.EncryptedWorker(
        id=worker_id,
        bsn_ct=cipher.encrypt_text(_BSN, bsn),
        name_ct=cipher.encrypt_text(_NAME, name),
        birth_date_ct=cipher.encrypt_text(_BIRTH, date_of_birth.isoformat()),
    )
    return encrypted, vault.blind_index("bsn", bsn), key


def get_worker(tx: Tx, vault: Vault, gate: Gate, worker_id: uuid.UUID) -> WorkerOut:
    check_worker_access(tx, gate, worker_id)
    return decrypt_worker(vault, tx, worker_id)


def list_workers(tx: Tx, vault: Vault, gate: Gate, limit: int, offset: int) -> list[WorkerOut]:
    rows = table.workers_of_employer(tx, gate.employer_id(), limit, offset)
    gate.note_list("worker", {r.id for r in rows})
    keys = table.KeyTable(tx).wrapped_keys_for([r.id for r in rows])
    return [_open(vault, row, keys.get(row.id)) for row in rows]


def create_employment(tx: Tx, gate: Gate, employment: EmploymentIn) -> EmploymentOut:
    employer_id = gate.employer_id()
    if table.worker_by_id(tx, employment.worker_id) is None:
        raise InvalidInput([FieldError(field="worker_id", reason="no worker with this id; register the worker first")])
    gate.check(
        Action.CREATE,
        Record(
            type="employment",
            subject_worker_id=employment.worker_id,
            related_employer_ids=frozenset({employer_id}),
        ),
    )
    agency_id = None
    if employment.agency_kvk is not None:
        agency = org_table.employer_by_kvk(tx, normalise_kvk(employment.agency_kvk))
        if agency is None:
            raise InvalidInput(
                [FieldError(field="agency_kvk", reason="no employer with this KvK number is registered")]
            )
        agency_id = agency.id
    if employment.site_id is not None:
        require_own_site(tx, employer_id, employment.site_id, "site_id")
    out = EmploymentOut(
        id=uuid.uuid4(),
        worker_id=employment.worker_id,
        employer_id=employer_id,
        employment_type=employment.employment_type,
        agency_employer_id=agency_id,
        site_id=employment.site_id,
        job_title=employment.job_title,
        start_date=employment.start_date,
        end_date=employment.end_date,
    )
    table.insert_employment(tx, out)
    return out


def list_employments(tx: Tx, gate: Gate, worker_id: uuid.UUID) -> list[EmploymentOut]:
    check_worker_access(tx, gate, worker_id)
    return table.employments_of_worker(tx, worker_id, employment_scope(gate))


def employment_scope(gate: Gate) -> tuple[str, list[object]]:
    """An employment is the hiring company's and, for an agency worker, the agency's too."""
    return scope_sql(gate.actor, owner_columns=("employer_id", "agency_employer_id"))


def check_worker_access(tx: Tx, gate: Gate, worker_id: uuid.UUID, record_type: str = "worker") -> Decision:
    """Reading anything about a worker needs a relationship (an employment) with them."""
    related = table.related_employers(tx, [worker_id])[worker_id]
    return gate.check(
        Action.READ,
        Record(
            type=record_type,
            id=str(worker_id),
            subject_worker_id=worker_id,
            related_employer_ids=related,
        ),
    )


def decrypt_worker(vault: Vault, tx: Tx, worker_id: uuid.UUID) -> WorkerOut:
    """The worker's identity in the clear; callers have checked access."""
    row = table.worker_by_id(tx, worker_id)
    if row is None:
        raise NotFound(f"worker {worker_id} not found")
    return _open(vault, row, table.KeyTable(tx).wrapped_key(worker_id))


def _open(vault: Vault, row: table.EncryptedWorker, key: WrappedKey | None) -> WorkerOut:
    cipher = vault.worker_cipher(row.id, key)
    return WorkerOut(
        id=row.id,
        bsn=cipher.decrypt_text(_BSN, row.bsn_ct),
        name=cipher.decrypt_text(_NAME, row.name_ct),
        date_of_birth=dt.date.fromisoformat(cipher.decrypt_text(_BIRTH, row.birth_date_ct)),
    )
