"""Evaluation reports: scores of current, initial and mean-predictor outputs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kerve_server import engine
from kerve_server.service import data as checks
from kerve_server.service.entries import TrainingSummary, Version
from kerve_server.service.lifecycle import State
from kerve_server.specs import ModelSpec


@dataclass(frozen=True)
class Evaluation:
    """Loss and metrics of one set of predictions."""

    loss: float
    metrics: dict[str, float]


@dataclass(frozen=True)
class EvaluationReport:
    """Current, initial and baseline scores on the same rows."""

    model: str
    version: int
    untrained: bool
    state: State
    current: Evaluation
    initial: Evaluation
    baseline: Evaluation
    baseline_source: str
    samples: int
    # "training_mean" or "majority_class", as in held-out validation.
    baseline_kind: str


def baseline_mean(
    spec: ModelSpec,
    *,
    train_targets: np.ndarray | None,
    last_training: TrainingSummary | None,
    evaluated_targets: np.ndarray,
) -> tuple[np.ndarray, str]:
    """Return the constant baseline's output row and where it came from.

    The row is the mean target, or the smoothed class frequencies for a
    classification loss, as ``data.target_mean`` computes them.
    """
    if train_targets is not None:
        return checks.target_mean(spec, train_targets), "train_subset"
    if last_training is not None:
        return last_training.target_mean, "last_training_run"
    return checks.target_mean(spec, evaluated_targets), "evaluated_rows"


def score_versions(
    spec: ModelSpec,
    serving: Version,
    initial: Version,
    inputs: np.ndarray,
    targets: np.ndarray,
    mean: np.ndarray,
) -> tuple[Evaluation, Evaluation, Evaluation]:
    """Score the serving weights, the initial weights and the constant mean."""
    baseline = np.broadcast_to(mean, (inputs.shape[0], *spec.output_shape))
    current, first, constant = (
        Evaluation(*engine.score(spec.compile, targets, predictions))
        for predictions in (
            serving.compiled.predict(inputs),
            initial.compiled.predict(inputs),
            np.ascontiguousarray(baseline),
        )
    )
    return current, first, constant
