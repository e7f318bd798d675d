"""The one rule for model names.

A name becomes a folder name in the model store, so the pattern admits only
characters that are safe in a path on every common file system: lowercase
ASCII letters, digits, ``-`` and ``_``, starting with a letter or a digit.
That excludes path separators, ``..``, leading dots, control characters and
non-ASCII look-alikes.
"""

from __future__ import annotations

import re

from kerve_server.errors import FieldViolation, InvalidNameError

MAX_NAME_LENGTH = 63
NAME_PATTERN = re.compile(rf"[a-z0-9][a-z0-9_-]{{0,{MAX_NAME_LENGTH - 1}}}")
NAME_RULE = (
    f"1 to {MAX_NAME_LENGTH} characters: lowercase ASCII letters, digits, "
    "'-' and '_', starting with a letter or a digit"
)


def validate_model_name(name: str) -> str:
    """Return ``name`` unchanged if it is a valid model name.

    Raises:
        InvalidNameError: the name does not match ``NAME_PATTERN``.
    """
    if NAME_PATTERN.fullmatch(name):
        return name
    shown = ascii(name) if len(name) <= 80 else f"{name[:80]!a}..."
    message = f"invalid model name {shown}: expected {NAME_RULE}"
    if len(name) > MAX_NAME_LENGTH:
        message += f", received {len(name)} characters"
    raise InvalidNameError(
        message, violations=[FieldViolation("name", f"expected {NAME_RULE}")]
    )
