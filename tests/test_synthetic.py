"""The synthetic data generator: the same seed gives the same data, and the data obeys the
registry's rules, so tests and benchmarks built on it exercise realistic, valid records."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest
from scipy import optimize, stats

from registry import synthetic
from registry.access import Actor, ActorKind, Purpose, Work
from registry.runtime import Runtime, open_runtime
from registry.services import measurements as measurement_service
from registry.services import workers as worker_service
from registry.store import Tx
from registry.store import people as people_table
from registry.store.people import KeyTable
from registry.synthetic import SyntheticSummary, generate
from schemas.errors import Conflict
from schemas.exposure import MeasurementIn
from schemas.identifiers import normalise_bsn
from schemas.people import WorkerOut
from schemas.validation import check
from tests.conftest import STORES, make_place

SIZE = 20_000
SEED = 7


@pytest.fixture(scope="module", params=STORES)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Runtime, SyntheticSummary]]:
    place = make_place(tmp_path_factory.mktemp("synthetic"), request.param)
    rt = open_runtime(place.settings())
    summary = generate(rt, measurements=SIZE, seed=SEED, progress=False)
    yield rt, summary
    rt.close()


def _employer(rt: Runtime, employer_id: uuid.UUID) -> Work:
    return Work(rt.db, rt.vault, Actor(kind=ActorKind.EMPLOYER, id="test", employer_id=employer_id), Purpose.LEGAL_DUTY)


def _operator(rt: Runtime) -> Work:
    return Work(rt.db, rt.vault, Actor(kind=ActorKind.OPERATOR, id="test"), Purpose.ADMINISTRATION)


def _person(rt: Runtime, bsn_index: str) -> Work:
    return Work(rt.db, rt.vault, Actor(kind=ActorKind.WORKER, id="test", person=bsn_index), Purpose.SELF_ACCESS)


def _all_identities(work: Work) -> list[WorkerOut]:
    rows, _ = people_table.workers_in_scope(work.tx, ("TRUE", []), limit=1 << 30, offset=0)
    return worker_service.open_identities(work, rows)


def _snapshot(rt: Runtime) -> dict[str, Any]:
    """Everything generated, in a comparable form: plain columns, and decrypted ciphertexts
    (those differ between runs by their random nonces, as they must; so do the BSN blind
    indexes, keyed by each store's own key file: persons are compared as the sets of worker
    ids sharing one blind index)."""
    tables = {
        "employers": "id, kvk, name, sbi_code",
        "sites": "id, employer_id, name, city",
        "workers": "id, employer_id, key_id",
        "employments": "id, worker_id, employer_id, employment_type, agency_employer_id, site_id, job_title, "
        "start_date, end_date",
        "segs": "id, employer_id, name, site_id, description",
        "seg_members": "id, seg_id, worker_id, start_date, end_date",
        # substances.id is drawn per store when the catalogue is seeded: compare by name.
        "measurements": "id, employer_id, sample_type, (SELECT name FROM substances WHERE id = substance_id), "
        "worker_id, seg_id, site_id, value, below_lod, lod, unit, matrix, analyte, sampling_start, sampling_end, "
        "sampled_minutes, air_volume_l, method, lab, lab_report_id, task, location, rpe, protection_factor, "
        "recorded_at",
    }
    snapshot: dict[str, Any] = {}
    with rt.db.read() as tx:
        for table, columns in tables.items():
            snapshot[table] = tx.all(f"SELECT {columns} FROM {table} ORDER BY id")
        persons: dict[str, list[uuid.UUID]] = {}
        for worker_id, bsn_index in tx.all("SELECT id, bsn_index FROM workers ORDER BY id"):
            persons.setdefault(bsn_index, []).append(worker_id)
        snapshot["persons"] = sorted(persons.values())
        snapshot["biological"] = [
            _open_result(rt, tx, row[0], row[1], row[2])
            for row in tx.all(
                "SELECT id, worker_id, result_ct FROM measurements WHERE result_ct IS NOT NULL ORDER BY id"
            )
        ]
    snapshot["identities"] = [msgspec.to_builtins(w) for w in _operator(rt).read(_all_identities)]
    return snapshot


def _open_result(rt: Runtime, tx: Tx, measurement_id: uuid.UUID, worker_id: uuid.UUID, token: bytes) -> dict[str, Any]:
    """A blood-lead result opened with the data key of the worker record it belongs to."""
    key_id = people_table.key_ids_of_workers(tx, [worker_id])[worker_id]
    cipher = rt.vault.worker_cipher(key_id, KeyTable(tx).wrapped_key(key_id))
    result: dict[str, Any] = msgspec.json.decode(cipher.decrypt(f"measurements.result:{measurement_id}", token))
    return result


@pytest.mark.parametrize("kind", STORES)
def test_the_same_seed_gives_the_same_data_and_another_seed_other_data(tmp_path: Path, kind: str) -> None:
    runs = []
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        rt = open_runtime(make_place(tmp_path / name, kind).settings())
        try:
            summary = generate(rt, measurements=1500, seed=seed, progress=False)
            runs.append((msgspec.structs.replace(summary, elapsed_s=0.0), _snapshot(rt)))
        finally:
            rt.close()
    (first, one), (second, two), (_, three) = runs
    assert first == second
    assert one == two
    assert one["biological"], "a small set still has blood-lead results"
    assert len(one["workers"]) > len(one["persons"]), "a small set still has people who worked for several employers"
    assert {row[0] for row in one["measurements"]}.isdisjoint({row[0] for row in three["measurements"]})
    assert [row[7] for row in one["measurements"]] != [row[7] for row in three["measurements"]]


def test_the_summary_counts_what_was_stored(store: tuple[Runtime, SyntheticSummary]) -> None:
    rt, summary = store
    with rt.db.read() as tx:
        assert tx.scalar("SELECT count(*) FROM measurements") == summary.measurements == SIZE
        assert tx.scalar("SELECT count(*) FROM employers") == summary.employers
        assert tx.scalar("SELECT count(DISTINCT bsn_index) FROM workers") == summary.persons
        assert tx.scalar("SELECT count(*) FROM workers") == summary.workers
        assert tx.scalar("SELECT count(*) FROM worker_keys") == summary.workers
        assert tx.scalar("SELECT count(*) FROM worker_keys k JOIN workers w ON w.key_id = k.worker_id") == (
            summary.workers
        )
        assert tx.scalar("SELECT count(*) FROM employments") == summary.employments
        assert tx.scalar("SELECT count(*) FROM segs") == summary.segs
        assert tx.scalar("SELECT count(*) FROM seg_members") == summary.seg_members
        assert tx.scalar("SELECT count(*) FROM measurements WHERE sample_type = 'biological'") == summary.biological
        assert tx.scalar("SELECT count(*) FROM measurements WHERE below_lod") == summary.below_lod
        assert tx.scalar("SELECT count(*) FROM audit_log WHERE resource_type = 'synthetic_dataset'") == 1


def test_every_record_names_the_recording_employers_own_worker(store: tuple[Runtime, SyntheticSummary]) -> None:
    """One worker record per (employer, person) the careers produce, and every record an
    employer made names that employer's own worker id: an agency placement the hiring
    company's, never the agency's; and each record has a data key of its own."""
    rt, summary = store
    foreign = "w.id IS NULL OR w.employer_id <> {employer}"
    with rt.db.read() as tx:
        broken = {
            "employments": tx.scalar(
                "SELECT count(*) FROM employments x LEFT JOIN workers w ON w.id = x.worker_id "
                f"WHERE {foreign.format(employer='x.employer_id')}"
            ),
            "measurements": tx.scalar(
                "SELECT count(*) FROM measurements x LEFT JOIN workers w ON w.id = x.worker_id "
                f"WHERE x.worker_id IS NOT NULL AND ({foreign.format(employer='x.employer_id')})"
            ),
            "registrations": tx.scalar(
                "SELECT count(*) FROM registrations x LEFT JOIN workers w ON w.id = x.worker_id "
                f"WHERE {foreign.format(employer='x.employer_id')}"
            ),
            "seg_members": tx.scalar(
                "SELECT count(*) FROM seg_members x JOIN segs g ON g.id = x.seg_id "
                f"LEFT JOIN workers w ON w.id = x.worker_id WHERE {foreign.format(employer='g.employer_id')}"
            ),
        }
        idle = tx.scalar(
            "SELECT count(*) FROM workers w WHERE NOT EXISTS "
            "(SELECT 1 FROM employments e WHERE e.worker_id = w.id AND e.employer_id = w.employer_id)"
        )
        pairs = tx.scalar("SELECT count(*) FROM (SELECT DISTINCT employer_id, bsn_index FROM workers) p")
        without_employer = tx.scalar("SELECT count(*) FROM workers WHERE employer_id IS NULL")
        at_agencies = tx.scalar(
            "SELECT count(*) FROM workers w JOIN employers e ON e.id = w.employer_id WHERE e.sbi_code = '7820'"
        )
        keyed_elsewhere = tx.scalar("SELECT count(*) FROM workers WHERE key_id <> id")
        placed = tx.scalar(
            "SELECT count(DISTINCT w.bsn_index) FROM employments e JOIN workers w ON w.id = e.worker_id "
            "WHERE e.agency_employer_id IS NOT NULL"
        )
        several = tx.scalar(
            "SELECT count(*) FROM (SELECT bsn_index FROM workers GROUP BY bsn_index HAVING count(*) > 1) p"
        )
        self_employed = tx.scalar(
            "SELECT count(*) FROM employments e JOIN workers w ON w.id = e.worker_id "
            "WHERE e.employment_type = 'self_employed' AND w.employer_id = e.employer_id"
        )
    assert broken == dict.fromkeys(broken, 0)
    assert (idle, without_employer, at_agencies, keyed_elsewhere) == (0, 0, 0, 0)
    assert pairs == summary.workers
    assert summary.persons < summary.workers <= summary.employments
    assert placed > 0 and self_employed > 0
    assert several > 0.3 * summary.persons


def test_every_sample_of_a_worker_falls_in_an_employment_and_a_seg_membership(
    store: tuple[Runtime, SyntheticSummary],
) -> None:
    rt, _ = store
    with rt.db.read() as tx:
        personal = tx.scalar("SELECT count(*) FROM measurements WHERE worker_id IS NOT NULL")
        outside_employment = tx.scalar(
            """
            SELECT count(*) FROM measurements m
            WHERE m.worker_id IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM employments e
                WHERE e.worker_id = m.worker_id
                  AND (e.employer_id = m.employer_id OR e.agency_employer_id = m.employer_id)
                  AND e.start_date <= CAST(m.sampling_start AS DATE)
                  AND (e.end_date IS NULL OR CAST(m.sampling_start AS DATE) <= e.end_date))
            """
        )
        outside_seg = tx.scalar(
            """
            SELECT count(*) FROM measurements m
            WHERE m.worker_id IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM seg_members s
                WHERE s.worker_id = m.worker_id AND s.seg_id = m.seg_id
                  AND s.start_date <= CAST(m.sampling_start AS DATE)
                  AND (s.end_date IS NULL OR CAST(m.sampling_start AS DATE) <= s.end_date))
            """
        )
        foreign_seg = tx.scalar(
            "SELECT count(*) FROM measurements m JOIN segs s ON s.id = m.seg_id WHERE s.employer_id <> m.employer_id"
        )
        static_with_worker = tx.scalar(
            "SELECT count(*) FROM measurements WHERE sample_type = 'static_air' AND worker_id IS NOT NULL"
        )
    assert personal > 0.8 * SIZE
    assert outside_employment == 0
    assert outside_seg == 0
    assert foreign_seg == 0
    assert static_with_worker == 0


def test_non_detects_keep_their_lod_and_are_never_zero(store: tuple[Runtime, SyntheticSummary]) -> None:
    rt, _ = store
    with rt.db.read() as tx:
        air = "sample_type <> 'biological'"
        below, broken_below, broken_detect, non_positive = tx.one(
            f"""
            SELECT count(*) FILTER (WHERE below_lod),
                   count(*) FILTER (WHERE below_lod AND (value IS NOT NULL OR lod IS NULL OR lod <= 0)),
                   count(*) FILTER (WHERE NOT below_lod AND value IS NULL),
                   count(*) FILTER (WHERE value <= 0 OR isnan(value))
            FROM measurements WHERE {air}
            """
        ) or (0, 0, 0, 0)
        air_count = tx.scalar(f"SELECT count(*) FROM measurements WHERE {air}")
        bio_in_clear = tx.scalar(
            "SELECT count(*) FROM measurements WHERE sample_type = 'biological' "
            "AND (value IS NOT NULL OR lod IS NOT NULL OR below_lod IS NOT NULL OR result_ct IS NULL)"
        )
    assert 0.10 <= below / air_count <= 0.20
    assert (broken_below, broken_detect, non_positive, bio_in_clear) == (0, 0, 0, 0)


def test_exposures_are_lognormal_per_seg_with_a_gsd_between_1_5_and_4(store: tuple[Runtime, SyntheticSummary]) -> None:
    """Fitted by censored maximum likelihood (non-detects as "< LOD"). The generator adds a
    slow time trend on top, and a fit of ~30-300 samples scatters, hence the margins."""
    rt, _ = store
    with rt.db.read() as tx:
        rows = tx.all(
            "SELECT seg_id, value, lod, below_lod FROM measurements WHERE sample_type <> 'biological' ORDER BY seg_id"
        )
    by_seg: dict[uuid.UUID, list[tuple[float | None, float | None, bool]]] = {}
    for seg_id, value, lod, below in rows:
        by_seg.setdefault(seg_id, []).append((value, lod, below))
    fitted = [_censored_gsd(samples) for samples in by_seg.values() if len(samples) >= 30]
    assert len(fitted) >= 20
    gsd = np.array(fitted)
    assert 1.5 <= float(np.median(gsd)) <= 4.0
    assert np.mean((gsd >= 1.3) & (gsd <= 5.0)) >= 0.9
    assert gsd.min() >= 1.1
    assert gsd.max() <= 8.0


def _censored_gsd(samples: list[tuple[float | None, float | None, bool]]) -> float:
    detected = np.log([v for v, _, below in samples if not below and v is not None])
    censored = np.log([lod for _, lod, below in samples if below and lod is not None])

    def negative_log_likelihood(theta: np.ndarray) -> float:
        mu, log_sigma = theta
        sigma = math.exp(log_sigma)
        return -float(stats.norm.logpdf(detected, mu, sigma).sum() + stats.norm.logcdf(censored, mu, sigma).sum())

    start = np.array([detected.mean(), math.log(max(detected.std(), 0.1))])
    fit = optimize.minimize(negative_log_likelihood, start, method="Nelder-Mead")
    return math.exp(math.exp(fit.x[1]))


def test_workers_read_back_through_the_worker_service(store: tuple[Runtime, SyntheticSummary]) -> None:
    """Each employer opens its own worker record (encrypted under the record's own key); its
    BSN blind index matches; every employer of a person holds the same identity."""
    rt, _ = store
    with rt.db.read() as tx:
        pairs = tx.all(
            "SELECT e.worker_id, e.employer_id, w.bsn_index FROM employments e "
            "JOIN workers w ON w.id = e.worker_id ORDER BY e.id LIMIT 25"
        )
        several = [
            row[0]
            for row in tx.all(
                "SELECT bsn_index FROM workers GROUP BY bsn_index HAVING count(*) > 1 ORDER BY bsn_index LIMIT 20"
            )
        ]
    for worker_id, employer_id, bsn_index in pairs:
        worker = _employer(rt, employer_id).read(partial(worker_service.get_worker, worker_id=worker_id))
        assert worker.id == worker_id
        assert normalise_bsn(worker.bsn) == worker.bsn
        assert rt.vault.blind_index("bsn", worker.bsn) == bsn_index
        assert worker.name.strip()
        assert dt.date(1940, 1, 1) <= worker.date_of_birth <= dt.date(2004, 12, 31)

    def identities(work: Work) -> list[list[WorkerOut]]:
        return [
            worker_service.open_identities(work, people_table.workers_of_person(work.tx, bsn_index))
            for bsn_index in several
        ]

    assert several
    for records in _operator(rt).read(identities):
        assert len(records) == len({r.id for r in records}) > 1
        assert len({(r.bsn, r.name, r.date_of_birth) for r in records}) == 1


def test_biological_results_are_encrypted_under_their_worker_records_key(
    store: tuple[Runtime, SyntheticSummary],
) -> None:
    """Opened with the key of the worker record they belong to, and through the measurement
    service: the person (the worker's blind index) sees their value, the employer that
    recorded it gets it withheld."""
    rt, summary = store
    assert 0 < summary.biological < 0.05 * SIZE
    with rt.db.read() as tx:
        rows = tx.all(
            "SELECT m.id, m.worker_id, m.result_ct, m.unit, m.matrix, w.bsn_index, m.employer_id "
            "FROM measurements m JOIN workers w ON w.id = m.worker_id "
            "WHERE m.sample_type = 'biological' ORDER BY m.id LIMIT 20"
        )
        results = [_open_result(rt, tx, r[0], r[1], r[2]) for r in rows]
    for (measurement_id, _, _, unit, matrix, bsn_index, employer_id), result in zip(rows, results, strict=True):
        assert (unit, matrix) == ("ug/100mL", "blood")
        if result["below_lod"]:
            assert result["value"] is None and result["lod"] > 0
        else:
            assert 0 < result["value"] < 200
        read = partial(measurement_service.get_measurement, measurement_id=measurement_id)
        own = _person(rt, bsn_index).read(read)
        assert (own.value, own.below_lod, own.lod, own.result_withheld) == (
            result["value"],
            result["below_lod"],
            result["lod"],
            None,
        )
        withheld = _employer(rt, employer_id).read(read)
        assert withheld.value is None and withheld.result_withheld


def test_generated_rows_pass_the_api_rules_and_the_measurement_service(
    store: tuple[Runtime, SyntheticSummary],
) -> None:
    """Re-sent as an employer would send them, generated air samples are accepted; the
    transaction is then rolled back so the store stays as generated."""
    rt, _ = store
    with rt.db.read() as tx:
        employer_id = tx.scalar(
            "SELECT employer_id FROM measurements WHERE worker_id IS NOT NULL "
            "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        )
        rows = tx.all(
            "SELECT m.sample_type, s.cas, m.substance_id, m.worker_id, m.seg_id, m.site_id, m.value, m.below_lod, "
            "m.lod, m.unit, m.analyte, m.sampling_start, m.sampling_end, m.sampled_minutes, m.air_volume_l, "
            "m.method, m.lab, m.lab_report_id, m.task, m.location, m.rpe, m.protection_factor "
            "FROM measurements m JOIN substances s ON s.id = m.substance_id "
            "WHERE m.employer_id = ? AND m.sample_type <> 'biological' ORDER BY m.id LIMIT 200",
            [employer_id],
        )
    items = [
        check(
            MeasurementIn(
                sample_type=r[0],
                substance_cas=r[1],
                substance_id=None if r[1] else r[2],
                worker_id=r[3],
                seg_id=r[4],
                site_id=r[5],
                value=r[6],
                below_lod=r[7],
                lod=r[8],
                unit=r[9],
                analyte=r[10],
                sampling_start=r[11],
                sampling_end=r[12],
                sampled_minutes=r[13],
                air_volume_l=r[14],
                method=r[15],
                lab=r[16],
                lab_report_id=r[17],
                task=r[18],
                location=r[19],
                rpe=r[20],
                protection_factor=r[21],
            )
        )
        for r in rows
    ]
    assert items

    class Rollback(Exception):
        pass

    def resend(work: Work) -> None:
        recorded = measurement_service.record_measurements(work, items)
        assert len(recorded) == len(items)
        raise Rollback

    with pytest.raises(Rollback):
        _employer(rt, employer_id).write(resend)
    with rt.db.read() as tx:
        assert tx.scalar("SELECT count(*) FROM measurements") == SIZE


def test_careers_mix_agency_and_self_employed_periods(store: tuple[Runtime, SyntheticSummary]) -> None:
    rt, summary = store
    with rt.db.read() as tx:
        kinds = dict(tx.all("SELECT employment_type, count(*) FROM employments GROUP BY 1"))
        agency_sbi = tx.all(
            "SELECT DISTINCT a.sbi_code FROM employments e JOIN employers a ON a.id = e.agency_employer_id"
        )
        agency_mismatch = tx.scalar(
            "SELECT count(*) FROM employments WHERE (employment_type = 'agency') <> (agency_employer_id IS NOT NULL)"
        )
        bad_periods = tx.scalar("SELECT count(*) FROM employments WHERE end_date < start_date")
        years = tx.scalar("SELECT count(DISTINCT year(sampling_start)) FROM measurements")
        span = tx.one("SELECT min(sampling_start), max(sampling_end) FROM measurements")
        substances = tx.scalar("SELECT count(DISTINCT substance_id) FROM measurements")
    assert 0.10 <= kinds["agency"] / summary.employments <= 0.20
    assert kinds["self_employed"] > 0
    assert agency_sbi == [("7820",)]
    assert agency_mismatch == 0
    assert bad_periods == 0
    assert years == 31
    assert span is not None
    assert span[0] >= dt.datetime(1995, 1, 1, tzinfo=dt.UTC)
    assert span[1] <= dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert substances >= 10


def test_a_second_run_with_the_same_seed_is_refused(store: tuple[Runtime, SyntheticSummary]) -> None:
    rt, _ = store
    with pytest.raises(Conflict, match="another seed"):
        generate(rt, measurements=SIZE, seed=SEED, progress=False)


@pytest.mark.parametrize("kind", STORES)
def test_a_broken_off_load_of_the_seed_is_refused_by_its_taken_bsns(
    tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A load that broke off after writing its workers left no audit entry; rerunning the seed
    finds its BSNs taken (workers.bsn_index) and refuses instead of adding the people twice."""
    rt = open_runtime(make_place(tmp_path, kind).settings())
    try:
        with monkeypatch.context() as patch:
            patch.setattr(synthetic.write, "careers", _break_off)
            with pytest.raises(RuntimeError, match="broke off"):
                generate(rt, measurements=1500, seed=3, progress=False)
        with rt.db.read() as tx:
            persons = tx.scalar("SELECT count(DISTINCT bsn_index) FROM workers")
            workers = tx.scalar("SELECT count(*) FROM workers")
        assert 0 < persons < workers
        with pytest.raises(Conflict, match="BSNs are already in this store"):
            generate(rt, measurements=1500, seed=3, progress=False)
        with rt.db.read() as tx:
            assert tx.scalar("SELECT count(DISTINCT bsn_index) FROM workers") == persons
            assert tx.scalar("SELECT count(*) FROM workers") == workers
        assert generate(rt, measurements=1500, seed=4, progress=False).persons > 0
    finally:
        rt.close()


def _break_off(*args: object, **kwargs: object) -> None:
    raise RuntimeError("the load broke off")
