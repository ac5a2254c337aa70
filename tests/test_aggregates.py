"""Exposure aggregates over a synthetic national store: every published figure agrees with an
independent computation from the raw rows, and no published cell breaks a disclosure rule."""

from __future__ import annotations

import math
from collections.abc import Iterator

import msgspec
import numpy as np
import polars as pl
import pytest

from analytics.aggregates import AggregateCell, Dimension, Disclosure, aggregate, exposure_series
from analytics.compliance import above_limit
from analytics.sectors import section_of
from analytics.source import ArrowSource
from registry.runtime import Runtime, open_runtime
from registry.services.aggregates import exposure_aggregates
from registry.services.compliance import limit_timelines, load_inputs
from registry.store.frames import RELATIONS, Frames
from tests.conftest import STORES, make_place, run_cli


@pytest.fixture(scope="module", params=STORES)
def national(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    place = make_place(tmp_path_factory.mktemp("aggregates"), request.param)
    run_cli(place, "synth", "--measurements", "30000", "--seed", "5")
    runtime = open_runtime(place.settings())
    yield runtime
    runtime.close()


def _raw_facts(runtime: Runtime) -> pl.DataFrame:
    with runtime.db.read() as tx:
        frame = pl.from_arrow(
            tx.arrow(
                "SELECT s.name AS substance, e.sbi_code, CAST(year(m.sampling_start) AS VARCHAR) AS year, m.unit, "
                "w.bsn_index AS worker, CAST(m.employer_id AS VARCHAR) AS employer, "
                "m.value, m.lod, coalesce(m.below_lod, FALSE) AS non_detect "
                "FROM measurements m JOIN substances s ON s.id = m.substance_id "
                "JOIN employers e ON e.id = m.employer_id "
                "LEFT JOIN workers w ON w.id = m.worker_id "  # a person counts once, whichever employer
                "WHERE m.sample_type = 'personal_air' AND m.sampled_minutes >= 120 AND coalesce(m.value, m.lod) > 0"
            )
        )
    assert isinstance(frame, pl.DataFrame)
    sector = pl.col("sbi_code").map_elements(lambda c: section_of(c) or "onbekend", return_dtype=pl.String)
    value = pl.when(pl.col("non_detect")).then(pl.col("lod") / math.sqrt(2)).otherwise(pl.col("value"))
    return frame.with_columns(sector.fill_null("onbekend").alias("sector"), value.alias("v"))


def _cells(runtime: Runtime, disclosure: Disclosure | None = None) -> list[AggregateCell]:
    with runtime.db.read() as tx:
        return exposure_aggregates(tx, ["substance", "sector", "year"], disclosure)


def test_published_cells_match_the_raw_rows_and_respect_every_rule(national: Runtime) -> None:
    facts = _raw_facts(national)
    cells = _cells(national)
    published = [c for c in cells if not c.suppressed]
    assert published and len(published) < len(cells)  # both kinds occur in a national data set
    keys = ["substance", "sector", "year", "unit"]
    assert len(cells) == facts.select(keys).n_unique()
    groups = {key: group for key, group in facts.group_by(keys)}
    for cell in published:
        group = groups[(cell.dimensions["substance"], cell.dimensions["sector"], cell.dimensions["year"], cell.unit)]
        logs = np.log(group["v"].to_numpy())
        largest = group.group_by("employer").len()["len"].max()
        assert isinstance(largest, int)
        assert cell.workers == group["worker"].n_unique() and cell.workers >= 10
        assert cell.employers == group["employer"].n_unique() and cell.employers >= 3
        assert cell.measurements == group.height and largest <= 0.5 * group.height
        assert cell.geometric_mean == pytest.approx(math.exp(logs.mean()), rel=1e-9)
        assert cell.gsd == pytest.approx(math.exp(logs.std(ddof=1)), rel=1e-9)
        assert cell.p95 == pytest.approx(float(np.quantile(group["v"].to_numpy(), 0.95)), rel=1e-9)
        assert cell.non_detect_share == pytest.approx(group["non_detect"].mean())
    for cell in cells:
        if cell.suppressed:
            assert cell.suppression_reason and cell.measurements is None and cell.geometric_mean is None


def test_tighter_rules_suppress_a_cell_and_say_why(national: Runtime) -> None:
    target = max((c for c in _cells(national) if not c.suppressed), key=lambda c: c.workers or 0)
    assert target.workers is not None and target.employers is not None

    def find(disclosure: Disclosure) -> AggregateCell:
        cells = _cells(national, disclosure)
        return next(c for c in cells if (c.dimensions, c.unit) == (target.dimensions, target.unit))

    by_workers = find(Disclosure(min_workers=target.workers + 1))
    assert by_workers.suppressed and by_workers.suppression_reason == f"fewer than {target.workers + 1} workers"
    by_employers = find(Disclosure(min_employers=target.employers + 1))
    assert by_employers.suppressed and "employers" in (by_employers.suppression_reason or "")
    dominated = find(Disclosure(max_employer_share=0.01))
    assert dominated.suppressed and "one employer" in (dominated.suppression_reason or "")
    assert dominated.geometric_mean is None and dominated.workers is None


def test_share_above_the_limit_agrees_with_the_compliance_indices(national: Runtime) -> None:
    """Same facts, same limit of each date as the EN 689 report: the shares must agree."""
    with national.db.read() as tx:
        cells = exposure_aggregates(
            tx, ["substance", "year"], Disclosure(min_workers=1, min_employers=1, max_employer_share=1.0)
        )
        inputs = load_inputs(tx, None)
    indices = (
        inputs.indices.with_columns(pl.Series("above", above_limit(inputs.indices)))
        .join(inputs.names.select("substance_id", "substance_name").unique(), on="substance_id", how="left")
        .with_columns(pl.col("sampling_date").dt.year().cast(pl.String).alias("year"))
    )
    expected = {
        (row["substance_name"], row["year"], row["unit"]): (row["n"], row["share"])
        for row in indices.group_by("substance_name", "year", "unit")
        .agg(pl.len().alias("n"), pl.col("above").mean().alias("share"))
        .to_dicts()
    }
    compared = [c for c in cells if c.compared_with_limit]
    assert len(compared) == len(expected) > 0
    for cell in compared:
        n, share = expected[(cell.dimensions["substance"], cell.dimensions["year"], cell.unit)]
        assert cell.compared_with_limit == n
        assert cell.share_above_limit == pytest.approx(share)


def test_the_aggregates_are_a_function_of_their_frames(national: Runtime) -> None:
    """The frames read once into Arrow give the same cells with no store behind them."""
    by: list[Dimension] = ["substance", "sector", "year", "task"]
    with national.db.read() as tx:
        frames = Frames(tx)
        tables = {name: frames.arrow(f"SELECT * FROM {name}") for name in RELATIONS}
        series = exposure_series(frames)
        used: dict[str, list[str]] = {}
        for row in series.to_pylist():
            used.setdefault(row["substance_id"], []).append(row["unit"])
        shift_limits, _ = limit_timelines(tx, used)
        expected = exposure_aggregates(tx, by)
    source = ArrowSource(tables)
    try:
        cells = aggregate(source, exposure_series(source), shift_limits, by)
    finally:
        source.close()
    assert len(cells) == len(expected) and any(not c.suppressed for c in cells)
    for cell, wanted in zip(cells, expected, strict=True):
        figures, wanted_figures = msgspec.structs.asdict(cell), msgspec.structs.asdict(wanted)
        assert figures.keys() == wanted_figures.keys()
        for name, value in figures.items():  # sums in another order may differ in the last bit
            exact = not isinstance(value, float)
            assert value == (wanted_figures[name] if exact else pytest.approx(wanted_figures[name], rel=1e-12))


@pytest.mark.parametrize(
    ("sbi", "section"),
    [("0111", "A"), ("2511", "C"), ("35", "D"), ("4120", "F"), ("7820", "N"), ("8610", "Q"), ("99000", "U")],
)
def test_an_sbi_code_falls_in_its_nace_section(sbi: str, section: str) -> None:
    assert section_of(sbi) == section


def test_a_division_without_a_section_has_none() -> None:
    assert section_of("04") is None and section_of("40") is None and section_of("7") is None
