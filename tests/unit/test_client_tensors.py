"""Tests of the numpy <-> Tensor conversion."""

from __future__ import annotations

import numpy as np
import pytest

import kerve
from kerve.v1 import kerve_pb2

SUPPORTED = ["float32", "float64", "int32", "int64"]


@pytest.mark.parametrize("dtype", SUPPORTED)
def test_round_trip_keeps_values_shape_dtype(dtype: str) -> None:
    array = (np.arange(24) - 12).reshape(2, 3, 4).astype(dtype)

    decoded = kerve.tensor_to_array(kerve.array_to_tensor(array))

    assert decoded.dtype == np.dtype(dtype)
    assert decoded.shape == (2, 3, 4)
    np.testing.assert_array_equal(decoded, array)


def test_supported_dtypes_constant_matches_protocol() -> None:
    assert list(kerve.SUPPORTED_DTYPES) == SUPPORTED


@pytest.mark.parametrize("dtype", SUPPORTED)
def test_encoding_is_little_endian_c_order(dtype: str) -> None:
    array = np.arange(6).reshape(2, 3).astype(dtype)

    tensor = kerve.array_to_tensor(array.T)

    assert list(tensor.shape) == [3, 2]
    assert tensor.dtype == dtype
    assert (
        tensor.data
        == np.ascontiguousarray(array.T).astype(f"<{array.dtype.char}").tobytes()
    )


def test_big_endian_input_is_sent_little_endian() -> None:
    array = np.array([1.5, -2.0], dtype=">f8")

    tensor = kerve.array_to_tensor(array)

    assert tensor.dtype == "float64"
    assert tensor.data == np.array([1.5, -2.0], dtype="<f8").tobytes()


def test_nested_lists_are_accepted() -> None:
    tensor = kerve.array_to_tensor([[1.0, 2.0], [3.0, 4.0]])

    assert list(tensor.shape) == [2, 2]
    assert tensor.dtype == "float64"


def test_one_dimensional_input_is_not_reshaped() -> None:
    tensor = kerve.array_to_tensor(np.zeros(5, dtype=np.float32))

    assert list(tensor.shape) == [5]


def test_decoded_array_is_writable() -> None:
    tensor = kerve.array_to_tensor(np.zeros((2, 2), dtype=np.float32))

    decoded = kerve.tensor_to_array(tensor)
    decoded[0, 0] = 1.0

    assert decoded.flags.writeable


def test_empty_batch_round_trips() -> None:
    array = np.zeros((0, 5), dtype=np.float32)

    decoded = kerve.tensor_to_array(kerve.array_to_tensor(array))

    assert decoded.shape == (0, 5)


@pytest.mark.parametrize(
    "array",
    [
        np.array([True, False]),
        np.array([1 + 2j]),
        np.array(["a", "b"]),
        np.array([object()], dtype=object),
        np.array([1, 2], dtype=np.uint8),
        np.array([1.0], dtype=np.float16),
    ],
    ids=["bool", "complex", "string", "object", "uint8", "float16"],
)
def test_unsupported_dtype_raises_type_error(array: np.ndarray) -> None:
    with pytest.raises(TypeError) as raised:
        kerve.array_to_tensor(array)

    message = str(raised.value)
    assert str(array.dtype) in message
    assert "float32, float64, int32, int64" in message


def test_byte_count_mismatch_raises() -> None:
    tensor = kerve_pb2.Tensor(shape=[2, 3], dtype="float32", data=b"\x00" * 20)

    with pytest.raises(ValueError, match="needs 24 bytes of data but contains 20"):
        kerve.tensor_to_array(tensor)


def test_unknown_dtype_on_decode_raises() -> None:
    tensor = kerve_pb2.Tensor(shape=[1], dtype="float16", data=b"\x00\x00")

    with pytest.raises(ValueError, match="dtype 'float16'"):
        kerve.tensor_to_array(tensor)


def test_negative_dimension_on_decode_raises() -> None:
    tensor = kerve_pb2.Tensor(shape=[-1, 2], dtype="float32", data=b"")

    with pytest.raises(ValueError, match="negative dimension"):
        kerve.tensor_to_array(tensor)
