"""Reading numeric arrays from the files that the command line accepts.

Supported are ``.npy`` (numpy's format), ``.csv`` (numbers, optionally below
one header row) and ``.json`` (an array of rows), and ``-`` for JSON on
standard input.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import TextIO

import numpy as np
import numpy.typing as npt

from kerve._tensors import SUPPORTED_DTYPES

SUPPORTED_SUFFIXES = (".npy", ".csv", ".json")
"""File name extensions that ``read_array`` reads."""


# Plain names for the values of each non-numeric numpy dtype kind, used in errors.
_NON_NUMERIC_KINDS = {
    "b": "booleans",
    "c": "complex numbers",
    "O": "null values or values of mixed types",
    "S": "strings",
    "U": "strings",
}


class InputFileError(ValueError):
    """Raised when a file cannot be read as a numeric array.

    The message names the file and, where it helps, the line and column.
    """


def read_array(
    source: str | Path, *, stdin: TextIO | None = None
) -> npt.NDArray[np.generic]:
    """Read a numeric array from a file, or JSON from standard input.

    The array keeps the shape that the file gives it, so a CSV file or a JSON
    array of rows gives shape (rows, columns), and a JSON array of numbers
    gives shape (n,). Numeric dtypes that the protocol cannot carry, such as
    uint8 or float16, are converted to float64.

    Args:
        source: Path of a ``.npy``, ``.csv`` or ``.json`` file, or ``-`` to
            read JSON from standard input.
        stdin: Stream read for ``-``; None means ``sys.stdin``.

    Returns:
        The array, with a dtype among float32, float64, int32 and int64.

    Raises:
        InputFileError: If the file is missing, of another type, or does not
            contain a non-empty rectangular array of numbers.
    """
    if str(source) == "-":
        stream = sys.stdin if stdin is None else stdin
        return _checked(_parse_json(stream.read(), "standard input"), "standard input")

    path = Path(source)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise InputFileError(
            f"cannot read {path}: unsupported file type {suffix or '(none)'}; "
            f"expected {', '.join(SUPPORTED_SUFFIXES)}, or - for JSON on "
            "standard input"
        )

    try:
        if suffix == ".npy":
            values = _load_npy(path)
        else:
            text = path.read_text(encoding="utf-8")
            parse = _parse_csv if suffix == ".csv" else _parse_json
            values = parse(text, str(path))
    except OSError as error:
        raise InputFileError(
            f"cannot read {path}: {error.strerror or error}"
        ) from error
    except UnicodeDecodeError as error:
        raise InputFileError(f"cannot read {path}: not UTF-8 text ({error})") from error
    return _checked(values, str(path))


def _load_npy(path: Path) -> npt.NDArray[np.generic]:
    try:
        # allow_pickle=False: a pickle in the file could run code.
        loaded = np.load(path, allow_pickle=False)
    except EOFError as error:
        # np.load raises EOFError for an empty file. Click would take an
        # uncaught EOFError for end of input and print only "Aborted!".
        raise InputFileError(
            f"cannot read {path}: the file is empty or truncated, expected a "
            f".npy array ({error})"
        ) from error
    except ValueError as error:
        raise InputFileError(f"cannot read {path}: {error}") from error
    if not isinstance(loaded, np.ndarray):
        raise InputFileError(f"cannot read {path}: expected one array, not an archive")
    return loaded


def _parse_csv(text: str, origin: str) -> npt.NDArray[np.generic]:
    """Parse comma-separated numbers, skipping a first row that has no number."""
    lines = [
        (number, row)
        for number, row in enumerate(csv.reader(io.StringIO(text)), start=1)
        if any(cell.strip() for cell in row)
    ]
    if lines and not any(_is_number(cell) for cell in lines[0][1]):
        lines = lines[1:]
    if not lines:
        raise InputFileError(f"cannot read {origin}: it contains no rows of numbers")

    first_number, first_row = lines[0]
    rows: list[list[float]] = []
    for number, row in lines:
        if len(row) != len(first_row):
            raise InputFileError(
                f"cannot read {origin}: line {number} has {len(row)} values, but "
                f"line {first_number} has {len(first_row)}"
            )
        rows.append(
            [
                _parse_cell(cell, origin, number, column)
                for column, cell in enumerate(row, start=1)
            ]
        )
    return np.array(rows, dtype=np.float64)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _parse_cell(cell: str, origin: str, line: int, column: int) -> float:
    try:
        return float(cell)
    except ValueError:
        raise InputFileError(
            f"cannot read {origin}: line {line}, column {column}: {cell!r} is not a "
            "number"
        ) from None


def _parse_json(text: str, origin: str) -> npt.NDArray[np.generic]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputFileError(f"cannot read {origin}: invalid JSON: {error}") from error
    if not isinstance(document, list):
        raise InputFileError(
            f"cannot read {origin}: expected a JSON array of rows, got "
            f"{type(document).__name__}"
        )
    try:
        return np.asarray(document)
    except ValueError as error:
        # numpy 2 raises ValueError for rows of different lengths.
        raise InputFileError(
            f"cannot read {origin}: the rows do not form a rectangular array ({error})"
        ) from error


def _checked(values: npt.NDArray[np.generic], origin: str) -> npt.NDArray[np.generic]:
    """Reject non-numeric and empty arrays, and cast other numeric dtypes to float64."""
    if values.dtype.kind not in "iuf":
        found = _NON_NUMERIC_KINDS.get(
            values.dtype.kind, f"values of dtype {values.dtype}"
        )
        raise InputFileError(f"cannot read {origin}: expected numbers, found {found}")
    if values.size == 0:
        raise InputFileError(f"cannot read {origin}: it contains no values")
    if values.dtype.name not in SUPPORTED_DTYPES:
        return values.astype(np.float64)
    return values
