"""Losses and metrics, computed exactly over a whole dataset."""

from __future__ import annotations

import keras
import numpy as np

from kerve_server.specs import CompileSpec


def make_loss(
    name: str, *, reduction: str | None = "sum_over_batch_size"
) -> keras.losses.Loss:
    """Return a new Keras loss object for an allow-listed loss name.

    ``reduction=None`` makes the loss return one value per sample.
    """
    match name:
        case "mse":
            return keras.losses.MeanSquaredError(reduction=reduction)
        case "mae":
            return keras.losses.MeanAbsoluteError(reduction=reduction)
        case "huber":
            return keras.losses.Huber(reduction=reduction)
        case "binary_crossentropy":
            return keras.losses.BinaryCrossentropy(reduction=reduction)
        case "categorical_crossentropy":
            return keras.losses.CategoricalCrossentropy(reduction=reduction)
        case "sparse_categorical_crossentropy":
            return keras.losses.SparseCategoricalCrossentropy(reduction=reduction)
    raise ValueError(f"unknown loss {name!r}")


def make_metrics(spec: CompileSpec) -> list[keras.metrics.Metric]:
    """Return new Keras metric objects, each named as in the spec."""
    return [_metric(name, spec.loss) for name in spec.metrics]


def _metric(name: str, loss: str) -> keras.metrics.Metric:
    match name:
        case "mse":
            return keras.metrics.MeanSquaredError(name=name)
        case "mae":
            return keras.metrics.MeanAbsoluteError(name=name)
        case "rmse":
            return keras.metrics.RootMeanSquaredError(name=name)
        case "mape":
            return keras.metrics.MeanAbsolutePercentageError(name=name)
        case "binary_accuracy":
            return keras.metrics.BinaryAccuracy(name=name)
        case "categorical_accuracy":
            return keras.metrics.CategoricalAccuracy(name=name)
        case "sparse_categorical_accuracy":
            return keras.metrics.SparseCategoricalAccuracy(name=name)
        case "accuracy":
            # Keras resolves "accuracy" by the loss in the same way.
            if loss == "binary_crossentropy":
                return keras.metrics.BinaryAccuracy(name=name)
            if loss == "categorical_crossentropy":
                return keras.metrics.CategoricalAccuracy(name=name)
            return keras.metrics.SparseCategoricalAccuracy(name=name)
    raise ValueError(f"unknown metric {name!r}")


def score(
    spec: CompileSpec, targets: np.ndarray, predictions: np.ndarray
) -> tuple[float, dict[str, float]]:
    """Return the loss and the metrics of ``predictions`` against ``targets``.

    The loss is the mean over all rows, not an average of batch means.
    """
    loss = float(keras.ops.convert_to_numpy(make_loss(spec.loss)(targets, predictions)))
    metrics: dict[str, float] = {}
    for metric in make_metrics(spec):
        metric.update_state(targets, predictions)
        metrics[metric.name] = float(keras.ops.convert_to_numpy(metric.result()))
    return loss, metrics


def row_losses(loss: str, targets: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """Return the loss of each row, shape ``(rows,)``, as float64.

    Their mean equals the loss that ``score`` returns for the same rows.
    """
    values = make_loss(loss, reduction=None)(targets, predictions)
    per_sample = np.asarray(keras.ops.convert_to_numpy(values), dtype=np.float64)
    means: np.ndarray = per_sample.reshape(per_sample.shape[0], -1).mean(axis=1)
    return means
