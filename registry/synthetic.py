"""Synthetic registry data at any size, from a few hundred to 10 M+ measurements.

Tests, demos and benchmarks need data shaped like the real thing: many micro firms and a
few large ones (Pareto sizes), careers across employers with agency and self-employed
periods, SEGs whose members change over the years, lognormal exposures per SEG relative
to the substance's limit value, non-detects stored as "< LOD" (never 0), a little blood
lead, and sampling dates over 1995-2025 so the limit in force changes under the data.

Everything is drawn column-wise with numpy from one seed (same seed, same data; ids
included) and written with Arrow bulk inserts in chunks. Services and the HTTP API are
bypassed for speed, so the generator upholds their rules itself (tests/test_synthetic.py
checks them). Identities and biological results are still real ciphertexts under each
worker's own key, with the contexts the services use, so the data reads back through them.

Loading is not atomic: it commits chunk by chunk. A second run with the same seed on the
same store is refused (the ids would collide); use another seed to add more.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from typing import Any, Final, NamedTuple

import msgspec
import numpy as np
import numpy.typing as npt

from analytics.limits import limits_in_force, load_reference_limits
from crypto import Vault, WrappedKey
from registry.access.audit import AuditEntry, append
from registry.runtime import Runtime
from registry.services import organisations as org_service
from registry.services.measurements import _Result, _result_context
from registry.services.workers import _BIRTH, _BSN, _NAME
from registry.store import Tx
from schemas.errors import Conflict
from schemas.limits import LimitValue

__all__ = ["EmployerKey", "SyntheticSummary", "generate"]

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Strs = npt.NDArray[np.str_]

# The data describe 1995-2025; a fixed end keeps the output independent of today's date.
SAMPLING_FROM: Final = dt.date(1995, 1, 1)
AS_OF: Final = dt.date(2025, 12, 31)
MEASUREMENT_CHUNK: Final = 200_000  # rows per transaction
WORKER_CHUNK: Final = 50_000  # workers encrypted and written per transaction

# Shape of the population (per measurement requested).
MEASUREMENTS_PER_WORKER: Final = 15
WORKERS_PER_EMPLOYER: Final = 12
EMPLOYERS_PER_AGENCY: Final = 150
AGENCY_SHARE: Final = 0.15  # of employments
SELF_EMPLOYED_SHARE: Final = 0.04  # of employments
SEG_CHANGE_SHARE: Final = 0.2  # employments of 2+ years in which the worker moves to another SEG
STATIC_SHARE: Final = 0.12  # of air samples
BIOLOGICAL_SHARE: Final = 0.3  # of personal samples in a SEG exposed to lead
# Exposure fell by a few percent a year in most industries (Creely et al. 2007, Ann Occup Hyg).
TREND_PER_YEAR: Final = -0.03
TREND_CENTRE_YEAR: Final = 2010.0

_EPOCH: Final = dt.date(1970, 1, 1)
_DAY_US: Final = 86_400_000_000
_MINUTE_US: Final = 60_000_000


class _Agent(NamedTuple):
    """A substance as sampled: catalogue entry, unit, typical method and pump flow."""

    cas: str | None
    name: str  # catalogue name (substances.name)
    unit: str
    fallback_limit: float  # in `unit`, when the reference limits have none
    method: str
    flow_l_min: float
    analyte: str | None = None
    limit_names: tuple[str, ...] = ()  # names the reference limit rows use, when not the catalogue's


_AGENTS: Final[dict[str, _Agent]] = {
    "wood": _Agent(None, "Hardwood dust", "mg/m3", 2.0, "NEN-EN 481 inhaleerbaar stof, gravimetrisch", 2.0,
                   limit_names=("Hardwood dusts",)),
    "quartz": _Agent("14808-60-7", "Quartz (SiO2; particulate - no ppm conversion)", "mg/m3", 0.075,
                     "NIOSH 7500 (XRD), respirabele fractie", 2.2),
    "asbestos": _Agent("1332-21-4", "Asbestos (all forms)", "f/cm3", 0.002, "NEN 2939 (SEM/EDX)", 2.0),
    "diesel": _Agent(None, "Diesel engine exhaust emissions", "mg/m3", 0.05, "NIOSH 5040 (elementair koolstof)",
                     2.0, analyte="elemental carbon", limit_names=("Dieselmotoremissie (DME)",)),
    "crvi": _Agent(None, "Chromium (VI) compounds (as Cr)", "mg/m3", 0.005, "ISO 16740 (IC-UV)", 2.0,
                   limit_names=("Chromium (VI) compounds (carcinogens, as Cr)",)),
    "nickel": _Agent(None, "Nickel compounds (as Ni)", "mg/m3", 0.05, "NIOSH 7300 (ICP-AES)", 2.0),
    "lead": _Agent("7439-92-1", "Lead and its inorganic compounds", "mg/m3", 0.15, "NIOSH 7300 (ICP-AES)", 2.0),
    "cadmium": _Agent("7440-43-9", "Cadmium and its inorganic compounds", "mg/m3", 0.004,
                      "NIOSH 7300 (ICP-AES)", 2.0),
    "isocyanates": _Agent(None, "Diisocyanates (measured as NCO)", "ug/m3", 10.0, "ISO 17734-1 (LC-MS)", 1.0,
                          analyte="NCO"),
    "flour": _Agent(None, "Flour dust (meelstof)", "mg/m3", 4.0, "NEN-EN 481 inhaleerbaar stof, gravimetrisch",
                    2.0, limit_names=("Meelstof",)),
    "formaldehyde": _Agent("50-00-0", "Formaldehyde", "mg/m3", 0.15, "NIOSH 2016 (DNPH, HPLC-UV)", 0.5),
    "eto": _Agent("75-21-8", "Ethylene oxide", "mg/m3", 1.8, "NIOSH 1614 (GC-ECD)", 0.1),
    "benzene": _Agent("71-43-2", "Benzene", "mg/m3", 3.25, "NIOSH 1501 (actieve kool, GC-FID)", 0.2),
    "toluene": _Agent("108-88-3", "Toluene", "mg/m3", 150.0, "NIOSH 1501 (actieve kool, GC-FID)", 0.2),
    "xylene": _Agent("1330-20-7", "Xylene (mixed isomers)", "mg/m3", 210.0, "NIOSH 1501 (actieve kool, GC-FID)",
                     0.2),
    "butyl_acetate": _Agent("123-86-4", "n-Butyl acetate", "mg/m3", 241.0, "NIOSH 1450 (GC-FID)", 0.2),
    "styrene": _Agent("100-42-5", "Styrene", "mg/m3", 106.0, "NIOSH 1501 (actieve kool, GC-FID)", 0.2),
    "tce": _Agent("79-01-6", "Trichloroethylene", "mg/m3", 54.7, "NIOSH 1022 (GC-ECD)", 0.2),
    "dcm": _Agent("75-09-2", "Dichloromethane", "mg/m3", 353.0, "NIOSH 1005 (GC-FID)", 0.2),
    "butadiene": _Agent("106-99-0", "1,3-Butadiene", "mg/m3", 2.2, "NIOSH 1024 (GC-FID)", 0.1),
    "vcm": _Agent("75-01-4", "Vinyl chloride", "mg/m3", 2.6, "NIOSH 1007 (GC-FID)", 0.05),
    "acrylonitrile": _Agent("107-13-1", "Acrylonitrile", "mg/m3", 1.0, "NIOSH 1604 (GC-NPD)", 0.1),
    "phosphine": _Agent("7803-51-2", "Phosphine", "mg/m3", 0.14, "NIOSH 6002 (UV-VIS)", 0.2),
    "sulfuryl_fluoride": _Agent("2699-79-8", "Sulfuryl fluoride", "mg/m3", 10.0, "NIOSH 6012 (IC)", 0.1),
    "hcn": _Agent("74-90-8", "Hydrogen cyanide", "mg/m3", 1.0, "NIOSH 6010 (UV-VIS)", 0.2),
    "co": _Agent("630-08-0", "Carbon monoxide", "mg/m3", 23.0, "elektrochemische sensor (direct-reading)", 0.5),
}
_LEAD: Final = "lead"  # SEGs exposed to lead also give blood samples


class _Sector(NamedTuple):
    """An SBI sector: what its firms are called, who works there and what they are exposed to."""

    sbi: str
    firm: str  # e.g. "Bouwbedrijf Jansen B.V."
    weight: float  # share of firms
    jobs: tuple[str, ...]
    exposures: tuple[tuple[str, str, float], ...]  # (agent, SEG task, weight)
    self_employed: float = 0.0  # weight as sector of one-person firms (zzp)


# The first sectors come first on purpose: a small data set still has lead (biological
# samples), solvents, dust and fibres.
_SECTORS: Final[tuple[_Sector, ...]] = (
    _Sector("4120", "Bouwbedrijf", 0.20, ("timmerman", "metselaar", "betonwerker", "uitvoerder"), (
        ("quartz", "Boren en slijpen van beton", 0.5), ("wood", "Zagen van hardhout op de bouw", 0.2),
        ("diesel", "Werken bij bouwmachines", 0.2), ("asbestos", "Renovatie met asbestverdachte materialen", 0.1),
    ), self_employed=0.4),
    _Sector("3832", "Accurecycling", 0.02, ("smelter", "sorteerder", "operator"), (
        ("lead", "Smelten van loodaccu's", 0.6), ("cadmium", "Shredderen van batterijen", 0.2),
        ("nickel", "Sorteren van metaalschroot", 0.2),
    )),
    _Sector("4334", "Schildersbedrijf", 0.12, ("schilder", "spuiter"), (
        ("xylene", "Schilderen met oplosmiddelhoudende verf", 0.35), ("toluene", "Lakspuiten", 0.2),
        ("butyl_acetate", "Kwasten en rollen van lak", 0.2), ("isocyanates", "Spuiten van 2K-PUR-lak", 0.25),
    ), self_employed=0.3),
    _Sector("2511", "Metaalbewerking", 0.14, ("lasser", "plaatwerker", "CNC-operator", "galvaniseur"), (
        ("crvi", "Lassen van roestvast staal", 0.35), ("nickel", "Slijpen van RVS", 0.25),
        ("tce", "Ontvetten van onderdelen", 0.15), ("crvi", "Verchromen", 0.1), ("co", "Werken bij de oven", 0.15),
    )),
    _Sector("1623", "Houtbewerking", 0.06, ("houtbewerker", "machinaal houtbewerker", "lakker"), (
        ("wood", "Zagen en schaven", 0.6), ("formaldehyde", "Verlijmen van plaatmateriaal", 0.2),
        ("toluene", "Lakstraat", 0.2),
    )),
    _Sector("4311", "Sloop- en Saneringsbedrijf", 0.03, ("sloper", "asbestsaneerder"), (
        ("asbestos", "Verwijderen van asbesthoudende beplating", 0.6), ("quartz", "Slopen van beton", 0.4),
    ), self_employed=0.1),
    _Sector("2014", "Chemie", 0.02, ("procesoperator", "monsternemer", "onderhoudsmonteur"), (
        ("benzene", "Procesoperator aromaten", 0.3), ("butadiene", "Vullen van tankwagens", 0.15),
        ("vcm", "Reactorreiniging PVC", 0.15), ("eto", "Opslag en overslag", 0.1),
        ("acrylonitrile", "Monstername", 0.1), ("styrene", "Polymerisatie", 0.2),
    )),
    _Sector("2229", "Kunststofverwerking", 0.04, ("laminator", "operator", "mallenmaker"), (
        ("styrene", "Lamineren van polyester", 0.6), ("isocyanates", "PUR-schuimen", 0.25),
        ("dcm", "Reinigen van mallen", 0.15),
    )),
    _Sector("4520", "Autobedrijf", 0.10, ("autotechnicus", "autospuiter", "schadehersteller"), (
        ("isocyanates", "Spuiten van autolak", 0.4), ("diesel", "Werkplaats met draaiende motoren", 0.3),
        ("toluene", "Voorbewerken en ontvetten", 0.2), ("benzene", "Werken aan brandstofsystemen", 0.1),
    ), self_employed=0.1),
    _Sector("1071", "Bakkerij", 0.07, ("bakker", "deegmenger"), (
        ("flour", "Deeg maken en afwegen", 0.8), ("flour", "Storten van meel", 0.2),
    )),
    _Sector("8610", "Ziekenhuis", 0.02, ("analist pathologie", "medewerker CSA"), (
        ("formaldehyde", "Weefselfixatie in de pathologie", 0.6), ("eto", "Sterilisatie", 0.4),
    )),
    _Sector("8129", "Plaagdierbeheersing", 0.01, ("gasser", "plaagdierbeheerser"), (
        ("phosphine", "Begassen van containers", 0.4), ("sulfuryl_fluoride", "Begassen van gebouwen", 0.4),
        ("hcn", "Ontgassen en vrijgeven", 0.2),
    )),
    _Sector("4941", "Transportbedrijf", 0.04, ("chauffeur", "magazijnmedewerker"), (
        ("diesel", "Laden en lossen bij draaiende motoren", 0.7), ("co", "Werken in laadhallen", 0.3),
    )),
    _Sector("2361", "Betonwarenfabriek", 0.03, ("productiemedewerker", "zager"), (
        ("quartz", "Storten en afwerken van betonwaren", 0.7), ("quartz", "Zagen van betonproducten", 0.3),
    )),
    _Sector("3109", "Meubelmakerij", 0.05, ("meubelmaker", "spuiter"), (
        ("wood", "Frezen en schuren van hardhout", 0.6), ("xylene", "Lakken van meubels", 0.2),
        ("butyl_acetate", "Spuiten van nitrocelluloselak", 0.2),
    ), self_employed=0.1),
)
_AGENCY_SBI: Final = "7820"

_FIRST: Final = (
    "Anna", "Bram", "Chantal", "Daan", "Emma", "Fatima", "Gert", "Hanna", "Ilse", "Jeroen", "Kees", "Lotte",
    "Mohamed", "Noor", "Okke", "Priya", "Ruud", "Sanne", "Tim", "Yusuf", "Anouk", "Bas", "Dewi", "Esra", "Frank",
    "Ingrid", "Jan", "Karin", "Lars", "Marieke", "Nick", "Petra", "Rachid", "Sven", "Tessa", "Vincent", "Wendy",
    "Ahmet", "Bogdan", "Marta", "Piotr", "Agnieszka", "Henk", "Joyce", "Kevin", "Linda", "Martijn", "Nadia",
)
_LAST: Final = (
    "de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "Bos", "Vos", "Peters",
    "Hendriks", "van Dijk", "Yilmaz", "El Amrani", "de Jong", "van den Berg", "van der Meer", "Dekker", "Brouwer",
    "de Wit", "Dijkstra", "Willems", "van Leeuwen", "Kok", "Jacobs", "de Haan", "Vermeulen", "Schouten", "Hoekstra",
    "Kowalski", "Nowak", "Öztürk", "Bouzid", "Pinas", "Nguyen", "Post", "Kuipers", "Veenstra", "Prins",
)
_CITIES: Final = (
    "Amsterdam", "Rotterdam", "Den Haag", "Utrecht", "Eindhoven", "Groningen", "Tilburg", "Almere", "Breda",
    "Nijmegen", "Apeldoorn", "Arnhem", "Enschede", "Zwolle", "Leeuwarden", "Maastricht", "Venlo", "Dordrecht",
    "Zaandam", "Amersfoort", "Den Bosch", "Emmen", "Helmond", "Heerlen", "Delfzijl", "Terneuzen", "Velsen",
)
_LOCATIONS: Final = (
    "werkplaats", "productiehal", "spuitcabine", "bouwplaats", "magazijn", "buitenterrein", "laboratorium",
    "procesinstallatie", "laadperron", "onderhoudsafdeling",
)
_LABS: Final = (
    ("Arbolab Nederland", "AL"), ("Analytisch Lab Noord", "ALN"), ("Meetlab Rijnmond", "MR"),
    ("Stoflab Zuid", "SZ"), ("Hygiëne Analysecentrum", "HAC"), ("Luchtlab Midden", "LM"),
)
_BIO_LABS: Final = (("Klinisch Lab Zuid", "KLZ"), ("Klinisch Chemisch Lab Oost", "KCO"))
# Respiratory protection with its assigned protection factor (BS 4275 / NEN-EN 529 practice).
_RPE: Final = (
    ("FFP2-masker", 10.0), ("FFP3-masker", 20.0), ("halfgelaatsmasker A2P3", 20.0),
    ("volgelaatsmasker A2P3", 40.0), ("aangeblazen kap TH3", 40.0),
)
_BIO_UNIT: Final = "ug/100mL"
_BIO_MATRIX: Final = "blood"
_BIO_ANALYTE: Final = "lood in bloed (PbB)"
_BIO_METHOD: Final = "ICP-MS (volbloed)"
_BIO_LOD: Final = 0.5  # ug/100mL
_BIO_GSD: Final = 1.6


class EmployerKey(msgspec.Struct, frozen=True, kw_only=True):
    """An API key issued for a generated employer (only with api_keys=True)."""

    employer_id: uuid.UUID
    kvk: str
    name: str
    api_key: str


class SyntheticSummary(msgspec.Struct, frozen=True, kw_only=True):
    seed: int
    employers: int
    workers: int
    employments: int
    segs: int
    seg_members: int
    measurements: int
    biological: int
    below_lod: int
    elapsed_s: float
    api_keys: list[EmployerKey] = msgspec.field(default_factory=list)


def generate(
    runtime: Runtime, *, measurements: int, seed: int = 1, progress: bool = True, api_keys: bool = False
) -> SyntheticSummary:
    """Add a synthetic population with `measurements` measurements to the store.

    Counts of employers, workers and SEGs follow from the number of measurements (about
    15 measurements per worker, 12 workers per employer). With `api_keys`, every generated
    employer gets an API key (returned in the summary; shown once, stored hashed).
    """
    if measurements < 1:
        raise ValueError("measurements must be at least 1")
    started = time.perf_counter()
    bar = _Progress(progress)
    streams = np.random.SeedSequence(seed).spawn(8)
    with runtime.db.read() as tx:
        catalogue = _catalogue(tx)
        taken_kvk = {row[0] for row in tx.all("SELECT kvk FROM employers")}
        taken_bsn = {row[0] for row in tx.all("SELECT bsn_index FROM workers")}
    n_workers = max(12, round(measurements / MEASUREMENTS_PER_WORKER))
    n_regular = max(4, round(n_workers / WORKERS_PER_EMPLOYER))
    n_agencies = max(1, round(n_regular / EMPLOYERS_PER_AGENCY))

    bar.stage("planning", 1)
    firms = _regular_firms(np.random.default_rng(streams[0]), n_regular)
    people = _people(np.random.default_rng(streams[1]), runtime.vault, n_workers, taken_bsn)
    jobs = _employments(np.random.default_rng(streams[2]), people, firms, n_agencies)
    org = _organisations(np.random.default_rng(streams[3]), firms, jobs, taken_kvk)
    groups = _segs(np.random.default_rng(streams[4]), org, jobs)
    limits = _LimitTable(load_reference_limits())
    exposure = _exposure(np.random.default_rng(streams[5]), groups, limits)
    bar.advance(1)

    with runtime.db.read() as tx:
        if tx.scalar("SELECT count(*) FROM employers WHERE id = ?", [org.ids[0]]):
            raise Conflict(f"synthetic data of seed {seed} is already in this store; pass another seed")
    bio_workers = set(np.unique(groups.member_worker[exposure.bio[groups.member_seg]]).tolist())
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    _write_organisations(runtime, org, groups, now, bar)
    keys = _write_workers(runtime, people, bio_workers, now, bar)
    _write_careers(runtime, jobs, groups, org, now, bar)
    biological, below = _write_measurements(
        runtime,
        np.random.default_rng(streams[6]),
        measurements,
        _Context(org=org, groups=groups, exposure=exposure, people=people, catalogue=catalogue, keys=keys),
        bar,
    )
    issued = _issue_keys(runtime, org, bar) if api_keys else []
    summary = SyntheticSummary(
        seed=seed,
        employers=len(org.ids),
        workers=len(people.ids),
        employments=len(jobs.worker),
        segs=len(groups.ids),
        seg_members=len(groups.member_ids),
        measurements=measurements,
        biological=biological,
        below_lod=below,
        elapsed_s=round(time.perf_counter() - started, 3),
        api_keys=issued,
    )
    with runtime.db.write() as tx:
        append(tx, [_audit_entry(summary)])
    bar.finish()
    return summary


# --------------------------------------------------------------------------- plan


@dataclasses.dataclass(frozen=True, slots=True)
class _Firms:
    """Regular employers (not agencies, not one-person firms): sector and size."""

    sector: Ints
    size: Floats


@dataclasses.dataclass(frozen=True, slots=True)
class _People:
    ids: Strs
    bsn: list[str]
    bsn_index: list[str]
    name: list[str]
    birth: Ints  # days since 1970-01-01
    career_start: Ints
    career_end: Ints  # AS_OF when still working
    working: Bools  # still working on AS_OF


@dataclasses.dataclass(frozen=True, slots=True)
class _Jobs:
    """Employments, ordered by worker and start; employer indexes into _Org."""

    worker: Ints
    employer: Ints
    agency: Ints  # -1 when not an agency employment
    kind: Strs  # employee | agency | self_employed
    start: Ints
    end: Ints
    open_ended: Bools
    job_title: list[str]
    self_employed_workers: Ints  # workers with a one-person firm, in the order of those firms


@dataclasses.dataclass(frozen=True, slots=True)
class _Org:
    """All employers: regular [0, R), agencies [R, R + A), one-person firms after that."""

    ids: Strs
    kvk: list[str]
    name: list[str]
    sbi: list[str]
    sector: Ints  # -1 for agencies
    n_regular: int
    n_agencies: int
    site_ids: Strs
    site_employer: Ints
    site_city: list[str]
    first_site: Ints  # per employer
    lab: Ints  # per employer, index into _LABS


@dataclasses.dataclass(frozen=True, slots=True)
class _Groups:
    ids: Strs
    employer: Ints
    site: Ints
    agent: list[str]
    name: list[str]
    task: list[str]
    location: list[str]
    job_seg: Ints  # per employment: its (first) SEG
    member_ids: Strs
    member_seg: Ints
    member_worker: Ints
    member_start: Ints
    member_end: Ints
    member_open: Bools


@dataclasses.dataclass(frozen=True, slots=True)
class _Exposure:
    """Per SEG: lognormal parameters at TREND_CENTRE_YEAR, detection and sampling habits."""

    gm_centre: Floats
    gsd: Floats
    lod_z: Floats  # LOD = GM * GSD ** lod_z for a 420-minute sample
    rpe_share: Floats
    bio: Bools
    bio_gm_centre: Floats
    weight: Floats  # sampling intensity


class _Catalogue(NamedTuple):
    ids: dict[str, str]  # agent -> substances.id


def _catalogue(tx: Tx) -> _Catalogue:
    by_cas = {cas: str(i) for cas, i in tx.all("SELECT cas, id FROM substances WHERE cas IS NOT NULL")}
    by_name = {name: str(i) for name, i in tx.all("SELECT name, id FROM substances")}
    ids: dict[str, str] = {}
    for key, agent in _AGENTS.items():
        found = (by_cas.get(agent.cas) if agent.cas else None) or by_name.get(agent.name)
        if found is None:
            raise LookupError(f"substance {agent.name} ({agent.cas}) is not in the catalogue")
        ids[key] = found
    return _Catalogue(ids=ids)


def _regular_firms(rng: np.random.Generator, n: int) -> _Firms:
    """Firm sizes are Pareto (alpha 1.1): most firms have a handful of workers, a few thousands."""
    weights = np.array([s.weight for s in _SECTORS])
    sector = rng.choice(len(_SECTORS), size=n, p=weights / weights.sum())
    head = min(n, len(_SECTORS))
    sector[:head] = np.arange(head)  # every sector present in a small set
    size = np.minimum(np.floor(2.0 * (rng.pareto(1.1, size=n) + 1.0)), 20_000.0)
    return _Firms(sector=sector.astype(np.int64), size=size)


def _people(rng: np.random.Generator, vault: Vault, n: int, taken_bsn: set[str]) -> _People:
    bsn_all = _bsns(rng, n + n // 20 + 16)
    bsn: list[str] = []
    index: list[str] = []
    for number in bsn_all:
        blind = vault.blind_index("bsn", number)
        if blind not in taken_bsn:
            bsn.append(number)
            index.append(blind)
            if len(bsn) == n:
                break
    if len(bsn) < n:
        raise Conflict("could not draw enough BSNs unknown to this store")
    first = rng.integers(0, len(_FIRST), size=n)
    last = rng.integers(0, len(_LAST), size=n)
    names = [f"{_FIRST[f]} {_LAST[s]}" for f, s in zip(first.tolist(), last.tolist(), strict=True)]
    birth = rng.integers(_day(dt.date(1940, 1, 1)), _day(dt.date(2004, 12, 31)), size=n, endpoint=True)
    start = birth + (rng.uniform(17.0, 26.0, size=n) * 365.25).astype(np.int64)
    start = np.minimum(start, _day(AS_OF) - 180)
    end = birth + (rng.uniform(50.0, 67.0, size=n) * 365.25).astype(np.int64)
    end = np.maximum(end, start + 180)
    working = end >= _day(AS_OF)
    return _People(
        ids=_uuids(rng, n),
        bsn=bsn,
        bsn_index=index,
        name=names,
        birth=birth,
        career_start=start,
        career_end=np.minimum(end, _day(AS_OF)),
        working=working,
    )


def _employments(rng: np.random.Generator, people: _People, firms: _Firms, n_agencies: int) -> _Jobs:
    """Careers: 1 + Poisson jobs per worker splitting the career, with gaps between jobs."""
    n_workers = len(people.ids)
    span = people.career_end - people.career_start
    count = np.minimum(1 + rng.poisson(2.0 * span / (30 * 365.25)), 10).astype(np.int64)
    worker = np.repeat(np.arange(n_workers), count)
    n = len(worker)
    first = np.cumsum(count) - count
    pieces = rng.exponential(size=n)
    running = np.cumsum(pieces)
    before_worker = (running[first] - pieces[first])[worker]
    upto = running - before_worker
    total = upto[np.cumsum(count) - 1][worker]
    lo = people.career_start[worker] + np.floor(span[worker] * (upto - pieces) / total).astype(np.int64)
    hi = people.career_start[worker] + np.floor(span[worker] * upto / total).astype(np.int64)
    is_first = np.zeros(n, dtype=bool)
    is_first[first] = True
    gap = np.where(is_first, 0, np.minimum(rng.integers(0, 120, size=n), (hi - lo) // 4))
    start = lo + gap
    end = np.maximum(start, hi - 1)
    is_last = np.zeros(n, dtype=bool)
    is_last[np.cumsum(count) - 1] = True
    open_ended = is_last & people.working[worker]
    end = np.where(open_ended, _day(AS_OF), end)

    draw = rng.random(n)
    agency_job = draw < AGENCY_SHARE
    self_job = (draw >= AGENCY_SHARE) & (draw < AGENCY_SHARE + SELF_EMPLOYED_SHARE)
    weights = firms.size / firms.size.sum()
    employer = rng.choice(len(firms.size), size=n, p=weights).astype(np.int64)
    n_regular = len(firms.size)
    agency = np.where(agency_job, n_regular + rng.integers(0, n_agencies, size=n), -1)
    self_workers, rank = np.unique(worker[self_job], return_inverse=True)
    employer[self_job] = n_regular + n_agencies + rank
    kind = np.where(agency_job, "agency", np.where(self_job, "self_employed", "employee"))
    return _Jobs(
        worker=worker,
        employer=employer,
        agency=agency.astype(np.int64),
        kind=kind,
        start=start,
        end=end,
        open_ended=open_ended,
        job_title=[],  # filled once the employers' sectors are known
        self_employed_workers=self_workers.astype(np.int64),
    )


def _organisations(rng: np.random.Generator, firms: _Firms, jobs: _Jobs, taken_kvk: set[str]) -> _Org:
    n_regular, n_self = len(firms.size), len(jobs.self_employed_workers)
    n_agencies = int(jobs.agency.max(initial=n_regular) - n_regular + 1) if (jobs.agency >= 0).any() else 1
    n_agencies = max(n_agencies, _agency_count(jobs, n_regular))
    zzp_weights = np.array([s.self_employed for s in _SECTORS])
    zzp_sector = rng.choice(len(_SECTORS), size=n_self, p=zzp_weights / zzp_weights.sum())
    sector = np.concatenate([firms.sector, np.full(n_agencies, -1), zzp_sector]).astype(np.int64)
    total = len(sector)
    kvk = _kvks(rng, total, taken_kvk)
    owner = rng.integers(0, len(_LAST), size=total)
    suffix = rng.choice(np.array(["B.V.", "B.V.", "B.V.", "V.O.F.", ""]), size=total)
    names: list[str] = []
    for i, (s, o, x) in enumerate(zip(sector.tolist(), owner.tolist(), suffix.tolist(), strict=True)):
        family = _LAST[o].split()[-1] if i >= n_regular + n_agencies else _LAST[o]
        if s < 0:
            names.append(f"{family.title()} Uitzendbureau B.V.")
        elif i >= n_regular + n_agencies:
            names.append(f"{_SECTORS[s].firm} {family}")
        else:
            names.append(" ".join(p for p in (_SECTORS[s].firm, family.title(), x) if p))
    sbi = [_SECTORS[s].sbi if s >= 0 else _AGENCY_SBI for s in sector.tolist()]
    size = np.concatenate([firms.size, np.full(n_agencies, 50.0), np.ones(n_self)])
    n_sites = 1 + (size >= 50).astype(np.int64) + (size >= 250).astype(np.int64)
    site_employer = np.repeat(np.arange(total), n_sites)
    first_site = np.cumsum(n_sites) - n_sites
    cities = rng.integers(0, len(_CITIES), size=len(site_employer))
    job_sector = sector[jobs.employer]
    jobs.job_title.extend(
        _SECTORS[s].jobs[j % len(_SECTORS[s].jobs)]
        for s, j in zip(job_sector.tolist(), rng.integers(0, 1000, size=len(job_sector)).tolist(), strict=True)
    )
    return _Org(
        ids=_uuids(rng, total),
        kvk=kvk,
        name=names,
        sbi=sbi,
        sector=sector,
        n_regular=n_regular,
        n_agencies=n_agencies,
        site_ids=_uuids(rng, len(site_employer)),
        site_employer=site_employer,
        site_city=[_CITIES[c] for c in cities.tolist()],
        first_site=first_site,
        lab=rng.integers(0, len(_LABS), size=total),
    )


def _agency_count(jobs: _Jobs, n_regular: int) -> int:
    agencies = jobs.agency[jobs.agency >= 0]
    return int(agencies.max() - n_regular + 1) if len(agencies) else 1


def _segs(rng: np.random.Generator, org: _Org, jobs: _Jobs) -> _Groups:
    """SEGs per employer (more in larger firms); each employment joins one SEG of its
    employer, and some move to a second SEG halfway."""
    total = len(org.ids)
    jobs_per_employer = np.bincount(jobs.employer, minlength=total)
    n_segs = np.where(org.sector < 0, 0, np.clip(1 + np.floor(np.log(np.maximum(jobs_per_employer, 1)) / np.log(4)), 1, 8))
    n_segs = n_segs.astype(np.int64)
    seg_employer = np.repeat(np.arange(total), n_segs)
    seg_first = np.cumsum(n_segs) - n_segs
    n = len(seg_employer)
    agent: list[str] = []
    task: list[str] = []
    names: list[str] = []
    draws = rng.random(n).tolist()
    for i, (employer, u) in enumerate(zip(seg_employer.tolist(), draws, strict=True)):
        exposures = _SECTORS[int(org.sector[employer])].exposures
        weights = np.cumsum([w for _, _, w in exposures])
        pick = min(int(np.searchsorted(weights, u * weights[-1], side="right")), len(exposures) - 1)
        key, what, _ = exposures[pick]
        agent.append(key)
        task.append(what)
        number = i - int(seg_first[employer]) + 1
        names.append(f"{what} ({number})" if n_segs[employer] > 1 else what)
    site_offset = rng.integers(0, 3, size=n)
    n_sites = np.bincount(org.site_employer, minlength=total)
    seg_site = org.first_site[seg_employer] + site_offset % n_sites[seg_employer]
    location = [_LOCATIONS[i] for i in rng.integers(0, len(_LOCATIONS), size=n).tolist()]

    job_seg = seg_first[jobs.employer] + rng.integers(0, 1 << 30, size=len(jobs.employer)) % n_segs[jobs.employer]
    length = jobs.end - jobs.start
    moves = (n_segs[jobs.employer] > 1) & (length >= 730) & (rng.random(len(job_seg)) < SEG_CHANGE_SHARE)
    middle = jobs.start + (length * rng.uniform(0.3, 0.7, size=len(job_seg))).astype(np.int64)
    other = seg_first[jobs.employer] + (
        job_seg - seg_first[jobs.employer] + 1 + rng.integers(0, 1 << 30, size=len(job_seg))
        % np.maximum(n_segs[jobs.employer] - 1, 1)
    ) % np.maximum(n_segs[jobs.employer], 1)
    moved = np.flatnonzero(moves)
    member_seg = np.concatenate([job_seg, other[moved]])
    member_worker = np.concatenate([jobs.worker, jobs.worker[moved]])
    member_start = np.concatenate([jobs.start, middle[moved] + 1])
    member_end = np.concatenate([np.where(moves, middle, jobs.end), jobs.end[moved]])
    member_open = np.concatenate([jobs.open_ended & ~moves, jobs.open_ended[moved]])
    return _Groups(
        ids=_uuids(rng, n),
        employer=seg_employer,
        site=seg_site,
        agent=agent,
        name=names,
        task=task,
        location=location,
        job_seg=job_seg,
        member_ids=_uuids(rng, len(member_seg)),
        member_seg=member_seg,
        member_worker=member_worker,
        member_start=member_start,
        member_end=member_end,
        member_open=member_open,
    )


class _LimitTable:
    """The limit in force per agent and year (binding, else informative), in the agent's unit."""

    def __init__(self, limits: Sequence[LimitValue]) -> None:
        self._limits = list(limits)
        self._by_agent: dict[str, Floats] = {}

    def per_year(self, key: str) -> Floats:
        if key not in self._by_agent:
            self._by_agent[key] = self._compute(_AGENTS[key])
        return self._by_agent[key]

    def _compute(self, agent: _Agent) -> Floats:
        years = range(SAMPLING_FROM.year, AS_OF.year + 1)
        found = np.full(len(years), np.nan)
        for i, year in enumerate(years):
            values = [self._lookup(agent, dt.date(year, 7, 1), name) for name in (agent.name, *agent.limit_names)]
            present = [v for v in values if v is not None]
            if present:
                found[i] = min(present)
        if np.isnan(found).all():
            return np.full(len(years), agent.fallback_limit)
        # Before a substance's first listed limit, use that first limit (the first known norm).
        first = int(np.flatnonzero(~np.isnan(found))[0])
        found[:first] = found[first]
        for i in range(1, len(found)):
            if np.isnan(found[i]):
                found[i] = found[i - 1]
        return found

    def _lookup(self, agent: _Agent, day: dt.date, name: str) -> float | None:
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


def _exposure(rng: np.random.Generator, groups: _Groups, limits: _LimitTable) -> _Exposure:
    """GM relative to the limit in force in the SEG's middle year (a SEG's exposure sits
    somewhere between far below and above the limit), GSD uniform 1.5-4."""
    n = len(groups.ids)
    lo = np.maximum(groups.member_start, _day(SAMPLING_FROM)).astype(np.float64)
    hi = np.minimum(groups.member_end, _day(AS_OF)).astype(np.float64)
    days = np.maximum(hi - lo, 0.0)
    weight_days = np.bincount(groups.member_seg, weights=days, minlength=n)
    middle_day = np.bincount(groups.member_seg, weights=days * (lo + hi) / 2, minlength=n)
    middle = np.where(weight_days > 0, middle_day / np.maximum(weight_days, 1.0), float(_day(dt.date(2010, 7, 1))))
    middle_year = 1970.0 + middle / 365.25
    year_index = np.clip(np.floor(middle_year).astype(np.int64) - SAMPLING_FROM.year, 0, AS_OF.year - SAMPLING_FROM.year)
    limit = np.array([limits.per_year(a)[y] for a, y in zip(groups.agent, year_index.tolist(), strict=True)])
    ratio = np.clip(np.exp(rng.normal(np.log(0.12), 1.0, size=n)), 0.003, 2.0)
    gm_middle = ratio * limit
    gm_centre = gm_middle * np.exp(-TREND_PER_YEAR * (middle_year - TREND_CENTRE_YEAR))
    gsd = rng.uniform(1.5, 4.0, size=n)
    share_below = rng.uniform(0.02, 0.25, size=n)
    lod_z = np.array([statistics.NormalDist().inv_cdf(p) for p in share_below.tolist()])
    rpe_share = np.where(ratio > 0.5, 0.6, np.where(ratio > 0.1, 0.15, 0.03))
    bio = np.array([a == _LEAD for a in groups.agent], dtype=bool)
    bio_gm = np.clip(15.0 * np.sqrt(ratio / 0.12), 3.0, 45.0) * np.exp(-TREND_PER_YEAR * (middle_year - TREND_CENTRE_YEAR))
    return _Exposure(
        gm_centre=gm_centre,
        gsd=gsd,
        lod_z=lod_z,
        rpe_share=rpe_share,
        bio=bio,
        bio_gm_centre=bio_gm,
        weight=np.exp(rng.normal(0.0, 1.0, size=n)),
    )


# --------------------------------------------------------------------------- write


def _write_organisations(runtime: Runtime, org: _Org, groups: _Groups, now: dt.datetime, bar: _Progress) -> None:
    bar.stage("employers", len(org.ids))
    with runtime.db.write() as tx:
        tx.insert_columns(
            "employers",
            {
                "id": org.ids.tolist(),
                "kvk": org.kvk,
                "name": org.name,
                "sbi_code": org.sbi,
                "created_at": [now] * len(org.ids),
            },
        )
        tx.insert_columns(
            "sites",
            {
                "id": org.site_ids.tolist(),
                "employer_id": org.ids[org.site_employer].tolist(),
                "name": [f"Vestiging {city}" for city in org.site_city],
                "kind": ["site"] * len(org.site_ids),
                "parent_id": [None] * len(org.site_ids),
                "city": org.site_city,
                "created_at": [now] * len(org.site_ids),
            },
        )
        tx.insert_columns(
            "segs",
            {
                "id": groups.ids.tolist(),
                "employer_id": org.ids[groups.employer].tolist(),
                "name": groups.name,
                "site_id": org.site_ids[groups.site].tolist(),
                "description": groups.task,
                "created_at": [now] * len(groups.ids),
            },
        )
    bar.advance(len(org.ids))


def _write_workers(
    runtime: Runtime, people: _People, keep_keys: set[int], now: dt.datetime, bar: _Progress
) -> dict[int, WrappedKey]:
    """Encrypt each identity under a new per-worker key, as workers.register_worker does;
    returns the wrapped keys of `keep_keys` (workers who give biological samples)."""
    vault = runtime.vault
    n = len(people.ids)
    kept: dict[int, WrappedKey] = {}
    births = (np.datetime64("1970-01-01") + people.birth.astype("timedelta64[D]")).astype(str).tolist()
    bar.stage("workers", n)
    for lo in range(0, n, WORKER_CHUNK):
        hi = min(n, lo + WORKER_CHUNK)
        ids = people.ids[lo:hi].tolist()
        columns: dict[str, list[Any]] = {c: [] for c in ("id", "bsn_index", "bsn_ct", "name_ct", "birth_date_ct")}
        key_columns: dict[str, list[Any]] = {c: [] for c in ("worker_id", "kek_id", "wrapped_key")}
        for offset, worker_id in enumerate(ids):
            i = lo + offset
            key = vault.new_worker_key(uuid.UUID(worker_id))
            cipher = vault.worker_cipher(uuid.UUID(worker_id), key)
            columns["id"].append(worker_id)
            columns["bsn_index"].append(people.bsn_index[i])
            columns["bsn_ct"].append(cipher.encrypt_text(_BSN, people.bsn[i]))
            columns["name_ct"].append(cipher.encrypt_text(_NAME, people.name[i]))
            columns["birth_date_ct"].append(cipher.encrypt_text(_BIRTH, births[i]))
            key_columns["worker_id"].append(worker_id)
            key_columns["kek_id"].append(key.kek_id)
            key_columns["wrapped_key"].append(key.blob)
            if i in keep_keys:
                kept[i] = key
        with runtime.db.write() as tx:
            tx.insert_columns("workers", {**columns, "created_at": [now] * (hi - lo)})
            tx.insert_columns("worker_keys", {**key_columns, "created_at": [now] * (hi - lo)})
        bar.advance(hi - lo)
    return kept


def _write_careers(runtime: Runtime, jobs: _Jobs, groups: _Groups, org: _Org, now: dt.datetime, bar: _Progress) -> None:
    n_jobs, n_members = len(jobs.worker), len(groups.member_ids)
    bar.stage("employments", n_jobs + n_members)
    job_ids = _uuids(np.random.default_rng(len(org.ids) + n_jobs), n_jobs)
    worker_ids = _people_ids_of(groups, jobs)
    for lo in range(0, n_jobs, MEASUREMENT_CHUNK):
        part = slice(lo, min(n_jobs, lo + MEASUREMENT_CHUNK))
        count = part.stop - lo
        agency = jobs.agency[part]
        with runtime.db.write() as tx:
            tx.insert_columns(
                "employments",
                {
                    "id": job_ids[part].tolist(),
                    "worker_id": worker_ids[jobs.worker[part]].tolist(),
                    "employer_id": org.ids[jobs.employer[part]].tolist(),
                    "employment_type": jobs.kind[part].tolist(),
                    "agency_employer_id": _nullable(org.ids[np.maximum(agency, 0)], agency < 0),
                    "site_id": org.site_ids[groups.site[groups.job_seg[part]]].tolist(),
                    "job_title": jobs.job_title[part],
                    "start_date": _dates(jobs.start[part]),
                    "end_date": _nullable_dates(jobs.end[part], jobs.open_ended[part]),
                    "created_at": [now] * count,
                },
            )
        bar.advance(count)
    for lo in range(0, n_members, MEASUREMENT_CHUNK):
        part = slice(lo, min(n_members, lo + MEASUREMENT_CHUNK))
        count = part.stop - lo
        with runtime.db.write() as tx:
            tx.insert_columns(
                "seg_members",
                {
                    "id": groups.member_ids[part].tolist(),
                    "seg_id": groups.ids[groups.member_seg[part]].tolist(),
                    "worker_id": worker_ids[groups.member_worker[part]].tolist(),
                    "start_date": _dates(groups.member_start[part]),
                    "end_date": _nullable_dates(groups.member_end[part], groups.member_open[part]),
                    "created_at": [now] * count,
                },
            )
        bar.advance(count)


def _people_ids_of(groups: _Groups, jobs: _Jobs) -> Strs:
    # Worker ids live on _People; _Context passes them on. Kept as a seam for the writers.
    return _WORKER_IDS[0]


_WORKER_IDS: list[Strs] = []
