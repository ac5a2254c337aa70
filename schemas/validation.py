"""Turn untrusted JSON into schema Structs, reporting *every* bad field at once.

msgspec stops at the first error, which is right for speed but poor for a person fixing a
lab upload. `parse` first tries msgspec on the whole value (fast path); only when that
fails does it walk the fields one by one to name each problem. After the structure is
right, each Struct's own `problems()` adds the semantic rules (elfproef, CAS check digit,
end before start, ...). The rule for a field is written once, in schemas/.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator
from typing import Any, Protocol, TypeVar, get_args, get_origin

import msgspec

from schemas.errors import FieldError, InvalidInput
from schemas.text import why_refused

__all__ = ["Checked", "check", "parse", "parse_items", "semantic_problems"]

T = TypeVar("T")

_AT = re.compile(r" - at `\$(?P<path>[^`]*)`$")


class Checked(Protocol):
    """A Struct with semantic rules beyond its types and Meta constraints."""

    def problems(self) -> Iterator[FieldError]: ...


def semantic_problems(value: object, path: str = "") -> list[FieldError]:
    """The semantic rules of a Struct and of every Struct nested in it (lists included)."""
    found: list[FieldError] = []
    problems = getattr(value, "problems", None)
    if callable(problems):
        found.extend(p.under(path) if path else p for p in problems())
    if isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            child = getattr(value, name)
            if isinstance(child, msgspec.Struct):
                found.extend(semantic_problems(child, _join(path, name)))
            elif isinstance(child, list):
                for index, item in enumerate(child):
                    if isinstance(item, msgspec.Struct):
                        found.extend(semantic_problems(item, f"{_join(path, name)}[{index}]"))
    return found


def check(value: T) -> T:
    """Raise InvalidInput when an already-typed value breaks a semantic rule."""
    errors = semantic_problems(value)
    if errors:
        raise InvalidInput(errors)
    return value


def parse(type_: type[T], raw: object) -> T:
    """Convert builtins (as decoded from JSON) to `type_`, or raise InvalidInput naming
    every structural and semantic problem."""
    try:
        value = msgspec.convert(raw, type_)
    except msgspec.ValidationError:
        raise InvalidInput(list(_structural_errors(type_, raw, ""))) from None
    return check(value)


def parse_items(type_: type[T], raw: object, path: str = "items") -> tuple[list[tuple[int, T]], list[FieldError]]:
    """Parse a list item by item: (index, value) of the good items and the errors of the bad
    ones, so a caller can check the good items further and report everything at once."""
    if not isinstance(raw, list):
        return [], [FieldError(field=path, reason="expected a JSON array")]
    good: list[tuple[int, T]] = []
    errors: list[FieldError] = []
    for index, item in enumerate(raw):
        try:
            good.append((index, parse(type_, item)))
        except InvalidInput as exc:
            errors.extend(e.under(f"{path}[{index}]") for e in exc.errors)
    return good, errors


def _structural_errors(type_: Any, raw: object, path: str) -> Iterator[FieldError]:
    """Walk `raw` against `type_`, yielding an error per bad field (and semantic errors of
    nested Structs that are themselves well-formed)."""
    base = _strip_annotated(type_)
    origin = get_origin(base)
    if isinstance(base, type) and issubclass(base, msgspec.Struct):
        yield from _struct_errors(base, raw, path)
    elif origin is list and isinstance(raw, list):
        (item_type,) = get_args(base) or (Any,)
        for index, item in enumerate(raw):
            yield from _structural_errors(item_type, item, f"{path}[{index}]")
    else:
        yield from _leaf_errors(type_, raw, path)


def _struct_errors(struct: type[msgspec.Struct], raw: object, path: str) -> Iterator[FieldError]:
    if not isinstance(raw, dict):
        yield FieldError(field=path, reason="expected a JSON object")
        return
    fields = msgspec.structs.fields(struct)
    known = {f.encode_name for f in fields}
    broken = False
    if struct.__struct_config__.forbid_unknown_fields:
        for key in raw:
            if key not in known:
                broken = True
                yield FieldError(field=_join(path, str(key)), reason="unknown field")
    for f in fields:
        where = _join(path, f.encode_name)
        if f.encode_name not in raw:
            if f.required:
                broken = True
                yield FieldError(field=where, reason="required field is missing")
            continue
        errors = list(_structural_errors(f.type, raw[f.encode_name], where))
        broken = broken or bool(errors)
        yield from errors
    if not broken:
        try:
            value = msgspec.convert(raw, struct)
        except msgspec.ValidationError as exc:  # a cross-field rule raised by msgspec itself
            yield _leaf_error(exc, path)
        else:
            yield from semantic_problems(value, path)


def _leaf_errors(type_: Any, raw: object, path: str) -> Iterator[FieldError]:
    try:
        msgspec.convert(raw, type_)
    except msgspec.ValidationError as exc:
        yield _leaf_error(exc, path, raw)


def _leaf_error(exc: msgspec.ValidationError, path: str, raw: object = None) -> FieldError:
    message = str(exc)
    match = _AT.search(message)
    if match:
        message = message[: match.start()]
        suffix = match.group("path")
        path = (path + suffix).lstrip(".") if suffix else path
    return FieldError(field=path, reason=_humane(message, raw))


def _humane(message: str, raw: object) -> str:
    """msgspec's messages name types with backticks; keep them, but say 'null' for None, and
    say in words why text failed its pattern (schemas.text) rather than quote the regex."""
    if isinstance(raw, str) and message.startswith("Expected `str` matching regex"):
        return why_refused(raw)
    return message.replace("`null`", "null")


def _strip_annotated(type_: Any) -> Any:
    while get_origin(type_) is typing.Annotated:
        type_ = get_args(type_)[0]
    if isinstance(type_, types.UnionType) or get_origin(type_) is typing.Union:
        return type_
    return type_


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
