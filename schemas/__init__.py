"""What the registry's data is: msgspec Structs, validators and units.

This package imports nothing else of the project, so every layer can depend on it.
"""

from schemas.errors import FieldError, InvalidInput, RegistryError
from schemas.validation import check, parse

__all__ = ["FieldError", "InvalidInput", "RegistryError", "check", "parse"]
