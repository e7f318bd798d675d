"""Verdicts and the evidence behind them, converted from the protocol messages."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from kerve._tensors import tensor_to_array
from kerve.v1 import kerve_pb2


class Verdict(enum.IntEnum):
    """How far a version's outputs can be trusted, as in ``kerve.v1.Verdict``.

    Members compare by trust: ``verdict >= Verdict.VALIDATED`` holds only for
    VALIDATED. A request's ``min_verdict`` accepts that verdict and every
    greater one.
    """

    UNSPECIFIED = kerve_pb2.VERDICT_UNSPECIFIED
    """The server sent no verdict, or one this client does not know: trust
    nothing."""
    UNTRAINED = kerve_pb2.VERDICT_UNTRAINED
    """Initial weights: the outputs say nothing about any data."""
    NO_BETTER_THAN_BASELINE = kerve_pb2.VERDICT_NO_BETTER_THAN_BASELINE
    """Trained, but on held-out rows its loss was not clearly below that of a
    constant baseline, so it has not learned. A response with a NaN or Inf
    output is at most this."""
    UNVALIDATED = kerve_pb2.VERDICT_UNVALIDATED
    """Trained without held-out rows, or imported as trained: nothing is known
    about its quality."""
    VALIDATED = kerve_pb2.VERDICT_VALIDATED
    """On held-out rows, its loss was clearly below the constant baseline's."""

    @classmethod
    def from_proto(cls, value: int) -> Verdict:
        """Convert a ``kerve.v1.Verdict`` value; unknown values become UNSPECIFIED."""
        try:
            return cls(value)
        except ValueError:
            return cls.UNSPECIFIED

    @classmethod
    def parse(cls, text: str) -> Verdict:
        """Return the verdict named by ``text``, in any case, with - or _.

        Raises:
            ValueError: If no verdict has that name.
        """
        key = text.strip().upper().replace("-", "_")
        if key in cls.__members__ and key != "UNSPECIFIED":
            return cls[key]
        names = ", ".join(v.name for v in cls if v is not cls.UNSPECIFIED)
        raise ValueError(f"unknown verdict {text!r}; expected one of {names}")

    @property
    def trusted(self) -> bool:
        """Whether outputs with this verdict are worth more than a constant guess.

        False for UNSPECIFIED, UNTRAINED and NO_BETTER_THAN_BASELINE.
        """
        return self >= Verdict.UNVALIDATED

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"Verdict.{self.name}"


@dataclass(frozen=True)
class Validation:
    """Held-out scores of a trained version and of a constant baseline.

    Attributes:
        source: "validation_split" (rows held out of the training data) or
            "validation_data" (rows sent with the training request).
        rows: Number of held-out rows.
        loss: Loss of the trained weights on those rows.
        metrics: Their metrics, by name.
        baseline_loss: Loss of the constant baseline on the same rows.
        baseline_metrics: Its metrics, by name.
        baseline_kind: "training_mean" for a regression loss,
            "majority_class" for a classification loss, whose constant is
            the training class frequencies with one added to each count.
        score_name: "r_squared" or "accuracy".
        score: R-squared or accuracy of the trained weights.
        baseline_score: The same for the baseline.
        margin: VALIDATED needs ``loss <= (1 - margin) * baseline_loss`` ...
        p_value: ... and this one-sided paired t-test p-value below
            ``significance``; NaN (no evidence) with fewer than 2 rows, a NaN
            or Inf row loss, or per-row differences without spread.
        significance: The p-value threshold.
    """

    source: str
    rows: int
    loss: float
    metrics: dict[str, float]
    baseline_loss: float
    baseline_metrics: dict[str, float]
    baseline_kind: str
    score_name: str
    score: float
    baseline_score: float
    margin: float
    p_value: float
    significance: float

    @property
    def required_loss(self) -> float:
        """Held-out loss at or below which the version counts as better."""
        return (1.0 - self.margin) * self.baseline_loss

    @property
    def improvement(self) -> float:
        """Fraction by which the loss is below the baseline's; NaN if undefined."""
        if self.baseline_loss == 0 or not math.isfinite(self.baseline_loss):
            return math.nan
        return 1.0 - self.loss / self.baseline_loss

    @classmethod
    def from_proto(cls, message: kerve_pb2.Validation) -> Validation:
        """Convert a ``kerve.v1.Validation`` message."""
        return cls(
            source=message.source,
            rows=message.rows,
            loss=message.model.loss,
            metrics=dict(message.model.metrics),
            baseline_loss=message.baseline.loss,
            baseline_metrics=dict(message.baseline.metrics),
            baseline_kind=message.baseline_kind,
            score_name=message.score_name,
            score=message.score,
            baseline_score=message.baseline_score,
            margin=message.margin,
            p_value=message.p_value,
            significance=message.significance,
        )


@dataclass(frozen=True, eq=False)
class Assessment:
    """The verdict on one version and the evidence behind it.

    Attributes:
        verdict: How far the version's outputs can be trusted.
        reason: The server's sentence for a person: the verdict and why.
        validation: Held-out scores, or None without held-out rows.
        input_min: Per-value minimum of the inputs the weights were fitted
            on, shape input_shape; None when unknown.
        input_max: The same for the maximum.
    """

    verdict: Verdict
    reason: str
    validation: Validation | None
    input_min: npt.NDArray[np.generic] | None
    input_max: npt.NDArray[np.generic] | None

    @classmethod
    def from_proto(cls, message: kerve_pb2.Assessment) -> Assessment:
        """Convert a ``kerve.v1.Assessment`` message."""
        return cls(
            verdict=Verdict.from_proto(message.verdict),
            reason=message.reason,
            validation=(
                Validation.from_proto(message.validation)
                if message.HasField("validation")
                else None
            ),
            input_min=(
                tensor_to_array(message.input_min)
                if message.HasField("input_min")
                else None
            ),
            input_max=(
                tensor_to_array(message.input_max)
                if message.HasField("input_max")
                else None
            ),
        )


def verdict_argument(value: Verdict | str | None) -> kerve_pb2.Verdict:
    """Return the ``min_verdict`` field value of a request.

    Raises:
        ValueError: If a string names no verdict.
        TypeError: If the value is neither a Verdict, a string nor None.
    """
    if value is None:
        return kerve_pb2.VERDICT_UNSPECIFIED
    if isinstance(value, Verdict):
        return value.value
    if isinstance(value, str):
        return Verdict.parse(value).value
    raise TypeError(f"min_verdict must be a Verdict or its name, got {value!r}")
