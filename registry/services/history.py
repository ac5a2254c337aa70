"""A worker's exposure history: employments, register entries and results, each result set
against the limit in force on its date, with a summary per substance.

How far it reaches is the policy's (`history_reach`), never decided here: an employer sees
what it recorded itself and, as an agency, what hiring companies recorded during the
placements it arranged; the worker, and the operator answering the worker's request (AVG
art. 15, a TSB claim), see every employer's records. One audit entry records the read.
"""

from __future__ import annotations

import uuid

from analytics.history import NOTES, compare_results, substance_summaries
from registry.access import HistoryReach, Work
from registry.services.compliance import limit_timelines
from registry.services.measurements import measurements_in_windows
from registry.services.workers import history_windows, open_identities, read_worker
from registry.store import exposure as exposure_table
from registry.store import people as people_table
from registry.store import substances as substance_table
from schemas.errors import NotFound
from schemas.history import HISTORY_SCHEMA, HistoryMeasurement, WorkerHistory

__all__ = ["history_by_bsn", "worker_history"]


def worker_history(work: Work, worker_id: uuid.UUID) -> WorkerHistory:
    tx = work.tx
    row, decision = read_worker(work, worker_id, record_type="worker_history")
    (worker,) = open_identities(work, [row])
    with exposure_table.windows(tx, history_windows(work, row)) as view:
        employments = people_table.employments_in_windows(tx, view)
        registrations = exposure_table.registrations_in_windows(tx, view)
        measurements = measurements_in_windows(work, view, redact=decision.redact_medical)
    units: dict[str, set[str]] = {}
    for m in measurements:
        if m.sample_type == "personal_air":
            units.setdefault(str(m.substance_id), set()).add(m.unit)
    shift_limits, stel_limits = limit_timelines(tx, {s: sorted(u) for s, u in units.items()})
    compared = compare_results(tx, measurements, shift_limits, stel_limits)
    names = {s.id: (s.name, s.cas) for s in substance_table.list_substances(tx)}
    return WorkerHistory(
        schema=HISTORY_SCHEMA,
        generated_at=work.now,
        scope="registry" if work.history_reach() is HistoryReach.PERSON else "employer",
        purpose=work.purpose,
        worker=worker,
        substances=substance_summaries(measurements, registrations, compared, names),
        employments=employments,
        registrations=registrations,
        measurements=[HistoryMeasurement(measurement=m, comparison=compared.get(m.id)) for m in measurements],
        notes=NOTES,
    )


def history_by_bsn(work: Work, bsn: str) -> WorkerHistory:
    """A person's history found by BSN (the operator answering the worker), through the
    record of the employer that registered them first."""
    rows = people_table.workers_of_person(work.tx, work.vault.blind_index("bsn", bsn))
    if not rows:
        raise NotFound("no worker with this BSN is registered")
    return worker_history(work, rows[0].id)
