"""The version of the running server."""

from __future__ import annotations

import importlib.metadata

DISTRIBUTION = "kerve"


def kerve_version() -> str:
    """Return the installed version of the ``kerve`` distribution."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "unknown (the kerve distribution is not installed)"
