"""Synthetic registry data at any size, from a few hundred to 10 M+ measurements.

Tests, demos and benchmarks need data shaped like the real thing: many micro firms and a
few large ones (Pareto sizes), careers across employers with agency and self-employed
periods, SEGs whose members change over the years, lognormal exposures per SEG relative
to the substance's limit value, non-detects stored as "< LOD" (never 0), a little blood
lead, and sampling dates over 1995-2025 so the limit in force changes under the data.

Everything is drawn column-wise with numpy from one seed (same seed, same data; ids
included) and written with Arrow bulk inserts in chunks. Services and the HTTP API are
bypassed for speed, so the generator upholds their rules itself (tests/test_synthetic.py
checks them). Each person gets, per employer they worked for (as employee, self-employed or
placed by an agency at the hiring company), a worker record with a data key of its own: the
id by which that employer knows them, which everything the employer records names. The
identities and biological results are real ciphertexts under that key, made by the
services' own functions and contexts, so the data reads back through them.

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
from registry.services.measurements import encrypt_result  # the services' own formats and contexts,
from registry.services.workers import encrypt_identity  # so generated ciphertexts read back through them
from registry.store import Tx
from schemas.errors import Conflict, IntegrityFailure
from schemas.limits import LimitValue
from schemas.people import WorkerOut

__all__ = ["FAMILY_NAMES", "FIRST_NAMES", "EmployerKey", "SyntheticSummary", "generate"]

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Strs = npt.NDArray[np.str_]

# The data describe 1995-2025; a fixed end keeps the output independent of today's date.
SAMPLING_FROM: Final = dt.date(1995, 1, 1)
AS_OF: Final = dt.date(2025, 12, 31)
MEASUREMENT_CHUNK: Final = 200_000  # rows per transaction
PERSON_CHUNK: Final = 50_000  # persons (with their worker records) encrypted and written per transaction

# Shape of the population (per measurement requested).
MEASUREMENTS_PER_PERSON: Final = 15
PERSONS_PER_EMPLOYER: Final = 12
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
    "wood": _Agent(
        None,
        "Hardwood dust",
        "mg/m3",
        2.0,
        "NEN-EN 481 inhaleerbaar stof, gravimetrisch",
        2.0,
        limit_names=("Hardwood dusts",),
    ),
    "quartz": _Agent(
        "14808-60-7",
        "Quartz (SiO2; particulate - no ppm conversion)",
        "mg/m3",
        0.075,
        "NIOSH 7500 (XRD), respirabele fractie",
        2.2,
    ),
    "asbestos": _Agent("1332-21-4", "Asbestos (all forms)", "f/cm3", 0.002, "NEN 2939 (SEM/EDX)", 2.0),
    "diesel": _Agent(
        None,
        "Diesel engine exhaust emissions",
        "mg/m3",
        0.05,
        "NIOSH 5040 (elementair koolstof)",
        2.0,
        analyte="elemental carbon",
        limit_names=("Dieselmotoremissie (DME)",),
    ),
    "crvi": _Agent(
        None,
        "Chromium (VI) compounds (as Cr)",
        "mg/m3",
        0.005,
        "ISO 16740 (IC-UV)",
        2.0,
        limit_names=("Chromium (VI) compounds (carcinogens, as Cr)",),
    ),
    "nickel": _Agent(None, "Nickel compounds (as Ni)", "mg/m3", 0.05, "NIOSH 7300 (ICP-AES)", 2.0),
    "lead": _Agent("7439-92-1", "Lead and its inorganic compounds", "mg/m3", 0.15, "NIOSH 7300 (ICP-AES)", 2.0),
    "cadmium": _Agent("7440-43-9", "Cadmium and its inorganic compounds", "mg/m3", 0.004, "NIOSH 7300 (ICP-AES)", 2.0),
    "isocyanates": _Agent(
        None, "Diisocyanates (measured as NCO)", "ug/m3", 10.0, "ISO 17734-1 (LC-MS)", 1.0, analyte="NCO"
    ),
    "flour": _Agent(
        None,
        "Flour dust (meelstof)",
        "mg/m3",
        4.0,
        "NEN-EN 481 inhaleerbaar stof, gravimetrisch",
        2.0,
        limit_names=("Meelstof",),
    ),
    "formaldehyde": _Agent("50-00-0", "Formaldehyde", "mg/m3", 0.15, "NIOSH 2016 (DNPH, HPLC-UV)", 0.5),
    "eto": _Agent("75-21-8", "Ethylene oxide", "mg/m3", 1.8, "NIOSH 1614 (GC-ECD)", 0.1),
    "benzene": _Agent("71-43-2", "Benzene", "mg/m3", 3.25, "NIOSH 1501 (actieve kool, GC-FID)", 0.2),
    "toluene": _Agent("108-88-3", "Toluene", "mg/m3", 150.0, "NIOSH 1501 (actieve kool, GC-FID)", 0.2),
    "xylene": _Agent("1330-20-7", "Xylene (mixed isomers)", "mg/m3", 210.0, "NIOSH 1501 (actieve kool, GC-FID)", 0.2),
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
    _Sector(
        "4120",
        "Bouwbedrijf",
        0.20,
        ("timmerman", "metselaar", "betonwerker", "uitvoerder"),
        (
            ("quartz", "Boren en slijpen van beton", 0.5),
            ("wood", "Zagen van hardhout op de bouw", 0.2),
            ("diesel", "Werken bij bouwmachines", 0.2),
            ("asbestos", "Renovatie met asbestverdachte materialen", 0.1),
        ),
        self_employed=0.4,
    ),
    _Sector(
        "3832",
        "Accurecycling",
        0.02,
        ("smelter", "sorteerder", "operator"),
        (
            ("lead", "Smelten van loodaccu's", 0.6),
            ("cadmium", "Shredderen van batterijen", 0.2),
            ("nickel", "Sorteren van metaalschroot", 0.2),
        ),
    ),
    _Sector(
        "4334",
        "Schildersbedrijf",
        0.12,
        ("schilder", "spuiter"),
        (
            ("xylene", "Schilderen met oplosmiddelhoudende verf", 0.35),
            ("toluene", "Lakspuiten", 0.2),
            ("butyl_acetate", "Kwasten en rollen van lak", 0.2),
            ("isocyanates", "Spuiten van 2K-PUR-lak", 0.2),
            ("lead", "Verwijderen van loodhoudende verf", 0.05),
        ),
        self_employed=0.3,
    ),
    _Sector(
        "2511",
        "Metaalbewerking",
        0.14,
        ("lasser", "plaatwerker", "CNC-operator", "galvaniseur"),
        (
            ("crvi", "Lassen van roestvast staal", 0.35),
            ("nickel", "Slijpen van RVS", 0.25),
            ("tce", "Ontvetten van onderdelen", 0.15),
            ("crvi", "Verchromen", 0.1),
            ("co", "Werken bij de oven", 0.1),
            ("lead", "Solderen en gieten", 0.05),
        ),
    ),
    _Sector(
        "1623",
        "Houtbewerking",
        0.06,
        ("houtbewerker", "machinaal houtbewerker", "lakker"),
        (
            ("wood", "Zagen en schaven", 0.6),
            ("formaldehyde", "Verlijmen van plaatmateriaal", 0.2),
            ("toluene", "Lakstraat", 0.2),
        ),
    ),
    _Sector(
        "4311",
        "Sloop- en Saneringsbedrijf",
        0.03,
        ("sloper", "asbestsaneerder"),
        (
            ("asbestos", "Verwijderen van asbesthoudende beplating", 0.6),
            ("quartz", "Slopen van beton", 0.4),
        ),
        self_employed=0.1,
    ),
    _Sector(
        "2014",
        "Chemie",
        0.02,
        ("procesoperator", "monsternemer", "onderhoudsmonteur"),
        (
            ("benzene", "Procesoperator aromaten", 0.3),
            ("butadiene", "Vullen van tankwagens", 0.15),
            ("vcm", "Reactorreiniging PVC", 0.15),
            ("eto", "Opslag en overslag", 0.1),
            ("acrylonitrile", "Monstername", 0.1),
            ("styrene", "Polymerisatie", 0.2),
        ),
    ),
    _Sector(
        "2229",
        "Kunststofverwerking",
        0.04,
        ("laminator", "operator", "mallenmaker"),
        (
            ("styrene", "Lamineren van polyester", 0.6),
            ("isocyanates", "PUR-schuimen", 0.25),
            ("dcm", "Reinigen van mallen", 0.15),
        ),
    ),
    _Sector(
        "4520",
        "Autobedrijf",
        0.10,
        ("autotechnicus", "autospuiter", "schadehersteller"),
        (
            ("isocyanates", "Spuiten van autolak", 0.4),
            ("diesel", "Werkplaats met draaiende motoren", 0.3),
            ("toluene", "Voorbewerken en ontvetten", 0.2),
            ("benzene", "Werken aan brandstofsystemen", 0.1),
        ),
        self_employed=0.1,
    ),
    _Sector(
        "1071",
        "Bakkerij",
        0.07,
        ("bakker", "deegmenger"),
        (
            ("flour", "Deeg maken en afwegen", 0.8),
            ("flour", "Storten van meel", 0.2),
        ),
    ),
    _Sector(
        "8610",
        "Ziekenhuis",
        0.02,
        ("analist pathologie", "medewerker CSA"),
        (
            ("formaldehyde", "Weefselfixatie in de pathologie", 0.6),
            ("eto", "Sterilisatie", 0.4),
        ),
    ),
    _Sector(
        "8129",
        "Plaagdierbeheersing",
        0.01,
        ("gasser", "plaagdierbeheerser"),
        (
            ("phosphine", "Begassen van containers", 0.4),
            ("sulfuryl_fluoride", "Begassen van gebouwen", 0.4),
            ("hcn", "Ontgassen en vrijgeven", 0.2),
        ),
    ),
    _Sector(
        "4941",
        "Transportbedrijf",
        0.04,
        ("chauffeur", "magazijnmedewerker"),
        (
            ("diesel", "Laden en lossen bij draaiende motoren", 0.7),
            ("co", "Werken in laadhallen", 0.3),
        ),
    ),
    _Sector(
        "2361",
        "Betonwarenfabriek",
        0.03,
        ("productiemedewerker", "zager"),
        (
            ("quartz", "Storten en afwerken van betonwaren", 0.7),
            ("quartz", "Zagen van betonproducten", 0.3),
        ),
    ),
    _Sector(
        "3109",
        "Meubelmakerij",
        0.05,
        ("meubelmaker", "spuiter"),
        (
            ("wood", "Frezen en schuren van hardhout", 0.6),
            ("xylene", "Lakken van meubels", 0.2),
            ("butyl_acetate", "Spuiten van nitrocelluloselak", 0.2),
        ),
        self_employed=0.1,
    ),
)
_AGENCY_SBI: Final = "7820"

# Names common in the Netherlands, for generated (never real) people; demo.py uses them too.
FIRST_NAMES: Final = (
    "Anna",
    "Bram",
    "Chantal",
    "Daan",
    "Emma",
    "Fatima",
    "Gert",
    "Hanna",
    "Ilse",
    "Jeroen",
    "Kees",
    "Lotte",
    "Mohamed",
    "Noor",
    "Okke",
    "Priya",
    "Ruud",
    "Sanne",
    "Tim",
    "Yusuf",
    "Anouk",
    "Bas",
    "Dewi",
    "Esra",
    "Frank",
    "Ingrid",
    "Jan",
    "Karin",
    "Lars",
    "Marieke",
    "Nick",
    "Petra",
    "Rachid",
    "Sven",
    "Tessa",
    "Vincent",
    "Wendy",
    "Ahmet",
    "Bogdan",
    "Marta",
    "Piotr",
    "Agnieszka",
    "Henk",
    "Joyce",
    "Kevin",
    "Linda",
    "Martijn",
    "Nadia",
)
FAMILY_NAMES: Final = (
    "de Vries",
    "Jansen",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "de Boer",
    "Mulder",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "van Dijk",
    "Yilmaz",
    "El Amrani",
    "de Jong",
    "van den Berg",
    "van der Meer",
    "Dekker",
    "Brouwer",
    "de Wit",
    "Dijkstra",
    "Willems",
    "van Leeuwen",
    "Kok",
    "Jacobs",
    "de Haan",
    "Vermeulen",
    "Schouten",
    "Hoekstra",
    "Kowalski",
    "Nowak",
    "Öztürk",
    "Bouzid",
    "Pinas",
    "Nguyen",
    "Post",
    "Kuipers",
    "Veenstra",
    "Prins",
)
_CITIES: Final = (
    "Amsterdam",
    "Rotterdam",
    "Den Haag",
    "Utrecht",
    "Eindhoven",
    "Groningen",
    "Tilburg",
    "Almere",
    "Breda",
    "Nijmegen",
    "Apeldoorn",
    "Arnhem",
    "Enschede",
    "Zwolle",
    "Leeuwarden",
    "Maastricht",
    "Venlo",
    "Dordrecht",
    "Zaandam",
    "Amersfoort",
    "Den Bosch",
    "Emmen",
    "Helmond",
    "Heerlen",
    "Delfzijl",
    "Terneuzen",
    "Velsen",
)
_LOCATIONS: Final = (
    "werkplaats",
    "productiehal",
    "spuitcabine",
    "bouwplaats",
    "magazijn",
    "buitenterrein",
    "laboratorium",
    "procesinstallatie",
    "laadperron",
    "onderhoudsafdeling",
)
_LABS: Final = (
    ("Arbolab Nederland", "AL"),
    ("Analytisch Lab Noord", "ALN"),
    ("Meetlab Rijnmond", "MR"),
    ("Stoflab Zuid", "SZ"),
    ("Hygiëne Analysecentrum", "HAC"),
    ("Luchtlab Midden", "LM"),
)
_BIO_LABS: Final = (("Klinisch Lab Zuid", "KLZ"), ("Klinisch Chemisch Lab Oost", "KCO"))
# Respiratory protection with its assigned protection factor (BS 4275 / NEN-EN 529 practice).
_RPE: Final = (
    ("FFP2-masker", 10.0),
    ("FFP3-masker", 20.0),
    ("halfgelaatsmasker A2P3", 20.0),
    ("volgelaatsmasker A2P3", 40.0),
    ("aangeblazen kap TH3", 40.0),
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
    persons: int
    workers: int  # worker records: one per (employer, person) pair
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

    The other counts follow from it (about 15 measurements per person, 12 persons per
    employer). With `api_keys`, every generated employer gets an API key, returned in the
    summary (shown once, stored hashed like any other key).
    """
    if measurements < 1:
        raise ValueError("measurements must be at least 1")
    started = time.perf_counter()
    bar = _Progress(progress)
    streams = np.random.SeedSequence(seed).spawn(9)  # spawn(9)[:8] == spawn(8): the draws before it stay
    with runtime.db.read() as tx:
        # Same seed, same ids: a second load would collide. (The audit entry marks a load
        # that finished; one that broke off shows up as BSNs or ids already taken.)
        if tx.scalar(
            "SELECT count(*) FROM audit_log WHERE resource_type = 'synthetic_dataset' AND resource_id = ?",
            [_dataset_id(seed)],
        ):
            raise Conflict(f"synthetic data of seed {seed} is already in this store; pass another seed")
        substance_ids = _substance_ids(tx)
        taken_kvk = {row[0] for row in tx.all("SELECT kvk FROM employers")}
        taken_bsn = {row[0] for row in tx.all("SELECT DISTINCT bsn_index FROM workers")}
    n_persons = max(12, round(measurements / MEASUREMENTS_PER_PERSON))
    n_regular = max(4, round(n_persons / PERSONS_PER_EMPLOYER))
    n_agencies = max(1, round(n_regular / EMPLOYERS_PER_AGENCY))

    bar.stage("planning", 1)
    firms = _regular_firms(_rng(streams[0]), n_regular)
    people = _people(_rng(streams[1]), runtime.vault, n_persons, taken_bsn)
    jobs = _employments(_rng(streams[2]), people, firms, n_agencies)
    org = _organisations(_rng(streams[3]), firms, jobs, taken_kvk)
    groups = _segs(_rng(streams[4]), org, jobs)
    exposure = _exposure(_rng(streams[5]), groups, _LimitTable(load_reference_limits()))
    workers = _workers(_rng(streams[8]), jobs, len(org.ids))
    bar.advance(1)

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    _check_identity_contexts(runtime.vault, now)
    _write_organisations(runtime, org, groups, now, bar)
    member_record = workers.of_job[groups.member_job]
    sampled = member_record[exposure.biological[groups.member_seg]]  # their keys seal blood-lead results
    keys = _write_people(runtime, people, workers, org, set(np.unique(sampled).tolist()), now, bar)
    _write_careers(runtime, _uuids(_rng(streams[7]), len(jobs.worker)), workers, jobs, groups, org, now, bar)
    context = _Context(org, groups, exposure, workers, substance_ids, keys, runtime.vault)
    biological, below = _write_measurements(runtime, streams[6], measurements, context, bar)
    issued = _issue_keys(runtime, org, bar) if api_keys else []
    summary = SyntheticSummary(
        seed=seed,
        employers=len(org.ids),
        persons=len(people.ids),
        workers=len(workers.ids),
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


# --------------------------------------------------------------------------- the plan


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
    birth: Ints  # days since 1970-01-01, like every day number here
    career_start: Ints
    career_end: Ints  # AS_OF when still working
    working: Bools  # still working on AS_OF


@dataclasses.dataclass(frozen=True, slots=True)
class _Jobs:
    """Employments, ordered by worker and start. `employer` indexes _Org: regular firms
    first, then agencies, then one-person firms (one per self-employed worker)."""

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
class _Workers:
    """One worker record per (employer, person) pair the careers produce: the id by which that
    employer knows the person (an agency placement is the hiring company's). Ordered by
    person, then employer."""

    ids: Strs
    person: Ints  # index into _People
    employer: Ints  # index into _Org
    of_job: Ints  # per employment: the record of its worker at its employer


@dataclasses.dataclass(frozen=True, slots=True)
class _Org:
    ids: Strs
    kvk: list[str]
    name: list[str]
    sbi: list[str]
    sector: Ints  # -1 for agencies
    site_ids: Strs
    site_employer: Ints
    site_city: list[str]
    first_site: Ints  # per employer
    lab: Ints  # per employer, index into _LABS and _BIO_LABS


@dataclasses.dataclass(frozen=True, slots=True)
class _Groups:
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
class _Exposure:
    """Per SEG: lognormal parameters at TREND_CENTRE_YEAR, detection and sampling habits."""

    gm_centre: Floats
    gsd: Floats
    lod_z: Floats  # a 420-minute sample's LOD is GM * GSD ** lod_z: a set share below the LOD
    rpe_share: Floats
    biological: Bools
    bio_gm_centre: Floats
    intensity: Floats  # how much the SEG is sampled, relative to its member-days


def _substance_ids(tx: Tx) -> dict[str, str]:
    """Agent key -> substances.id, from the catalogue seeded at start-up."""
    by_cas = {cas: str(i) for cas, i in tx.all("SELECT cas, id FROM substances WHERE cas IS NOT NULL")}
    by_name = {name: str(i) for name, i in tx.all("SELECT name, id FROM substances")}
    ids: dict[str, str] = {}
    for key, agent in _AGENTS.items():
        found = (by_cas.get(agent.cas) if agent.cas else None) or by_name.get(agent.name)
        if found is None:
            raise LookupError(f"substance {agent.name} ({agent.cas}) is not in the catalogue")
        ids[key] = found
    return ids


def _regular_firms(rng: np.random.Generator, n: int) -> _Firms:
    """Sizes are Pareto (alpha 1.25, from 2): most firms have a handful of workers, a few
    thousands (firm sizes follow a power law, Axtell 2001, Science 293:1818)."""
    weights = np.array([s.weight for s in _SECTORS])
    sector = rng.choice(len(_SECTORS), size=n, p=weights / weights.sum()).astype(np.int64)
    head = min(n, len(_SECTORS))
    sector[:head] = np.arange(head)  # every sector present, even in a small set
    size = np.minimum(np.floor(2.0 * (rng.pareto(1.25, size=n) + 1.0)), 5_000.0)
    for _ in range(2):  # nor does one firm hold more than ~3 % of the workers of a small set
        size = np.minimum(size, max(50.0, np.floor(0.03 * size.sum())))
    return _Firms(sector=sector, size=size)


def _people(rng: np.random.Generator, vault: Vault, n: int, taken_bsn: set[str]) -> _People:
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
    return _People(
        ids=_uuids(rng, n),
        bsn=bsn,
        bsn_index=index,
        name=[f"{FIRST_NAMES[f]} {FAMILY_NAMES[s]}" for f, s in zip(first, last, strict=True)],
        birth=birth,
        career_start=start,
        career_end=np.minimum(end, _day(AS_OF)),
        working=end >= _day(AS_OF),
    )


def _employments(rng: np.random.Generator, people: _People, firms: _Firms, n_agencies: int) -> _Jobs:
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

    draw = rng.random(n)
    agency_job = draw < AGENCY_SHARE
    self_job = (draw >= AGENCY_SHARE) & (draw < AGENCY_SHARE + SELF_EMPLOYED_SHARE)
    n_regular = len(firms.size)
    employer = rng.choice(n_regular, size=n, p=firms.size / firms.size.sum()).astype(np.int64)
    agency = np.where(agency_job, n_regular + rng.integers(0, n_agencies, size=n), -1).astype(np.int64)
    self_workers, firm_of = np.unique(worker[self_job], return_inverse=True)
    employer[self_job] = n_regular + n_agencies + firm_of
    zzp = np.array([s.self_employed for s in _SECTORS])
    self_sector = rng.choice(len(_SECTORS), size=len(self_workers), p=zzp / zzp.sum()).astype(np.int64)
    sector = np.concatenate([firms.sector, np.full(n_agencies, -1, dtype=np.int64), self_sector])[employer]
    pick = rng.integers(0, 1 << 20, size=n).tolist()
    titles = [_SECTORS[s].jobs[p % len(_SECTORS[s].jobs)] for s, p in zip(sector.tolist(), pick, strict=True)]
    return _Jobs(
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


def _organisations(rng: np.random.Generator, firms: _Firms, jobs: _Jobs, taken_kvk: set[str]) -> _Org:
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
            names.append(f"{_SECTORS[s].firm} {surname}")  # a one-person firm (eenmanszaak)
        else:
            names.append(" ".join(p for p in (_SECTORS[s].firm, surname, legal) if p))
    size = np.concatenate([firms.size, np.ones(total - n_regular)])
    n_sites = 1 + (size >= 50).astype(np.int64) + (size >= 250).astype(np.int64)
    site_employer = np.repeat(np.arange(total), n_sites)
    cities = rng.integers(0, len(_CITIES), size=len(site_employer)).tolist()
    return _Org(
        ids=_uuids(rng, total),
        kvk=_kvks(rng, total, taken_kvk),
        name=names,
        sbi=[_SECTORS[s].sbi if s >= 0 else _AGENCY_SBI for s in sector.tolist()],
        sector=sector,
        site_ids=_uuids(rng, len(site_employer)),
        site_employer=site_employer,
        site_city=[_CITIES[c] for c in cities],
        first_site=np.cumsum(n_sites) - n_sites,
        lab=rng.integers(0, len(_LABS), size=total),
    )


def _segs(rng: np.random.Generator, org: _Org, jobs: _Jobs) -> _Groups:
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
        exposures = _SECTORS[int(org.sector[employer])].exposures
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
    return _Groups(
        ids=_uuids(rng, n),
        employer=seg_employer,
        site=seg_site,
        agent=agent,
        name=names,
        task=task,
        location=[_LOCATIONS[i] for i in rng.integers(0, len(_LOCATIONS), size=n).tolist()],
        job_seg=job_seg,
        member_ids=_uuids(rng, len(member_seg)),
        member_seg=member_seg,
        member_job=np.concatenate([np.arange(len(own)), moved]),
        member_start=np.concatenate([jobs.start, middle[moved] + 1]),
        member_end=np.concatenate([np.where(moves, middle, jobs.end), jobs.end[moved]]),
        member_open=np.concatenate([jobs.open_ended & ~moves, jobs.open_ended[moved]]),
    )


def _workers(rng: np.random.Generator, jobs: _Jobs, n_employers: int) -> _Workers:
    """The worker records: each employer registers a person once, however many employments
    it records for them."""
    pairs, of_job = np.unique(jobs.worker * n_employers + jobs.employer, return_inverse=True)
    return _Workers(
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
            self._cache[key] = self._compute(_AGENTS[key])
        return self._cache[key]

    def _compute(self, agent: _Agent) -> Floats:
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
    return _Exposure(
        gm_centre=ratio * limit * to_centre,
        gsd=rng.uniform(1.5, 4.0, size=n),
        lod_z=np.array([normal.inv_cdf(p) for p in share_below.tolist()]),
        rpe_share=np.where(ratio > 0.5, 0.6, np.where(ratio > 0.1, 0.15, 0.03)),
        biological=np.array([a == _LEAD for a in groups.agent], dtype=bool),
        bio_gm_centre=np.clip(15.0 * np.sqrt(ratio / 0.12), 3.0, 45.0) * to_centre,
        intensity=np.exp(rng.normal(0.0, 1.0, size=n)),
    )


# --------------------------------------------------------------------------- writing


def _write_organisations(runtime: Runtime, org: _Org, groups: _Groups, now: dt.datetime, bar: _Progress) -> None:
    n_sites, n_segs = len(org.site_ids), len(groups.ids)
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
                "kind": ["site"] * n_sites,
                "parent_id": [None] * n_sites,
                "city": org.site_city,
                "created_at": [now] * n_sites,
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
                "created_at": [now] * n_segs,
            },
        )
    bar.advance(len(org.ids))


def _write_people(
    runtime: Runtime,
    people: _People,
    workers: _Workers,
    org: _Org,
    keep_keys: set[int],
    now: dt.datetime,
    bar: _Progress,
) -> dict[int, WrappedKey]:
    """Each employer's worker record of each person, with a new data key of its own and the
    identity encrypted under it as workers.encrypt_identity does (with its contexts, see
    _check_identity_contexts); returns the wrapped keys of the worker records in `keep_keys`."""
    vault = runtime.vault
    bsn_context, name_context, birth_context = _IDENTITY_CONTEXTS
    n = len(people.ids)
    births = people.birth.astype("datetime64[D]").astype(str).tolist()
    kept: dict[int, WrappedKey] = {}
    bar.stage("persons", n)
    for lo in range(0, n, PERSON_CHUNK):
        hi = min(n, lo + PERSON_CHUNK)
        first, last = np.searchsorted(workers.person, [lo, hi]).tolist()  # records ordered by person
        worker_ids = workers.ids[first:last].tolist()
        keys: list[WrappedKey] = []
        bsn_ct: list[bytes] = []
        name_ct: list[bytes] = []
        birth_ct: list[bytes] = []
        for record, (text_id, i) in enumerate(zip(worker_ids, workers.person[first:last].tolist(), strict=True)):
            worker_id = uuid.UUID(str(text_id))
            keys.append(vault.new_worker_key(worker_id))
            cipher = vault.worker_cipher(worker_id, keys[-1])
            bsn_ct.append(cipher.encrypt_text(bsn_context, people.bsn[i]))
            name_ct.append(cipher.encrypt_text(name_context, people.name[i]))
            birth_ct.append(cipher.encrypt_text(birth_context, births[i]))
            if first + record in keep_keys:
                kept[first + record] = keys[-1]
        with runtime.db.write() as tx:
            tx.insert_columns(
                "workers",
                {
                    "id": worker_ids,
                    "employer_id": org.ids[workers.employer[first:last]].tolist(),
                    "bsn_index": [people.bsn_index[i] for i in workers.person[first:last].tolist()],
                    "key_id": worker_ids,
                    "bsn_ct": bsn_ct,
                    "name_ct": name_ct,
                    "birth_date_ct": birth_ct,
                    "created_at": [now] * (last - first),
                },
            )
            tx.insert_columns(
                "worker_keys",
                {
                    "worker_id": worker_ids,
                    "kek_id": [k.kek_id for k in keys],
                    "wrapped_key": [k.blob for k in keys],
                    "created_at": [now] * (last - first),
                },
            )
        bar.advance(hi - lo)
    return kept


# The contexts workers.encrypt_identity binds identity ciphertexts to (bsn, name, birth date).
_IDENTITY_CONTEXTS: Final = ("workers.bsn", "workers.name", "workers.birth_date")


def _check_identity_contexts(vault: Vault, now: dt.datetime) -> None:
    """Refuse to load identities the worker service could not open: one made by the service
    must open with the contexts used here."""
    worker_id = uuid.UUID(int=1)
    key = vault.new_worker_key(worker_id)
    identity = WorkerOut(id=worker_id, bsn="111222333", name="Proef", date_of_birth=dt.date(1970, 1, 1))
    made = encrypt_identity(vault, key, identity, None, "index", now)
    cipher = vault.worker_cipher(worker_id, key)
    tokens = (made.bsn_ct, made.name_ct, made.birth_date_ct)
    try:
        opened = [cipher.decrypt_text(c, t) for c, t in zip(_IDENTITY_CONTEXTS, tokens, strict=True)]
    except IntegrityFailure:
        opened = []
    if opened != [identity.bsn, identity.name, identity.date_of_birth.isoformat()]:
        raise RuntimeError("registry.services.workers encrypts identities differently now; update the generator")


def _write_careers(
    runtime: Runtime,
    job_ids: Strs,
    workers: _Workers,
    jobs: _Jobs,
    groups: _Groups,
    org: _Org,
    now: dt.datetime,
    bar: _Progress,
) -> None:
    n_jobs, n_members = len(jobs.worker), len(groups.member_ids)
    bar.stage("employments", n_jobs + n_members)
    for lo in range(0, n_jobs, MEASUREMENT_CHUNK):
        part = slice(lo, min(n_jobs, lo + MEASUREMENT_CHUNK))
        agency = jobs.agency[part]
        with runtime.db.write() as tx:
            tx.insert_columns(
                "employments",
                {
                    "id": job_ids[part].tolist(),
                    "worker_id": workers.ids[workers.of_job[part]].tolist(),
                    "employer_id": org.ids[jobs.employer[part]].tolist(),
                    "employment_type": jobs.kind[part].tolist(),
                    "agency_employer_id": _nullable(org.ids[np.maximum(agency, 0)], agency < 0),
                    "site_id": org.site_ids[groups.site[groups.job_seg[part]]].tolist(),
                    "job_title": jobs.job_title[part],
                    "start_date": _dates(jobs.start[part]),
                    "end_date": _nullable(jobs.end[part].astype("datetime64[D]"), jobs.open_ended[part]),
                    "created_at": [now] * (part.stop - lo),
                },
            )
        bar.advance(part.stop - lo)
    for lo in range(0, n_members, MEASUREMENT_CHUNK):
        part = slice(lo, min(n_members, lo + MEASUREMENT_CHUNK))
        with runtime.db.write() as tx:
            tx.insert_columns(
                "seg_members",
                {
                    "id": groups.member_ids[part].tolist(),
                    "seg_id": groups.ids[groups.member_seg[part]].tolist(),
                    "worker_id": workers.ids[workers.of_job[groups.member_job[part]]].tolist(),
                    "start_date": _dates(groups.member_start[part]),
                    "end_date": _nullable(groups.member_end[part].astype("datetime64[D]"), groups.member_open[part]),
                    "created_at": [now] * (part.stop - lo),
                },
            )
        bar.advance(part.stop - lo)


class _Context(NamedTuple):
    """What a chunk of measurements is drawn from."""

    org: _Org
    groups: _Groups
    exposure: _Exposure
    workers: _Workers
    substance_ids: dict[str, str]
    keys: dict[int, WrappedKey]  # by worker record, of the records with biological samples
    vault: Vault


class _Members(NamedTuple):
    """Member periods clipped to the sampling window, with a cumulative sampling weight."""

    worker: Ints  # the worker record (the SEG's employer's) of the member
    first_day: Ints
    last_day: Ints
    cumulative: Floats


def _write_measurements(
    runtime: Runtime, stream: np.random.SeedSequence, total: int, context: _Context, bar: _Progress
) -> tuple[int, int]:
    """Each measurement picks a member period (weighted by its days in 1995-2025 and the
    SEG's sampling intensity) and a day in it: the worker was employed there that day.
    Returns (biological, below LOD)."""
    groups = context.groups
    first = np.maximum(groups.member_start, _day(SAMPLING_FROM))
    last = np.minimum(groups.member_end, _day(AS_OF))
    days = np.maximum(last - first + 1, 0).astype(np.float64)
    weight = days * context.exposure.intensity[groups.member_seg]
    if weight.sum() <= 0:
        raise ValueError("no employment overlaps the sampling window; generate more measurements")
    members = _Members(context.workers.of_job[groups.member_job], first, last, np.cumsum(weight))
    per_seg = _PerSeg.of(context)
    chunks = stream.spawn((total + MEASUREMENT_CHUNK - 1) // MEASUREMENT_CHUNK)

    biological = below = 0
    bar.stage("measurements", total)
    # One thread: drawing the next chunk in a second thread while DuckDB stores this one
    # measured slower (GIL contention on the Python lists both sides build).
    for number, chunk in enumerate(chunks):
        size = min(MEASUREMENT_CHUNK, total - number * MEASUREMENT_CHUNK)
        columns, counts = _measurement_chunk(np.random.default_rng(chunk), size, context, members, per_seg)
        with runtime.db.write() as tx:
            tx.insert_columns("measurements", columns)
        biological += counts[0]
        below += counts[1]
        bar.advance(size)
    return biological, below


class _PerSeg(NamedTuple):
    """SEG attributes as arrays, so a chunk takes them by fancy indexing."""

    employer_id: Strs
    site_id: Strs
    substance_id: Strs
    unit: Strs
    analyte: npt.NDArray[np.object_]
    method: Strs
    flow: Floats
    task: Strs
    location: Strs
    lab: Strs
    lab_code: Strs
    bio_lab: Strs
    bio_lab_code: Strs

    @classmethod
    def of(cls, context: _Context) -> _PerSeg:
        groups, org = context.groups, context.org
        agents = [_AGENTS[a] for a in groups.agent]
        lab = org.lab[groups.employer]
        return cls(
            employer_id=org.ids[groups.employer],
            site_id=org.site_ids[groups.site],
            substance_id=np.array([context.substance_ids[a] for a in groups.agent]),
            unit=np.array([a.unit for a in agents]),
            analyte=np.array([a.analyte for a in agents], dtype=object),
            method=np.array([a.method for a in agents]),
            flow=np.array([a.flow_l_min for a in agents]),
            task=np.array(groups.task),
            location=np.array(groups.location),
            lab=np.array([_LABS[i][0] for i in lab.tolist()]),
            lab_code=np.array([_LABS[i][1] for i in lab.tolist()]),
            bio_lab=np.array([_BIO_LABS[i % len(_BIO_LABS)][0] for i in lab.tolist()]),
            bio_lab_code=np.array([_BIO_LABS[i % len(_BIO_LABS)][1] for i in lab.tolist()]),
        )


def _measurement_chunk(
    rng: np.random.Generator, n: int, context: _Context, members: _Members, per_seg: _PerSeg
) -> tuple[dict[str, list[Any]], tuple[int, int]]:
    groups, exposure = context.groups, context.exposure
    member = np.minimum(
        np.searchsorted(members.cumulative, rng.random(n) * members.cumulative[-1], side="right"),
        len(members.cumulative) - 1,
    )
    first, last = members.first_day[member], members.last_day[member]
    day = np.minimum(first + (rng.random(n) * (last - first + 1)).astype(np.int64), last)
    # Rows of a SEG together, by date, as a lab's reports arrive (and kinder to the indexes).
    order = np.lexsort((day, groups.member_seg[member]))
    member, day = member[order], day[order]
    seg = groups.member_seg[member]
    worker = members.worker[member]
    static = rng.random(n) < STATIC_SHARE
    bio = exposure.biological[seg] & ~static & (rng.random(n) < BIOLOGICAL_SHARE)
    personal = ~static & ~bio
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
    value = np.where(bio, exposure.bio_gm_centre[seg] * trend * _BIO_GSD**z, air_gm * np.exp(log_gsd * z))
    lod = np.where(bio, _BIO_LOD, air_gm * np.exp(log_gsd * exposure.lod_z[seg]) * 420.0 / minutes)
    below = value < lod
    value, lod = _round_significant(value, 3), _round_significant(lod, 2)

    ids = _uuids(rng, n)
    lab_seq = rng.integers(1, 1_000_000, size=n)
    years = day.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    rpe_pick = rng.integers(0, len(_RPE), size=n)
    wears = personal & (rng.random(n) < exposure.rpe_share[seg])
    codes = np.where(bio, per_seg.bio_lab_code[seg], per_seg.lab_code[seg]).tolist()
    analyte = per_seg.analyte[seg]
    analyte[bio] = _BIO_ANALYTE
    result_ct: list[bytes | None] = [None] * n
    ciphers: dict[int, Any] = {}
    values, lods, flags = value.tolist(), lod.tolist(), below.tolist()
    for i in np.flatnonzero(bio).tolist():  # under the record's key, as measurements.record_measurements does
        w = int(worker[i])
        if w not in ciphers:
            ciphers[w] = context.vault.worker_cipher(uuid.UUID(str(context.workers.ids[w])), context.keys[w])
        result_ct[i] = encrypt_result(
            ciphers[w], uuid.UUID(str(ids[i])), None if flags[i] else values[i], flags[i], lods[i] if flags[i] else None
        )
    columns: dict[str, list[Any]] = {
        "id": ids.tolist(),
        "employer_id": per_seg.employer_id[seg].tolist(),
        "sample_type": np.where(bio, "biological", np.where(static, "static_air", "personal_air")).tolist(),
        "substance_id": per_seg.substance_id[seg].tolist(),
        "worker_id": _nullable(context.workers.ids[worker], static),
        "seg_id": groups.ids[seg].tolist(),
        "site_id": per_seg.site_id[seg].tolist(),
        "value": _nullable(value, below | bio),
        "below_lod": _nullable(below, bio),
        "lod": _nullable(lod, ~below | bio),
        "result_ct": result_ct,
        "unit": np.where(bio, _BIO_UNIT, per_seg.unit[seg]).tolist(),
        "matrix": _nullable(np.full(n, _BIO_MATRIX), ~bio),
        "analyte": analyte.tolist(),
        "sampling_start": start.tolist(),
        "sampling_end": end.tolist(),
        "sampled_minutes": minutes.astype(np.float64).tolist(),
        "air_volume_l": _nullable(np.round(per_seg.flow[seg] * minutes, 1), bio),
        "method": np.where(bio, _BIO_METHOD, per_seg.method[seg]).tolist(),
        "lab": np.where(bio, per_seg.bio_lab[seg], per_seg.lab[seg]).tolist(),
        "lab_report_id": [f"{c}-{y}-{s:06d}" for c, y, s in zip(codes, years.tolist(), lab_seq.tolist(), strict=True)],
        "chain_of_custody": [None] * n,
        "task": per_seg.task[seg].tolist(),
        "location": per_seg.location[seg].tolist(),
        "rpe": _nullable(np.array([r for r, _ in _RPE])[rpe_pick], ~wears),
        "protection_factor": _nullable(np.array([f for _, f in _RPE])[rpe_pick], ~wears),
        "recorded_at": recorded.tolist(),
    }
    return columns, (int(bio.sum()), int(below.sum()))


def _issue_keys(runtime: Runtime, org: _Org, bar: _Progress) -> list[EmployerKey]:
    issued: list[EmployerKey] = []
    bar.stage("api keys", len(org.ids))
    with runtime.db.write() as tx:
        keys = org_service.create_api_keys(tx, [uuid.UUID(i) for i in org.ids.tolist()], label="synthetic")
        for key, kvk, name in zip(keys, org.kvk, org.name, strict=True):
            issued.append(EmployerKey(employer_id=key.employer_id, kvk=kvk, name=name, api_key=key.api_key))
    bar.advance(len(org.ids))
    return issued


def _audit_entry(summary: SyntheticSummary) -> AuditEntry:
    """One entry for the whole load: it adds (fictitious) personal data, so it is logged."""
    return AuditEntry(
        actor_type="admin",
        actor_id="cli:synth",
        action="create",
        resource_type="synthetic_dataset",
        resource_id=_dataset_id(summary.seed),
        purpose="administration",
        outcome="allowed",
        reason=(
            f"synthetic test data: {summary.employers} employers, {summary.persons} persons "
            f"({summary.workers} worker records), {summary.measurements} measurements"
        ),
    )


# --------------------------------------------------------------------------- helpers


def _dataset_id(seed: int) -> str:
    return f"seed:{seed}"


def _rng(stream: np.random.SeedSequence) -> np.random.Generator:
    return np.random.default_rng(stream)


def _day(day: dt.date) -> int:
    return (day - _EPOCH).days


def _dates(days: Ints) -> list[dt.date]:
    dates: list[dt.date] = days.astype("datetime64[D]").tolist()
    return dates


def _nullable(values: npt.NDArray[Any], null: Bools) -> list[Any]:
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


class _Progress:
    """One line on stderr per stage: done/total, rate and time left (redrawn on a terminal)."""

    def __init__(self, enabled: bool) -> None:
        self._enabled = enabled
        self._tty = enabled and sys.stderr.isatty()
        self._name = ""
        self._total = 0
        self._done = 0
        self._started = self._shown = time.monotonic()

    def stage(self, name: str, total: int) -> None:
        self._end_line()
        self._name, self._total, self._done = name, total, 0
        self._started = self._shown = time.monotonic()

    def advance(self, count: int) -> None:
        self._done += count
        now = time.monotonic()
        if self._enabled and (self._done >= self._total or now - self._shown >= (0.25 if self._tty else 10.0)):
            self._shown = now
            self._draw(now)

    def finish(self) -> None:
        self._end_line()

    def _draw(self, now: float) -> None:
        elapsed = max(now - self._started, 1e-9)
        rate = self._done / elapsed
        left = (self._total - self._done) / rate if rate > 0 else 0.0
        share = 100.0 * self._done / max(self._total, 1)
        line = (
            f"synth {self._name:<12} {self._done:>12,}/{self._total:,} {share:5.1f}% "
            f"{rate:>11,.0f}/s  {elapsed:6.1f}s  left {left:6.1f}s"
        )
        sys.stderr.write(("\r" + line) if self._tty else (line + "\n"))
        sys.stderr.flush()

    def _end_line(self) -> None:
        if self._tty and self._name:
            sys.stderr.write("\n")
            sys.stderr.flush()
