"""Conversion between ``kerve.v1.Tensor`` messages and numpy arrays."""

from __future__ import annotations

import math

import numpy as np

from kerve.v1 import kerve_pb2
from kerve_server.errors import FieldViolation, InvalidTensorError

# Wire dtype names and their little-endian numpy types. Inputs of every one
# are cast to float32, the dtype of every model's weights and outputs.
DTYPES: dict[str, np.dtype[np.generic]] = {
    "float32": np.dtype("<f4"),
    "float64": np.dtype("<f8"),
    "int32": np.dtype("<i4"),
    "int64": np.dtype("<i8"),
}
MAX_RANK = 8


def decode_tensor(
    tensor: kerve_pb2.Tensor, *, field: str, model: str | None = None
) -> np.ndarray:
    """Return the array that ``tensor`` describes, without copying its bytes.

    Raises:
        InvalidTensorError: the tensor is missing, its dtype is unsupported,
            or its shape and byte length disagree. The message starts with
            the model's name when ``model`` is given.
    """
    try:
        return _decode(tensor, field)
    except InvalidTensorError as error:
        if model is None:
            raise
        raise _invalid(field, f"model {model!r}: {error.message}") from None


def _decode(tensor: kerve_pb2.Tensor, field: str) -> np.ndarray:
    if not tensor.dtype and not tensor.shape and not tensor.data:
        raise _invalid(
            field, f"{field} is missing; send a tensor with shape, dtype and data"
        )
    dtype = DTYPES.get(tensor.dtype)
    if dtype is None:
        supported = ", ".join(DTYPES)
        raise _invalid(
            field,
            f"{field} has unsupported dtype {tensor.dtype!r}; "
            f"expected one of {supported}",
        )
    shape = tuple(int(d) for d in tensor.shape)
    if len(shape) > MAX_RANK or any(d < 0 for d in shape):
        raise _invalid(
            field,
            f"{field} has invalid shape {list(shape)}; expected at most {MAX_RANK} "
            "dimensions, none negative",
        )
    expected = math.prod(shape) * dtype.itemsize
    if expected != len(tensor.data):
        raise _invalid(
            field,
            f"{field} has shape {list(shape)} and dtype {tensor.dtype}, which need "
            f"{expected:,} bytes, but {len(tensor.data):,} bytes were sent",
        )
    return np.frombuffer(tensor.data, dtype=dtype).reshape(shape)


def encode_tensor(array: np.ndarray) -> kerve_pb2.Tensor:
    """Return a float32 tensor message holding ``array``."""
    values = np.ascontiguousarray(array, dtype="<f4")
    return kerve_pb2.Tensor(shape=values.shape, dtype="float32", data=values.tobytes())


def _invalid(field: str, message: str) -> InvalidTensorError:
    return InvalidTensorError(message, violations=[FieldViolation(field, message)])
