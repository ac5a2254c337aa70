"""Units of measurement the registry accepts, and exact conversions between them.

Every unit belongs to one *dimension*; a value converts within its dimension by a
fixed factor to the dimension's canonical unit. The one cross-dimension conversion
the domain needs, ppm <-> mg/m3, depends on the substance's molar mass and the
reference conditions of EU/Dutch limits (20 degC, 101.3 kPa).
"""

from __future__ import annotations

import enum
from typing import Final

from schemas.text import refuse_control_characters

__all__ = [
    "AIR_DIMENSIONS",
    "BIOLOGICAL_DIMENSIONS",
    "MOLAR_VOLUME_L_PER_MOL",
    "Dimension",
    "UnitError",
    "canonical_unit",
    "convert",
    "dimension_of",
    "is_known_unit",
    "known_units",
]


class UnitError(ValueError):
    """A unit is unknown, or two units cannot be converted into each other."""


class Dimension(enum.StrEnum):
    MASS_CONCENTRATION = "mass_concentration"  # air: mg/m3
    VOLUME_FRACTION = "volume_fraction"  # air: ppm (mL/m3)
    FIBRE_CONCENTRATION = "fibre_concentration"  # air: fibres per cm3
    BIOLOGICAL_MASS_PER_VOLUME = "biological_mass_per_volume"  # blood/urine: ug/L
    BIOLOGICAL_MOLAR = "biological_molar"  # blood/urine: umol/L
    BIOLOGICAL_PER_CREATININE = "biological_per_creatinine"  # urine: ug/g creatinine


# Where a value is measured: in workplace air, or in blood or urine (biological monitoring).
AIR_DIMENSIONS: Final = frozenset(
    {Dimension.MASS_CONCENTRATION, Dimension.VOLUME_FRACTION, Dimension.FIBRE_CONCENTRATION}
)
BIOLOGICAL_DIMENSIONS: Final = frozenset(
    {
        Dimension.BIOLOGICAL_MASS_PER_VOLUME,
        Dimension.BIOLOGICAL_MOLAR,
        Dimension.BIOLOGICAL_PER_CREATININE,
    }
)


# Molar volume of an ideal gas at 20 degC and 101.325 kPa: R*T/p = 8.314462618*293.15/101.325
# = 24.055 L/mol. EU directives and the Dutch Arbeidsomstandighedenregeling state limits at
# these reference conditions (see ../shared/reference/NOTES.md item 11: factor M/24.06).
MOLAR_VOLUME_L_PER_MOL: Final = 8.314462618 * 293.15 / 101.325

# unit -> (dimension, factor to the canonical unit of that dimension)
_UNITS: Final[dict[str, tuple[Dimension, float]]] = {
    "mg/m3": (Dimension.MASS_CONCENTRATION, 1.0),
    "ug/m3": (Dimension.MASS_CONCENTRATION, 1e-3),
    "ng/m3": (Dimension.MASS_CONCENTRATION, 1e-6),
    "ppm": (Dimension.VOLUME_FRACTION, 1.0),
    "ppb": (Dimension.VOLUME_FRACTION, 1e-3),
    "f/cm3": (Dimension.FIBRE_CONCENTRATION, 1.0),
    "f/ml": (Dimension.FIBRE_CONCENTRATION, 1.0),
    "f/m3": (Dimension.FIBRE_CONCENTRATION, 1e-6),
    "ug/L": (Dimension.BIOLOGICAL_MASS_PER_VOLUME, 1.0),
    "mg/L": (Dimension.BIOLOGICAL_MASS_PER_VOLUME, 1e3),
    "ug/100mL": (Dimension.BIOLOGICAL_MASS_PER_VOLUME, 10.0),
    "ug/dL": (Dimension.BIOLOGICAL_MASS_PER_VOLUME, 10.0),
    "umol/L": (Dimension.BIOLOGICAL_MOLAR, 1.0),
    "nmol/L": (Dimension.BIOLOGICAL_MOLAR, 1e-3),
    "mmol/L": (Dimension.BIOLOGICAL_MOLAR, 1e3),
    "ug/g creatinine": (Dimension.BIOLOGICAL_PER_CREATININE, 1.0),
    "mg/g creatinine": (Dimension.BIOLOGICAL_PER_CREATININE, 1e3),
}

# Spellings seen in lab reports and official lists, mapped to the canonical spelling above.
_ALIASES: Final[dict[str, str]] = {
    "µg/m3": "ug/m3",
    "µg/m³": "ug/m3",
    "mg/m³": "mg/m3",
    "ng/m³": "ng/m3",
    "f/m³": "f/m3",
    "f/cm³": "f/cm3",
    "fibres/m3": "f/m3",
    "fibres/cm3": "f/cm3",
    "fibers/cm3": "f/cm3",
    "vezels/m3": "f/m3",
    "µg/L": "ug/L",
    "µg/l": "ug/L",
    "ug/l": "ug/L",
    "mg/l": "mg/L",
    "µg/100ml": "ug/100mL",
    "µg/100 ml": "ug/100mL",
    "ug/100ml": "ug/100mL",
    "ug/100 ml": "ug/100mL",
    "µg/dl": "ug/dL",
    "ug/dl": "ug/dL",
    "µmol/l": "umol/L",
    "umol/l": "umol/L",
    "µmol/L": "umol/L",
    "nmol/l": "nmol/L",
    "mmol/l": "mmol/L",
    "µg/g creatinine": "ug/g creatinine",
}


def canonical_unit(unit: str) -> str:
    """The registry's spelling of a unit, accepting common lab spellings."""
    try:
        written = refuse_control_characters(unit).strip()
    except ValueError as exc:
        raise UnitError(str(exc)) from None
    spelled = _ALIASES.get(written, written)
    if spelled not in _UNITS:
        raise UnitError(f"unknown unit {unit!r}; known units: {', '.join(known_units())}")
    return spelled


def is_known_unit(unit: str) -> bool:
    try:
        canonical_unit(unit)
    except UnitError:
        return False
    return True


def known_units() -> list[str]:
    return list(_UNITS)


def dimension_of(unit: str) -> Dimension:
    return _UNITS[canonical_unit(unit)][0]


def convert(value: float, from_unit: str, to_unit: str, *, molar_mass: float | None = None) -> float:
    """Convert *value* between units; ppm <-> mg/m3 needs the molar mass in g/mol.

    mg/m3 = ppm x M / Vm with Vm the molar volume at 20 degC, 101.3 kPa.
    """
    src, dst = canonical_unit(from_unit), canonical_unit(to_unit)
    src_dim, src_factor = _UNITS[src]
    dst_dim, dst_factor = _UNITS[dst]
    canonical = value * src_factor
    if src_dim != dst_dim:
        pair = {src_dim, dst_dim}
        if pair != {Dimension.MASS_CONCENTRATION, Dimension.VOLUME_FRACTION}:
            raise UnitError(f"cannot convert {src} ({src_dim}) to {dst} ({dst_dim})")
        if molar_mass is None or molar_mass <= 0:
            raise UnitError(f"converting {src} to {dst} needs the substance's molar mass")
        per_ppm = molar_mass / MOLAR_VOLUME_L_PER_MOL  # mg/m3 per ppm
        canonical = canonical * per_ppm if src_dim is Dimension.VOLUME_FRACTION else canonical / per_ppm
    return canonical / dst_factor
