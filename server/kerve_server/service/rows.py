"""Training and evaluation rows: checked against the model, then converted."""

from __future__ import annotations

import asyncio

import numpy as np

from kerve_server.errors import FieldViolation, InvalidDataError
from kerve_server.service import data as checks
from kerve_server.service.datasets import (
    ClassificationParams,
    InlineData,
    Subset,
    SyntheticDataset,
    generate,
)
from kerve_server.specs import ModelSpec


async def load_rows(
    name: str,
    spec: ModelSpec,
    source: InlineData | SyntheticDataset,
    subset: Subset,
    *,
    field: str = "",
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Return validated float32 inputs, targets and train-subset targets.

    Synthetic rows are generated on a worker thread. The train-subset
    targets are None for inline data. ``field`` prefixes the field names
    in error messages, for rows sent in a field other than the data.

    Raises:
        InvalidDataError, InvalidTensorError: the rows do not fit the model.
    """
    if isinstance(source, InlineData):
        prefix = f"{field}." if field else ""
        x = checks.check_inputs(name, spec, source.x, field=f"{prefix}x")
        y = checks.check_targets(name, spec, source.y, x.shape[0], field=f"{prefix}y")
        return x, y, None
    check_dataset_fits(name, spec, source)
    generated = await asyncio.to_thread(generate, source, subset)
    x = checks.check_inputs(name, spec, generated.x, field="synthetic")
    y = dataset_targets(name, spec, source, generated.y, x.shape[0])
    train_y = (
        dataset_targets(name, spec, source, generated.train_y, len(generated.train_y))
        if generated.train_y is not None
        else None
    )
    return x, y, train_y


def dataset_targets(
    name: str,
    spec: ModelSpec,
    source: SyntheticDataset,
    labels: np.ndarray,
    rows: int,
) -> np.ndarray:
    """Return a synthetic dataset's targets shaped for the model's loss."""
    if isinstance(source.params, ClassificationParams):
        labels = checks.classification_targets(
            name, spec, labels, source.params.n_classes
        )
    return checks.check_targets(name, spec, labels, rows, field="synthetic")


def check_dataset_fits(name: str, spec: ModelSpec, source: SyntheticDataset) -> None:
    """Raise InvalidDataError if the dataset's rows cannot fit the model."""
    features = source.params.n_features
    if tuple(spec.input_shape) != (features,):
        message = (
            f"model {name!r} expects input shape {tuple(spec.input_shape)}, but "
            f"{source.generator} with n_features={features} makes rows of shape "
            f"({features},); set n_features to match the model"
        )
        raise InvalidDataError(
            message, violations=[FieldViolation("synthetic.n_features", message)]
        )


def check_training_rows(name: str, rows: int) -> None:
    """Raise InvalidDataError unless there is at least one row to train on."""
    if rows == 0:
        raise InvalidDataError(
            f"model {name!r}: no rows to train on (received 0 rows); send at "
            "least one row",
            violations=[FieldViolation("x", "no training rows")],
        )
