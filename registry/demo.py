"""Realistic demo data: five employers, their workers, SEGs, measurements and register entries.

Deterministic (fixed seed) and loaded through the same services as the API, so demo
data obeys every rule real data does. Run `registry demo` or `registry serve --demo`.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from functools import partial

import msgspec

from registry.access import Actor, ActorKind, Purpose, Work
from registry.runtime import Runtime
from registry.services import exposure_groups, measurements, organisations, registrations, workers
from registry.store import organisations as org_table
from registry.store import substances as substance_table
from registry.synthetic import FAMILY_NAMES, FIRST_NAMES
from schemas.exposure import MeasurementIn, RegistrationIn, SegIn, SegMemberIn
from schemas.organisation import EmployerIn, EmployerOut, SiteIn
from schemas.people import EmploymentIn, WorkerIn

__all__ = ["load_demo", "valid_bsn"]


class _Plan(msgspec.Struct, frozen=True):
    kvk: str
    name: str
    sbi: str
    city: str
    segs: list[tuple[str, str, str, float, str]]  # SEG name, task, CAS or agent name, GM, unit

    @property
    def employer(self) -> EmployerIn:
        return EmployerIn(kvk=self.kvk, name=self.name, sbi_code=self.sbi)


_PLANS = [
    _Plan(
        kvk="90000011",
        name="Houtbewerking De Eik B.V.",
        sbi="1623",
        city="Apeldoorn",
        segs=[
            ("Zagerij", "zagen en schaven van eiken", "Hardwood dust", 0.9, "mg/m3"),
            ("Lakstraat", "spuiten van lak", "108-88-3", 9.0, "mg/m3"),
        ],
    ),
    _Plan(
        kvk="90000022",
        name="Sloop & Sanering Noord B.V.",
        sbi="4311",
        city="Groningen",
        segs=[
            ("Asbestsanering", "verwijderen asbesthoudende beplating", "1332-21-4", 1500.0, "f/m3"),
            ("Betonboren", "boren en slijpen van beton", "14808-60-7", 0.04, "mg/m3"),
        ],
    ),
    _Plan(
        kvk="90000033",
        name="Schildersbedrijf Kleurrijk B.V.",
        sbi="4334",
        city="Utrecht",
        segs=[
            (
                "Binnenschilderwerk",
                "schilderen met oplosmiddelhoudende verf",
                "1330-20-7",
                40.0,
                "mg/m3",
            ),
        ],
    ),
    _Plan(
        kvk="90000044",
        name="Accurecycling Zuid B.V.",
        sbi="3832",
        city="Eindhoven",
        segs=[
            ("Smelterij", "smelten van loodaccu's", "7439-92-1", 0.05, "mg/m3"),
        ],
    ),
]
_AGENCY = EmployerIn(kvk="90000055", name="FlexWerk Uitzendbureau B.V.", sbi_code="7820")


def valid_bsn(rng: random.Random) -> str:
    """A random 9-digit number passing the elfproef (not a real person's BSN: demo only)."""
    while True:
        digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(7)]
        total = sum(w * d for w, d in zip((9, 8, 7, 6, 5, 4, 3, 2), digits, strict=True))
        check = total % 11
        if check < 10:
            return "".join(map(str, digits)) + str(check)


# One person who worked for two demo employers, so a worker's cross-employer history can be
# tried at once: `registry token --role worker --bsn 123456782`.
DEMO_WORKER = WorkerIn(bsn="123456782", name="Anna de Vries", date_of_birth=dt.date(1968, 4, 9))


def load_demo(rt: Runtime, seed: int = 2026) -> list[str]:
    """Load the demo employers (once per store); returns a line per API key issued."""
    rng = random.Random(seed)
    operator = Work(rt.db, rt.vault, Actor(kind=ActorKind.OPERATOR, id="demo"), Purpose.ADMINISTRATION)
    if operator.read(lambda w: org_table.employer_by_kvk(w.tx, _PLANS[0].kvk)) is not None:
        return ["demo data already present; issue keys with 'registry apikey create --kvk 90000011'"]

    def employers(work: Work) -> list[tuple[EmployerOut, str]]:
        created = [organisations.create_employer(work.tx, e) for e in (_AGENCY, *(p.employer for p in _PLANS))]
        return [(e, organisations.create_api_key(work.tx, e.id, label="demo").api_key) for e in created]

    issued = operator.write(employers)
    substance_ids = operator.read(lambda w: {s.cas or s.name: s.id for s in substance_table.list_substances(w.tx)})
    for plan, (employer, _) in zip(_PLANS, issued[1:], strict=True):
        _employer_work(rt, employer.id).write(partial(_employer_data, plan=plan, rng=rng, substance_ids=substance_ids))
    for plan, (employer, _) in zip(_PLANS[:2], issued[1:3], strict=True):
        _employer_work(rt, employer.id).write(partial(_demo_worker, plan=plan, rng=rng, substance_ids=substance_ids))
    lines = [f"{employer.name}: {key}" for employer, key in issued]
    lines.append(f"a worker of two of them: registry token --role worker --bsn {DEMO_WORKER.bsn}")
    return lines


def _employer_work(rt: Runtime, employer_id: uuid.UUID) -> Work:
    actor = Actor(kind=ActorKind.EMPLOYER, id="demo", employer_id=employer_id, acting_for=f"employer:{employer_id}")
    return Work(rt.db, rt.vault, actor, Purpose.LEGAL_DUTY)


def _demo_worker(work: Work, plan: _Plan, rng: random.Random, substance_ids: dict[str, uuid.UUID]) -> None:
    """The demo worker's employment and one shift sample at this employer."""
    worker, _ = workers.register_worker(work, DEMO_WORKER)
    start = dt.date(2005, 1, 1) if plan is _PLANS[0] else dt.date(2015, 1, 1)
    workers.create_employment(
        work, EmploymentIn(worker_id=worker.id, start_date=start, end_date=start.replace(year=start.year + 9))
    )
    cas = plan.segs[0][2]
    sample_start = dt.datetime(start.year + 2, 5, 14, 7, 0, tzinfo=dt.UTC)
    measurements.record_measurements(
        work,
        [
            MeasurementIn(
                sample_type="personal_air",
                substance_cas=cas if cas[0].isdigit() else None,
                substance_id=None if cas[0].isdigit() else substance_ids[cas],
                worker_id=worker.id,
                value=round(plan.segs[0][3] * rng.lognormvariate(0, 0.5), 5),
                unit=plan.segs[0][4],
                sampling_start=sample_start,
                sampling_end=sample_start + dt.timedelta(hours=7),
                lab="Arbolab Nederland",
                task=plan.segs[0][1],
            )
        ],
    )


def _employer_data(work: Work, plan: _Plan, rng: random.Random, substance_ids: dict[str, uuid.UUID]) -> None:
    site = organisations.create_site(work, SiteIn(name=f"Vestiging {plan.city}", city=plan.city))
    for seg_name, task, substance, gm, unit in plan.segs:
        seg = exposure_groups.create_seg(work, SegIn(name=seg_name, site_id=site.id, description=task))
        members = []
        for _ in range(rng.randint(4, 8)):
            person = WorkerIn(
                bsn=valid_bsn(rng),
                name=f"{rng.choice(FIRST_NAMES)} {rng.choice(FAMILY_NAMES)}",
                date_of_birth=dt.date(rng.randint(1960, 2000), rng.randint(1, 12), rng.randint(1, 28)),
            )
            worker, _ = workers.register_worker(work, person)
            start = dt.date(rng.randint(2008, 2018), rng.randint(1, 12), 1)
            agency = rng.random() < 0.2
            workers.create_employment(
                work,
                EmploymentIn(
                    worker_id=worker.id,
                    employment_type="agency" if agency else "employee",
                    agency_kvk=_AGENCY.kvk if agency else None,
                    site_id=site.id,
                    job_title=task,
                    start_date=start,
                ),
            )
            exposure_groups.add_seg_member(work, seg.id, SegMemberIn(worker_id=worker.id, start_date=start))
            members.append(worker.id)
        items = _air_samples(rng, seg.id, site.id, members, substance, substance_ids, gm, unit, task)
        if substance == "7439-92-1":
            items += _blood_lead(rng, members)
        recorded = measurements.record_measurements(work, items)
        for worker_id in members[:3]:
            own = [m.id for m in recorded if m.worker_id == worker_id][:3]
            registrations.create_registration(
                work,
                RegistrationIn(
                    worker_id=worker_id,
                    substance_id=_substance(substance, substance_ids),
                    site_id=site.id,
                    task=task,
                    period_start=dt.date(2019, 1, 1),
                    period_end=dt.date(2024, 12, 31),
                    level_value=round(gm, 4),
                    level_unit=unit,
                    basis="measured",
                    measurement_ids=own,
                    frequency="daily",
                    hours_per_day=6.0,
                    days_per_year=210,
                    controls="lokale afzuiging; werkinstructie",
                    ppe="P3-masker bij overschrijding",
                ),
            )


def _substance(key: str, substance_ids: dict[str, uuid.UUID]) -> uuid.UUID:
    return substance_ids[key]


def _air_samples(
    rng: random.Random,
    seg_id: uuid.UUID,
    site_id: uuid.UUID,
    members: list[uuid.UUID],
    substance: str,
    substance_ids: dict[str, uuid.UUID],
    gm: float,
    unit: str,
    task: str,
) -> list[MeasurementIn]:
    """Lognormal shift samples (GSD 2.2) over 2019-2025; ~10 % below the detection limit."""
    items = []
    for _ in range(rng.randint(8, 14)):
        day = dt.date(2019, 1, 1) + dt.timedelta(days=rng.randint(0, 6 * 365))
        start = dt.datetime(day.year, day.month, day.day, 7, 30, tzinfo=dt.UTC)
        value = gm * rng.lognormvariate(0, 0.79)
        lod = gm * 0.3
        below = value < lod
        items.append(
            MeasurementIn(
                sample_type="personal_air",
                substance_cas=substance if substance[0].isdigit() else None,
                substance_id=None if substance[0].isdigit() else substance_ids[substance],
                worker_id=rng.choice(members),
                seg_id=seg_id,
                site_id=site_id,
                value=None if below else round(value, 5),
                below_lod=below,
                lod=round(lod, 5) if below else None,
                unit=unit,
                sampling_start=start,
                sampling_end=start + dt.timedelta(hours=7),
                air_volume_l=840.0,
                method="NEN-EN 689 / NIOSH",
                lab="Arbolab Nederland",
                lab_report_id=f"AL-{day.year}-{rng.randint(1000, 9999)}",
                task=task,
                location="werkplaats",
            )
        )
    return items


def _blood_lead(rng: random.Random, members: list[uuid.UUID]) -> list[MeasurementIn]:
    start = dt.datetime(2024, 3, 12, 9, 0, tzinfo=dt.UTC)
    return [
        MeasurementIn(
            sample_type="biological",
            substance_cas="7439-92-1",
            worker_id=worker_id,
            value=round(rng.lognormvariate(3.0, 0.4), 1),
            unit="ug/100mL",
            matrix="blood",
            analyte="lood in bloed (PbB)",
            sampling_start=start,
            sampling_end=start + dt.timedelta(minutes=5),
            lab="Klinisch Lab Zuid",
        )
        for worker_id in members
    ]
