"""Verdicts in the ``kerve`` command line: coloured lines for people, JSON for scripts.

A verdict below VALIDATED is printed as a bold line in colour, followed by
the server's reason and the held-out numbers, so that a person reading the
output cannot miss it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.text import Text

from kerve._plural import plural
from kerve._trust import Assessment, Validation, Verdict
from kerve._types import Prediction

# Row indices listed in a line before it only counts the rest.
_LISTED_ROWS = 20

_VERDICT_STYLES = {
    Verdict.VALIDATED: "bold green",
    Verdict.UNVALIDATED: "bold yellow",
    Verdict.NO_BETTER_THAN_BASELINE: "bold red",
    Verdict.UNTRAINED: "bold red",
    Verdict.UNSPECIFIED: "bold red",
}

_VERDICT_MEANINGS = {
    Verdict.VALIDATED: "its held-out loss is clearly below a constant baseline's",
    Verdict.UNVALIDATED: (
        "trained without held-out rows, so nothing is known about its quality"
    ),
    Verdict.NO_BETTER_THAN_BASELINE: (
        "on held-out rows it did not clearly beat a constant prediction"
    ),
    Verdict.UNTRAINED: "initial weights, which say nothing about any data",
    Verdict.UNSPECIFIED: "the server sent no verdict, so trust nothing",
}


def verdict_text(verdict: Verdict) -> Text:
    """Return the verdict's name in its colour, for a table cell."""
    return Text(verdict.name, style=_VERDICT_STYLES[verdict])


def verdict_line(verdict: Verdict, version: int) -> Text:
    """Return the line that states a version's verdict and what it means."""
    prefix = "VERDICT" if verdict < Verdict.VALIDATED else "verdict"
    return Text(
        f"{prefix} {verdict.name}: version {version}: {_VERDICT_MEANINGS[verdict]}",
        style=_VERDICT_STYLES[verdict],
    )


def prediction_verdict_line(prediction: Prediction) -> Text:
    """Return the line that states a response's verdict and what it means.

    NaN or Inf outputs lower a response below its version's verdict, so the
    line then names them as the cause. The response does not contain the
    version's own verdict, so the line cannot name it.
    """
    verdict, version = prediction.verdict, prediction.version
    rows = prediction.non_finite_rows
    if (
        verdict is not Verdict.NO_BETTER_THAN_BASELINE
        or not rows.size
        or prediction.untrained
    ):
        return verdict_line(verdict, version)
    verb = "has" if rows.size == 1 else "have"
    return Text(
        f"VERDICT {verdict.name}: version {version}: this response is "
        f"{verdict.name} because {plural(rows.size, 'row')} {verb} NaN or Inf "
        f"outputs ({describe_rows(rows)}); the version's own verdict is in the "
        "notice below",
        style=_VERDICT_STYLES[verdict],
    )


def _format(value: float) -> str:
    return "undefined" if math.isnan(value) else f"{value:.6g}"


def describe_validation(validation: Validation) -> str:
    """Return held-out scores as one line: the model's loss against the baseline's."""
    baseline = validation.baseline_kind or "baseline"
    return (
        f"{plural(validation.rows, 'row')} ({validation.source}), loss "
        f"{_format(validation.loss)} against {_format(validation.baseline_loss)} "
        f"for the {baseline} baseline (VALIDATED needs at most "
        f"{_format(validation.required_loss)}, p < {validation.significance:g}; "
        f"p = {_format(validation.p_value)}), {validation.score_name} "
        f"{_format(validation.score)} against {_format(validation.baseline_score)}"
    )


def describe_rows(rows: npt.NDArray[np.int64]) -> str:
    """Return row indices as ``row 4`` or ``rows 1, 3``, with at most 20 listed."""
    listed = ", ".join(str(row) for row in rows[:_LISTED_ROWS].tolist())
    more = rows.size - _LISTED_ROWS
    noun = "row" if rows.size == 1 else "rows"
    return f"{noun} {listed}" + (f" and {more} more" if more > 0 else "")


def print_prediction_verdict(console: Console, prediction: Prediction) -> None:
    """Print the verdict, the server's notice, held-out scores and row marks."""
    console.print(prediction_verdict_line(prediction), soft_wrap=True)
    below = prediction.verdict < Verdict.VALIDATED
    if prediction.notice:
        console.print(
            Text(prediction.notice, style="yellow" if below else ""), soft_wrap=True
        )
    if prediction.validation is not None:
        console.print(
            f"held-out: {describe_validation(prediction.validation)}", soft_wrap=True
        )
    total = prediction.outputs.shape[0] if prediction.outputs.ndim else 0
    if prediction.extrapolated_rows.size:
        count = prediction.extrapolated_rows.size
        console.print(
            Text(
                f"EXTRAPOLATION: {count} of {plural(total, 'row')} "
                f"({describe_rows(prediction.extrapolated_rows)}) "
                f"{'is' if count == 1 else 'are'} outside the ranges of the "
                "training inputs",
                style="bold magenta",
            ),
            soft_wrap=True,
        )
    if prediction.non_finite_rows.size:
        count = prediction.non_finite_rows.size
        console.print(
            Text(
                f"NON-FINITE: {count} of {plural(total, 'row')} "
                f"({describe_rows(prediction.non_finite_rows)}) "
                f"{'has' if count == 1 else 'have'} NaN or Inf outputs",
                style="bold red",
            ),
            soft_wrap=True,
        )
    if not prediction.training_ranges_known and not prediction.untrained:
        console.print(
            "training input ranges unknown: no row was checked for extrapolation",
            soft_wrap=True,
        )


def row_marks(prediction: Prediction) -> list[str]:
    """Return one mark per output row: extrapolation, NaN/Inf, both or empty."""
    extrapolated = prediction.extrapolated
    non_finite = prediction.non_finite
    marks = []
    for index in range(extrapolated.size):
        labels = []
        if extrapolated[index]:
            labels.append("extrapolation")
        if non_finite[index]:
            labels.append("NaN/Inf")
        marks.append(", ".join(labels))
    return marks


def validation_to_json(validation: Validation | None) -> dict[str, Any] | None:
    """Return held-out scores as a JSON document, or None without them."""
    if validation is None:
        return None
    return {
        "source": validation.source,
        "rows": validation.rows,
        "loss": validation.loss,
        "metrics": validation.metrics,
        "baseline_loss": validation.baseline_loss,
        "baseline_metrics": validation.baseline_metrics,
        "baseline_kind": validation.baseline_kind,
        "required_loss": validation.required_loss,
        "score_name": validation.score_name,
        "score": validation.score,
        "baseline_score": validation.baseline_score,
        "margin": validation.margin,
        "p_value": validation.p_value,
        "significance": validation.significance,
    }


def _array_to_json(array: npt.NDArray[np.generic] | None) -> Any:
    return None if array is None else array.tolist()


def assessment_to_json(assessment: Assessment | None) -> dict[str, Any] | None:
    """Return an assessment as a JSON document, or None when the server sent none."""
    if assessment is None:
        return None
    return {
        "verdict": assessment.verdict.name,
        "reason": assessment.reason,
        "validation": validation_to_json(assessment.validation),
        "input_min": _array_to_json(assessment.input_min),
        "input_max": _array_to_json(assessment.input_max),
    }
