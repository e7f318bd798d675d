"""The sentences that tell a caller what an output or a failure means."""

from __future__ import annotations

import numpy as np

from kerve_server.errors import (
    KerveError,
    TrainingCancelledError,
    UntrainedModelError,
    VerdictTooLowError,
)
from kerve_server.plural import plural
from kerve_server.service.assessment import RowMarks, Verdict
from kerve_server.service.entries import ModelEntry, Version
from kerve_server.service.lifecycle import State

# Row indices listed in a notice before it only counts the rest.
LISTED_ROWS = 10


def prediction_notice(
    entry: ModelEntry, version: Version, outputs: np.ndarray, marks: RowMarks
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
    rows = outputs.shape[0]
    parts = []
    if marks.non_finite.size:
        lowered = lowered_verdict_text(
            entry.name, version, marks.non_finite, total=rows
        )
        parts.append(f"NOT MEANINGFUL: {lowered}.")
    parts.append(f"Model {entry.name!r} version {version.number} is trained.")
    parts.append(version.assessment.reason)
    if entry.state is State.TRAINING:
        parts.append("A newer training run is in progress.")
    elif entry.state is State.FAILED:
        parts.append("Its last training run failed; this is the version before it.")
    if marks.extrapolated.size:
        count = marks.extrapolated.size
        parts.append(
            f"EXTRAPOLATION: {count} of {plural(rows, 'row')} "
            f"({_rows(marks.extrapolated)}) {_have(count)} values outside the "
            "ranges of the training inputs, where the model has seen no data."
        )
    elif not version.assessment.ranges_known:
        parts.append(
            "The ranges of the training inputs are unknown, so no row was "
            "checked for extrapolation."
        )
    return " ".join(parts)


def _rows(indices: np.ndarray) -> str:
    listed = ", ".join(str(i) for i in indices[:LISTED_ROWS].tolist())
    more = indices.size - LISTED_ROWS
    noun = "row" if indices.size == 1 else "rows"
    return f"{noun} {listed}" + (f" and {more} more" if more > 0 else "")


def _have(count: int) -> str:
    return "has" if count == 1 else "have"


def lowered_verdict_text(
    name: str, version: Version, non_finite: np.ndarray, *, total: int | None = None
) -> str:
    """Explain why NaN or Inf outputs give a response a lower verdict than its version.

    For example "model 'm' version 2 is VALIDATED, but this response is
    NO_BETTER_THAN_BASELINE because 1 row has NaN or Inf outputs (row 3)".
    ``total``, when given, is the number of rows in the response.
    """
    own = version.assessment.verdict
    count = non_finite.size
    rows = (
        plural(count, "row") if total is None else f"{count} of {plural(total, 'row')}"
    )
    cause = f"{rows} {_have(count)} NaN or Inf outputs ({_rows(non_finite)})"
    if own <= Verdict.NO_BETTER_THAN_BASELINE:
        return f"model {name!r} version {version.number} is {own.name}, and {cause}"
    return (
        f"model {name!r} version {version.number} is {own.name}, but this "
        f"response is {Verdict.NO_BETTER_THAN_BASELINE.name} because {cause}"
    )


def verdict_error(
    name: str,
    version: Version,
    verdict: Verdict,
    required: Verdict,
    non_finite: np.ndarray,
) -> VerdictTooLowError:
    """Return the error of a Predict whose verdict is below the required one.

    ``non_finite`` lists the rows with NaN or Inf outputs, which may have
    lowered the version's own verdict to ``verdict``.
    """
    reason = version.assessment.reason
    if verdict == version.assessment.verdict:
        return VerdictTooLowError(
            f"model {name!r} version {version.number} is {verdict.name}, below "
            f"the required {required.name}. {reason} Train the model until it "
            "reaches the required verdict, or lower min_verdict to receive the "
            "outputs with their verdict"
        )
    lowered = lowered_verdict_text(name, version, non_finite)
    return VerdictTooLowError(
        f"{lowered}, which is below the required {required.name}. The version's "
        f"own verdict: {reason} Check the inputs of those rows, whose outputs "
        "overflowed or are undefined, or lower min_verdict to receive the "
        "outputs with their verdict"
    )


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
