"""A batch as columns: its vectorised rules give exactly what the rules of one measurement
give (MeasurementIn.problems, the store's _Context.problems), a batch that does not decode
is read item by item and field by field as parse() reads one item, and a bad batch's answer
lists its first errors and counts them all."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable
from typing import Any

import msgspec
import polars as pl
import pytest

from registry.access import Actor, ActorKind, Purpose, Work
from registry.demo import valid_bsn
from registry.runtime import Runtime
from registry.services import exposure_groups, measurements, organisations, workers
from registry.services.measurements import _Context, batch_store_problems
from registry.services.workers import NO_SUCH_WORKER
from registry.store import substances as substance_table
from schemas.errors import FieldError, InvalidInput
from schemas.exposure import MAX_BATCH_ITEMS, MeasurementBatch, MeasurementIn, SegIn
from schemas.measurement_columns import MeasurementColumns, schema_problems
from schemas.organisation import EmployerIn, SiteIn
from schemas.people import EmploymentIn, WorkerIn
from schemas.validation import MAX_LISTED_ERRORS, BatchErrors, decode_batch, parse

Error = tuple[int, str, str]  # index, field, reason


def _as_list(found: pl.DataFrame) -> list[Error]:
    return sorted(zip(found["index"].to_list(), found["field"].to_list(), found["reason"].to_list(), strict=True))


def _reference(items: list[MeasurementIn], problems: Callable[[MeasurementIn], Any]) -> list[Error]:
    return sorted((i, e.under(f"items[{i}]").field, e.reason) for i, item in enumerate(items) for e in problems(item))


def _stamp(rng: random.Random) -> dt.datetime:
    """Ordinary days and the odd ones: no offset, before 1900, year 9999, just now."""
    zones = [dt.UTC, dt.timezone(dt.timedelta(hours=1)), dt.timezone(dt.timedelta(hours=-14)), None]
    if rng.random() < 0.1:
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=rng.choice([-30, 30, 300]))
    year = rng.choice([1, 1899, 1900, 1901, 2000, 2024, 9998, 9999])
    return dt.datetime(year, rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23), tzinfo=rng.choice(zones))


def _random_item(rng: random.Random) -> MeasurementIn:
    """An item that breaks any of MeasurementIn's rules, or none."""

    def maybe(value: Any, chance: float = 0.5) -> Any:
        return value if rng.random() < chance else None

    start = _stamp(rng)
    end = _stamp(rng) if rng.random() < 0.3 else start + dt.timedelta(minutes=rng.randint(-60, 600))
    aware = start.tzinfo is not None and end.tzinfo is not None
    span = (end - start).total_seconds() / 60 if aware and start.year > 1 and end.year < 9999 else 100.0
    return MeasurementIn(
        sample_type=rng.choice(["personal_air", "static_air", "biological"]),
        substance_cas=maybe(rng.choice(["71-43-2", "71-43-3", "7439-92-1", "abc", " 108-88-3 "])),
        substance_id=maybe(uuid.uuid4(), 0.3),
        worker_id=maybe(uuid.uuid4()),
        seg_id=maybe(uuid.uuid4()),
        site_id=maybe(uuid.uuid4()),
        value=maybe(rng.choice([0.1, 5.0, 1e9])),
        below_lod=rng.random() < 0.3,
        lod=maybe(0.05),
        unit=rng.choice(["mg/m3", "ppm", "ug/100mL", "bananas", "f/cm3", "umol/L", "MG/M3", " mg/m3"]),
        matrix=maybe(rng.choice(["blood", "urine"])),
        analyte=maybe("lood"),
        sampling_start=start,
        sampling_end=end,
        sampled_minutes=maybe(rng.choice([1.0, span + 1e-10, span + 1e-8, span + 1, span - 1]) if span > 1 else 1.0),
        air_volume_l=maybe(10.0),
        rpe=maybe("P3"),
        protection_factor=maybe(20.0),
    )


def test_the_batch_rules_equal_the_rules_of_one_measurement() -> None:
    rng = random.Random(15)
    items = [_random_item(rng) for _ in range(4000)]
    columns = MeasurementColumns(items, range(len(items)))
    found = _as_list(schema_problems(columns))
    assert found == _reference(items, MeasurementIn.problems)
    assert len(found) > 4000 and columns.odd  # every rule was broken somewhere, odd timestamps too
    assert len({(field.split(".", 1)[1], reason) for _, field, reason in found}) > 25


def _raw_item(rng: random.Random) -> object:
    """A JSON item with the mistakes a client makes: wrong types, values out of range, unknown
    and missing fields, text that is not one line, or no object at all."""
    item: dict[str, object] = {
        "sample_type": "personal_air",
        "substance_cas": "71-43-2",
        "worker_id": str(uuid.uuid4()),
        "value": 0.42,
        "unit": "mg/m3",
        "sampling_start": "2024-03-04T07:30:00+01:00",
        "sampling_end": "2024-03-04T15:00:00+01:00",
        "lab": "Arbolab",
    }
    mistakes: list[Callable[[], object]] = [
        lambda: item.update(value="0,42"),
        lambda: item.update(value=-3),
        lambda: item.update(sample_type="personal"),
        lambda: item.update(worker_id="12345"),
        lambda: item.update(sampling_start="gisteren"),
        lambda: item.update(lab="Arbo\x00lab"),
        lambda: item.update(lab="x" * 201),
        lambda: item.update(below_lod="ja"),
        lambda: item.update(protection_factor=0.5),
        lambda: item.update(monster="A-17"),
        lambda: item.pop("unit"),
        lambda: item.pop("sample_type"),
        lambda: item.update(value=None, below_lod=True),  # fine in form; its rules are checked later
    ]
    if rng.random() < 0.05:
        return rng.choice([5, "item", [item], None])
    for mistake in rng.sample(mistakes, rng.choice([0, 0, 1, 2, 4])):
        mistake()
    return item


def test_a_batch_that_does_not_decode_is_read_as_parse_reads_each_item() -> None:
    rng = random.Random(20)
    raw = [_raw_item(rng) for _ in range(3000)]
    decoded = decode_batch(
        msgspec.json.encode({"items": raw}), MeasurementBatch, MeasurementIn, max_items=3000, noun="measurements"
    )
    answer = decoded.errors.invalid_input()
    expected: list[FieldError] = []
    for index, item in enumerate(raw):
        try:
            msgspec.convert(item, MeasurementIn)
        except msgspec.ValidationError:
            with pytest.raises(InvalidInput) as refused:
                parse(MeasurementIn, item)
            expected += [e.under(f"items[{index}]") for e in refused.value.errors]
    assert answer.total_errors == len(expected) > MAX_LISTED_ERRORS
    key = _order
    assert sorted(answer.errors, key=key) == sorted(expected, key=key)[:MAX_LISTED_ERRORS]
    good = [i for i, item in enumerate(raw) if _converts(item)]
    assert decoded.positions == good and decoded.size == len(raw)
    assert answer.invalid_items == len(raw) - len(good)


def _order(error: FieldError) -> tuple[int, str, str]:
    index = error.field.removeprefix("items[").split("]", 1)[0]
    return int(index), error.field, error.reason


def _converts(item: object) -> bool:
    try:
        msgspec.convert(item, MeasurementIn)
    except msgspec.ValidationError:
        return False
    return True


def test_a_well_formed_batch_decodes_in_one_go() -> None:
    body = msgspec.json.encode({"items": [_raw_item(random.Random(1)) for _ in range(3)]})
    decoded = decode_batch(body, MeasurementBatch, MeasurementIn, max_items=MAX_BATCH_ITEMS, noun="measurements")
    assert decoded.positions == [0, 1, 2] and not decoded.errors
    for body in (b'{"items": []}', b'{"items": {}}', b"[]", b'{"items": [' + b"{}," * MAX_BATCH_ITEMS + b"{}]}"):
        with pytest.raises(InvalidInput) as refused:
            decode_batch(body, MeasurementBatch, MeasurementIn, max_items=MAX_BATCH_ITEMS, noun="measurements")
        assert refused.value.errors == [FieldError("items", "an array of 1 to 10000 measurements")]
    with pytest.raises(InvalidInput) as refused:
        decode_batch(b'{"items": [', MeasurementBatch, MeasurementIn, max_items=MAX_BATCH_ITEMS, noun="measurements")
    assert refused.value.detail == "body is not valid JSON"


def test_the_answer_lists_the_first_errors_in_item_order_and_counts_all() -> None:
    errors = BatchErrors()
    for index in reversed(range(10_000)):
        errors.add(index, f"items[{index}].value", "Expected `float`, got `str`")
    frame = pl.DataFrame(
        {
            "index": [3, 3],
            "field": ["items[3].unit", "items[3].air_volume_l"],
            "reason": ["bananas is no unit", "x" * 500],
            "rank": [1, 0],
        }
    )
    errors.add_frame(frame)
    errors.add(-1, "extra", "unknown field")
    answer = errors.invalid_input("measurements")
    assert answer.total_errors == 10_003 and answer.invalid_items == 10_000
    assert len(answer.errors) == MAX_LISTED_ERRORS
    assert [e.field for e in answer.errors[:6]] == [
        "extra",
        "items[0].value",
        "items[1].value",
        "items[2].value",
        "items[3].air_volume_l",
        "items[3].unit",
    ]
    assert len(answer.errors[4].reason) == 200  # an echo of the request is cut short
    assert answer.errors[-1].field == "items[996].value"
    assert answer.detail.startswith("10,003 error(s) in 10,000 of the measurements; nothing was stored")


# The store's rules, over a real store: an employer with workers employed in some periods, one
# not employed, another employer's worker, SEG and site, known and unknown substances.


class _Store(msgspec.Struct):
    work: Work
    employer_id: uuid.UUID
    workers: list[uuid.UUID]
    segs: list[uuid.UUID]
    sites: list[uuid.UUID]
    cas: list[str]
    substance_ids: list[uuid.UUID]


def _store(runtime: Runtime) -> _Store:
    operator = Work(runtime.db, runtime.vault, Actor(kind=ActorKind.OPERATOR, id="test"), Purpose.ADMINISTRATION)

    def employer(kvk: str, name: str) -> Work:
        created = operator.write(lambda w: organisations.create_employer(w.tx, EmployerIn(kvk=kvk, name=name)))
        actor = Actor(kind=ActorKind.EMPLOYER, id=kvk, employer_id=created.id)
        return Work(runtime.db, runtime.vault, actor, Purpose.PREVENTION)

    mine, theirs = employer("51515150", "Eigen B.V."), employer("11111110", "Ander B.V.")
    rng = random.Random(30)

    def people(work: Work, periods: list[list[tuple[dt.date, dt.date | None]]]) -> list[uuid.UUID]:
        made = []
        for number, spans in enumerate(periods):
            person = WorkerIn(bsn=valid_bsn(rng), name=f"Werknemer {number}", date_of_birth=dt.date(1970, 1, 1))
            worker, _ = workers.register_worker(work, person)
            for start, end in spans:
                workers.create_employment(work, EmploymentIn(worker_id=worker.id, start_date=start, end_date=end))
            made.append(worker.id)
        return made

    def places(work: Work) -> tuple[uuid.UUID, uuid.UUID]:
        seg = exposure_groups.create_seg(work, SegIn(name="Lassen"))
        site = organisations.create_site(work, SiteIn(name="Werf"))
        return seg.id, site.id

    spans: list[list[tuple[dt.date, dt.date | None]]] = [
        [(dt.date(2010, 1, 1), dt.date(2012, 12, 31)), (dt.date(2015, 1, 1), None)],
        [],
        [(dt.date(2019, 6, 1), None)],
    ]
    own = mine.write(lambda w: people(w, spans))
    foreign = theirs.write(lambda w: people(w, [[(dt.date(2000, 1, 1), None)]]))
    own_seg, own_site = mine.write(places)
    their_seg, their_site = theirs.write(places)
    catalogue = mine.read(lambda w: substance_table.substance_ids_by_cas(w.tx))
    unknown = next(cas for cas in ("50-00-0", "64-17-5", "67-64-1", "7732-18-5") if cas not in catalogue)
    return _Store(
        work=mine,
        employer_id=uuid.UUID(str(mine.actor.employer_id)),
        workers=[*own, *foreign, uuid.uuid4()],
        segs=[own_seg, their_seg, uuid.uuid4()],
        sites=[own_site, their_site, uuid.uuid4()],
        cas=["71-43-2", "7439-92-1", unknown, " 71-43-2"],
        substance_ids=[catalogue["71-43-2"], uuid.uuid4()],
    )


def test_the_batch_store_rules_equal_the_rules_of_one_measurement(runtime: Runtime) -> None:
    store = _store(runtime)
    rng = random.Random(25)
    days = [dt.datetime(2012, 12, 31, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2)))]  # 1 Jan 2013 in UTC
    days += [dt.datetime(y, m, 1, 8, tzinfo=dt.UTC) for y in (2009, 2010, 2012, 2013, 2015, 2019, 2024) for m in (1, 6)]
    items = []
    for _ in range(600):
        start = rng.choice(days)
        by_cas = rng.random() < 0.7
        items.append(
            MeasurementIn(
                sample_type="personal_air",
                substance_cas=rng.choice(store.cas) if by_cas else None,
                substance_id=None if by_cas else rng.choice(store.substance_ids),
                worker_id=rng.choice([*store.workers, None]),
                seg_id=rng.choice([*store.segs, None]),
                site_id=rng.choice([*store.sites, None]),
                value=1.0,
                unit="mg/m3",
                sampling_start=start,
                sampling_end=start + dt.timedelta(hours=8),
            )
        )
    columns = MeasurementColumns(items, range(len(items)))
    frame = columns.frame("substance_cas", "substance_id", "worker_id", "seg_id", "site_id", "sampling_start")

    def both(work: Work) -> tuple[list[Error], list[Error]]:
        context = _Context.load(work.tx, store.employer_id, items)
        return _as_list(batch_store_problems(work.tx, store.employer_id, frame)), _reference(items, context.problems)

    found, expected = store.work.read(both)
    assert found == expected
    reasons = {reason.split(" on ")[0] for _, _, reason in found}
    assert len(reasons) == 7  # every rule of the store was broken, and several items are fine
    assert len({index for index, _, _ in found}) < len(items)


def test_a_batch_with_one_bad_item_stores_nothing(runtime: Runtime) -> None:
    store = _store(runtime)
    start = dt.datetime(2020, 3, 2, 8, tzinfo=dt.UTC)
    good = MeasurementIn(
        sample_type="personal_air",
        substance_cas="71-43-2",
        worker_id=store.workers[0],
        value=0.5,
        unit="mg/m3",
        sampling_start=start,
        sampling_end=start + dt.timedelta(hours=8),
    )
    bad = msgspec.structs.replace(good, worker_id=store.workers[3])  # the other employer's worker
    with pytest.raises(InvalidInput) as refused:
        store.work.write(lambda w: measurements.record_measurements(w, [good] * 50 + [bad] + [good] * 50))
    assert [(e.field, e.reason) for e in refused.value.errors] == [("items[50].worker_id", NO_SUCH_WORKER)]
    count = store.work.read(lambda w: measurements.list_measurements(w, measurements.MeasurementFilter(), 1, 0)[1])
    assert count == 0
    stored = store.work.write(lambda w: measurements.record_measurements(w, [good] * 3))
    assert [m.worker_id for m in stored] == [store.workers[0]] * 3 and len({m.id for m in stored}) == 3
