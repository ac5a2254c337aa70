"""Properties of every validator and parser (issue 20, item 5): identifiers, units, text,
dates, request parsing, settings, and over real HTTP the paging parameters and idempotent
replays. Fixed settings (derandomize, a modest number of examples) keep CI repeatable."""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Iterator
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import msgspec
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from registry.settings import DEFAULT_RATE_LIMIT, Settings
from schemas import common, units
from schemas.access import ResolutionIn
from schemas.common import EARLIEST_RECORD_DATE, check_not_future, check_order, today_somewhere
from schemas.errors import InvalidInput
from schemas.exposure import SegIn
from schemas.identifiers import normalise_bsn, normalise_cas, normalise_ec, normalise_kvk, normalise_sbi
from schemas.limits import LimitValue
from schemas.organisation import SiteIn
from schemas.people import WorkerIn
from schemas.validation import parse, parse_items
from tests.conftest import Employer, Server, create_employer, make_place

IN_PROCESS = settings(derandomize=True, max_examples=150, deadline=None, database=None)
OVER_HTTP = settings(
    derandomize=True,
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

ASCII_DIGITS = st.characters(min_codepoint=ord("0"), max_codepoint=ord("9"))
# Every Unicode decimal digit but 0-9: fullwidth, Arabic-Indic, Devanagari, mathematical, ...
OTHER_DIGITS = st.characters(categories=["Nd"]).filter(lambda c: not c.isascii())
CONTROLS = st.characters(categories=["Cc"])  # exactly C0, DEL and C1
# Text a person may type: no control characters, no lone surrogates (not encodable).
TYPED = st.characters(exclude_categories=["Cc", "Cs"])


def _with(text: str, char: str, data: st.DataObject) -> str:
    """`text` with `char` put at a position hypothesis chooses."""
    at = data.draw(st.integers(0, len(text)))
    return text[:at] + char + text[at:]


def _replace_digit(text: str, char: str, data: st.DataObject) -> str:
    positions = [i for i, c in enumerate(text) if c.isdigit()]
    at = data.draw(st.sampled_from(positions))
    return text[:at] + char + text[at + 1 :]


def _refused(normalise: Any, value: str) -> bool:
    try:
        normalise(value)
    except ValueError:
        return True
    return False


# --- BSN --------------------------------------------------------------------------------


def _elfproef(bsn: str) -> bool:
    return sum(w * int(d) for w, d in zip((9, 8, 7, 6, 5, 4, 3, 2, -1), bsn, strict=True)) % 11 == 0


@st.composite
def bsns(draw: st.DrawFn) -> str:
    head = draw(st.text(ASCII_DIGITS, min_size=8, max_size=8))
    check = sum(w * int(d) for w, d in zip((9, 8, 7, 6, 5, 4, 3, 2), head, strict=True)) % 11
    assume(check < 10 and head != "00000000")
    return head + str(check)


@IN_PROCESS
@given(bsns(), st.data())
def test_a_valid_bsn_is_accepted_however_it_is_spaced(bsn: str, data: st.DataObject) -> None:
    assert normalise_bsn(bsn) == bsn
    spelled = bsn
    for separator in data.draw(st.lists(st.sampled_from([" ", "."]), max_size=3)):
        spelled = _with(spelled, separator, data)
    assert normalise_bsn(spelled) == bsn


@IN_PROCESS
@given(st.text(st.sampled_from("0123456789 ."), max_size=12))
def test_every_accepted_bsn_passes_the_elfproef(text: str) -> None:
    try:
        bsn = normalise_bsn(text)
    except ValueError:
        return
    assert len(bsn) == 9 and bsn.isascii() and bsn.isdigit() and _elfproef(bsn) and bsn != "000000000"


@IN_PROCESS
@given(bsns(), OTHER_DIGITS, st.data())
def test_a_bsn_with_any_other_digit_is_refused(bsn: str, digit: str, data: st.DataObject) -> None:
    assert _refused(normalise_bsn, _replace_digit(bsn, digit, data))


@IN_PROCESS
@given(bsns(), CONTROLS, st.data())
def test_a_bsn_with_a_control_character_is_refused(bsn: str, control: str, data: st.DataObject) -> None:
    assert _refused(normalise_bsn, _with(bsn, control, data))


# --- KvK, CAS, EC, SBI -----------------------------------------------------------------


kvks = st.text(ASCII_DIGITS, min_size=8, max_size=8).filter(lambda k: k != "00000000")


@st.composite
def cas_numbers(draw: st.DrawFn) -> str:
    first = draw(st.integers(10, 9_999_999))
    second = draw(st.text(ASCII_DIGITS, min_size=2, max_size=2))
    body = f"{first}{second}"
    check = sum(i * int(d) for i, d in enumerate(reversed(body), start=1)) % 10
    return f"{first}-{second}-{check}"


@st.composite
def ec_numbers(draw: st.DrawFn) -> str:
    body = draw(st.text(ASCII_DIGITS, min_size=6, max_size=6))
    check = sum(i * int(d) for i, d in enumerate(body, start=1)) % 11
    assume(check < 10)
    return f"{body[:3]}-{body[3:]}-{check}"


sbi_codes = st.builds(
    lambda head, tail, dot: head + ("." if dot and tail else "") + tail,
    st.text(ASCII_DIGITS, min_size=2, max_size=2),
    st.text(ASCII_DIGITS, max_size=3),
    st.booleans(),
)
IDENTIFIERS = [
    (normalise_kvk, kvks),
    (normalise_cas, cas_numbers()),
    (normalise_ec, ec_numbers()),
    (normalise_sbi, sbi_codes),
]


@IN_PROCESS
@given(st.sampled_from(IDENTIFIERS).flatmap(lambda p: st.tuples(st.just(p[0]), p[1])), st.data())
def test_identifiers_normalise_once_and_for_all(case: tuple[Any, str], data: st.DataObject) -> None:
    normalise, value = case
    canonical = normalise(value)
    assert normalise(canonical) == canonical
    padded = " " * data.draw(st.integers(0, 2)) + value + " " * data.draw(st.integers(0, 2))
    assert normalise(padded) == canonical
    assert canonical.isascii()


@IN_PROCESS
@given(st.sampled_from(IDENTIFIERS).flatmap(lambda p: st.tuples(st.just(p[0]), p[1])), OTHER_DIGITS, st.data())
def test_identifiers_refuse_any_other_digit(case: tuple[Any, str], digit: str, data: st.DataObject) -> None:
    normalise, value = case
    assert _refused(normalise, _replace_digit(value, digit, data))


@IN_PROCESS
@given(st.sampled_from(IDENTIFIERS).flatmap(lambda p: st.tuples(st.just(p[0]), p[1])), CONTROLS, st.data())
def test_identifiers_refuse_any_control_character(case: tuple[Any, str], control: str, data: st.DataObject) -> None:
    normalise, value = case
    assert _refused(normalise, _with(value, control, data))


@IN_PROCESS
@given(cas_numbers(), st.integers(1, 9))
def test_a_wrong_cas_check_digit_is_refused(cas: str, shift: int) -> None:
    wrong = cas[:-1] + str((int(cas[-1]) + shift) % 10)
    assert _refused(normalise_cas, wrong)


# --- units --------------------------------------------------------------------------------

SPELLINGS = sorted({*units.known_units(), *units._ALIASES})


@IN_PROCESS
@given(st.sampled_from(SPELLINGS), st.integers(0, 2), st.integers(0, 2))
def test_every_spelling_of_a_unit_normalises_consistently(spelling: str, before: int, after: int) -> None:
    canonical = units.canonical_unit(spelling)
    assert canonical in units.known_units()
    assert units.canonical_unit(canonical) == canonical
    assert units.canonical_unit(" " * before + spelling + " " * after) == canonical
    assert units.dimension_of(spelling) == units.dimension_of(canonical)
    assert units.convert(1.0, spelling, canonical) == 1.0


@IN_PROCESS
@given(
    st.sampled_from(SPELLINGS).flatmap(
        lambda u: st.tuples(
            st.just(u), st.sampled_from([v for v in SPELLINGS if units.dimension_of(v) == units.dimension_of(u)])
        )
    ),
    st.floats(1e-9, 1e9),
)
def test_conversion_within_a_dimension_round_trips(pair: tuple[str, str], value: float) -> None:
    there = units.convert(value, pair[0], pair[1])
    assert units.convert(there, pair[1], pair[0]) == pytest.approx(value, rel=1e-12)


@IN_PROCESS
@given(st.floats(1e-6, 1e6), st.floats(1.0, 1000.0))
def test_ppm_and_mg_per_m3_round_trip_through_the_molar_mass(ppm: float, molar_mass: float) -> None:
    mg = units.convert(ppm, "ppm", "mg/m3", molar_mass=molar_mass)
    assert mg == pytest.approx(ppm * molar_mass / units.MOLAR_VOLUME_L_PER_MOL)
    assert units.convert(mg, "mg/m3", "ppm", molar_mass=molar_mass) == pytest.approx(ppm)


@IN_PROCESS
@given(st.sampled_from(SPELLINGS), CONTROLS, st.data())
def test_a_unit_with_a_control_character_is_refused(spelling: str, control: str, data: st.DataObject) -> None:
    with pytest.raises(units.UnitError):
        units.canonical_unit(_with(spelling, control, data))


# --- text fields --------------------------------------------------------------------------

# (struct, a valid body, the field, is it free text, its length bounds)
TEXT_CASES = [
    (SegIn, {"name": "x"}, "name", False, (1, 200)),
    (SegIn, {"name": "x"}, "description", True, (0, 4000)),
    (SiteIn, {"name": "x"}, "city", False, (0, 200)),
    (ResolutionIn, {"note": "x"}, "note", False, (1, 200)),
]


@IN_PROCESS
@given(st.sampled_from(TEXT_CASES), st.data())
def test_typed_text_round_trips(case: tuple[Any, ...], data: st.DataObject) -> None:
    struct, body, field, free, (shortest, longest) = case
    alphabet = st.one_of(TYPED, st.sampled_from("\n\t")) if free else TYPED
    text = data.draw(st.text(alphabet, min_size=shortest, max_size=min(longest, 300)))
    assume(field != "name" or not text.isspace())  # a name has a character other than spaces
    parsed = parse(struct, {**body, field: text})
    assert getattr(parsed, field) == text
    assert msgspec.json.decode(msgspec.json.encode(parsed), type=struct) == parsed


@IN_PROCESS
@given(st.sampled_from(TEXT_CASES), st.text(TYPED, min_size=1, max_size=50), CONTROLS, st.data())
def test_any_control_character_is_refused_naming_the_field(
    case: tuple[Any, ...], text: str, control: str, data: st.DataObject
) -> None:
    struct, body, field, free, _ = case
    assume(not (free and control in "\n\t"))
    with pytest.raises(InvalidInput) as refused:
        parse(struct, {**body, field: _with(text, control, data)})
    (error,) = refused.value.errors
    assert error.field == field
    assert f"U+{ord(control):04X}" in error.reason


# --- dates -----------------------------------------------------------------------------

offsets = st.builds(lambda minutes: dt.timezone(dt.timedelta(minutes=minutes)), st.integers(-14 * 60, 14 * 60))


@IN_PROCESS
@given(st.dates(EARLIEST_RECORD_DATE, dt.date.today() - dt.timedelta(days=1)))
def test_dates_from_1900_to_today_are_accepted(day: dt.date) -> None:
    assert list(check_not_future("d", day)) == []


@IN_PROCESS
@given(st.dates(max_value=EARLIEST_RECORD_DATE - dt.timedelta(days=1)))
def test_dates_before_1900_are_refused(day: dt.date) -> None:
    (error,) = check_not_future("d", day)
    assert error.field == "d" and "1900-01-01" in error.reason


@IN_PROCESS
@given(st.dates(min_value=today_somewhere() + dt.timedelta(days=1)))
def test_dates_that_have_begun_nowhere_are_refused(day: dt.date) -> None:
    (error,) = check_not_future("d", day)
    assert error.reason == "lies in the future"


@IN_PROCESS
@given(st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2100, 1, 1)))
def test_today_in_the_netherlands_is_never_in_the_future(now: dt.datetime) -> None:
    """At any moment, also while UTC is still on yesterday; two days on is refused."""
    moment = now.replace(tzinfo=dt.UTC)

    class Frozen(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> Frozen:
            return cls.fromtimestamp(moment.timestamp(), tz)

    today = moment.astimezone(ZoneInfo("Europe/Amsterdam")).date()
    with mock.patch.object(common.dt, "datetime", Frozen):
        assert list(check_not_future("d", today)) == []
        assert [e.reason for e in check_not_future("d", today + dt.timedelta(days=2))] == ["lies in the future"]


@IN_PROCESS
@given(st.datetimes(dt.datetime(1900, 1, 2), dt.datetime(2020, 1, 1)), offsets)
def test_past_timestamps_with_any_offset_are_accepted(moment: dt.datetime, zone: dt.timezone) -> None:
    assert list(check_not_future("t", moment.replace(tzinfo=zone))) == []
    (error,) = check_not_future("t", moment)
    assert "UTC offset" in error.reason


@IN_PROCESS
@given(st.timedeltas(dt.timedelta(minutes=2), dt.timedelta(days=3000)), offsets)
def test_timestamps_beyond_the_clock_skew_are_refused(ahead: dt.timedelta, zone: dt.timezone) -> None:
    moment = (dt.datetime.now(dt.UTC) + ahead).astimezone(zone)
    (error,) = check_not_future("t", moment)
    assert error.reason == "lies in the future"


@IN_PROCESS
@given(st.dates(), st.dates(), st.booleans())
def test_an_end_before_its_start_is_named(start: dt.date, end: dt.date, strict: bool) -> None:
    errors = list(check_order("start", start, "end", end, strict=strict))
    wrong = end < start or (strict and end == start)
    assert [e.field for e in errors] == (["end"] if wrong else [])


# --- request parsing ------------------------------------------------------------------


workers = st.fixed_dictionaries(
    {
        "bsn": bsns(),
        "name": st.text(TYPED, min_size=1, max_size=200).filter(lambda n: not n.isspace()),
        "date_of_birth": st.dates(EARLIEST_RECORD_DATE, dt.date(2010, 1, 1)).map(dt.date.isoformat),
    }
)


@IN_PROCESS
@given(workers)
def test_a_valid_request_round_trips(raw: dict[str, Any]) -> None:
    assert msgspec.to_builtins(parse(WorkerIn, raw)) == raw


@IN_PROCESS
@given(st.lists(st.tuples(workers, st.booleans()), max_size=8))
def test_parse_items_names_exactly_the_bad_items(items: list[tuple[dict[str, Any], bool]]) -> None:
    raw = [{**body, "bsn": "123456789"} if bad else body for body, bad in items]  # 123456789 fails the elfproef
    good, errors = parse_items(WorkerIn, raw)
    assert [index for index, _ in good] == [i for i, (_, bad) in enumerate(items) if not bad]
    assert [e.field for e in errors] == [f"items[{i}].bsn" for i, (_, bad) in enumerate(items) if bad]


@IN_PROCESS
@given(st.sampled_from(SPELLINGS), st.sampled_from(["TWA8h", "STEL15min", "ceiling", "BLV"]), cas_numbers())
def test_a_limit_value_is_valid_only_in_canonical_spelling(unit: str, limit_type: str, cas: str) -> None:
    fits = (units.dimension_of(unit) in units.BIOLOGICAL_DIMENSIONS) == (limit_type == "BLV")
    assume(fits)
    biological = {"matrix": "blood", "analyte": "Pb"} if limit_type == "BLV" else {}
    limit = LimitValue(
        substance_name="stof",
        jurisdiction="NL",
        limit_type=limit_type,
        value=1.0,
        unit=unit,
        source_citation="Stcrt.",
        cas=cas,
        **biological,
    )
    problems = {e.field for e in limit.problems()}
    expected = set()
    if units.canonical_unit(unit) != unit:
        expected.add("unit")
    if normalise_cas(cas) != cas:
        expected.add("cas")
    assert problems == expected


@IN_PROCESS
@given(
    st.one_of(
        st.integers(-(10**6), 10**9).map(str),
        st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12),
    )
)
def test_a_rate_limit_setting_is_a_positive_whole_number_or_refused(raw: str) -> None:
    with mock.patch.dict(os.environ, {"REGISTRY_RATE_LIMIT": raw}):
        try:
            limit = Settings.resolve("data").rate_limit_per_minute
        except ValueError as exc:
            assert "REGISTRY_RATE_LIMIT" in str(exc)
            assert not (raw.strip().isascii() and raw.strip().isdigit() and int(raw) > 0)
            return
    stated = raw.strip()
    assert limit == (int(stated) if stated else DEFAULT_RATE_LIMIT) and limit > 0


# --- over HTTP: paging parameters and idempotent replays ---------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Employer]]:
    place = make_place(tmp_path_factory.mktemp("properties"), "duckdb")
    employer = create_employer(place, "41414140", "Eigenschap B.V.")
    running = Server(place)
    running.start()
    yield running, employer
    running.stop()


paging_values = st.one_of(
    st.integers(-(10**20), 10**20),
    st.integers(-2, 600),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=8),
)


@OVER_HTTP
@given(limit=paging_values, offset=paging_values)
def test_paging_parameters_are_read_or_refused_never_a_server_error(
    server: tuple[Server, Employer], limit: int | str, offset: int | str
) -> None:
    """A whole number in range is read as itself; anything else is a 4xx problem, never a 5xx."""
    running, employer = server
    with running.client(employer.api_key) as client:
        answer = client.get("/api/v1/workers", params={"limit": limit, "offset": offset})
    if answer.status_code == 200:
        page = answer.json()
        assert 1 <= page["limit"] <= 500 and 0 <= page["offset"] <= 10**9
        assert str(page["limit"]) == str(limit).strip() and str(page["offset"]) == str(offset).strip()
    else:
        assert answer.status_code in (400, 422), answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert not (isinstance(limit, int) and isinstance(offset, int) and 1 <= limit <= 500 and 0 <= offset <= 10**9)


@OVER_HTTP
@given(
    name=st.text(TYPED, min_size=1, max_size=40).filter(lambda n: not n.isspace()),
    description=st.text(st.one_of(TYPED, st.sampled_from("\n\t")), max_size=60),
    indent=st.one_of(st.none(), st.integers(0, 4)),
    ascii_only=st.booleans(),
    reverse=st.booleans(),
)
def test_a_retry_decoding_to_the_same_request_is_a_replay(
    server: tuple[Server, Employer], name: str, description: str, indent: int | None, ascii_only: bool, reverse: bool
) -> None:
    running, employer = server
    body = {"name": name, "description": description}
    retry = dict(reversed(body.items())) if reverse else body
    key = {"Idempotency-Key": str(uuid.uuid4()), "Content-Type": "application/json"}
    with running.client(employer.api_key) as client:
        first = client.post("/api/v1/segs", content=json.dumps(body).encode(), headers=key)
        assert first.status_code == 201, first.text
        again = client.post(
            "/api/v1/segs", content=json.dumps(retry, indent=indent, ensure_ascii=ascii_only).encode(), headers=key
        )
        assert again.status_code == 201 and again.json()["id"] == first.json()["id"], again.text
        changed = client.post("/api/v1/segs", json={**body, "name": name + "."}, headers=key)
        assert changed.status_code == 409
