"""Losses and metrics, computed exactly over a whole dataset."""

from __future__ import annotations

import keras
import numpy as np

from kerve_server.specs import CompileSpec


def make_loss(name: str) -> keras.losses.Loss:
    """Return a new Keras loss object for an allow-listed loss name."""
    match name:
        case "mse":
            return keras.losses.MeanSquaredError()
        case "mae":
            return keras.losses.MeanAbsoluteError()
        case "huber":
            return keras.losses.Huber()
        case "binary_crossentropy":
            return keras.losses.BinaryCrossentropy()
        case "categorical_crossentropy":
            return keras.losses.CategoricalCrossentropy()
        case "sparse_categorical_crossentropy":
            return keras.losses.SparseCategoricalCrossentropy()
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
