"""How far a version's outputs can be trusted: verdicts, held-out scores, row marks.

A training run holds out rows and scores the trained weights on them. It also
scores a constant baseline on the same rows: the training mean for a
regression loss, or the smoothed training class frequencies for a
classification loss, whose decision is the majority class. The verdict states
whether the trained weights beat that baseline clearly and also beat the best
constant in hindsight on the held-out rows. It is recorded with the version
that the run publishes.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.stats
import sklearn.model_selection

from kerve_server import engine
from kerve_server.errors import FieldViolation, InvalidDataError
from kerve_server.plural import plural
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
    """Held-out loss clearly below the constant baseline's, and better than the
    best constant in hindsight on the held-out rows."""


@dataclass(frozen=True)
class TrustPolicy:
    """The thresholds behind verdicts and row marks, from the settings."""

    # Fraction of the training rows held out when a request leaves it unset.
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
    # Score of the best constant in hindsight on the held-out rows: 0 for
    # R-squared (the held-out mean), NaN where R-squared is undefined, and the
    # accuracy of always answering the held-out rows' most frequent class.
    # NaN in documents stored before this field existed.
    constant_score: float = math.nan

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
        if fraction == 0.0:
            reason = "the server's default validation fraction is 0"
        else:
            verb = "is" if rows == 1 else "are"
            reason = (
                f"{plural(rows, 'training row')} {verb} too few to hold any out "
                f"(at least {MIN_ROWS_FOR_DEFAULT_SPLIT} are needed)"
            )
        return HeldOutPlan(x, y, None, None, "none", reason)
    held_out = math.ceil(rows * fraction)
    if held_out >= rows:
        message = (
            f"model {name!r}: validation_split {fraction} of "
            f"{plural(rows, 'row')} holds "
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
    scores = _scores(spec, y, predictions, constant)

    validation = Validation(
        source=plan.source,
        rows=int(x.shape[0]),
        loss=loss,
        metrics=metrics,
        baseline_loss=baseline_loss,
        baseline_metrics=baseline_metrics,
        baseline_kind=baseline_kind(spec),
        score_name=scores.name,
        score=scores.model,
        baseline_score=scores.baseline,
        margin=policy.validation_margin,
        p_value=_p_value(differences),
        significance=policy.validation_significance,
        constant_score=scores.best_constant,
    )

    verdict = _verdict(validation)
    return Assessment(
        verdict, _reason(verdict, validation, spec.compile.loss), validation, low, high
    )


# Per-row loss differences whose spread is at most this fraction of their
# largest magnitude count as equal: duplicated rows can differ by float32
# rounding when they sit at different places in a batch.
SPREAD_TOLERANCE = 1e-6


def _p_value(differences: np.ndarray) -> float:
    """Return the one-sided p-value that the mean per-row difference is below 0.

    NaN, meaning no evidence, when there are fewer than two rows, when a
    difference is not finite, or when the differences have no spread (as
    duplicated rows give), because the t statistic is then undefined.
    """
    if differences.size < 2 or not np.isfinite(differences).all():
        return math.nan
    if np.ptp(differences) <= SPREAD_TOLERANCE * np.abs(differences).max():
        return math.nan
    result = scipy.stats.ttest_1samp(differences, 0.0, alternative="less")
    return float(result.pvalue)


@dataclass(frozen=True)
class _Shortfall:
    """One condition of VALIDATED that a run fails, in words with its numbers."""

    text: str
    # True when the held-out rows themselves rule VALIDATED out, so that no
    # amount of training can help.
    in_data: bool = False


def _verdict(validation: Validation) -> Verdict:
    if _shortfalls(validation):
        return Verdict.NO_BETTER_THAN_BASELINE
    return Verdict.VALIDATED


def _shortfalls(validation: Validation) -> list[_Shortfall]:
    """Return the conditions of VALIDATED that the held-out scores fail."""
    found = [_loss_shortfall(validation), _p_value_shortfall(validation)]
    if validation.score_name == "r_squared":
        found.append(_r_squared_shortfall(validation))
    else:
        found.append(_accuracy_shortfall(validation))
    return [shortfall for shortfall in found if shortfall is not None]


def _loss_shortfall(validation: Validation) -> _Shortfall | None:
    loss, baseline = validation.loss, validation.baseline_loss
    if not math.isfinite(loss):
        return _Shortfall(
            f"the loss is {_number(loss)}, because the model's outputs on the "
            "held-out rows contain NaN or Inf"
        )
    if not math.isfinite(baseline):
        return _Shortfall(
            f"the baseline's loss is {_number(baseline)}, so no loss margin can "
            "be computed"
        )
    if loss <= validation.required_loss:
        return None
    return _Shortfall(
        f"the loss {loss:.6g} is above {validation.required_loss:.6g}, the most "
        "that VALIDATED allows"
    )


def _p_value_shortfall(validation: Validation) -> _Shortfall | None:
    p_value = validation.p_value
    if p_value < validation.significance:
        return None
    if not math.isnan(p_value):
        return _Shortfall(f"p = {p_value:.3g} is not below {validation.significance:g}")
    if validation.rows < 2:
        return _Shortfall(
            "no p-value: a paired t-test needs at least 2 held-out rows", True
        )
    if not (math.isfinite(validation.loss) and math.isfinite(validation.baseline_loss)):
        return _Shortfall("no p-value: some per-row losses are NaN or Inf")
    return _Shortfall(
        "no p-value: the per-row differences from the baseline's losses have no "
        "spread (duplicated rows?)",
        True,
    )


def _r_squared_shortfall(validation: Validation) -> _Shortfall | None:
    if validation.score > 0.0:
        return None
    if validation.rows < 2:
        return _Shortfall(
            "R-squared is undefined on 1 held-out row: too few held-out rows", True
        )
    if math.isnan(validation.constant_score):
        return _Shortfall(
            "R-squared is undefined because the held-out targets are constant, so "
            "no model can be shown to beat a constant",
            True,
        )
    if math.isnan(validation.score):
        return _Shortfall(
            "R-squared is undefined because the model's outputs on the held-out "
            "rows contain NaN or Inf"
        )
    return _Shortfall(
        f"R-squared {validation.score:.4g} is not above 0, so the model does no "
        "better than the mean of the held-out targets"
    )


def _accuracy_shortfall(validation: Validation) -> _Shortfall | None:
    best = validation.constant_score
    if validation.score > best:
        return None
    if validation.rows < 2:
        return _Shortfall(
            "accuracy cannot beat a constant on 1 held-out row: too few held-out rows",
            True,
        )
    if best >= 1.0:
        return _Shortfall(
            "the held-out rows all have the same class, so always answering it is "
            "right on every row and no model can be shown to beat a constant",
            True,
        )
    return _Shortfall(
        f"accuracy {_number(validation.score, '.4g')} is not above "
        f"{_number(best, '.4g')}, the accuracy of always answering the held-out "
        "rows' most frequent class"
    )


@dataclass(frozen=True)
class _Scores:
    """R-squared (regression) or accuracy (classification) on held-out rows."""

    name: str
    model: float
    baseline: float
    # The score of the best constant in hindsight, as in Validation.
    best_constant: float


def _scores(
    spec: ModelSpec, y: np.ndarray, predictions: np.ndarray, constant: np.ndarray
) -> _Scores:
    """Score the model, the baseline and the best constant in hindsight."""
    loss = spec.compile.loss
    if loss not in CLASSIFICATION_LOSSES:
        best = 0.0 if _r_squared_defined(y) else math.nan
        return _Scores(
            "r_squared", _r_squared(y, predictions), _r_squared(y, constant), best
        )
    return _Scores(
        "accuracy",
        _accuracy(loss, y, predictions),
        _accuracy(loss, y, constant),
        _majority_accuracy(loss, y),
    )


def _r_squared_defined(y: np.ndarray) -> bool:
    """Return whether R-squared is defined: 2 rows or more, not all constant."""
    rows = y.shape[0]
    return rows >= 2 and bool(np.ptp(y.reshape(rows, -1), axis=0).any())


def _r_squared(y: np.ndarray, predictions: np.ndarray) -> float:
    """Return R-squared pooled over all output values, or NaN where undefined.

    R-squared is 1 - (squared error) / (squared error of the held-out mean of
    each output), so it is above 0 exactly when the predictions beat that
    mean. With several outputs this pools the errors, as scikit-learn's
    ``multioutput="variance_weighted"`` does. It is NaN for fewer than 2
    rows, constant targets or non-finite predictions; scikit-learn's
    ``r2_score`` would return 0 or 1 for constant targets instead.
    """
    rows = y.shape[0]
    if not _r_squared_defined(y) or not np.isfinite(predictions).all():
        return math.nan
    targets = y.reshape(rows, -1).astype(np.float64)
    outputs = predictions.reshape(rows, -1).astype(np.float64)
    # A constant column contributes exactly 0 to the total, not the rounding
    # error of its mean.
    varies = np.ptp(targets, axis=0) > 0
    deviations = np.where(varies, targets - targets.mean(axis=0), 0.0)
    total = float(np.square(deviations).sum())
    residual = float(np.square(targets - outputs).sum())
    return 1.0 - residual / total


def _labels(loss: str, y: np.ndarray) -> np.ndarray:
    """Return the class of each target, shape (rows, positions)."""
    rows = y.shape[0]
    match loss:
        case "binary_crossentropy":
            labels = y > 0.5
        case "categorical_crossentropy":
            labels = np.argmax(y, axis=-1)
        case _:
            labels = y
    return labels.reshape(rows, -1).astype(np.int64)


def _accuracy(loss: str, y: np.ndarray, predictions: np.ndarray) -> float:
    match loss:
        case "binary_crossentropy":
            hits = (predictions > 0.5) == (y > 0.5)
        case "categorical_crossentropy":
            hits = np.argmax(predictions, axis=-1) == np.argmax(y, axis=-1)
        case _:
            hits = np.argmax(predictions, axis=-1) == y.astype(np.int64)
    return float(np.mean(hits))


def _majority_accuracy(loss: str, y: np.ndarray) -> float:
    """Return the accuracy of always answering the most frequent class of ``y``.

    Each output position gets its own most frequent class, so this is the
    accuracy of the best constant output in hindsight.
    """
    labels = _labels(loss, y)
    most = [np.bincount(column).max() for column in labels.T]
    return float(np.mean(most) / labels.shape[0])


def _reason(verdict: Verdict, validation: Validation, loss: str) -> str:
    rows = plural(validation.rows, "held-out row")
    baseline = _BASELINE_NAMES.get(validation.baseline_kind, "baseline")
    compared = (
        f"on {rows}, loss ({loss}) {_number(validation.loss)} against "
        f"{_number(validation.baseline_loss)} for a constant prediction of the "
        f"{baseline}; {_score_text(validation)}"
    )
    if verdict is Verdict.VALIDATED:
        return (
            f"VALIDATED: {compared}, one-sided p = {validation.p_value:.3g}. "
            f"The loss is clearly below the baseline's, and "
            f"{_beats_constant_text(validation)}."
        )
    p_value = (
        "no p-value"
        if math.isnan(validation.p_value)
        else f"p = {validation.p_value:.3g}"
    )
    needed = (
        f"VALIDATED needs a loss of at most {_number(validation.required_loss)} "
        f"({validation.margin:.0%} below the baseline's), p < "
        f"{validation.significance:g} and {_constant_condition_text(validation)}"
    )
    shortfalls = _shortfalls(validation)
    failed = "; ".join(shortfall.text for shortfall in shortfalls)
    if any(shortfall.in_data for shortfall in shortfalls):
        advice = (
            "These held-out rows cannot show that any model beats a constant; "
            "hold out more rows, distinct and with varied targets (validation_x "
            "and validation_y, or more training rows to split)."
        )
    else:
        advice = (
            f"The model has not learned more than the {baseline}; train longer, "
            "with another learning rate, or on more rows."
        )
    return (
        f"NO_BETTER_THAN_BASELINE: {compared}; {p_value}. {needed}. This run "
        f"fails {_failed_count(len(shortfalls))}: {failed}. {advice}"
    )


# The constant baselines by kind, as the reasons name them.
_BASELINE_NAMES = {
    "training_mean": "training mean",
    "majority_class": "smoothed training class frequencies",
}


def _failed_count(count: int) -> str:
    return "this condition" if count == 1 else f"{count} of these conditions"


def _constant_condition_text(validation: Validation) -> str:
    if validation.score_name == "r_squared":
        return "R-squared above 0 (better than the mean of the held-out targets)"
    return (
        "an accuracy above that of always answering the held-out rows' most "
        f"frequent class ({_number(validation.constant_score, '.4g')})"
    )


def _beats_constant_text(validation: Validation) -> str:
    if validation.score_name == "r_squared":
        return "R-squared above 0 shows that it beats the mean of the held-out targets"
    return (
        f"the accuracy is above {validation.constant_score:.4g}, that of always "
        "answering the held-out rows' most frequent class"
    )


def _score_text(validation: Validation) -> str:
    name = "R-squared" if validation.score_name == "r_squared" else "accuracy"
    if math.isnan(validation.score) and math.isnan(validation.baseline_score):
        return f"{name} undefined"
    return (
        f"{name} {_number(validation.score, '.4g')} against "
        f"{_number(validation.baseline_score, '.4g')} for the baseline"
    )


def _number(value: float, spec: str = ".6g") -> str:
    """Format a score for a reason: NaN reads "undefined", Inf "infinite"."""
    if math.isnan(value):
        return "undefined"
    if math.isinf(value):
        return "infinite" if value > 0 else "minus infinite"
    return format(value, spec)


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
