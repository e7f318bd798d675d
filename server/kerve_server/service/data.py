"""Checks that inputs and targets fit a model, and their conversion to float32.

Every check runs before any weight changes, and every error message names the
model, the shape or value received and what is expected.
"""

from __future__ import annotations

import numpy as np

from kerve_server.errors import FieldViolation, InvalidDataError, InvalidTensorError
from kerve_server.specs import ModelSpec


def _shape(shape: tuple[int, ...]) -> str:
    return (
        "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    )


def batch_shape(spec: ModelSpec) -> str:
    """Return the expected input shape with a batch axis, for messages."""
    return _shape(("batch", *spec.input_shape))  # type: ignore[arg-type]


def check_inputs(
    model: str, spec: ModelSpec, inputs: np.ndarray, *, field: str
) -> np.ndarray:
    """Return ``inputs`` as float32 if their shape fits the model.

    Raises:
        InvalidTensorError: the batch axis is missing, the row shape differs
            from the input shape, or a value is NaN or Inf.
    """
    expected = tuple(spec.input_shape)
    received = tuple(inputs.shape)
    if received == expected:
        raise _tensor_error(
            field,
            f"model {model!r} expects inputs of shape {batch_shape(spec)}, "
            f"received {_shape(received)}, which has no batch axis; send one "
            f"row as shape {_shape((1, *expected))}",
        )
    if inputs.ndim != len(expected) + 1 or received[1:] != expected:
        raise _tensor_error(
            field,
            f"model {model!r} expects inputs of shape {batch_shape(spec)}, "
            f"received {_shape(received)}",
        )
    with np.errstate(over="ignore"):
        # Values beyond float32's range become Inf, which the check rejects.
        converted = inputs.astype(np.float32, copy=False)
    _check_finite(model, converted, field, original=inputs)
    return converted


def check_targets(
    model: str, spec: ModelSpec, targets: np.ndarray, rows: int, *, field: str = "y"
) -> np.ndarray:
    """Return training or evaluation targets shaped as the model's output.

    A target of shape ``(rows,)`` is accepted for a one-unit output. For
    sparse categorical crossentropy, targets are class indices of shape
    ``(rows,)`` (with the output's leading axes).

    Raises:
        InvalidDataError: the row count, shape or values do not fit.
    """
    if targets.ndim == 0 or targets.shape[0] != rows:
        received = _shape(tuple(targets.shape))
        raise _data_error(
            field,
            f"model {model!r}: x has {rows} rows but y has shape {received}; "
            "x and y need the same number of rows",
        )
    output = spec.output_shape
    if spec.compile.loss == "sparse_categorical_crossentropy":
        return _sparse_labels(model, spec, targets, field)
    if targets.shape == (rows,) and output == (1,):
        targets = targets.reshape(rows, 1)
    expected = (rows, *output)
    if targets.shape != expected:
        raise _data_error(
            field,
            f"model {model!r} outputs shape {_shape(('rows', *output))} "  # type: ignore[arg-type]
            f"for loss {spec.compile.loss!r}, so y must have shape "
            f"{_shape(expected)}, received {_shape(tuple(targets.shape))}",
        )
    with np.errstate(over="ignore"):
        converted = targets.astype(np.float32, copy=False)
    _check_finite(model, converted, field, error=InvalidDataError, original=targets)
    if spec.compile.loss in {"binary_crossentropy", "categorical_crossentropy"}:
        low, high = float(converted.min()), float(converted.max())
        if low < 0.0 or high > 1.0:
            raise _data_error(
                field,
                f"model {model!r} uses loss {spec.compile.loss!r}, so y must be "
                f"in [0, 1], received values from {low} to {high}",
            )
    return converted


def target_mean(spec: ModelSpec, targets: np.ndarray) -> np.ndarray:
    """Return the mean target row, shaped as one output row.

    For sparse labels this is the frequency of each class, which is the
    constant prediction that a mean predictor makes.
    """
    if spec.compile.loss == "sparse_categorical_crossentropy":
        units = spec.output_shape[-1]
        counts = np.bincount(targets.reshape(-1).astype(np.int64), minlength=units)
        frequencies = counts / max(1, counts.sum())
        leading = spec.output_shape[:-1]
        return np.broadcast_to(frequencies, (*leading, units)).astype(np.float32)
    return np.asarray(targets.mean(axis=0), dtype=np.float32)


def classification_targets(
    model: str, spec: ModelSpec, labels: np.ndarray, n_classes: int
) -> np.ndarray:
    """Convert make_classification labels into targets for the model's loss.

    Raises:
        InvalidDataError: the model's output cannot represent the classes.
    """
    units = spec.output_shape[-1]
    loss = spec.compile.loss
    if spec.output_shape != (units,):
        raise _data_error(
            "synthetic",
            f"model {model!r} outputs shape {_shape(spec.output_shape)}, but a "
            "synthetic classification dataset needs a flat output",
        )
    if loss == "sparse_categorical_crossentropy":
        if units != n_classes:
            raise _units_error(model, loss, units, n_classes)
        return labels.astype(np.int64)
    if loss == "binary_crossentropy" or (
        units == 1 and loss != "categorical_crossentropy"
    ):
        if units != 1 or n_classes != 2:
            raise _data_error(
                "synthetic",
                f"model {model!r} uses loss {loss!r} with {units} output units, "
                "which needs n_classes=2 and 1 output unit, received "
                f"n_classes={n_classes}",
            )
        return labels.astype(np.float32).reshape(-1, 1)
    if units != n_classes:
        raise _units_error(model, loss, units, n_classes)
    one_hot: np.ndarray = np.eye(n_classes, dtype=np.float32)[labels]
    return one_hot


def _units_error(model: str, loss: str, units: int, n_classes: int) -> InvalidDataError:
    return _data_error(
        "synthetic",
        f"model {model!r} uses loss {loss!r} with {units} output units, so the "
        f"dataset needs n_classes={units}, received n_classes={n_classes}",
    )


def _sparse_labels(
    model: str, spec: ModelSpec, targets: np.ndarray, field: str
) -> np.ndarray:
    rows = targets.shape[0]
    leading = spec.output_shape[:-1]
    units = spec.output_shape[-1]
    if targets.shape == (rows, *leading, 1):
        targets = targets.reshape(rows, *leading)
    if targets.shape != (rows, *leading):
        raise _data_error(
            field,
            f"model {model!r} uses loss 'sparse_categorical_crossentropy', so y "
            f"must contain class indices of shape {_shape((rows, *leading))}, "
            f"received {_shape(tuple(targets.shape))}",
        )
    _check_finite(model, targets.astype(np.float64), field, error=InvalidDataError)
    if rows and (
        not np.array_equal(targets, np.round(targets))
        or targets.min() < 0
        or targets.max() >= units
    ):
        raise _data_error(
            field,
            f"model {model!r} has {units} output units, so y must contain "
            f"integer class indices in [0, {units - 1}], received values from "
            f"{targets.min()} to {targets.max()}",
        )
    return targets.astype(np.int64)


def _check_finite(
    model: str,
    values: np.ndarray,
    field: str,
    *,
    error: type[InvalidTensorError] | type[InvalidDataError] = InvalidTensorError,
    original: np.ndarray | None = None,
) -> None:
    """Raise ``error`` naming the first NaN or Inf in ``values``.

    ``original`` is the array before its cast to float32: a value that is
    finite there overflowed the cast, and the message says so.
    """
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    position = tuple(int(i) for i in np.argwhere(bad)[0])
    count = int(bad.sum())
    value = values[position]
    received = value if original is None else original[position]
    if np.isfinite(received):
        message = (
            f"model {model!r}: {field} contains {count} value(s) that are NaN, "
            f"Inf or beyond float32's range; the first is {received} at index "
            f"{list(position)} (row {position[0]}), which overflows float32 "
            f"(largest magnitude {float(np.finfo(np.float32).max):.4g}); send "
            "finite numbers within float32's range"
        )
    else:
        message = (
            f"model {model!r}: {field} contains {count} non-finite value(s); the "
            f"first is {value} at index {list(position)} (row {position[0]}); "
            "send finite numbers only"
        )
    raise error(message, violations=[FieldViolation(field, message)])


def _tensor_error(field: str, message: str) -> InvalidTensorError:
    return InvalidTensorError(message, violations=[FieldViolation(field, message)])


def _data_error(field: str, message: str) -> InvalidDataError:
    return InvalidDataError(message, violations=[FieldViolation(field, message)])
