"""Workers and employments. Each employer knows a person by its own worker id, with the
identity it supplied itself; the registry links those ids to one person through the BSN
blind index, and nothing an employer is told depends on what other employers registered."""

from __future__ import annotations

import datetime as dt
import uuid

from crypto import Vault, WrappedKey
from registry.access import Action, ActorKind, Decision, HistoryReach, Record, Work
from registry.services.organisations import require_own_site
from registry.store import exposure as exposure_table
from registry.store import organisations as org_table
from registry.store import people as table
from schemas.errors import Conflict, FieldError, InvalidInput, NotFound
from schemas.identifiers import normalise_bsn, normalise_kvk
from schemas.people import EmploymentIn, EmploymentOut, WorkerIn, WorkerOut

__all__ = [
    "NO_SUCH_WORKER",
    "create_employment",
    "encrypt_identity",
    "get_worker",
    "history_windows",
    "list_employments",
    "list_workers",
    "open_identities",
    "read_worker",
    "register_worker",
]

_BSN, _NAME, _BIRTH = "workers.bsn", "workers.name", "workers.birth_date"
NO_SUCH_WORKER = "no worker with this id is registered by your organisation; register the worker first"


def register_worker(work: Work, worker: WorkerIn) -> tuple[WorkerOut, bool]:
    """(worker, created): 201 the first time this employer registers the BSN, 200 when it
    repeats it. Whether another employer registered the same person changes neither the
    answer nor its errors: the identity compared and returned is this employer's own."""
    tx, vault = work.tx, work.vault
    employer_id = work.employer_id()
    bsn = normalise_bsn(worker.bsn)
    name = worker.name.strip()
    index = vault.blind_index("bsn", bsn)
    existing = table.own_worker_by_index(tx, employer_id, index)
    worker_id = existing.id if existing else uuid.uuid4()
    work.check(
        Action.CREATE,
        Record(type="worker", id=str(worker_id), owner_employer_id=employer_id, subject_worker_id=worker_id),
    )
    if existing is not None:
        stored = _open(vault, existing, table.KeyTable(tx).wrapped_key(existing.key_id))
        if (stored.name, stored.date_of_birth) != (name, worker.date_of_birth):
            raise Conflict(
                f"your organisation registered this BSN as worker {existing.id} with another name or date of birth"
            )
        return stored, False
    key = vault.new_worker_key(worker_id)
    out = WorkerOut(id=worker_id, bsn=bsn, name=name, date_of_birth=worker.date_of_birth)
    table.insert_worker(tx, encrypt_identity(vault, key, out, employer_id, index, work.now), key)
    return out, True


def encrypt_identity(
    vault: Vault,
    key: WrappedKey,
    identity: WorkerOut,
    employer_id: uuid.UUID | None,
    bsn_index: str,
    now: dt.datetime,
) -> table.EncryptedWorker:
    """A new worker record, its identity encrypted under its own data key `key` (for the API
    and bulk loads)."""
    cipher = vault.worker_cipher(identity.id, key)
    return table.EncryptedWorker(
        id=identity.id,
        employer_id=employer_id,
        bsn_index=bsn_index,
        key_id=identity.id,
        bsn_ct=cipher.encrypt_text(_BSN, identity.bsn),
        name_ct=cipher.encrypt_text(_NAME, identity.name),
        birth_date_ct=cipher.encrypt_text(_BIRTH, identity.date_of_birth.isoformat()),
        created_at=now,
    )


def get_worker(work: Work, worker_id: uuid.UUID) -> WorkerOut:
    row, _ = read_worker(work, worker_id)
    return _open(work.vault, row, table.KeyTable(work.tx).wrapped_key(row.key_id))


def read_worker(
    work: Work, worker_id: uuid.UUID, record_type: str = "worker"
) -> tuple[table.EncryptedWorker, Decision]:
    """A worker record the actor may read (or NotFound, whether it exists elsewhere or not)."""
    row = table.worker_by_id(work.tx, worker_id)
    decision = work.check(
        Action.READ,
        Record(
            type=record_type,
            id=str(worker_id),
            owner_employer_id=row.employer_id if row else None,
            subject_person=row.bsn_index if row else None,
            subject_worker_id=worker_id,
        ),
    )
    if row is None:
        raise NotFound(f"{record_type} {worker_id} not found")
    return row, decision


def list_workers(work: Work, limit: int, offset: int) -> tuple[list[WorkerOut], int]:
    rows, total = table.workers_in_scope(work.tx, work.scope(worker_column="id"), limit, offset)
    work.note_list("worker", {r.id for r in rows})
    return open_identities(work, rows), total


def open_identities(work: Work, rows: list[table.EncryptedWorker]) -> list[WorkerOut]:
    keys = table.KeyTable(work.tx).wrapped_keys_for(sorted({r.key_id for r in rows}, key=str))
    return [_open(work.vault, row, keys.get(row.key_id)) for row in rows]


def create_employment(work: Work, employment: EmploymentIn) -> EmploymentOut:
    tx = work.tx
    employer_id = work.employer_id()
    if table.own_worker(tx, employer_id, employment.worker_id) is None:
        raise InvalidInput([FieldError(field="worker_id", reason=NO_SUCH_WORKER)])
    work.check(
        Action.CREATE,
        Record(type="employment", owner_employer_id=employer_id, subject_worker_id=employment.worker_id),
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


def list_employments(work: Work, worker_id: uuid.UUID) -> list[EmploymentOut]:
    """The worker's employments the actor may see: its own, and as an agency the placements
    it arranged (whichever hiring company recorded them)."""
    row, _ = read_worker(work, worker_id, record_type="employment")
    with exposure_table.windows(work.tx, history_windows(work, row)) as view:
        return table.employments_in_windows(work.tx, view)


def history_windows(work: Work, worker: table.EncryptedWorker) -> list[exposure_table.Window]:
    """Which records a worker's history shows this actor, as (worker id, period) windows:
    the policy's reach decides, this turns it into the person's worker ids and placements."""
    reach = work.history_reach()
    if reach is HistoryReach.PERSON:
        return [exposure_table.Window(worker_id=w.id) for w in table.workers_of_person(work.tx, worker.bsn_index)]
    windows = [exposure_table.Window(worker_id=worker.id)]
    if reach is HistoryReach.EMPLOYER_AND_PLACEMENTS and work.actor.kind in (ActorKind.EMPLOYER, ActorKind.HYGIENIST):
        for placement in table.placements_arranged_by(work.tx, work.employer_id(), worker.bsn_index):
            windows.append(
                exposure_table.Window(
                    worker_id=placement.worker_id,
                    employment_id=placement.id,
                    start=placement.start_date,
                    end=placement.end_date,
                )
            )
    return windows


def _open(vault: Vault, row: table.EncryptedWorker, key: WrappedKey | None) -> WorkerOut:
    cipher = vault.worker_cipher(row.key_id, key)
    return WorkerOut(
        id=row.id,
        bsn=cipher.decrypt_text(_BSN, row.bsn_ct),
        name=cipher.decrypt_text(_NAME, row.name_ct),
        date_of_birth=dt.date.fromisoformat(cipher.decrypt_text(_BIRTH, row.birth_date_ct)),
    )
