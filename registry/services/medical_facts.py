"""Medical facts per worker record: the company doctor records them under a contract with
the worker's employer; that doctor and the worker read them. Each version is encrypted under
the worker record's data key, and every read and write is audited (the policy decides)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import msgspec

from crypto import WorkerCipher
from registry.access import Action, Record, Work
from registry.store import medical_facts as table
from registry.store import people as people_table
from schemas.medical import MedicalFacts, MedicalFactsIn, MedicalFactsOut, populations_of

__all__ = ["facts_of_worker", "open_facts", "read_facts", "record_facts"]

_RECORD_TYPE = "medical_facts"


def record_facts(work: Work, worker_id: uuid.UUID, facts: MedicalFactsIn) -> MedicalFactsOut:
    """A new version from `facts.valid_from`; the same facts for the same date again store
    nothing new, so a repeated PUT answers the same."""
    row = people_table.worker_by_id(work.tx, worker_id)
    work.check(Action.CREATE, _record(worker_id, row))
    assert row is not None  # the policy allows recording only for an existing worker of a contracting employer
    stated = MedicalFacts(
        valid_from=facts.valid_from, sex=facts.sex, childbearing_potential=facts.childbearing_potential
    )
    latest = [v for v in open_facts(work, [row]) if v.valid_from == facts.valid_from]
    if latest and _facts(latest[-1]) == stated:
        return latest[-1]
    facts_id = uuid.uuid4()
    sealed = _cipher(work, row).encrypt(_context(worker_id, facts_id), msgspec.json.encode(stated))
    stored = table.EncryptedFacts(
        id=facts_id, worker_id=worker_id, facts_ct=sealed, recorded_by=work.actor.id, recorded_at=work.now
    )
    table.insert_facts(work.tx, stored)
    return _out(stored, stated)


def facts_of_worker(work: Work, worker_id: uuid.UUID) -> list[MedicalFactsOut]:
    """The versions recorded for one worker record (NotFound for anyone the policy refuses,
    whether the record exists or not)."""
    row = people_table.worker_by_id(work.tx, worker_id)
    work.check(Action.READ, _record(worker_id, row))
    assert row is not None  # the policy allows reading only an existing record
    return open_facts(work, [row])


def read_facts(work: Work, rows: Sequence[people_table.EncryptedWorker]) -> list[MedicalFactsOut]:
    """The versions of these worker records, each record's read checked and audited."""
    for row in rows:
        work.check(Action.READ, _record(row.id, row))
    return open_facts(work, rows)


def open_facts(work: Work, rows: Sequence[people_table.EncryptedWorker]) -> list[MedicalFactsOut]:
    """The versions of these worker records, in the order they apply (valid_from, then the
    recording). Unchecked: for a caller that has checked access, or that turns them into
    group figures and returns no fact."""
    ciphers: dict[uuid.UUID, WorkerCipher] = {}
    by_id = {row.id: row for row in rows}
    out = []
    for stored in table.facts_of_workers(work.tx, list(by_id)):
        row = by_id[stored.worker_id]
        if row.key_id not in ciphers:
            ciphers[row.key_id] = _cipher(work, row)
        plain = ciphers[row.key_id].decrypt(_context(stored.worker_id, stored.id), stored.facts_ct)
        facts = msgspec.json.decode(plain, type=MedicalFacts)
        out.append(_out(stored, facts))
    return sorted(out, key=lambda v: (v.valid_from, v.recorded_at, str(v.id)))


def _record(worker_id: uuid.UUID, row: people_table.EncryptedWorker | None) -> Record:
    return Record(
        type=_RECORD_TYPE,
        id=str(worker_id),
        owner_employer_id=row.employer_id if row else None,
        subject_person=row.bsn_index if row else None,
        subject_worker_id=worker_id,
        medical=True,
    )


def _cipher(work: Work, row: people_table.EncryptedWorker) -> WorkerCipher:
    return work.vault.worker_cipher(row.key_id, people_table.KeyTable(work.tx).wrapped_key(row.key_id))


def _context(worker_id: uuid.UUID, facts_id: uuid.UUID) -> str:
    """Binds a ciphertext to its version and worker record: moved to another row, it fails."""
    return f"medical_facts:{worker_id}:{facts_id}"


def _facts(version: MedicalFactsOut) -> MedicalFacts:
    return MedicalFacts(
        valid_from=version.valid_from, sex=version.sex, childbearing_potential=version.childbearing_potential
    )


def _out(stored: table.EncryptedFacts, facts: MedicalFacts) -> MedicalFactsOut:
    return MedicalFactsOut(
        id=stored.id,
        worker_id=stored.worker_id,
        valid_from=facts.valid_from,
        sex=facts.sex,
        childbearing_potential=facts.childbearing_potential,
        populations=populations_of(facts),
        recorded_by=stored.recorded_by,
        recorded_at=stored.recorded_at,
    )
