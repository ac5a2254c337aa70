"""The registry's one error hierarchy.

Every package raises these; the API turns them into RFC 9457 problem+json in one
place (registry/api/problems.py) and the CLI into a one-line message. They live in
schemas/ because it is the bottom layer that every other package may import.
"""

from __future__ import annotations

import msgspec

__all__ = [
    "ConcurrentWrite",
    "Conflict",
    "FieldError",
    "Forbidden",
    "IntegrityFailure",
    "InvalidInput",
    "KeyUnavailable",
    "NotFound",
    "PayloadTooLarge",
    "RegistryError",
    "Unauthenticated",
]


class FieldError(msgspec.Struct, frozen=True, gc=False):  # two strings: never in a reference cycle
    """One bad field: where it is (a JSON-pointer-like path such as items[3].bsn) and why."""

    field: str
    reason: str

    def under(self, prefix: str) -> FieldError:
        """The same error seen from an enclosing object (e.g. item 3 of a batch)."""
        joined = prefix if not self.field else f"{prefix}.{self.field}"
        return FieldError(field=joined.replace(".[", "["), reason=self.reason)


class RegistryError(Exception):
    """Base of everything the registry raises on purpose. `slug` names the problem type."""

    status: int = 500
    slug: str = "internal-error"
    title: str = "Internal error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(RegistryError):
    """Input broke one or more rules; `errors` names every bad field, or, for a batch, the
    first of them: then `total_errors` counts them all and `invalid_items` the bad items."""

    status = 422
    slug = "invalid-input"
    title = "Invalid input"

    def __init__(
        self,
        errors: list[FieldError],
        detail: str | None = None,
        *,
        total_errors: int | None = None,
        invalid_items: int | None = None,
    ) -> None:
        self.errors = errors
        self.total_errors = total_errors
        self.invalid_items = invalid_items
        fields = ", ".join(e.field or "(body)" for e in errors[:5])
        more = f" and {len(errors) - 5} more" if len(errors) > 5 else ""
        super().__init__(detail or f"{len(errors)} invalid field(s): {fields}{more}")


class Unauthenticated(RegistryError):
    status = 401
    slug = "unauthenticated"
    title = "Authentication required"


class Forbidden(RegistryError):
    status = 403
    slug = "forbidden"
    title = "Not allowed"


class NotFound(RegistryError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(RegistryError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class ConcurrentWrite(Conflict):
    """Another process committed a clashing row first; the same work, retried, sees it."""

    slug = "concurrent-write"
    title = "Concurrent write"


class PayloadTooLarge(RegistryError):
    status = 413
    slug = "payload-too-large"
    title = "Payload too large"


class KeyUnavailable(RegistryError):
    """A key needed to read data is missing: wrong key file, or a worker's key was shredded."""

    status = 500
    slug = "key-unavailable"
    title = "Key unavailable"


class IntegrityFailure(RegistryError):
    """Ciphertext or a hash chain did not verify: tampering, corruption or the wrong key."""

    status = 500
    slug = "integrity-failure"
    title = "Integrity check failed"
