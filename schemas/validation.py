"""Turn untrusted JSON into schema Structs, reporting *every* bad field at once.

msgspec stops at the first error, which is right for speed but poor for a person fixing a
lab upload. `parse` first tries msgspec on the whole value (fast path); only when that
fails does it walk the fields one by one to name each problem. After the structure is
right, each Struct's own `problems()` adds the semantic rules (elfproef, CAS check digit,
end before start, ...). The rule for a field is written once, in schemas/.

A batch (`decode_batch`) is decoded by msgspec in one go; only when that fails are its items
read one by one, and then column by column, so that every bad item is counted however many
there are, with a bounded answer (`BatchErrors`: the first MAX_LISTED_ERRORS listed) in time
linear in the body.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Generic, Protocol, TypeVar, get_args, get_origin

import msgspec
import polars as pl

from schemas.errors import FieldError, InvalidInput
from schemas.text import why_refused

__all__ = [
    "MAX_LISTED_ERRORS",
    "BatchErrors",
    "Checked",
    "DecodedBatch",
    "check",
    "decode_batch",
    "not_json",
    "parse",
    "parse_items",
    "semantic_problems",
]

T = TypeVar("T")
S = TypeVar("S", bound=msgspec.Struct)

# A bad batch's answer lists its first 1,000 errors (in item order) and counts the rest: the
# answer stays far below 1 MiB (a field path or reason that echoes the request is cut to
# _MAX_TEXT characters) and quick to make, however many items are bad.
MAX_LISTED_ERRORS = 1_000
_MAX_TEXT = 200
_CHUNK = 64  # items converted at once; only a chunk that fails is converted item by item
ERROR_SCHEMA = {"index": pl.Int64, "field": pl.String, "reason": pl.String, "rank": pl.Int64}

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


def not_json() -> InvalidInput:
    """The body did not decode as JSON (as Litestar's own refusal says it, problems.py)."""
    return InvalidInput([FieldError(field="", reason="body is not valid JSON")], detail="body is not valid JSON")


class BatchErrors:
    """The errors of a batch, each under its item's index (-1: the batch's own fields): every
    error counted, the first MAX_LISTED_ERRORS in item order kept to be listed.

    Errors come from Python one at a time (`add`, or `count` once enough are listed) or from
    vectorised rules as a frame (`add_frame`: index, field, reason, rank; the rank orders one
    item's errors of the same field as the rule that found them)."""

    def __init__(self) -> None:
        self._index: list[int] = []
        self._field: list[str] = []
        self._reason: list[str] = []
        self._frames: list[pl.DataFrame] = []
        self._counted = 0
        self._counted_items: set[int] = set()

    def add(self, index: int, field: str, reason: str) -> None:
        self._index.append(index)
        self._field.append(field)
        self._reason.append(reason)

    def count(self, index: int, errors: int = 1) -> None:
        """Errors of item `index` that cannot be among the listed ones: counted only."""
        self._counted += errors
        self._counted_items.add(index)

    def add_frame(self, frame: pl.DataFrame) -> None:
        if frame.height:
            self._frames.append(frame.select(pl.col(name).cast(kind) for name, kind in ERROR_SCHEMA.items()))

    def add_errors(self, errors: Iterable[FieldError]) -> None:
        """Errors named by their full path; items[i]... belong to item i."""
        for error in errors:
            self.add(_item_index(error.field), error.field, error.reason)

    def __bool__(self) -> bool:
        return bool(self._index or self._counted or self._frames)

    def bad_items(self) -> set[int]:
        """The indexes of the items with at least one error."""
        bad = {i for i in self._index if i >= 0} | self._counted_items
        for frame in self._frames:
            bad.update(frame.get_column("index").filter(frame.get_column("index") >= 0).unique().to_list())
        return bad

    def merged(self, other: BatchErrors) -> BatchErrors:
        both = BatchErrors()
        for part in (self, other):
            both._index += part._index
            both._field += part._field
            both._reason += part._reason
            both._frames += part._frames
            both._counted += part._counted
            both._counted_items |= part._counted_items
        return both

    def invalid_input(self, noun: str = "items") -> InvalidInput:
        """The answer: the first MAX_LISTED_ERRORS errors by item and field, with the totals."""
        listed = pl.DataFrame(
            {"index": self._index, "field": self._field, "reason": self._reason, "rank": range(len(self._index))},
            schema=ERROR_SCHEMA,
        )
        every = pl.concat([listed, *self._frames]) if self._frames else listed
        total = every.height + self._counted
        items = len(self.bad_items())
        first = every.sort(["index", "field", "rank"]).head(MAX_LISTED_ERRORS)
        errors = [
            FieldError(field=_clip(field), reason=_clip(reason))
            for field, reason in zip(first.get_column("field"), first.get_column("reason"), strict=True)
        ]
        shown = "" if len(errors) == total else f"; the first {len(errors):,} are listed"
        what = f" in {items:,} of the {noun}" if items else ""
        return InvalidInput(
            errors,
            detail=f"{total:,} error(s){what}; nothing was stored{shown}",
            total_errors=total,
            invalid_items=items,
        )


def _item_index(field: str) -> int:
    if not field.startswith("items["):
        return -1
    index = field.removeprefix("items[").split("]", 1)[0]
    return int(index) if index.isascii() and index.isdecimal() else -1


def _clip(text: str) -> str:
    """A field path or reason that echoes the request (an unknown key, an enum value) is cut
    short: the answer stays bounded whatever a client sends."""
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "\u2026"


class DecodedBatch(Generic[T]):
    """A batch as decoded: the items that fit their type, with their indexes in the request,
    how many items the request held, and the errors of the others."""

    def __init__(self, items: list[T], positions: list[int], size: int, errors: BatchErrors) -> None:
        self.items = items
        self.positions = positions
        self.size = size
        self.errors = errors


def decode_batch(
    body: bytes, batch_type: type[Any], item_type: type[S], *, max_items: int, noun: str, field: str = "items"
) -> DecodedBatch[S]:
    """Decode a JSON batch `{field: [...]}` of `item_type`: with `batch_type` in one go when
    every item fits (the fast path), else item by item, naming every bad field of every bad
    item (structure only: the caller checks the items' own rules over the good ones). Raises
    InvalidInput when the body is no JSON or holds no array of 1 to `max_items` items."""
    try:
        batch = msgspec.json.decode(body, type=batch_type)
    except msgspec.ValidationError:
        pass
    except msgspec.DecodeError:
        raise not_json() from None
    else:
        items: list[S] = getattr(batch, field)
        return DecodedBatch(items, list(range(len(items))), len(items), BatchErrors())
    try:
        raw = msgspec.json.decode(body)
    except msgspec.DecodeError:
        raise not_json() from None
    raw_items = raw.get(field) if isinstance(raw, dict) else None
    if not isinstance(raw, dict) or not isinstance(raw_items, list) or not 1 <= len(raw_items) <= max_items:
        raise InvalidInput([FieldError(field=field, reason=f"an array of 1 to {max_items} {noun}")])
    errors = BatchErrors()
    known = {f.encode_name for f in msgspec.structs.fields(batch_type)}
    for key in raw:
        if key not in known:
            errors.add(-1, str(key), "unknown field")
    broken = _item_errors(item_type, raw_items, errors, field)
    fitting = [i for i in range(len(raw_items)) if i not in broken]
    good, positions, bad = _convert_items(item_type, raw_items, fitting)
    for i in bad:  # every field fits, yet the item does not: a rule across fields
        errors.add_errors(_struct_errors(item_type, raw_items[i], f"{field}[{i}]"))
    return DecodedBatch(good, positions, len(raw_items), errors)


def _convert_items(
    item_type: type[S], raw_items: list[Any], indexes: list[int]
) -> tuple[list[S], list[int], list[int]]:
    """Of these items, those that convert (and their indexes), and the indexes of the others."""
    good: list[S] = []
    positions: list[int] = []
    bad: list[int] = []
    for start in range(0, len(indexes), _CHUNK):
        chunk = indexes[start : start + _CHUNK]
        try:
            good.extend(msgspec.convert([raw_items[i] for i in chunk], list[item_type]))  # type: ignore[valid-type]
            positions.extend(chunk)
            continue
        except msgspec.ValidationError:
            pass
        for i in chunk:
            try:
                good.append(msgspec.convert(raw_items[i], item_type))
                positions.append(i)
            except msgspec.ValidationError:
                bad.append(i)
    return good, positions, bad


class _Listing:
    """One pass over bad items in index order: lists errors until MAX_LISTED_ERRORS are listed
    and the item then being read is done, and only counts after that. (If one pass alone has
    that many errors up to item k, no error of a later item is among the first listed.)"""

    def __init__(self, errors: BatchErrors) -> None:
        self.errors = errors
        self.listed = 0
        self.last: int | None = None

    def wants(self, index: int) -> bool:
        return self.last is None or index <= self.last

    def add(self, index: int, field: str, reason: str) -> None:
        if not self.wants(index):
            self.errors.count(index)
            return
        self.errors.add(index, field, reason)
        self.listed += 1
        if self.last is None and self.listed >= MAX_LISTED_ERRORS:
            self.last = index


def _item_errors(item_type: type[Any], raw_items: list[Any], errors: BatchErrors, path: str) -> set[int]:
    """Every structural error of the items, read field by field over all of them (a field
    that fits in every item costs one msgspec call per chunk); the indexes of the items with
    one. Linear in the body: a bad value is explained once however often it recurs."""
    fields = msgspec.structs.fields(item_type)
    known = {f.encode_name for f in fields}
    objects: list[int] = []
    broken: set[int] = set()
    listing = _Listing(errors)
    for i, raw in enumerate(raw_items):
        if not isinstance(raw, dict):
            broken.add(i)
            listing.add(i, f"{path}[{i}]", "expected a JSON object")
            continue
        objects.append(i)
    if item_type.__struct_config__.forbid_unknown_fields:
        listing = _Listing(errors)
        for i in objects:
            raw = raw_items[i]
            if not known.issuperset(raw):
                broken.add(i)
                if not listing.wants(i):  # counted by set arithmetic, in C
                    errors.count(i, len(raw.keys() - known))
                    continue
                for key in raw:
                    if key not in known:
                        listing.add(i, _under(f"{path}[{i}]", str(key)), "unknown field")
    for f in fields:
        name = f.encode_name
        present = [i for i in objects if name in raw_items[i]]
        values = [raw_items[i][name] for i in present]
        bad = [(i, value) for i, value, ok in zip(present, values, _valid(f.type, values), strict=True) if not ok]
        missing = sorted(set(objects).difference(present)) if f.required and len(present) < len(objects) else []
        if bad or missing:
            broken.update(i for i, _ in bad)
            broken.update(missing)
            _list_field_errors(f, bad, missing, errors, path)
    return broken


def _list_field_errors(
    f: msgspec.structs.FieldInfo, bad: list[tuple[int, object]], missing: list[int], errors: BatchErrors, path: str
) -> None:
    """One field's errors in item order: missing, or a value that does not fit its type."""
    listing = _Listing(errors)
    memo: dict[tuple[type, object], list[FieldError]] = {}
    leaf = _is_leaf(f.type)
    found: list[tuple[int, object, bool]] = sorted(
        [(i, value, True) for i, value in bad] + [(i, None, False) for i in missing], key=lambda e: e[0]
    )
    for i, value, present in found:
        if not present:
            listing.add(i, _under(f"{path}[{i}]", f.encode_name), "required field is missing")
        elif leaf and not listing.wants(i):
            errors.count(i)
        else:
            for error in _value_errors(f.type, value, f.encode_name, memo):
                listing.add(i, _under(f"{path}[{i}]", error.field), error.reason)


_BOXES: dict[object, tuple[type[msgspec.Struct], type[msgspec.Struct]]] = {}


def _valid(type_: Any, values: Sequence[object]) -> list[bool]:
    """Whether each value converts to `type_`: a chunk at once, one by one only where it fails.
    (`type_` is boxed in Structs made once: msgspec finds a Struct's type at once, whereas an
    Annotated or union type is hashed by `typing` on every call.)"""
    boxes = _BOXES.get(type_)
    if boxes is None:
        boxes = _BOXES[type_] = (
            msgspec.defstruct("_One", [("v", type_)]),
            msgspec.defstruct("_Many", [("v", list[type_])]),
        )
    one, many = boxes
    valid: list[bool] = []
    for start in range(0, len(values), _CHUNK):
        chunk = values[start : start + _CHUNK]
        try:
            msgspec.convert({"v": chunk}, many)
            valid.extend([True] * len(chunk))
            continue
        except msgspec.ValidationError:
            pass
        for value in chunk:
            try:
                msgspec.convert({"v": value}, one)
                valid.append(True)
            except msgspec.ValidationError:
                valid.append(False)
    return valid


def _value_errors(
    type_: Any, value: object, name: str, memo: dict[tuple[type, object], list[FieldError]]
) -> list[FieldError]:
    """The errors of one bad value, remembered per value: a batch repeating one bad value
    is explained once."""
    if value is None or isinstance(value, (str, int, float, bool)):
        key = (type(value), value)
        found = memo.get(key)
        if found is None:
            found = memo[key] = list(_structural_errors(type_, value, name))
        return found
    return list(_structural_errors(type_, value, name))


def _is_leaf(type_: Any) -> bool:
    """Whether a bad value of `type_` is exactly one error (no Struct or list to walk into)."""
    base = _strip_annotated(type_)
    return not (isinstance(base, type) and issubclass(base, msgspec.Struct)) and get_origin(base) is not list


def _under(prefix: str, field: str) -> str:
    return FieldError(field=field, reason="").under(prefix).field
