"""The lifecycle state of a model."""

from __future__ import annotations

import enum


class State(enum.Enum):
    """Lifecycle state of a model; a model has exactly one at a time."""

    UNTRAINED = "UNTRAINED"
    """Entered on create: the current version has initial weights."""

    TRAINING = "TRAINING"
    """Entered when a training run starts. Predict keeps using the current
    version, trained or not, until the run publishes a new one."""

    TRAINED = "TRAINED"
    """Entered when a training run completes and publishes its version."""

    FAILED = "FAILED"
    """Entered when a training run fails (NaN loss, Keras error). The
    current version stays what it was before the run."""
