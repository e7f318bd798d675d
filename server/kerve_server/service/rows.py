"""Training and evaluation rows: checked against the model, then converted."""

from __future__ import annotations

import asyncio
import math

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
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Return validated float32 inputs, targets and train-subset targets.

    Synthetic rows are generated on a worker thread. The train-subset
    targets are None for inline data.

    Raises:
        InvalidDataError, InvalidTensorError: the rows do not fit the model.
    """
    if isinstance(source, InlineData):
        x = checks.check_inputs(name, spec, source.x, field="x")
        y = checks.check_targets(name, spec, source.y, x.shape[0])
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


def check_training_rows(name: str, rows: int, validation_split: float) -> None:
    """Raise InvalidDataError unless Keras can split the rows as requested.

    Keras 3 keeps the first ``ceil(rows * (1 - validation_split))`` rows for
    fitting and needs at least one row on each side of the split.
    """
    if rows == 0:
        raise InvalidDataError(
            f"model {name!r}: no rows to train on (received 0 rows); send at "
            "least one row",
            violations=[FieldViolation("x", "no training rows")],
        )
    if validation_split == 0:
        return
    fit_rows = math.ceil(rows * (1.0 - validation_split))
    if fit_rows == 0 or fit_rows == rows:
        message = (
            f"model {name!r}: validation_split {validation_split} of {rows} rows "
            f"leaves {fit_rows} rows to fit and {rows - fit_rows} to validate; "
            "each side needs at least one row, so send more rows or change "
            "validation_split"
        )
        raise InvalidDataError(
            message, violations=[FieldViolation("validation_split", message)]
        )
