"""How far a version's outputs can be trusted: verdicts, held-out scores, row marks.

A training run holds out rows, scores the trained weights on them and scores a
constant baseline on the same rows: the training mean for a regression loss,
the training class frequencies for a classification loss (whose decision is the
majority class). The verdict says whether the trained weights beat that
baseline clearly, and it is recorded with the version that the run publishes.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.stats
import sklearn.metrics
import sklearn.model_selection

from kerve_server import engine
from kerve_server.errors import FieldViolation, InvalidDataError
from kerve_server.service import data as checks
from kerve_server.specs import CLASSIFICATION_LOSSES, ModelSpec

# Seed of the random choice of held-out rows, so that the same data always
# split the same way.
SPLIT_SEED = 0

# With fewer rows, a run that leaves validation_split unset holds none out,
# because a fraction of them is too few to score.
MIN_ROWS_FOR_DEFAULT_SPLIT = 10


class Verdict(enum.IntEnum):
    """What the evidence says about a version, from least to most trusted."""

    UNTRAINED = 1
    """Initial weights: the outputs say nothing about any data."""

    NO_BETTER_THAN_BASELINE = 2
    """Held-out loss not clearly below the constant baseline's."""

    UNVALIDATED = 3
    """Trained without held-out rows: nothing is known about its quality."""

    VALIDATED = 4
    """Held-out loss clearly below the constant baseline's."""


@dataclass(frozen=True)
class TrustPolicy:
    """The thresholds behind verdicts and row marks, from the settings."""

    # Fraction of the training rows held out when a request does not say.
    validation_fraction: float = 0.2
    # VALIDATED needs held-out loss <= (1 - margin) * the baseline's loss.
    validation_margin: float = 0.1
    # VALIDATED also needs the one-sided paired t-test of per-row losses
    # against the baseline's to give a p-value below this.
    validation_significance: float = 0.05
    # A row is an extrapolation when a value lies outside its feature's
    # training range widened by this fraction of the range on each side.
    extrapolation_margin: float = 0.1


@dataclass(frozen=True, eq=False)
class Validation:
    """Scores of a trained version and of the constant baseline on held-out rows.

    Instances compare and hash by identity (``eq=False``), so that the
    transport layer can cache each one's converted message.
    """

    source: str  # "validation_split" or "validation_data"
    rows: int
    loss: float
    metrics: dict[str, float]
    baseline_loss: float
    baseline_metrics: dict[str, float]
    baseline_kind: str  # "training_mean" or "majority_class"
    score_name: str  # "r_squared" or "accuracy"
    score: float
    baseline_score: float
    margin: float
    p_value: float
    significance: float

    @property
    def required_loss(self) -> float:
        """Held-out loss at or below which the version beats the baseline."""
        return (1.0 - self.margin) * self.baseline_loss


@dataclass(frozen=True, eq=False)
class Assessment:
    """The verdict on one version, the numbers behind it and its input ranges."""

    verdict: Verdict
    # A sentence for a person: the verdict and why.
    reason: str
    validation: Validation | None = None
    # Per-value minimum and maximum of the rows the weights were fitted on,
    # shape input_shape; None when unknown.
    input_min: np.ndarray | None = None
    input_max: np.ndarray | None = None

    @property
    def ranges_known(self) -> bool:
        """Whether rows can be checked against the training ranges."""
        return self.input_min is not None and self.input_max is not None


UNTRAINED = Assessment(
    Verdict.UNTRAINED,
    "UNTRAINED: the weights are initial weights, so the outputs say nothing "
    "about any data.",
)


def imported_assessment() -> Assessment:
    """Return the assessment of weights imported as trained."""
    return Assessment(
        Verdict.UNVALIDATED,
        "UNVALIDATED: the weights were imported as trained, and Kerve has no "
        "held-out scores for them, so nothing is known about their quality.",
    )


@dataclass(frozen=True)
class HeldOutPlan:
    """The rows a run fits on and the rows it holds out, if any."""

    x: np.ndarray
    y: np.ndarray
    validation_x: np.ndarray | None
    validation_y: np.ndarray | None
    source: str  # "validation_split", "validation_data" or "none"
    # Why no rows are held out; empty when some are.
    no_validation_reason: str = ""


def plan_held_out(
    name: str,
    spec: ModelSpec,
    x: np.ndarray,
    y: np.ndarray,
    *,
    validation_split: float | None,
    validation_data: tuple[np.ndarray, np.ndarray] | None,
    default_fraction: float,
) -> HeldOutPlan:
    """Choose the held-out rows of a run: caller data, a random split, or none.

    An unset ``validation_split`` takes ``default_fraction``, unless the data
    have too few rows to split, in which case the run holds none out.

    Raises:
        InvalidDataError: a requested split leaves no row on one side.
    """
    if validation_data is not None:
        return HeldOutPlan(x, y, *validation_data, source="validation_data")
    rows = x.shape[0]
    if validation_split == 0.0:
        return HeldOutPlan(
            x, y, None, None, "none", "the request set validation_split to 0"
        )
    fraction = default_fraction if validation_split is None else validation_split
    if validation_split is None and (
        fraction == 0.0 or rows < MIN_ROWS_FOR_DEFAULT_SPLIT
    ):
        reason = (
            "the server's default validation fraction is 0"
            if fraction == 0.0
            else f"{rows} training rows are too few to hold any out "
            f"(at least {MIN_ROWS_FOR_DEFAULT_SPLIT} are needed)"
        )
        return HeldOutPlan(x, y, None, None, "none", reason)
    held_out = math.ceil(rows * fraction)
    if held_out >= rows:
        message = (
            f"model {name!r}: validation_split {fraction} of {rows} rows holds "
            f"out {held_out} and leaves {rows - held_out} to fit; each side "
            "needs at least one row, so send more rows or lower validation_split"
        )
        raise InvalidDataError(
            message, violations=[FieldViolation("validation_split", message)]
        )
    fit_x, val_x, fit_y, val_y = _split(spec, x, y, held_out)
    return HeldOutPlan(fit_x, fit_y, val_x, val_y, source="validation_split")


def _split(
    spec: ModelSpec, x: np.ndarray, y: np.ndarray, held_out: int
) -> list[np.ndarray]:
    """Split rows at random, stratified by class for a classification loss."""
    labels = _class_labels(spec, y)
    if labels is not None:
        try:
            return list(
                sklearn.model_selection.train_test_split(
                    x, y, test_size=held_out, random_state=SPLIT_SEED, stratify=labels
                )
            )
        except ValueError:
            # A class with one row, or fewer held-out rows than classes:
            # scikit-learn cannot stratify, so the split is plain random.
            pass
    return list(
        sklearn.model_selection.train_test_split(
            x, y, test_size=held_out, random_state=SPLIT_SEED
        )
    )


def _class_labels(spec: ModelSpec, y: np.ndarray) -> np.ndarray | None:
    """Return one class label per row, or None when rows have no single class."""
    if spec.output_shape != (spec.output_shape[-1],):
        return None
    labels: np.ndarray
    match spec.compile.loss:
        case "sparse_categorical_crossentropy":
            labels = y.reshape(-1)
        case "categorical_crossentropy":
            labels = np.argmax(y, axis=-1)
        case "binary_crossentropy" if spec.output_shape == (1,):
            labels = (y.reshape(-1) > 0.5).astype(np.int64)
        case _:
            return None
    return labels


def input_ranges(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the per-value minimum and maximum over the rows of ``x``."""
    return x.min(axis=0), x.max(axis=0)


def baseline_kind(spec: ModelSpec) -> str:
    """Return the name of the constant baseline for the model's loss."""
    if spec.compile.loss in CLASSIFICATION_LOSSES:
        return "majority_class"
    return "training_mean"


def assess_trained(
    spec: ModelSpec,
    compiled: engine.CompiledModel,
    plan: HeldOutPlan,
    policy: TrustPolicy,
) -> Assessment:
    """Score trained weights on the plan's held-out rows and give the verdict."""
    low, high = input_ranges(plan.x)
    if plan.validation_x is None or plan.validation_y is None:
        reason = (
            "UNVALIDATED: trained without held-out rows, because "
            f"{plan.no_validation_reason}, so nothing is known about the "
            "model's quality."
        )
        return Assessment(Verdict.UNVALIDATED, reason, None, low, high)
    x, y = plan.validation_x, plan.validation_y
    predictions = compiled.predict(x)
    constant = np.ascontiguousarray(
        np.broadcast_to(checks.target_mean(spec, plan.y), predictions.shape)
    )
    loss, metrics = engine.score(spec.compile, y, predictions)
    baseline_loss, baseline_metrics = engine.score(spec.compile, y, constant)
    differences = engine.row_losses(spec.compile.loss, y, predictions) - (
        engine.row_losses(spec.compile.loss, y, constant)
    )
    score_name, score, baseline_score = _scores(spec, y, predictions, constant)
    validation = Validation(
        source=plan.source,
        rows=int(x.shape[0]),
        loss=loss,
        metrics=metrics,
        baseline_loss=baseline_loss,
        baseline_metrics=baseline_metrics,
        baseline_kind=baseline_kind(spec),
        score_name=score_name,
        score=score,
        baseline_score=baseline_score,
        margin=policy.validation_margin,
        p_value=_p_value(differences),
        significance=policy.validation_significance,
    )
    verdict = _verdict(validation)
    return Assessment(
        verdict, _reason(verdict, validation, spec.compile.loss), validation, low, high
    )


def _p_value(differences: np.ndarray) -> float:
    """Return the one-sided p-value that the mean per-row difference is below 0.

    NaN when there are fewer than two rows or a difference is not finite.
    """
    if differences.size < 2 or not np.isfinite(differences).all():
        return math.nan
    if np.ptp(differences) == 0.0:
        # Identical differences have no spread, and the t statistic is
        # undefined: the evidence is certain either way.
        return 0.0 if differences[0] < 0.0 else 1.0
    result = scipy.stats.ttest_1samp(differences, 0.0, alternative="less")
    return float(result.pvalue)


def _verdict(validation: Validation) -> Verdict:
    clearly_lower = (
        math.isfinite(validation.loss)
        and validation.loss <= validation.required_loss
        and validation.p_value < validation.significance
    )
    return Verdict.VALIDATED if clearly_lower else Verdict.NO_BETTER_THAN_BASELINE


def _scores(
    spec: ModelSpec, y: np.ndarray, predictions: np.ndarray, constant: np.ndarray
) -> tuple[str, float, float]:
    """Return R-squared (regression) or accuracy (classification) of both."""
    loss = spec.compile.loss
    if loss not in CLASSIFICATION_LOSSES:
        rows = y.shape[0]
        if not np.isfinite(predictions).all():
            return "r_squared", math.nan, _r_squared(y, constant)
        return (
            "r_squared",
            _r_squared(y.reshape(rows, -1), predictions.reshape(rows, -1)),
            _r_squared(y.reshape(rows, -1), constant.reshape(rows, -1)),
        )
    return "accuracy", _accuracy(loss, y, predictions), _accuracy(loss, y, constant)


def _r_squared(y: np.ndarray, predictions: np.ndarray) -> float:
    rows = y.shape[0]
    if rows < 2:
        return math.nan
    return float(
        sklearn.metrics.r2_score(
            y.reshape(rows, -1).astype(np.float64),
            predictions.reshape(rows, -1).astype(np.float64),
        )
    )


def _accuracy(loss: str, y: np.ndarray, predictions: np.ndarray) -> float:
    match loss:
        case "binary_crossentropy":
            hits = (predictions > 0.5) == (y > 0.5)
        case "categorical_crossentropy":
            hits = np.argmax(predictions, axis=-1) == np.argmax(y, axis=-1)
        case _:
            hits = np.argmax(predictions, axis=-1) == y.astype(np.int64)
    return float(np.mean(hits))


def _reason(verdict: Verdict, validation: Validation, loss: str) -> str:
    rows = f"{validation.rows:,} held-out row" + ("s" if validation.rows != 1 else "")
    baseline = validation.baseline_kind.replace("_", " ")
    compared = (
        f"on {rows}, loss ({loss}) {validation.loss:.6g} against "
        f"{validation.baseline_loss:.6g} for a constant prediction of the "
        f"{baseline}; {_score_text(validation)}"
    )
    if verdict is Verdict.VALIDATED:
        return (
            f"VALIDATED: {compared}, one-sided p = {validation.p_value:.3g}. "
            f"The loss is clearly below the baseline's."
        )
    needed = (
        f"VALIDATED needs a loss of at most {validation.required_loss:.6g} "
        f"({validation.margin:.0%} below the baseline's) with "
        f"p < {validation.significance:g}"
    )
    p_value = (
        "no p-value (fewer than 2 finite rows)"
        if math.isnan(validation.p_value)
        else f"p = {validation.p_value:.3g}"
    )
    return (
        f"NO_BETTER_THAN_BASELINE: {compared}. {needed}, and this run has "
        f"{p_value}. The model has not learned more than the {baseline}; "
        "train longer, with another learning rate, or on more rows."
    )


def _score_text(validation: Validation) -> str:
    name = "R-squared" if validation.score_name == "r_squared" else "accuracy"
    return (
        f"{name} {validation.score:.4g} against {validation.baseline_score:.4g} "
        "for the baseline"
    )


@dataclass(frozen=True)
class RowMarks:
    """Rows of one Predict batch that deserve less trust than the rest."""

    # Indices of rows with a value outside the training ranges.
    extrapolated: np.ndarray
    # Indices of rows with a NaN or Inf output value.
    non_finite: np.ndarray


NO_ROWS = np.zeros(0, dtype=np.int64)


def mark_rows(
    assessment: Assessment, inputs: np.ndarray, outputs: np.ndarray, margin: float
) -> RowMarks:
    """Find the batch's extrapolated rows and rows with non-finite outputs."""
    rows = inputs.shape[0]
    non_finite = NO_ROWS
    if rows and not np.isfinite(outputs).all():
        finite_rows = np.isfinite(outputs.reshape(rows, -1)).all(axis=1)
        non_finite = np.flatnonzero(~finite_rows)
    extrapolated = NO_ROWS
    low, high = assessment.input_min, assessment.input_max
    if rows and low is not None and high is not None:
        width = (high - low) * margin
        outside = (inputs < low - width) | (inputs > high + width)
        if outside.any():
            extrapolated = np.flatnonzero(outside.reshape(rows, -1).any(axis=1))
    return RowMarks(extrapolated, non_finite)


def response_verdict(verdict: Verdict, marks: RowMarks) -> Verdict:
    """Return the verdict of one response: a NaN or Inf output lowers it.

    A non-finite output is no better than the constant baseline, so a
    response with one is at most NO_BETTER_THAN_BASELINE.
    """
    if marks.non_finite.size:
        return min(verdict, Verdict.NO_BETTER_THAN_BASELINE)
    return verdict


# Store documents ------------------------------------------------------------


def assessment_document(assessment: Assessment) -> dict[str, Any]:
    """Return the JSON document of an assessment, for the store's metadata."""
    document: dict[str, Any] = {
        "verdict": assessment.verdict.name,
        "reason": assessment.reason,
    }
    if assessment.validation is not None:
        document["validation"] = {
            key: getattr(assessment.validation, key)
            for key in Validation.__dataclass_fields__
        }
    if assessment.input_min is not None and assessment.input_max is not None:
        document["input_min"] = assessment.input_min.tolist()
        document["input_max"] = assessment.input_max.tolist()
    return document


def assessment_from_document(
    document: dict[str, Any] | None, trained: bool
) -> Assessment:
    """Rebuild an assessment from the store's metadata.

    Metadata written before Kerve recorded assessments has none: such a
    trained version is UNVALIDATED.

    Raises:
        KeyError, TypeError, ValueError: the document is malformed.
    """
    if not trained:
        return UNTRAINED
    if document is None:
        return Assessment(
            Verdict.UNVALIDATED,
            "UNVALIDATED: this version was stored without held-out scores, so "
            "nothing is known about its quality.",
        )
    verdict = Verdict[document["verdict"]]
    validation = None
    if "validation" in document:
        fields = dict(document["validation"])
        for key in ("metrics", "baseline_metrics"):
            fields[key] = {k: float(v) for k, v in fields[key].items()}
        validation = Validation(**fields)
    low = document.get("input_min")
    high = document.get("input_max")
    return Assessment(
        verdict,
        str(document["reason"]),
        validation,
        None if low is None else np.asarray(low, dtype=np.float32),
        None if high is None else np.asarray(high, dtype=np.float32),
    )
