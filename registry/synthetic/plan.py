"""What to generate, decided from the seed alone: firms, people and their careers, employers
with sites, SEGs with their member periods, each employer's worker records, exposure per
SEG, and the measurements chunk by chunk.

Everything is drawn column-wise with numpy from independent streams of one seed, so the same
seed gives the same plan, ids included. Nothing here reads or writes the store (write.py
stores the plan); day numbers count from 1970-01-01.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import statistics
from collections.abc import Iterator, Sequence
from typing import Final, NamedTuple

import numpy as np
import numpy.typing as npt

from analytics.limits import limits_in_force, load_reference_limits
from crypto import Vault
from registry.synthetic.catalogue import (
    AGENCY_SBI,
    AGENTS,
    BIO_LOD,
    CITIES,
    FAMILY_NAMES,
    FIRST_NAMES,
    LABS,
    LEAD,
    LOCATIONS,
    RPE,
    SECTORS,
    Agent,
)
from schemas.errors import Conflict
from schemas.limits import LimitValue

__all__ = [
    "MEASUREMENT_CHUNK",
    "Exposure",
    "Groups",
    "Ints",
    "Jobs",
    "MeasurementDraw",
    "Org",
    "People",
    "Plan",
    "Strs",
    "Workers",
    "draw",
]

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Strs = npt.NDArray[np.str_]
Stamps = npt.NDArray[np.datetime64]

# The data describe 1995-2025; a fixed end keeps the output independent of today's date.
SAMPLING_FROM: Final = dt.date(1995, 1, 1)
AS_OF: Final = dt.date(2025, 12, 31)
# Measurements are drawn in chunks of this many, each from a stream of its own, and written
# one chunk per transaction: changing it changes the data of every seed.
MEASUREMENT_CHUNK: Final = 200_000

# Shape of the population (per measurement requested).
MEASUREMENTS_PER_PERSON: Final = 15
PERSONS_PER_EMPLOYER: Final = 12
EMPLOYERS_PER_AGENCY: Final = 150
AGENCY_SHARE: Final = 0.15  # of employments
SELF_EMPLOYED_SHARE: Final = 0.04  # of employments
SEG_CHANGE_SHARE: Final = 0.2  # employments of 2+ years in which the worker moves to another SEG
STATIC_SHARE: Final = 0.12  # of air samples
BIOLOGICAL_SHARE: Final = 0.3  # of personal samples in a SEG exposed to lead
BIO_GSD: Final = 1.6  # of blood lead within a SEG
# Exposure fell by a few percent a year in most industries (Creely et al. 2007, Ann Occup Hyg).
TREND_PER_YEAR: Final = -0.03
TREND_CENTRE_YEAR: Final = 2010.0

_EPOCH: Final = dt.date(1970, 1, 1)
_DAY_US: Final = 86_400_000_000
_MINUTE_US: Final = 60_000_000


@dataclasses.dataclass(frozen=True, slots=True)
class _Firms:
    """Regular employers (not agencies, not one-person firms): sector and size."""

    sector: Ints
    size: Floats


@dataclasses.dataclass(frozen=True, slots=True)
class People:
    ids: Strs
    bsn: list[str]
    bsn_index: list[str]
    name: list[str]
    birth: Ints  # a day number, like every date here
    career_start: Ints
    career_end: Ints  # AS_OF when still working
    working: Bools  # still working on AS_OF


@dataclasses.dataclass(frozen=True, slots=True)
class Jobs:
    """Employments, ordered by worker and start. `employer` indexes Org: regular firms
    first, then agencies, then one-person firms (one per self-employed worker)."""

    ids: Strs
    worker: Ints
    employer: Ints
    agency: Ints  # -1 unless an agency employment
    kind: Strs  # employee | agency | self_employed
    start: Ints
    end: Ints
    open_ended: Bools
    job_title: list[str]
    n_agencies: int
    self_employed_sector: Ints  # per one-person firm


@dataclasses.dataclass(frozen=True, slots=True)
class Workers:
    """One worker record per (employer, person) pair the careers produce: the id by which that
    employer knows the person (an agency placement is the hiring company's). Ordered by
    person, then employer."""

    ids: Strs
    person: Ints  # index into People
    employer: Ints  # index into Org
    of_job: Ints  # per employment: the record of its worker at its employer


@dataclasses.dataclass(frozen=True, slots=True)
class Org:
    ids: Strs
    kvk: list[str]
    name: list[str]
    sbi: list[str]
    sector: Ints  # -1 for agencies
    site_ids: Strs
    site_employer: Ints
    site_city: list[str]
    first_site: Ints  # per employer
    lab: Ints  # per employer, index into LABS and BIO_LABS


@dataclasses.dataclass(frozen=True, slots=True)
class Groups:
    """SEGs and their members; each employment yields one member period, or two when the
    worker moved to another SEG of the same employer halfway."""

    ids: Strs
    employer: Ints
    site: Ints
    agent: list[str]
    name: list[str]
    task: list[str]
    location: list[str]
    job_seg: Ints  # per employment: its first SEG
    member_ids: Strs
    member_seg: Ints
    member_job: Ints  # the employment the member period belongs to (same employer, same person)
    member_start: Ints
    member_end: Ints
    member_open: Bools


@dataclasses.dataclass(frozen=True, slots=True)
class Exposure:
    """Per SEG: lognormal parameters at TREND_CENTRE_YEAR, detection and sampling habits."""

    gm_centre: Floats
    gsd: Floats
    lod_z: Floats  # a 420-minute sample's LOD is GM * GSD ** lod_z: a set share below the LOD
    rpe_share: Floats
    biological: Bools
    bio_gm_centre: Floats
    intensity: Floats  # how much the SEG is sampled, relative to its member-days


class _Members(NamedTuple):
    """Member periods clipped to the sampling window, with a cumulative sampling weight."""

    worker: Ints  # the worker record (the SEG's employer's) of the member
    first_day: Ints
    last_day: Ints
    cumulative: Floats


@dataclasses.dataclass(frozen=True, slots=True)
class MeasurementDraw:
    """A chunk of measurements as drawn: rows of a SEG together, by date, as a lab's reports
    arrive (and kinder to the indexes)."""

    ids: Strs
    seg: Ints
    worker: Ints  # the sampled member's worker record (not recorded for a static sample)
    day: Ints
    static: Bools
    biological: Bools
    minutes: Ints
    start: Stamps
    end: Stamps
    recorded: Stamps
    value: Floats  # rounded as the lab reports
    lod: Floats
    below_lod: Bools
    lab_seq: Ints  # numbers the lab's report
    rpe: Ints  # index into RPE, where wears_rpe
    wears_rpe: Bools


@dataclasses.dataclass(frozen=True, slots=True)
class Plan:
    """Everything drawn up front; the measurements follow from it, chunk by chunk."""

    people: People
    jobs: Jobs
    org: Org
    groups: Groups
    exposure: Exposure
    workers: Workers
    members: _Members
    measurement_streams: list[np.random.SeedSequence]  # one per chunk
    measurements: int

    def blood_sampled(self) -> set[int]:
        """The worker records that may give blood samples: members of SEGs exposed to lead."""
        groups = self.groups
        records = self.workers.of_job[groups.member_job][self.exposure.biological[groups.member_seg]]
        return set(np.unique(records).tolist())

    def measurement_chunks(self) -> Iterator[MeasurementDraw]:
        """Each measurement picks a member period (weighted by its days in 1995-2025 and the
        SEG's sampling intensity) and a day in it: the worker was employed there that day."""
        for number, stream in enumerate(self.measurement_streams):
            size = min(MEASUREMENT_CHUNK, self.measurements - number * MEASUREMENT_CHUNK)
            yield _measurements(np.random.default_rng(stream), size, self)


def draw(seed: int, measurements: int, vault: Vault, taken_bsn: set[str], taken_kvk: set[str]) -> Plan:
    """The plan for `measurements` measurements; the other counts follow from it. BSNs whose
    blind index is in `taken_bsn`, and KvK numbers in `taken_kvk`, are skipped."""
    streams = np.random.SeedSequence(seed).spawn(9)  # spawn(9)[:8] == spawn(8): the draws before it stay
    n_persons = max(12, round(measurements / MEASUREMENTS_PER_PERSON))
    n_regular = max(4, round(n_persons / PERSONS_PER_EMPLOYER))
    n_agencies = max(1, round(n_regular / EMPLOYERS_PER_AGENCY))
    firms = _regular_firms(_rng(streams[0]), n_regular)
    people = _people(_rng(streams[1]), vault, n_persons, taken_bsn)
    jobs = _employments(_rng(streams[2]), _rng(streams[7]), people, firms, n_agencies)
    org = _organisations(_rng(streams[3]), firms, jobs, taken_kvk)
    groups = _segs(_rng(streams[4]), org, jobs)
    exposure = _exposure(_rng(streams[5]), groups, _LimitTable(load_reference_limits()))
    workers = _workers(_rng(streams[8]), jobs, len(org.ids))
    return Plan(
        people=people,
        jobs=jobs,
        org=org,
        groups=groups,
        exposure=exposure,
        workers=workers,
        members=_members(groups, exposure, workers),
        measurement_streams=streams[6].spawn((measurements + MEASUREMENT_CHUNK - 1) // MEASUREMENT_CHUNK),
        measurements=measurements,
    )


def _regular_firms(rng: np.random.Generator, n: int) -> _Firms:
    """Sizes are Pareto (alpha 1.25, from 2): most firms have a handful of workers, a few
    thousands (firm sizes follow a power law, Axtell 2001, Science 293:1818)."""
    weights = np.array([s.weight for s in SECTORS])
    sector = rng.choice(len(SECTORS), size=n, p=weights / weights.sum()).astype(np.int64)
    head = min(n, len(SECTORS))
    sector[:head] = np.arange(head)  # every sector present, even in a small set
    size = np.minimum(np.floor(2.0 * (rng.pareto(1.25, size=n) + 1.0)), 5_000.0)
    for _ in range(2):  # nor does one firm hold more than ~3 % of the workers of a small set
        size = np.minimum(size, max(50.0, np.floor(0.03 * size.sum())))
    return _Firms(sector=sector, size=size)


def _people(rng: np.random.Generator, vault: Vault, n: int, taken_bsn: set[str]) -> People:
    bsn: list[str] = []
    index: list[str] = []
    for number in _bsns(rng, n + n // 20 + 16):
        blind = vault.blind_index("bsn", number)
        if blind not in taken_bsn:
            bsn.append(number)
            index.append(blind)
            if len(bsn) == n:
                break
    if len(bsn) < n:
        raise Conflict("the drawn BSNs are already in this store (a broken-off load of this seed?); pass another seed")
    first = rng.integers(0, len(FIRST_NAMES), size=n).tolist()
    last = rng.integers(0, len(FAMILY_NAMES), size=n).tolist()
    birth = rng.integers(_day(dt.date(1940, 1, 1)), _day(dt.date(2004, 12, 31)), size=n, endpoint=True)
    start = birth + (rng.uniform(17.0, 26.0, size=n) * 365.25).astype(np.int64)
    start = np.minimum(start, _day(AS_OF) - 180)
    end = birth + (rng.uniform(50.0, 67.0, size=n) * 365.25).astype(np.int64)
    end = np.maximum(end, start + 180)
    return People(
        ids=_uuids(rng, n),
        bsn=bsn,
        bsn_index=index,
        name=[f"{FIRST_NAMES[f]} {FAMILY_NAMES[s]}" for f, s in zip(first, last, strict=True)],
        birth=birth,
        career_start=start,
        career_end=np.minimum(end, _day(AS_OF)),
        working=end >= _day(AS_OF),
    )


def _employments(
    rng: np.random.Generator, id_rng: np.random.Generator, people: People, firms: _Firms, n_agencies: int
) -> Jobs:
    """Careers: 1 + Poisson(2 per 30 years) jobs per worker, splitting the career at random
    points (Dirichlet), with gaps of up to four months between jobs."""
    span = people.career_end - people.career_start
    count = np.minimum(1 + rng.poisson(2.0 * span / (30 * 365.25)), 10).astype(np.int64)
    worker = np.repeat(np.arange(len(count)), count)
    n = len(worker)
    last = np.cumsum(count) - 1
    first = last - count + 1
    pieces = rng.exponential(size=n)
    running = np.cumsum(pieces)
    upto = running - (running[first] - pieces[first])[worker]  # cumulative within the worker
    total = upto[last][worker]
    lo = people.career_start[worker] + np.floor(span[worker] * (upto - pieces) / total).astype(np.int64)
    hi = people.career_start[worker] + np.floor(span[worker] * upto / total).astype(np.int64)
    gap = np.minimum(rng.integers(0, 120, size=n), (hi - lo) // 4)
    gap[first] = 0
    start = lo + gap
    end = np.maximum(start, hi - 1)
    open_ended = np.zeros(n, dtype=bool)
    open_ended[last] = people.working
    end[open_ended] = _day(AS_OF)

    draws = rng.random(n)
    agency_job = draws < AGENCY_SHARE
    self_job = (draws >= AGENCY_SHARE) & (draws < AGENCY_SHARE + SELF_EMPLOYED_SHARE)
    n_regular = len(firms.size)
    employer = rng.choice(n_regular, size=n, p=firms.size / firms.size.sum()).astype(np.int64)
    agency = np.where(agency_job, n_regular + rng.integers(0, n_agencies, size=n), -1).astype(np.int64)
    self_workers, firm_of = np.unique(worker[self_job], return_inverse=True)
    employer[self_job] = n_regular + n_agencies + firm_of
    zzp = np.array([s.self_employed for s in SECTORS])
    self_sector = rng.choice(len(SECTORS), size=len(self_workers), p=zzp / zzp.sum()).astype(np.int64)
    sector = np.concatenate([firms.sector, np.full(n_agencies, -1, dtype=np.int64), self_sector])[employer]
    pick = rng.integers(0, 1 << 20, size=n).tolist()
    titles = [SECTORS[s].jobs[p % len(SECTORS[s].jobs)] for s, p in zip(sector.tolist(), pick, strict=True)]
    return Jobs(
        ids=_uuids(id_rng, n),
        worker=worker,
        employer=employer,
        agency=agency,
        kind=np.where(agency_job, "agency", np.where(self_job, "self_employed", "employee")),
        start=start,
        end=end,
        open_ended=open_ended,
        job_title=titles,
        n_agencies=n_agencies,
        self_employed_sector=self_sector,
    )


def _organisations(rng: np.random.Generator, firms: _Firms, jobs: Jobs, taken_kvk: set[str]) -> Org:
    n_regular, n_agencies = len(firms.size), jobs.n_agencies
    sector = np.concatenate([firms.sector, np.full(n_agencies, -1, dtype=np.int64), jobs.self_employed_sector])
    total = len(sector)
    family = rng.integers(0, len(FAMILY_NAMES), size=total).tolist()
    form = rng.choice(np.array(["B.V.", "B.V.", "B.V.", "V.O.F.", ""]), size=total).tolist()
    names: list[str] = []
    for i, (s, f, legal) in enumerate(zip(sector.tolist(), family, form, strict=True)):
        surname = FAMILY_NAMES[f][0].upper() + FAMILY_NAMES[f][1:]
        if s < 0:
            names.append(f"{surname} Uitzendbureau B.V.")
        elif i >= n_regular + n_agencies:
            names.append(f"{SECTORS[s].firm} {surname}")  # a one-person firm (eenmanszaak)
        else:
            names.append(" ".join(p for p in (SECTORS[s].firm, surname, legal) if p))
    size = np.concatenate([firms.size, np.ones(total - n_regular)])
    n_sites = 1 + (size >= 50).astype(np.int64) + (size >= 250).astype(np.int64)
    site_employer = np.repeat(np.arange(total), n_sites)
    cities = rng.integers(0, len(CITIES), size=len(site_employer)).tolist()
    return Org(
        ids=_uuids(rng, total),
        kvk=_kvks(rng, total, taken_kvk),
        name=names,
        sbi=[SECTORS[s].sbi if s >= 0 else AGENCY_SBI for s in sector.tolist()],
        sector=sector,
        site_ids=_uuids(rng, len(site_employer)),
        site_employer=site_employer,
        site_city=[CITIES[c] for c in cities],
        first_site=np.cumsum(n_sites) - n_sites,
        lab=rng.integers(0, len(LABS), size=total),
    )


def _segs(rng: np.random.Generator, org: Org, jobs: Jobs) -> Groups:
    """SEGs per employer: one or two in a small firm, one per ~60 employments in a large one."""
    total = len(org.ids)
    per_employer = np.bincount(jobs.employer, minlength=total)
    grouped = 1 + np.floor(np.log2(np.maximum(per_employer, 1)) / 2) + per_employer // 60
    n_segs = np.clip(grouped, 1, 60).astype(np.int64)
    n_segs[org.sector < 0] = 0  # agencies employ; the hiring company measures
    seg_employer = np.repeat(np.arange(total), n_segs)
    seg_first = np.cumsum(n_segs) - n_segs
    n = len(seg_employer)
    agent: list[str] = []
    task: list[str] = []
    names: list[str] = []
    draws = rng.random(n).tolist()
    for i, (employer, u) in enumerate(zip(seg_employer.tolist(), draws, strict=True)):
        exposures = SECTORS[int(org.sector[employer])].exposures
        bounds = np.cumsum([w for _, _, w in exposures])
        key, what, _ = exposures[min(int(np.searchsorted(bounds, u * bounds[-1], side="right")), len(exposures) - 1)]
        agent.append(key)
        task.append(what)
        names.append(f"{what} ({i - int(seg_first[employer]) + 1})" if n_segs[employer] > 1 else what)
    n_sites = np.bincount(org.site_employer, minlength=total)
    seg_site = org.first_site[seg_employer] + rng.integers(0, 3, size=n) % n_sites[seg_employer]

    own, count = seg_first[jobs.employer], n_segs[jobs.employer]
    job_seg = own + rng.integers(0, 1 << 30, size=len(own)) % count
    length = jobs.end - jobs.start
    moves = (count > 1) & (length >= 730) & (rng.random(len(own)) < SEG_CHANGE_SHARE)
    middle = jobs.start + (length * rng.uniform(0.3, 0.7, size=len(own))).astype(np.int64)
    step = 1 + rng.integers(0, 1 << 30, size=len(own)) % np.maximum(count - 1, 1)
    other = own + (job_seg - own + step) % count
    moved = np.flatnonzero(moves)
    member_seg = np.concatenate([job_seg, other[moved]])
    return Groups(
        ids=_uuids(rng, n),
        employer=seg_employer,
        site=seg_site,
        agent=agent,
        name=names,
        task=task,
        location=[LOCATIONS[i] for i in rng.integers(0, len(LOCATIONS), size=n).tolist()],
        job_seg=job_seg,
        member_ids=_uuids(rng, len(member_seg)),
        member_seg=member_seg,
        member_job=np.concatenate([np.arange(len(own)), moved]),
        member_start=np.concatenate([jobs.start, middle[moved] + 1]),
        member_end=np.concatenate([np.where(moves, middle, jobs.end), jobs.end[moved]]),
        member_open=np.concatenate([jobs.open_ended & ~moves, jobs.open_ended[moved]]),
    )


def _workers(rng: np.random.Generator, jobs: Jobs, n_employers: int) -> Workers:
    """The worker records: each employer registers a person once, however many employments
    it records for them."""
    pairs, of_job = np.unique(jobs.worker * n_employers + jobs.employer, return_inverse=True)
    return Workers(
        ids=_uuids(rng, len(pairs)),
        person=pairs // n_employers,
        employer=pairs % n_employers,
        of_job=of_job.reshape(-1),
    )


class _LimitTable:
    """The limit in force per agent and year (binding, else informative), in the agent's
    unit, from the cited reference limits; years before the first listed limit take it."""

    def __init__(self, limits: Sequence[LimitValue]) -> None:
        self._limits = list(limits)
        self._cache: dict[str, Floats] = {}

    def per_year(self, key: str) -> Floats:
        if key not in self._cache:
            self._cache[key] = self._compute(AGENTS[key])
        return self._cache[key]

    def _compute(self, agent: Agent) -> Floats:
        years = range(SAMPLING_FROM.year, AS_OF.year + 1)
        found = np.full(len(years), np.nan)
        for i, year in enumerate(years):
            day = dt.date(year, 7, 1)
            values = [self._lookup(agent, day, name) for name in (agent.name, *agent.limit_names)]
            present = [v for v in values if v is not None]
            if present:
                found[i] = min(present)
        known = np.flatnonzero(~np.isnan(found))
        if len(known) == 0:
            return np.full(len(years), agent.fallback_limit)
        found[: known[0]] = found[known[0]]
        for i in range(1, len(found)):
            if np.isnan(found[i]):
                found[i] = found[i - 1]
        return found

    def _lookup(self, agent: Agent, day: dt.date, name: str) -> float | None:
        applicable = limits_in_force(
            self._limits,
            on=day,
            limit_type="TWA8h",
            unit=agent.unit,
            cas=agent.cas if name == agent.name else None,
            substance_name=name,
        )
        chosen = applicable.binding or next(iter(applicable.informative), None)
        return None if chosen is None else chosen.value


def _exposure(rng: np.random.Generator, groups: Groups, limits: _LimitTable) -> Exposure:
    """GM = ratio x the limit in force in the SEG's middle year, the ratio lognormal around
    0.12 (most SEGs well below the limit, some above); GSD uniform 1.5-4."""
    n = len(groups.ids)
    lo = np.maximum(groups.member_start, _day(SAMPLING_FROM)).astype(np.float64)
    hi = np.minimum(groups.member_end, _day(AS_OF)).astype(np.float64)
    days = np.maximum(hi - lo, 0.0)
    weight = np.bincount(groups.member_seg, weights=days, minlength=n)
    centre = np.bincount(groups.member_seg, weights=days * (lo + hi) / 2, minlength=n)
    middle = np.where(weight > 0, centre / np.maximum(weight, 1.0), float(_day(dt.date(2010, 7, 1))))
    middle_year = 1970.0 + middle / 365.25
    index = np.clip(np.floor(middle_year).astype(np.int64) - SAMPLING_FROM.year, 0, AS_OF.year - SAMPLING_FROM.year)
    limit = np.array([limits.per_year(a)[y] for a, y in zip(groups.agent, index.tolist(), strict=True)])
    ratio = np.clip(np.exp(rng.normal(np.log(0.12), 1.0, size=n)), 0.003, 2.0)
    to_centre = np.exp(-TREND_PER_YEAR * (middle_year - TREND_CENTRE_YEAR))
    share_below = rng.uniform(0.02, 0.2, size=n)
    normal = statistics.NormalDist()
    return Exposure(
        gm_centre=ratio * limit * to_centre,
        gsd=rng.uniform(1.5, 4.0, size=n),
        lod_z=np.array([normal.inv_cdf(p) for p in share_below.tolist()]),
        rpe_share=np.where(ratio > 0.5, 0.6, np.where(ratio > 0.1, 0.15, 0.03)),
        biological=np.array([a == LEAD for a in groups.agent], dtype=bool),
        bio_gm_centre=np.clip(15.0 * np.sqrt(ratio / 0.12), 3.0, 45.0) * to_centre,
        intensity=np.exp(rng.normal(0.0, 1.0, size=n)),
    )


def _members(groups: Groups, exposure: Exposure, workers: Workers) -> _Members:
    first = np.maximum(groups.member_start, _day(SAMPLING_FROM))
    last = np.minimum(groups.member_end, _day(AS_OF))
    days = np.maximum(last - first + 1, 0).astype(np.float64)
    weight = days * exposure.intensity[groups.member_seg]
    if weight.sum() <= 0:
        raise ValueError("no employment overlaps the sampling window; generate more measurements")
    return _Members(workers.of_job[groups.member_job], first, last, np.cumsum(weight))


def _measurements(rng: np.random.Generator, n: int, plan: Plan) -> MeasurementDraw:
    groups, exposure, members = plan.groups, plan.exposure, plan.members
    member = np.minimum(
        np.searchsorted(members.cumulative, rng.random(n) * members.cumulative[-1], side="right"),
        len(members.cumulative) - 1,
    )
    first, last = members.first_day[member], members.last_day[member]
    day = np.minimum(first + (rng.random(n) * (last - first + 1)).astype(np.int64), last)
    order = np.lexsort((day, groups.member_seg[member]))
    member, day = member[order], day[order]
    seg = groups.member_seg[member]
    static = rng.random(n) < STATIC_SHARE
    bio = exposure.biological[seg] & ~static & (rng.random(n) < BIOLOGICAL_SHARE)
    minutes = np.where(bio, 5, rng.integers(48, 97, size=n) * 5)
    start = (day * _DAY_US + (330 + rng.integers(0, 150, size=n)) * _MINUTE_US).astype("datetime64[us]")
    end = start + (minutes * _MINUTE_US).astype("timedelta64[us]")
    recorded = end + (rng.integers(7, 61, size=n) * _DAY_US).astype("timedelta64[us]")

    # Lognormal per SEG around a GM that drifts down over the years; the LOD drifts along
    # (better methods) and grows for shorter samples (less air through the sampler).
    trend = np.exp(TREND_PER_YEAR * (1970.0 + day / 365.25 - TREND_CENTRE_YEAR))
    z = rng.standard_normal(n)
    log_gsd = np.log(exposure.gsd[seg])
    air_gm = exposure.gm_centre[seg] * trend
    value = np.where(bio, exposure.bio_gm_centre[seg] * trend * BIO_GSD**z, air_gm * np.exp(log_gsd * z))
    lod = np.where(bio, BIO_LOD, air_gm * np.exp(log_gsd * exposure.lod_z[seg]) * 420.0 / minutes)
    below = value < lod
    ids = _uuids(rng, n)
    lab_seq = rng.integers(1, 1_000_000, size=n)
    rpe = rng.integers(0, len(RPE), size=n)
    wears = ~static & ~bio & (rng.random(n) < exposure.rpe_share[seg])
    return MeasurementDraw(
        ids=ids,
        seg=seg,
        worker=members.worker[member],
        day=day,
        static=static,
        biological=bio,
        minutes=minutes,
        start=start,
        end=end,
        recorded=recorded,
        value=_round_significant(value, 3),
        lod=_round_significant(lod, 2),
        below_lod=below,
        lab_seq=lab_seq,
        rpe=rpe,
        wears_rpe=wears,
    )


def _rng(stream: np.random.SeedSequence) -> np.random.Generator:
    return np.random.default_rng(stream)


def _day(day: dt.date) -> int:
    return (day - _EPOCH).days


def _round_significant(values: Floats, digits: int) -> Floats:
    """Round as a lab reports: to `digits` significant figures."""
    scale = 10.0 ** (digits - 1 - np.floor(np.log10(values)))
    rounded: Floats = np.round(values * scale) / scale
    return rounded


def _uuids(rng: np.random.Generator, n: int) -> Strs:
    """Random (version 4) UUIDs in canonical text, drawn from `rng` so they repeat per seed."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    nibbles = np.empty((n, 32), dtype=np.uint8)
    nibbles[:, 0::2] = raw >> 4
    nibbles[:, 1::2] = raw & 0x0F
    text = np.full((n, 36), ord("-"), dtype=np.uint8)
    text[:, _UUID_HEX_POSITIONS] = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[nibbles]
    as_bytes = np.ascontiguousarray(text).view("S36").ravel()
    strings: Strs = as_bytes.astype(str)
    return strings


_UUID_HEX_POSITIONS: Final = [i for i in range(36) if i not in (8, 13, 18, 23)]


def _bsns(rng: np.random.Generator, n: int) -> list[str]:
    """Distinct 9-digit numbers passing the elfproef (random; not knowingly anyone's BSN)."""
    found: list[str] = []
    seen: set[int] = set()
    weights = np.array([9, 8, 7, 6, 5, 4, 3, 2])
    while len(found) < n:
        m = (n - len(found)) * 12 // 10 + 16
        digits = rng.integers(0, 10, size=(m, 8))
        digits[:, 0] = rng.integers(1, 10, size=m)
        check = (digits @ weights) % 11
        keep = check < 10
        numbers = (digits[keep] @ (10 ** np.arange(8, 0, -1))) + check[keep]
        for number in numbers.tolist():
            if number not in seen:
                seen.add(number)
                found.append(f"{number:09d}")
    return found[:n]


def _kvks(rng: np.random.Generator, n: int, taken: set[str]) -> list[str]:
    """Distinct 8-digit KvK numbers not yet in the store."""
    found: list[str] = []
    seen = set(taken)
    while len(found) < n:
        for number in rng.integers(10_000_000, 100_000_000, size=(n - len(found)) * 11 // 10 + 16).tolist():
            text = str(number)
            if text not in seen:
                seen.add(text)
                found.append(text)
    return found[:n]
