"""Checks that inputs and targets fit a model, and their conversion to float32.

Every check runs before any weight changes, and every error message names the
model, the shape or value received and what is expected.
"""

from __future__ import annotations

import numpy as np

from kerve_server.errors import FieldViolation, InvalidDataError, InvalidTensorError
from kerve_server.plural import plural
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
            f"model {model!r}: x has {plural(rows, 'row')} but y has shape "
            f"{received}; "
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
    if spec.compile.loss == "binary_crossentropy":
        _check_probabilities(model, converted, field)
    elif spec.compile.loss == "categorical_crossentropy":
        _check_distributions(model, converted, field)
    return converted


# How far the sum of a categorical_crossentropy target row may be from 1,
# which leaves room for float32 rounding and for soft labels typed in decimal.
SUM_TOLERANCE = 1e-3


def _check_probabilities(model: str, targets: np.ndarray, field: str) -> None:
    outside = (targets < 0.0) | (targets > 1.0)
    if not outside.any():
        return
    row = int(np.argwhere(outside)[0][0])
    raise _data_error(
        field,
        f"model {model!r} uses loss 'binary_crossentropy', so y must be in "
        f"[0, 1], received values from {float(targets.min())} to "
        f"{float(targets.max())}; row {row} contains {_values(targets[row])} "
        f"({_invalid_rows(outside)} in all)",
    )


def _check_distributions(model: str, targets: np.ndarray, field: str) -> None:
    """Raise unless every target is a probability distribution over the classes.

    The last axis contains the classes. A row with leading axes contains one
    distribution per position.
    """
    rows = targets.shape[0]
    classes = targets.reshape(rows, -1, targets.shape[-1])
    outside = ((classes < 0.0) | (classes > 1.0)).any(axis=-1)
    sums = classes.astype(np.float64).sum(axis=-1)
    bad = outside | (np.abs(sums - 1.0) > SUM_TOLERANCE)
    if not bad.any():
        return
    row, position = (int(i) for i in np.argwhere(bad)[0])
    values = classes[row, position]
    raise _data_error(
        field,
        f"model {model!r} uses loss 'categorical_crossentropy', so each target "
        "must contain class probabilities in [0, 1] that sum to 1 (within "
        f"{SUM_TOLERANCE:g}), such as a one-hot row; row {row} contains "
        f"{_values(values)}, which sum to {float(sums[row, position]):.6g} "
        f"({_invalid_rows(bad)} in all)",
    )


def _invalid_rows(bad: np.ndarray) -> str:
    """Count the rows with a True in ``bad``, as "1 invalid row" or "3 ..."."""
    count = int(bad.reshape(bad.shape[0], -1).any(axis=1).sum())
    return plural(count, "invalid row")


def _values(values: np.ndarray) -> str:
    """Format target values for a message, at most 10 of them."""
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    text = np.array2string(flat[:10], separator=", ", precision=6)
    return text if flat.size <= 10 else f"{text} (the first 10 of {flat.size})"


def target_mean(spec: ModelSpec, targets: np.ndarray) -> np.ndarray:
    """Return the constant baseline's output row, fitted on ``targets``.

    For a regression loss this is the mean target row. For a classification
    loss it is the class frequencies with one added to each class count
    (additive, or Laplace, smoothing), so that a class absent from
    ``targets`` gets a small but finite probability and the baseline's
    crossentropy stays finite on rows of that class. The number of classes
    is the output width; each unit of a binary_crossentropy output is a
    class of its own against its absence, so it counts two. Smoothing keeps
    the order of the counts, so the baseline's decision is still the
    majority class.
    """
    rows = targets.shape[0]
    units = spec.output_shape[-1]
    match spec.compile.loss:
        case "sparse_categorical_crossentropy":
            counts = np.bincount(
                targets.reshape(-1).astype(np.int64), minlength=units
            ).astype(np.float64)
            frequencies = (counts + 1.0) / (counts.sum() + units)
            leading = spec.output_shape[:-1]
            return np.broadcast_to(frequencies, (*leading, units)).astype(np.float32)
        case "categorical_crossentropy":
            sums = targets.astype(np.float64).sum(axis=0)
            return np.asarray((sums + 1.0) / (rows + units), dtype=np.float32)
        case "binary_crossentropy":
            sums = targets.astype(np.float64).sum(axis=0)
            return np.asarray((sums + 1.0) / (rows + 2.0), dtype=np.float32)
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
    labels = targets.astype(np.float64)
    _check_finite(model, labels, field, error=InvalidDataError)
    invalid = (labels != np.round(labels)) | (labels < 0) | (labels >= units)
    if invalid.any():
        row = int(np.argwhere(invalid)[0][0])
        raise _data_error(
            field,
            f"model {model!r} has {units} output units, so y must contain "
            f"integer class indices in [0, {units - 1}], received values from "
            f"{labels.min():g} to {labels.max():g}; row {row} contains "
            f"{_values(labels[row])} ({_invalid_rows(invalid)} in all)",
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
    finite there overflowed the cast, and the message names it.
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
