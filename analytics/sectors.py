"""Sectors: the SBI section (A-U) of an SBI code, the level at which statistics about
employers are published without pointing at one firm.

SBI 2008 (CBS, Standaard Bedrijfsindeling) follows NACE Rev. 2 down to its 2-digit
divisions, so the section of a code is that of its first two digits. Source: Eurostat,
"NACE Rev. 2 - Statistical classification of economic activities in the European
Community", Methodologies and Working Papers, 2008, ISBN 978-92-79-04741-1, structure
table pp. 61-90; CBS, "Standaard Bedrijfsindeling 2008, versie 2018", section overview.
(SBI 2025 / NACE Rev. 2.1 regroups some divisions; codes here are SBI 2008.)
"""

from __future__ import annotations

import pyarrow as pa

__all__ = ["SECTION_NAMES", "section_of", "sections_table"]

# Section letter: (first division, last division), inclusive.
_SECTION_DIVISIONS: dict[str, tuple[int, int]] = {
    "A": (1, 3),
    "B": (5, 9),
    "C": (10, 33),
    "D": (35, 35),
    "E": (36, 39),
    "F": (41, 43),
    "G": (45, 47),
    "H": (49, 53),
    "I": (55, 56),
    "J": (58, 63),
    "K": (64, 66),
    "L": (68, 68),
    "M": (69, 75),
    "N": (77, 82),
    "O": (84, 84),
    "P": (85, 85),
    "Q": (86, 88),
    "R": (90, 93),
    "S": (94, 96),
    "T": (97, 98),
    "U": (99, 99),
}

SECTION_NAMES: dict[str, str] = {
    "A": "Landbouw, bosbouw en visserij",
    "B": "Delfstoffenwinning",
    "C": "Industrie",
    "D": "Energievoorziening",
    "E": "Waterbedrijven en afvalbeheer",
    "F": "Bouwnijverheid",
    "G": "Handel",
    "H": "Vervoer en opslag",
    "I": "Logies-, maaltijd- en drankverstrekking",
    "J": "Informatie en communicatie",
    "K": "Financiële dienstverlening",
    "L": "Verhuur van en handel in onroerend goed",
    "M": "Specialistische zakelijke diensten",
    "N": "Verhuur en overige zakelijke diensten",
    "O": "Openbaar bestuur en overheidsdiensten",
    "P": "Onderwijs",
    "Q": "Gezondheids- en welzijnszorg",
    "R": "Cultuur, sport en recreatie",
    "S": "Overige dienstverlening",
    "T": "Huishoudens als werkgever",
    "U": "Extraterritoriale organisaties",
}


def section_of(sbi_code: str) -> str | None:
    """The section letter of an SBI code (digits only, as schemas.identifiers stores it)."""
    if len(sbi_code) < 2 or not sbi_code[:2].isdigit():
        return None
    division = int(sbi_code[:2])
    return next((s for s, (low, high) in _SECTION_DIVISIONS.items() if low <= division <= high), None)


def sections_table() -> pa.Table:
    """(division '01'..'99', section letter) for every division that has a section, for SQL joins."""
    divisions = [f"{d:02d}" for d in range(1, 100)]
    pairs = [(d, section_of(d)) for d in divisions]
    known = [(d, s) for d, s in pairs if s is not None]
    return pa.table({"division": [d for d, _ in known], "section": [s for _, s in known]})
