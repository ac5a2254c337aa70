"""The fixed catalogue the generator draws from: substances as sampled, SBI sectors with
their firms, jobs and exposed tasks, names, cities, labs and respiratory protection.

Data only, kept apart from the drawing (plan.py) so that it reads as a table; changing an
entry changes what every seed generates.
"""

from __future__ import annotations

from typing import Final, NamedTuple

__all__ = [
    "AGENCY_SBI",
    "AGENTS",
    "BIO_ANALYTE",
    "BIO_LABS",
    "BIO_LOD",
    "BIO_MATRIX",
    "BIO_METHOD",
    "BIO_UNIT",
    "CITIES",
    "FAMILY_NAMES",
    "FIRST_NAMES",
    "LABS",
    "LEAD",
    "LOCATIONS",
    "RPE",
    "SECTORS",
    "Agent",
    "Sector",
]


class Agent(NamedTuple):
    """A substance as sampled: catalogue entry, unit, typical method and pump flow."""

    cas: str | None
    name: str  # catalogue name (substances.name)
    unit: str
    fallback_limit: float  # in `unit`, when the reference limits have none
    method: str
    flow_l_min: float
    analyte: str | None = None
    limit_names: tuple[str, ...] = ()  # names the reference limit rows use, when not the catalogue's


AGENTS: Final[dict[str, Agent]] = {
    "wood": Agent(
        None,
        "Hardwood dust",
        "mg/m3",
        2.0,
        "NEN-EN 481 inhaleerbaar stof, gravimetrisch",
        2.0,
        limit_names=("Hardwood dusts",),
    ),
    "quartz": Agent(
        "14808-60-7",
        "Quartz (SiO2; particulate - no ppm conversion)",
        "mg/m3",
        0.075,
        "NIOSH 7500 (XRD), respirabele fractie",
        2.2,
    ),
    "asbestos": Agent("1332-21-4", "Asbestos (all forms)", "f/cm3", 0.002, "NEN 2939 (SEM/EDX)", 2.0),
    "diesel": Agent(
        None,
        "Diesel engine exhaust emissions",
        "mg/m3",
        0.05,
        "NIOSH 5040 (elementair koolstof)",
        2.0,
        analyte="elemental carbon",
        limit_names=("Dieselmotoremissie (DME)",),
    ),
    "crvi": Agent(
        None,
        "Chromium (VI) compounds (as Cr)",
        "mg/m3",
        0.005,
        "ISO 16740 (IC-UV)",
        2.0,
        limit_names=("Chromium (VI) compounds (carcinogens, as Cr)",),
    ),
    "nickel": Agent(None, "Nickel compounds (as Ni)", "mg/m3", 0.05, "NIOSH 7300 (ICP-AES)", 2.0),
    "lead": Agent("7439-92-1", "Lead and its inorganic compounds", "mg/m3", 0.15, "NIOSH 7300 (ICP-AES)", 2.0),
    "cadmium": Agent("7440-43-9", "Cadmium and its inorganic compounds", "mg/m3", 0.004, "NIOSH 7300 (ICP-AES)", 2.0),
    "isocyanates": Agent(
        None, "Diisocyanates (measured as NCO)", "ug/m3", 10.0, "ISO 17734-1 (LC-MS)", 1.0, analyte="NCO"
    ),
    "flour": Agent(
        None,
        "Flour dust (meelstof)",
        "mg/m3",
        4.0,
        "NEN-EN 481 inhaleerbaar stof, gravimetrisch",
        2.0,
        limit_names=("Meelstof",),
    ),
    "formaldehyde": Agent("50-00-0", "Formaldehyde", "mg/m3", 0.15, "NIOSH 2016 (DNPH, HPLC-UV)", 0.5),
    "eto": Agent("75-21-8", "Ethylene oxide", "mg/m3", 1.8, "NIOSH 1614 (GC-ECD)", 0.1),
    "benzene": Agent("71-43-2", "Benzene", "mg/m3", 3.25, "NIOSH 1501 (actieve kool, GC-FID)", 0.2),
    "toluene": Agent("108-88-3", "Toluene", "mg/m3", 150.0, "NIOSH 1501 (actieve kool, GC-FID)", 0.2),
    "xylene": Agent("1330-20-7", "Xylene (mixed isomers)", "mg/m3", 210.0, "NIOSH 1501 (actieve kool, GC-FID)", 0.2),
    "butyl_acetate": Agent("123-86-4", "n-Butyl acetate", "mg/m3", 241.0, "NIOSH 1450 (GC-FID)", 0.2),
    "styrene": Agent("100-42-5", "Styrene", "mg/m3", 106.0, "NIOSH 1501 (actieve kool, GC-FID)", 0.2),
    "tce": Agent("79-01-6", "Trichloroethylene", "mg/m3", 54.7, "NIOSH 1022 (GC-ECD)", 0.2),
    "dcm": Agent("75-09-2", "Dichloromethane", "mg/m3", 353.0, "NIOSH 1005 (GC-FID)", 0.2),
    "butadiene": Agent("106-99-0", "1,3-Butadiene", "mg/m3", 2.2, "NIOSH 1024 (GC-FID)", 0.1),
    "vcm": Agent("75-01-4", "Vinyl chloride", "mg/m3", 2.6, "NIOSH 1007 (GC-FID)", 0.05),
    "acrylonitrile": Agent("107-13-1", "Acrylonitrile", "mg/m3", 1.0, "NIOSH 1604 (GC-NPD)", 0.1),
    "phosphine": Agent("7803-51-2", "Phosphine", "mg/m3", 0.14, "NIOSH 6002 (UV-VIS)", 0.2),
    "sulfuryl_fluoride": Agent("2699-79-8", "Sulfuryl fluoride", "mg/m3", 10.0, "NIOSH 6012 (IC)", 0.1),
    "hcn": Agent("74-90-8", "Hydrogen cyanide", "mg/m3", 1.0, "NIOSH 6010 (UV-VIS)", 0.2),
    "co": Agent("630-08-0", "Carbon monoxide", "mg/m3", 23.0, "elektrochemische sensor (direct-reading)", 0.5),
}
LEAD: Final = "lead"  # SEGs exposed to lead also give blood samples


class Sector(NamedTuple):
    """An SBI sector: what its firms are called, who works there and what they are exposed to."""

    sbi: str
    firm: str  # e.g. "Bouwbedrijf Jansen B.V."
    weight: float  # share of firms
    jobs: tuple[str, ...]
    exposures: tuple[tuple[str, str, float], ...]  # (agent, SEG task, weight)
    self_employed: float = 0.0  # weight as sector of one-person firms (zzp)


# The first sectors come first on purpose: a small data set still has lead (biological
# samples), solvents, dust and fibres.
SECTORS: Final[tuple[Sector, ...]] = (
    Sector(
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
    Sector(
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
    Sector(
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
    Sector(
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
    Sector(
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
    Sector(
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
    Sector(
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
    Sector(
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
    Sector(
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
    Sector(
        "1071",
        "Bakkerij",
        0.07,
        ("bakker", "deegmenger"),
        (
            ("flour", "Deeg maken en afwegen", 0.8),
            ("flour", "Storten van meel", 0.2),
        ),
    ),
    Sector(
        "8610",
        "Ziekenhuis",
        0.02,
        ("analist pathologie", "medewerker CSA"),
        (
            ("formaldehyde", "Weefselfixatie in de pathologie", 0.6),
            ("eto", "Sterilisatie", 0.4),
        ),
    ),
    Sector(
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
    Sector(
        "4941",
        "Transportbedrijf",
        0.04,
        ("chauffeur", "magazijnmedewerker"),
        (
            ("diesel", "Laden en lossen bij draaiende motoren", 0.7),
            ("co", "Werken in laadhallen", 0.3),
        ),
    ),
    Sector(
        "2361",
        "Betonwarenfabriek",
        0.03,
        ("productiemedewerker", "zager"),
        (
            ("quartz", "Storten en afwerken van betonwaren", 0.7),
            ("quartz", "Zagen van betonproducten", 0.3),
        ),
    ),
    Sector(
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
AGENCY_SBI: Final = "7820"

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
CITIES: Final = (
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
LOCATIONS: Final = (
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
LABS: Final = (
    ("Arbolab Nederland", "AL"),
    ("Analytisch Lab Noord", "ALN"),
    ("Meetlab Rijnmond", "MR"),
    ("Stoflab Zuid", "SZ"),
    ("Hygiëne Analysecentrum", "HAC"),
    ("Luchtlab Midden", "LM"),
)
BIO_LABS: Final = (("Klinisch Lab Zuid", "KLZ"), ("Klinisch Chemisch Lab Oost", "KCO"))
# Respiratory protection with its assigned protection factor (BS 4275 / NEN-EN 529 practice).
RPE: Final = (
    ("FFP2-masker", 10.0),
    ("FFP3-masker", 20.0),
    ("halfgelaatsmasker A2P3", 20.0),
    ("volgelaatsmasker A2P3", 40.0),
    ("aangeblazen kap TH3", 40.0),
)
# Blood lead as the lab reports it.
BIO_UNIT: Final = "ug/100mL"
BIO_MATRIX: Final = "blood"
BIO_ANALYTE: Final = "lood in bloed (PbB)"
BIO_METHOD: Final = "ICP-MS (volbloed)"
BIO_LOD: Final = 0.5  # ug/100mL
