"""A worker's exposure history: employments, register entries and results, each result set
against the limit in force on its date, with a summary per substance.

How far it reaches is the policy's (`history_reach`), never decided here: an employer sees
what it recorded itself and, as an agency, what hiring companies recorded during the
placements it arranged; the worker, and the operator answering the worker's request (AVG
art. 15, a TSB claim), see every employer's records. One audit entry records the read.
Biological results are compared for the worker and the company doctor only, with the values
for the person that the medical facts pick; that read of the facts is audited too.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from analytics.biological import BiologicalComparison
from analytics.history import NOTES, compare_results, substance_summaries
from registry.access import HistoryReach, Work
from registry.services.biological import history_comparisons
from registry.services.compliance import limit_timelines
from registry.services.measurements import measurements_in_windows
from registry.services.workers import history_windows, open_identities, read_worker
from registry.store import exposure as exposure_table
from registry.store import people as people_table
from registry.store import substances as substance_table
from schemas.errors import NotFound
from schemas.exposure import MeasurementOut
from schemas.history import HISTORY_SCHEMA, Comparison, HistoryMeasurement, WorkerHistory

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
    biological = {} if decision.redact_medical else history_comparisons(work, measurements, _records(work, row))
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
        measurements=[_entry(m, compared, biological) for m in measurements],
        notes=NOTES,
    )


def _entry(
    m: MeasurementOut, compared: Mapping[uuid.UUID, Comparison], biological: Mapping[uuid.UUID, BiologicalComparison]
) -> HistoryMeasurement:
    """An air result with its limit; a biological one (for the worker and the doctor) with the
    binding value and the guidance values in force for the person."""
    opened = biological.get(m.id)
    if opened is None:
        return HistoryMeasurement(measurement=m, comparison=compared.get(m.id))
    return HistoryMeasurement(measurement=m, comparison=opened.binding, guidance=opened.guidance)


def _records(work: Work, row: people_table.EncryptedWorker) -> list[people_table.EncryptedWorker]:
    """The worker records whose medical facts apply to the history: the person's across
    employers when the history reaches that far, else the one record read."""
    if work.history_reach() is HistoryReach.PERSON:
        return people_table.workers_of_person(work.tx, row.bsn_index)
    return [row]


def history_by_bsn(work: Work, bsn: str) -> WorkerHistory:
    """A person's history found by BSN (the operator answering the worker), through the
    record of the employer that registered them first."""
    rows = people_table.workers_of_person(work.tx, work.vault.blind_index("bsn", bsn))
    if not rows:
        raise NotFound("no worker with this BSN is registered")
    return worker_history(work, rows[0].id)
