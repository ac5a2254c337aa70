"""Validators for the Dutch and chemical identifiers the registry keys on.

Each returns the canonical spelling or raises ValueError with a reason a person can act on.
"""

from __future__ import annotations

import functools
import re

from schemas.text import refuse_control_characters

__all__ = ["normalise_bsn", "normalise_cas", "normalise_ec", "normalise_kvk", "normalise_sbi"]

# re.ASCII: \d is 0-9 only. Unicode's other digits (fullwidth, Arabic-Indic, ...) would
# otherwise pass, and int() reads them, so one BSN could be spelled many ways and one person
# registered twice. They are refused, never silently translated.
_DIGITS = re.compile(r"\d+", re.ASCII)


def _stripped(value: str) -> str:
    """Surrounding spaces go, but not control characters: strip() would drop a trailing tab,
    line feed or NEL (U+0085) and accept "12345678\\n" as a KvK number."""
    return refuse_control_characters(value).strip()


def normalise_bsn(value: str) -> str:
    """BSN: 9 digits passing the elfproef 9*d1 + 8*d2 + ... + 2*d8 - 1*d9 = 0 (mod 11).

    Spaces and dots (as printed on ID documents) are allowed and removed; 8-digit BSNs
    are historically padded with a leading zero.
    """
    digits = value.replace(" ", "").replace(".", "")
    if not _DIGITS.fullmatch(digits):
        raise ValueError("a BSN consists of digits only (0-9)")
    if len(digits) == 8:
        digits = "0" + digits
    if len(digits) != 9:
        raise ValueError("a BSN has 9 digits")
    if digits == "000000000":
        raise ValueError("000000000 is not a BSN")
    weights = (9, 8, 7, 6, 5, 4, 3, 2, -1)
    if sum(w * int(d) for w, d in zip(weights, digits, strict=True)) % 11 != 0:
        raise ValueError("not a valid BSN (fails the elfproef check)")
    return digits


def normalise_kvk(value: str) -> str:
    """KvK number: exactly 8 digits (the Chamber of Commerce uses no check digit)."""
    digits = _stripped(value)
    if not _DIGITS.fullmatch(digits) or len(digits) != 8:
        raise ValueError("a KvK number has exactly 8 digits (0-9)")
    if digits == "00000000":
        raise ValueError("00000000 is not a KvK number")
    return digits


_CAS = re.compile(r"(\d{2,7})-(\d{2})-(\d)", re.ASCII)


@functools.lru_cache(maxsize=4096)
def normalise_cas(value: str) -> str:
    """CAS registry number NNNNNNN-NN-N; the check digit is the weighted sum of the other
    digits, right to left with weights 1, 2, 3, ..., mod 10 (CAS, 'CAS Registry Number')."""
    match = _CAS.fullmatch(_stripped(value))
    if not match:
        raise ValueError("a CAS number looks like 71-43-2: 2-7 digits (0-9), 2 digits, 1 check digit")
    body = match.group(1) + match.group(2)
    check = int(match.group(3))
    total = sum(i * int(d) for i, d in enumerate(reversed(body), start=1))
    if total % 10 != check:
        raise ValueError(f"CAS check digit should be {total % 10}, not {check}")
    return f"{int(match.group(1))}-{match.group(2)}-{check}"


_EC = re.compile(r"(\d{3})-(\d{3})-(\d)", re.ASCII)


def normalise_ec(value: str) -> str:
    """EC number NNN-NNN-R; R = sum of digit*position (1..6) mod 11 (ECHA). Remainder 10
    is never issued."""
    match = _EC.fullmatch(_stripped(value))
    if not match:
        raise ValueError("an EC number looks like 200-753-7: 3 digits, 3 digits, 1 check digit")
    body = match.group(1) + match.group(2)
    check = int(match.group(3))
    remainder = sum(i * int(d) for i, d in enumerate(body, start=1)) % 11
    if remainder != check:
        raise ValueError(f"EC check digit should be {remainder}, not {check}")
    return match.group(0)


_SBI = re.compile(r"\d{2}(\.?\d{1,3})?", re.ASCII)


def normalise_sbi(value: str) -> str:
    """SBI (Standaard Bedrijfsindeling, CBS) code: 2 to 5 digits, dots allowed: 25.11 -> 2511."""
    code = _stripped(value)
    if not _SBI.fullmatch(code):
        raise ValueError("an SBI code has 2 to 5 digits, e.g. 2511 or 25.11")
    return code.replace(".", "")
