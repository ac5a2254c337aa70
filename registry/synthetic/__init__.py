"""Synthetic registry data at any size, from a few hundred to 10 M+ measurements.

Tests, demos and benchmarks need data shaped like the real thing: many micro firms and a
few large ones (Pareto sizes), careers across employers with agency and self-employed
periods, SEGs whose members change over the years, lognormal exposures per SEG relative
to the substance's limit value, non-detects stored as "< LOD" (never 0), a little blood
lead, and sampling dates over 1995-2025 so the limit in force changes under the data.

Three steps, a module each: `catalogue` holds the fixed data drawn from (substances,
sectors, names, labs); `plan` draws everything column-wise with numpy from one seed (same
seed, same data; ids included); `write` stores it with Arrow bulk inserts in chunks, through
the store functions the API's services use. Each person gets, per employer they worked for
(as employee, self-employed or placed by an agency at the hiring company), a worker record
with a data key of its own: the id by which that employer knows them, which everything the
employer records names. The identities and biological results are real ciphertexts under
that key, made by the services' own functions, so the data reads back through them.

Loading is not atomic: it commits chunk by chunk. A second run with the same seed on the
same store is refused (the ids would collide); use another seed to add more.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Final

import msgspec

from registry.access.audit import AuditEntry, append
from registry.runtime import Runtime
from registry.services.organisations import NewApiKey
from registry.store import access_log
from registry.store import organisations as org_table
from registry.store import people as people_table
from registry.synthetic import plan, write
from registry.synthetic.catalogue import FAMILY_NAMES, FIRST_NAMES
from registry.synthetic.progress import Progress
from schemas.errors import Conflict

__all__ = ["FAMILY_NAMES", "FIRST_NAMES", "EmployerKey", "SyntheticSummary", "generate"]

_DATASET: Final = "synthetic_dataset"  # the audit log's resource type of a finished load


class EmployerKey(msgspec.Struct, frozen=True, kw_only=True):
    """An API key issued for a generated employer (only with api_keys=True)."""

    employer_id: uuid.UUID
    kvk: str
    name: str
    api_key: str


class SyntheticSummary(msgspec.Struct, frozen=True, kw_only=True):
    seed: int
    employers: int
    persons: int
    workers: int  # worker records: one per (employer, person) pair
    employments: int
    segs: int
    seg_members: int
    measurements: int
    biological: int
    below_lod: int
    elapsed_s: float
    api_keys: list[EmployerKey] = msgspec.field(default_factory=list)


def generate(
    runtime: Runtime, *, measurements: int, seed: int = 1, progress: bool = True, api_keys: bool = False
) -> SyntheticSummary:
    """Add a synthetic population with `measurements` measurements to the store.

    The other counts follow from it (about 15 measurements per person, 12 persons per
    employer). With `api_keys`, every generated employer gets an API key, returned in the
    summary (shown once, stored hashed like any other key).
    """
    if measurements < 1:
        raise ValueError("measurements must be at least 1")
    started = time.perf_counter()
    bar = Progress(progress)
    with runtime.db.read() as tx:
        # Same seed, same ids: a second load would collide. (The audit entry marks a load
        # that finished; one that broke off shows up as BSNs or ids already taken.)
        if access_log.entries_about(tx, _DATASET, _dataset_id(seed)):
            raise Conflict(f"synthetic data of seed {seed} is already in this store; pass another seed")
        substances = write.substance_ids(tx)
        taken_kvk = {employer.kvk for employer in org_table.list_employers(tx)}
        taken_bsn = people_table.bsn_indexes(tx)

    bar.stage("planning", 1)
    drawn = plan.draw(seed, measurements, runtime.vault, taken_bsn, taken_kvk)
    bar.advance(1)

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    write.organisations(runtime, drawn, now, bar)
    keys = write.workers(runtime, drawn, now, bar)
    write.careers(runtime, drawn, now, bar)
    biological, below = write.measurements(runtime, drawn, substances, keys, bar)
    issued = _employer_keys(write.api_keys(runtime, drawn, bar), drawn.org) if api_keys else []
    summary = SyntheticSummary(
        seed=seed,
        employers=len(drawn.org.ids),
        persons=len(drawn.people.ids),
        workers=len(drawn.workers.ids),
        employments=len(drawn.jobs.ids),
        segs=len(drawn.groups.ids),
        seg_members=len(drawn.groups.member_ids),
        measurements=measurements,
        biological=biological,
        below_lod=below,
        elapsed_s=round(time.perf_counter() - started, 3),
        api_keys=issued,
    )
    with runtime.db.write() as tx:
        append(tx, [_audit_entry(summary)])
    bar.finish()
    return summary


def _employer_keys(issued: list[NewApiKey], org: plan.Org) -> list[EmployerKey]:
    return [
        EmployerKey(employer_id=key.employer_id, kvk=kvk, name=name, api_key=key.api_key)
        for key, kvk, name in zip(issued, org.kvk, org.name, strict=True)
    ]


def _audit_entry(summary: SyntheticSummary) -> AuditEntry:
    """One entry for the whole load: it adds (fictitious) personal data, so it is logged."""
    return AuditEntry(
        actor_type="admin",
        actor_id="cli:synth",
        action="create",
        resource_type=_DATASET,
        resource_id=_dataset_id(summary.seed),
        purpose="administration",
        outcome="allowed",
        reason=(
            f"synthetic test data: {summary.employers} employers, {summary.persons} persons "
            f"({summary.workers} worker records), {summary.measurements} measurements"
        ),
    )


def _dataset_id(seed: int) -> str:
    return f"seed:{seed}"
