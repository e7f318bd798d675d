"""Conversion between numpy arrays and ``kerve.v1.Tensor`` messages.

A tensor travels as its shape, the numpy name of its dtype and its raw bytes,
little-endian and in C (row-major) order, so encoding costs one copy at most.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from kerve.v1 import kerve_pb2

# Wire byte order for each dtype name that the protocol allows.
_WIRE_DTYPES: dict[str, np.dtype[np.generic]] = {
    "float32": np.dtype("<f4"),
    "float64": np.dtype("<f8"),
    "int32": np.dtype("<i4"),
    "int64": np.dtype("<i8"),
}

SUPPORTED_DTYPES: tuple[str, ...] = tuple(_WIRE_DTYPES)
"""Names of the dtypes that a ``Tensor`` message can carry."""


def array_to_tensor(array: npt.ArrayLike) -> kerve_pb2.Tensor:
    """Encode an array as a ``Tensor`` message.

    The array keeps its shape and dtype: nothing is reshaped, so a batch of
    inputs must already have its batch axis.

    Args:
        array: A numpy array or anything ``np.asarray`` accepts, such as nested
            lists of numbers.

    Returns:
        The tensor, with the data in little-endian C order.

    Raises:
        TypeError: If the dtype is not one of float32, float64, int32 or int64.
            Bool, complex, object and string arrays are rejected rather than
            cast, because a silent cast would hide a mistake in the caller.
    """
    values = np.asarray(array)
    wire_dtype = _WIRE_DTYPES.get(values.dtype.name)
    if wire_dtype is None:
        raise TypeError(
            f"cannot encode an array of dtype {values.dtype}: supported dtypes are "
            f"{', '.join(SUPPORTED_DTYPES)}. Convert it first, for example with "
            "array.astype('float32')."
        )

    data = np.ascontiguousarray(values, dtype=wire_dtype).tobytes()
    return kerve_pb2.Tensor(shape=values.shape, dtype=values.dtype.name, data=data)


def tensor_to_array(tensor: kerve_pb2.Tensor) -> npt.NDArray[np.generic]:
    """Decode a ``Tensor`` message into a numpy array.

    Args:
        tensor: The message, as received from the server.

    Returns:
        A writable array in the machine's native byte order, with the tensor's
        shape and dtype.

    Raises:
        ValueError: If the dtype is not supported, a dimension is negative, or
            the number of bytes does not match the shape and dtype.
    """
    wire_dtype = _WIRE_DTYPES.get(tensor.dtype)
    if wire_dtype is None:
        raise ValueError(
            f"cannot decode a tensor of dtype {tensor.dtype!r}: supported dtypes are "
            f"{', '.join(SUPPORTED_DTYPES)}"
        )
    shape = tuple(tensor.shape)
    if any(dimension < 0 for dimension in shape):
        raise ValueError(f"cannot decode a tensor of shape {shape}: negative dimension")

    expected_bytes = math.prod(shape) * wire_dtype.itemsize
    if len(tensor.data) != expected_bytes:
        raise ValueError(
            f"cannot decode a tensor of shape {shape} and dtype {tensor.dtype}: it "
            f"needs {expected_bytes} bytes of data but contains {len(tensor.data)}"
        )

    values = np.frombuffer(tensor.data, dtype=wire_dtype).reshape(shape)
    # astype copies, so the result is writable and no longer shares the
    # message's immutable bytes.
    return values.astype(wire_dtype.newbyteorder("="))
