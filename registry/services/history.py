"""A worker's exposure history: employments, register entries and results, each result set
against the limit in force on its date, with a summary per substance.

An employer sees what it recorded itself; the registry operator, answering a worker's
request (AVG art. 15, a TSB claim), sees every employer's records. Which records a caller
sees is the policy's scope, never decided here; one audit entry records the read.
"""

from __future__ import annotations

import datetime as dt
import uuid

from analytics.history import NOTES, compare_results, substance_summaries
from crypto import Vault
from registry.access import ActorKind, Gate, scope_sql
from registry.services.compliance import limit_timelines
from registry.services.measurements import measurements_of_worker
from registry.services.workers import check_worker_access, decrypt_worker, employment_scope
from registry.store import Tx
from registry.store import exposure as exposure_table
from registry.store import people as people_table
from registry.store import substances as substance_table
from schemas.history import HISTORY_SCHEMA, HistoryMeasurement, WorkerHistory

__all__ = ["worker_history"]


def worker_history(tx: Tx, vault: Vault, gate: Gate, worker_id: uuid.UUID) -> WorkerHistory:
    decision = check_worker_access(tx, gate, worker_id, record_type="worker_history")
    worker = decrypt_worker(vault, tx, worker_id)
    scope = scope_sql(gate.actor)
    employments = people_table.employments_of_worker(tx, worker_id, employment_scope(gate))
    registrations, _ = exposure_table.registration_rows(tx, scope, worker_id=worker_id, limit=None)
    measurements = measurements_of_worker(tx, vault, scope, worker_id, redact=decision.redact_medical)
    units: dict[str, set[str]] = {}
    for m in measurements:
        if m.sample_type == "personal_air":
            units.setdefault(str(m.substance_id), set()).add(m.unit)
    shift_limits, stel_limits = limit_timelines(tx, {s: sorted(u) for s, u in units.items()})
    compared = compare_results(tx, measurements, shift_limits, stel_limits)
    names = {s.id: (s.name, s.cas) for s in substance_table.list_substances(tx)}
    return WorkerHistory(
        schema=HISTORY_SCHEMA,
        generated_at=dt.datetime.now(dt.UTC),
        scope="employer" if gate.actor.kind is ActorKind.EMPLOYER else "registry",
        purpose=gate.purpose,
        worker=worker,
        substances=substance_summaries(measurements, registrations, compared, names),
        employments=employments,
        registrations=registrations,
        measurements=[HistoryMeasurement(measurement=m, comparison=compared.get(m.id)) for m in measurements],
        notes=NOTES,
    )
