"""Tests of reading input arrays from the files that the command line accepts."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from kerve.cli import InputFileError, read_array


def test_npy_keeps_shape_and_dtype(tmp_path: Path) -> None:
    path = tmp_path / "rows.npy"
    expected = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.save(path, expected)

    values = read_array(path)

    assert values.dtype == np.float32
    np.testing.assert_array_equal(values, expected)


def test_npy_with_unsupported_numeric_dtype_becomes_float64(tmp_path: Path) -> None:
    path = tmp_path / "pixels.npy"
    np.save(path, np.array([[0, 255]], dtype=np.uint8))

    values = read_array(path)

    assert values.dtype == np.float64
    np.testing.assert_array_equal(values, [[0.0, 255.0]])


def test_npy_with_pickled_objects_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "objects.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)

    with pytest.raises(InputFileError, match=r"objects\.npy"):
        read_array(path)


@pytest.mark.parametrize(
    ("size", "message"),
    [(0, "the file is empty or truncated"), (20, "reading array header")],
    ids=["empty", "truncated-header"],
)
def test_npy_empty_or_truncated_rejected(
    tmp_path: Path, size: int, message: str
) -> None:
    whole = tmp_path / "whole.npy"
    np.save(whole, np.arange(100, dtype=np.float32))
    path = tmp_path / "cut.npy"
    path.write_bytes(whole.read_bytes()[:size])

    with pytest.raises(InputFileError) as raised:
        read_array(path)

    assert f"cannot read {path}" in str(raised.value)
    assert message in str(raised.value)


def test_npy_with_booleans_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "flags.npy"
    np.save(path, np.array([True, False]))

    with pytest.raises(InputFileError, match="expected numbers, found booleans"):
        read_array(path)


def test_corrupt_npy_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "broken.npy"
    path.write_bytes(b"not a numpy file")

    with pytest.raises(InputFileError, match=r"broken\.npy"):
        read_array(path)


def test_csv_without_header(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("1,2,3\n4.5,-5,6e1\n")

    values = read_array(path)

    assert values.dtype == np.float64
    np.testing.assert_array_equal(values, [[1, 2, 3], [4.5, -5, 60]])


def test_csv_header_row_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("x1,x2\n1,2\n3,4\n")

    values = read_array(path)

    np.testing.assert_array_equal(values, [[1, 2], [3, 4]])


def test_csv_single_column_keeps_two_axes(tmp_path: Path) -> None:
    path = tmp_path / "targets.csv"
    path.write_text("y\n1\n2\n3\n")

    assert read_array(path).shape == (3, 1)


def test_csv_blank_lines_and_spaces_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("\n 1 , 2\n\n3,4\n\n")

    np.testing.assert_array_equal(read_array(path), [[1, 2], [3, 4]])


def test_csv_non_numeric_cell_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("a,b\n1,2\n3,oops\n")

    with pytest.raises(
        InputFileError, match=r"line 3, column 2: 'oops' is not a number"
    ):
        read_array(path)


def test_csv_first_row_with_a_number_is_data(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("1,oops\n3,4\n")

    with pytest.raises(InputFileError, match="line 1, column 2"):
        read_array(path)


def test_csv_ragged_rows_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("1,2\n3\n")

    with pytest.raises(InputFileError, match="line 2 has 1 values, but line 1 has 2"):
        read_array(path)


@pytest.mark.parametrize(
    "text", ["", "\n\n", "x,y\n"], ids=["empty", "blank", "header-only"]
)
def test_csv_without_rows_is_rejected(tmp_path: Path, text: str) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(text)

    with pytest.raises(InputFileError, match="no rows of numbers"):
        read_array(path)


def test_json_rows(tmp_path: Path) -> None:
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([[1.5, 2], [3, 4]]))

    values = read_array(path)

    assert values.dtype == np.float64
    np.testing.assert_array_equal(values, [[1.5, 2], [3, 4]])


def test_json_integers_stay_integers(tmp_path: Path) -> None:
    path = tmp_path / "labels.json"
    path.write_text("[0, 1, 2]")

    values = read_array(path)

    assert values.dtype == np.int64
    assert values.shape == (3,)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ('{"rows": [[1]]}', "expected a JSON array of rows, got dict"),
        ("[[1, 2], [3]]", "rectangular"),
        ('[["a", "b"]]', "found strings"),
        ("[[true, false]]", "found booleans"),
        ("[[1, null]]", "null values"),
        ("[]", "contains no values"),
        ("[[1, 2]", "invalid JSON"),
    ],
    ids=["object", "ragged", "strings", "booleans", "null", "empty", "syntax"],
)
def test_bad_json_is_rejected(tmp_path: Path, document: str, message: str) -> None:
    path = tmp_path / "rows.json"
    path.write_text(document)

    with pytest.raises(InputFileError, match=message):
        read_array(path)


def test_dash_reads_json_from_stdin() -> None:
    values = read_array("-", stdin=io.StringIO("[[1, 2, 3]]"))

    np.testing.assert_array_equal(values, [[1, 2, 3]])


def test_bad_stdin_names_standard_input() -> None:
    with pytest.raises(InputFileError, match="cannot read standard input"):
        read_array("-", stdin=io.StringIO("1,2,3"))


def test_missing_file_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"missing\.csv: No such file"):
        read_array(tmp_path / "missing.csv")


def test_unsupported_suffix_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "rows.txt"
    path.write_text("1,2\n")

    with pytest.raises(InputFileError, match=r"unsupported file type \.txt; expected"):
        read_array(path)


def test_non_utf8_text_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_bytes(b"\xff\xfe1,2\n")

    with pytest.raises(InputFileError, match="not UTF-8"):
        read_array(path)
