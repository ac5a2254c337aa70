"""Storing a plan through registry/store's functions, the ones the API's services write with
(their bulk forms where the API writes a row at a time), one chunk per transaction.

The services' checks are bypassed for speed, so the plan upholds their rules itself
(tests/test_synthetic.py checks them). Identities and blood-lead results are encrypted by
the services' own functions under each worker record's data key, so they read back through
the services.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Final, NamedTuple

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from crypto import Vault, WorkerCipher, WrappedKey
from registry.runtime import Runtime
from registry.services import organisations as org_service
from registry.services.measurements import encrypt_result
from registry.services.workers import encrypt_identity
from registry.store import Tx
from registry.store import exposure as exposure_table
from registry.store import organisations as org_table
from registry.store import people as people_table
from registry.store import substances as substance_table
from registry.synthetic.catalogue import (
    AGENTS,
    BIO_ANALYTE,
    BIO_LABS,
    BIO_MATRIX,
    BIO_METHOD,
    BIO_UNIT,
    LABS,
    RPE,
)
from registry.synthetic.plan import MEASUREMENT_CHUNK, Ints, MeasurementDraw, Plan, Strs
from registry.synthetic.progress import Progress
from schemas.people import WorkerOut

__all__ = ["api_keys", "careers", "measurements", "organisations", "substance_ids", "workers"]

PERSON_CHUNK: Final = 50_000  # persons (with their worker records) encrypted and written per transaction


def substance_ids(tx: Tx) -> dict[str, str]:
    """Agent key -> substances.id, from the catalogue seeded at start-up."""
    catalogue = substance_table.list_substances(tx)
    by_cas = {s.cas: str(s.id) for s in catalogue if s.cas is not None}
    by_name = {s.name: str(s.id) for s in catalogue}
    ids: dict[str, str] = {}
    for key, agent in AGENTS.items():
        found = (by_cas.get(agent.cas) if agent.cas else None) or by_name.get(agent.name)
        if found is None:
            raise LookupError(f"substance {agent.name} ({agent.cas}) is not in the catalogue")
        ids[key] = found
    return ids


def organisations(runtime: Runtime, plan: Plan, now: dt.datetime, bar: Progress) -> None:
    """Employers, their sites and their SEGs."""
    org, groups = plan.org, plan.groups
    n_sites = len(org.site_ids)
    bar.stage("employers", len(org.ids))
    with runtime.db.write() as tx:
        org_table.insert_employers(
            tx, {"id": org.ids.tolist(), "kvk": org.kvk, "name": org.name, "sbi_code": org.sbi}, now
        )
        org_table.insert_sites(
            tx,
            {
                "id": org.site_ids.tolist(),
                "employer_id": org.ids[org.site_employer].tolist(),
                "name": [f"Vestiging {city}" for city in org.site_city],
                "kind": ["site"] * n_sites,
                "parent_id": [None] * n_sites,
                "city": org.site_city,
            },
            now,
        )
        exposure_table.insert_segs(
            tx,
            {
                "id": groups.ids.tolist(),
                "employer_id": org.ids[groups.employer].tolist(),
                "name": groups.name,
                "site_id": org.site_ids[groups.site].tolist(),
                "description": groups.task,
            },
            now,
        )
    bar.advance(len(org.ids))


def workers(runtime: Runtime, plan: Plan, now: dt.datetime, bar: Progress) -> dict[int, WrappedKey]:
    """Each employer's worker record of each person, with a new data key of its own and the
    identity encrypted under it by the worker service; returns the wrapped keys of the
    records that may give blood samples, which seal their results."""
    vault, people, records = runtime.vault, plan.people, plan.workers
    births = _dates(people.birth)
    employer_ids = [uuid.UUID(i) for i in plan.org.ids.tolist()]
    sampled = plan.blood_sampled()
    kept: dict[int, WrappedKey] = {}
    n = len(people.ids)
    bar.stage("persons", n)
    for lo in range(0, n, PERSON_CHUNK):
        hi = min(n, lo + PERSON_CHUNK)
        first, last = np.searchsorted(records.person, [lo, hi]).tolist()  # records ordered by person
        worker_ids = records.ids[first:last].tolist()
        persons = records.person[first:last].tolist()
        keys: list[WrappedKey] = []
        bsn_ct: list[bytes] = []
        name_ct: list[bytes] = []
        birth_ct: list[bytes] = []
        for record, (text_id, i, employer) in enumerate(
            zip(worker_ids, persons, records.employer[first:last].tolist(), strict=True), start=first
        ):
            worker_id = uuid.UUID(text_id)
            key = vault.new_worker_key(worker_id)
            identity = WorkerOut(id=worker_id, bsn=people.bsn[i], name=people.name[i], date_of_birth=births[i])
            made = encrypt_identity(vault, key, identity, employer_ids[employer], people.bsn_index[i], now)
            keys.append(key)
            bsn_ct.append(made.bsn_ct)
            name_ct.append(made.name_ct)
            birth_ct.append(made.birth_date_ct)
            if record in sampled:
                kept[record] = key
        columns = {
            "id": worker_ids,
            "employer_id": plan.org.ids[records.employer[first:last]].tolist(),
            "bsn_index": [people.bsn_index[i] for i in persons],
            "key_id": worker_ids,
            "bsn_ct": bsn_ct,
            "name_ct": name_ct,
            "birth_date_ct": birth_ct,
        }
        with runtime.db.write() as tx:
            people_table.insert_workers(tx, columns, keys, now)
        bar.advance(hi - lo)
    return kept


def careers(runtime: Runtime, plan: Plan, now: dt.datetime, bar: Progress) -> None:
    """Employments, then SEG member periods, each employment and period naming the worker
    record of its own employer."""
    jobs, groups, records, org = plan.jobs, plan.groups, plan.workers, plan.org
    n_jobs, n_members = len(jobs.worker), len(groups.member_ids)
    bar.stage("employments", n_jobs + n_members)
    for lo in range(0, n_jobs, MEASUREMENT_CHUNK):
        part = slice(lo, min(n_jobs, lo + MEASUREMENT_CHUNK))
        agency = jobs.agency[part]
        with runtime.db.write() as tx:
            people_table.insert_employments(
                tx,
                {
                    "id": jobs.ids[part].tolist(),
                    "worker_id": records.ids[records.of_job[part]].tolist(),
                    "employer_id": org.ids[jobs.employer[part]].tolist(),
                    "employment_type": jobs.kind[part].tolist(),
                    "agency_employer_id": _nullable(org.ids[np.maximum(agency, 0)], agency < 0),
                    "site_id": org.site_ids[groups.site[groups.job_seg[part]]].tolist(),
                    "job_title": jobs.job_title[part],
                    "start_date": _dates(jobs.start[part]),
                    "end_date": _nullable(jobs.end[part].astype("datetime64[D]"), jobs.open_ended[part]),
                },
                now,
            )
        bar.advance(part.stop - lo)
    for lo in range(0, n_members, MEASUREMENT_CHUNK):
        part = slice(lo, min(n_members, lo + MEASUREMENT_CHUNK))
        with runtime.db.write() as tx:
            exposure_table.insert_seg_members(
                tx,
                {
                    "id": groups.member_ids[part].tolist(),
                    "seg_id": groups.ids[groups.member_seg[part]].tolist(),
                    "worker_id": records.ids[records.of_job[groups.member_job[part]]].tolist(),
                    "start_date": _dates(groups.member_start[part]),
                    "end_date": _nullable(groups.member_end[part].astype("datetime64[D]"), groups.member_open[part]),
                },
                now,
            )
        bar.advance(part.stop - lo)


def measurements(
    runtime: Runtime, plan: Plan, substances: dict[str, str], keys: dict[int, WrappedKey], bar: Progress
) -> tuple[int, int]:
    """The plan's measurements, chunk by chunk, as Arrow tables (ids as text) written by the
    same store function as the API's batches; returns (biological, below LOD)."""
    per_seg = _PerSeg.of(plan, substances)
    sealer = _ResultSealer(runtime.vault, plan.workers.ids, keys)
    biological = below = 0
    bar.stage("measurements", plan.measurements)
    # One thread: drawing the next chunk in a second thread while DuckDB stores this one
    # measured slower (GIL contention on the Python lists both sides build).
    for drawn in plan.measurement_chunks():
        rows = pa.table(_measurement_columns(drawn, plan, per_seg, sealer))
        biological += int(drawn.biological.sum())
        below += int(drawn.below_lod.sum())
        del drawn  # its arrays are in `rows` now: free them before DuckDB copies the rows
        with runtime.db.write() as tx:
            exposure_table.insert_measurement_table(tx, rows)
        bar.advance(rows.num_rows)
    return biological, below


def api_keys(runtime: Runtime, plan: Plan, bar: Progress) -> list[org_service.NewApiKey]:
    """An API key for every generated employer, as the API issues them."""
    employers = [uuid.UUID(i) for i in plan.org.ids.tolist()]
    bar.stage("api keys", len(employers))
    with runtime.db.write() as tx:
        issued = org_service.create_api_keys(tx, employers, label="synthetic")
    bar.advance(len(employers))
    return issued


class _PerSeg(NamedTuple):
    """SEG attributes as arrays, so a chunk takes them by fancy indexing."""

    employer_id: Strs
    site_id: Strs
    substance_id: Strs
    unit: Strs
    analyte: npt.NDArray[np.object_]
    method: Strs
    flow: npt.NDArray[np.float64]
    task: Strs
    location: Strs
    lab: Strs
    lab_code: Strs
    bio_lab: Strs
    bio_lab_code: Strs

    @classmethod
    def of(cls, plan: Plan, substances: dict[str, str]) -> _PerSeg:
        groups, org = plan.groups, plan.org
        agents = [AGENTS[a] for a in groups.agent]
        lab = org.lab[groups.employer]
        return cls(
            employer_id=org.ids[groups.employer],
            site_id=org.site_ids[groups.site],
            substance_id=np.array([substances[a] for a in groups.agent]),
            unit=np.array([a.unit for a in agents]),
            analyte=np.array([a.analyte for a in agents], dtype=object),
            method=np.array([a.method for a in agents]),
            flow=np.array([a.flow_l_min for a in agents]),
            task=np.array(groups.task),
            location=np.array(groups.location),
            lab=np.array([LABS[i][0] for i in lab.tolist()]),
            lab_code=np.array([LABS[i][1] for i in lab.tolist()]),
            bio_lab=np.array([BIO_LABS[i % len(BIO_LABS)][0] for i in lab.tolist()]),
            bio_lab_code=np.array([BIO_LABS[i % len(BIO_LABS)][1] for i in lab.tolist()]),
        )


class _ResultSealer:
    """Blood-lead results encrypted under their worker record's key, as the measurement
    service stores them."""

    def __init__(self, vault: Vault, worker_ids: Strs, keys: dict[int, WrappedKey]) -> None:
        self._vault = vault
        self._worker_ids = worker_ids
        self._keys = keys
        self._ciphers: dict[int, WorkerCipher] = {}

    def seal(self, record: int, measurement_id: str, value: float, below_lod: bool, lod: float) -> bytes:
        if record not in self._ciphers:
            worker_id = uuid.UUID(str(self._worker_ids[record]))
            self._ciphers[record] = self._vault.worker_cipher(worker_id, self._keys[record])
        cipher = self._ciphers[record]
        return encrypt_result(
            cipher, uuid.UUID(measurement_id), None if below_lod else value, below_lod, lod if below_lod else None
        )


def _measurement_columns(
    drawn: MeasurementDraw, plan: Plan, per_seg: _PerSeg, sealer: _ResultSealer
) -> dict[str, list[Any]]:
    n, seg, bio, static, below = len(drawn.ids), drawn.seg, drawn.biological, drawn.static, drawn.below_lod
    ids = drawn.ids.tolist()
    years = drawn.day.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    codes = np.where(bio, per_seg.bio_lab_code[seg], per_seg.lab_code[seg]).tolist()
    analyte = per_seg.analyte[seg]
    analyte[bio] = BIO_ANALYTE
    result_ct: list[bytes | None] = [None] * n
    values, lods, flags, records = drawn.value.tolist(), drawn.lod.tolist(), below.tolist(), drawn.worker.tolist()
    for i in np.flatnonzero(bio).tolist():
        result_ct[i] = sealer.seal(records[i], ids[i], values[i], flags[i], lods[i])
    wears = drawn.wears_rpe
    return {
        "id": ids,
        "employer_id": per_seg.employer_id[seg].tolist(),
        "sample_type": np.where(bio, "biological", np.where(static, "static_air", "personal_air")).tolist(),
        "substance_id": per_seg.substance_id[seg].tolist(),
        "worker_id": _nullable(plan.workers.ids[drawn.worker], static),
        "seg_id": plan.groups.ids[seg].tolist(),
        "site_id": per_seg.site_id[seg].tolist(),
        "value": _nullable(drawn.value, below | bio),
        "below_lod": _nullable(below, bio),
        "lod": _nullable(drawn.lod, ~below | bio),
        "result_ct": result_ct,
        "unit": np.where(bio, BIO_UNIT, per_seg.unit[seg]).tolist(),
        "matrix": _nullable(np.full(n, BIO_MATRIX), ~bio),
        "analyte": analyte.tolist(),
        "sampling_start": drawn.start.tolist(),
        "sampling_end": drawn.end.tolist(),
        "sampled_minutes": drawn.minutes.astype(np.float64).tolist(),
        "air_volume_l": _nullable(np.round(per_seg.flow[seg] * drawn.minutes, 1), bio),
        "method": np.where(bio, BIO_METHOD, per_seg.method[seg]).tolist(),
        "lab": np.where(bio, per_seg.bio_lab[seg], per_seg.lab[seg]).tolist(),
        "lab_report_id": [
            f"{c}-{y}-{s:06d}" for c, y, s in zip(codes, years.tolist(), drawn.lab_seq.tolist(), strict=True)
        ],
        "chain_of_custody": [None] * n,
        "task": per_seg.task[seg].tolist(),
        "location": per_seg.location[seg].tolist(),
        "rpe": _nullable(np.array([r for r, _ in RPE])[drawn.rpe], ~wears),
        "protection_factor": _nullable(np.array([f for _, f in RPE])[drawn.rpe], ~wears),
        "recorded_at": drawn.recorded.tolist(),
    }


def _dates(days: Ints) -> list[dt.date]:
    dates: list[dt.date] = days.astype("datetime64[D]").tolist()
    return dates


def _nullable(values: npt.NDArray[Any], null: npt.NDArray[np.bool_]) -> list[Any]:
    """A column for Arrow with None where `null` (NaN or a sentinel would not be NULL)."""
    if null.mean() > 0.5:
        out: list[Any] = [None] * len(values)
        for i, v in zip(np.flatnonzero(~null).tolist(), values[~null].tolist(), strict=True):
            out[i] = v
        return out
    listed: list[Any] = values.tolist()
    for i in np.flatnonzero(null).tolist():
        listed[i] = None
    return listed
