"""The sentences that tell a caller what an output or a failure means."""

from __future__ import annotations

import numpy as np

from kerve_server.errors import (
    KerveError,
    TrainingCancelledError,
    UntrainedModelError,
)
from kerve_server.service.entries import ModelEntry, Version
from kerve_server.service.lifecycle import State


def prediction_notice(
    entry: ModelEntry, version: Version, outputs: np.ndarray, finite: bool
) -> str:
    """Return the notice of a Predict response computed by ``version``."""
    if not version.trained:
        training = (
            " A training run is in progress." if entry.state is State.TRAINING else ""
        )
        return (
            f"UNTRAINED: model {entry.name!r} version {version.number} has its "
            "initial weights, so these outputs say nothing about any data. "
            f"Train the model before using them.{training}"
        )
    if not finite:
        bad = int((~np.isfinite(outputs)).sum())
        return (
            f"NOT MEANINGFUL: model {entry.name!r} version {version.number} is "
            f"trained, but {bad} output value(s) are NaN or Inf."
        )
    notice = f"Model {entry.name!r} version {version.number} is trained."
    if entry.state is State.TRAINING:
        notice += " A newer training run is in progress."
    elif entry.state is State.FAILED:
        notice += " Its last training run failed; this is the version before it."
    return notice


def untrained_error(name: str, version: int) -> UntrainedModelError:
    """Return the error of a strict Predict computed by initial weights."""
    return UntrainedModelError(
        f"model {name!r} version {version} has untrained initial weights, and "
        "the request is strict; train the model first or send strict=false to "
        "receive flagged output"
    )


def non_finite_error(
    name: str, version: int, outputs: np.ndarray
) -> UntrainedModelError:
    """Return the error of a strict Predict whose outputs are NaN or Inf."""
    bad = int((~np.isfinite(outputs)).sum())
    return UntrainedModelError(
        f"model {name!r} version {version} produced {bad} NaN or Inf output "
        "value(s), and the request is strict; check the inputs' scale or "
        "retrain the model"
    )


def deleted_error(name: str) -> KerveError:
    """Return the error that ends the Train stream of a deleted model."""
    return TrainingCancelledError(
        f"training of model {name!r} stopped because the model was deleted"
    )


def cancelled_error(name: str) -> KerveError:
    """Return the error that ends the Train stream of a cancelled run."""
    return TrainingCancelledError(
        f"training of model {name!r} was cancelled; the model keeps its "
        "previous state and version"
    )
