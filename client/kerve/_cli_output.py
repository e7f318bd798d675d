"""Output of the ``kerve`` command line: rich tables for people, JSON for scripts.

JSON goes to standard output through ``echo_json``, one document per line,
with NaN and infinity replaced by null because JSON cannot express them.
"""

from __future__ import annotations

import datetime
import json
import math
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from kerve import _cli_verdicts as verdicts
from kerve._trust import Verdict
from kerve._types import (
    Evaluation,
    EvaluationReport,
    ExportedArchive,
    Model,
    ModelEvent,
    Prediction,
    TrainingProgress,
    TrainingResult,
    TrainingSummary,
)

UNTRAINED_BANNER = "UNTRAINED: these outputs come from initial weights and mean nothing"
NOT_MEANINGFUL_BANNER = "NOT MEANINGFUL: these outputs must not be used"
UNTRAINED_ARCHIVE_BANNER = (
    "UNTRAINED: this archive contains initial weights, which say nothing about any data"
)

# Descriptions of the values of EvaluationReport.baseline_kind.
_BASELINE_KINDS = {
    "": "mean",
    "training_mean": "mean",
    "majority_class": "smoothed class frequencies",
}

# Descriptions of the values of EvaluationReport.baseline_source.
_BASELINE_SOURCES = {
    "": "the targets",
    "train_subset": "the train subset",
    "last_training_run": "the last training data",
    "evaluated_rows": "the evaluated rows",
}

# Rows of a prediction table above which the warning is repeated below it.
_BANNER_REPEAT_ROWS = 10


def echo_json(document: object) -> None:
    """Print a document as one line of JSON on standard output."""
    typer.echo(json.dumps(_json_safe(document)))


def _json_safe(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value


def _isoformat(moment: datetime.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _format_time(moment: datetime.datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S %Z")


def _format_number(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


# Models


def model_to_json(model: Model) -> dict[str, Any]:
    """Return a model as a JSON document, with the spec in its proto JSON form."""
    last_training = None
    if model.last_training is not None:
        last_training = summary_to_json(model.last_training)
    return {
        "name": model.name,
        "state": model.state.name,
        "version": model.version,
        "untrained": model.untrained,
        "parameter_count": model.parameter_count,
        "create_time": _isoformat(model.create_time),
        "update_time": _isoformat(model.update_time),
        "failure_reason": model.failure_reason,
        "last_training": last_training,
        "verdict": model.verdict.name,
        "assessment": verdicts.assessment_to_json(model.assessment),
        "spec": model.spec,
    }


def summary_to_json(summary: TrainingSummary) -> dict[str, Any]:
    """Return a training summary as a JSON document."""
    return {
        "epochs_run": summary.epochs_run,
        "final_loss": summary.final_loss,
        "final_metrics": summary.final_metrics,
        "duration_seconds": summary.duration.total_seconds(),
        "samples": summary.samples,
        "end_time": _isoformat(summary.end_time),
    }


def describe_summary(summary: TrainingSummary) -> str:
    """Return a training summary as one line for a person."""
    metrics = "".join(
        f", {name} {value:.6g}" for name, value in sorted(summary.final_metrics.items())
    )
    return (
        f"{summary.epochs_run} epochs on {summary.samples} samples in "
        f"{summary.duration.total_seconds():.1f} s, final loss "
        f"{summary.final_loss:.6g}{metrics}"
    )


def _describe_layers(spec: dict[str, Any]) -> str:
    """Return the layers of a spec's JSON form, such as ``Dense(10, relu)``."""
    descriptions = []
    for layer in spec.get("layers", []):
        dense = layer.get("dense")
        if dense is None:
            descriptions.append(str(layer))
            continue
        parts = [str(dense.get("units", "?")), dense.get("activation") or "linear"]
        kernel = dense.get("kernel_initializer", {}).get("name", "glorot_uniform")
        bias = dense.get("bias_initializer", {}).get("name", "zeros")
        if kernel != "glorot_uniform":
            parts.append(f"kernel {kernel}")
        if bias != "zeros":
            parts.append(f"bias {bias}")
        if dense.get("use_bias") is False:
            parts.append("no bias")
        descriptions.append(f"Dense({', '.join(parts)})")
    return ", ".join(descriptions) or "-"


def _describe_compile(spec: dict[str, Any]) -> str:
    compile_spec = spec.get("compile", {})
    optimizer = compile_spec.get("optimizer", {})
    text = f"optimizer {optimizer.get('name') or 'adam'}"
    if "learning_rate" in optimizer:
        text += f" (learning rate {optimizer['learning_rate']})"
    text += f", loss {compile_spec.get('loss') or 'mse'}"
    metrics = compile_spec.get("metrics", [])
    if metrics:
        text += f", metrics {', '.join(metrics)}"
    return text


def _untrained_cell(untrained: bool) -> Text:
    return Text("yes", style="bold yellow") if untrained else Text("no")


def print_model(console: Console, model: Model) -> None:
    """Print one model as a two-column table; ``--json`` shows the full spec."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("name", model.name)
    table.add_row("state", model.state.name)
    table.add_row("version", str(model.version))
    table.add_row("untrained", _untrained_cell(model.untrained))
    table.add_row("verdict", verdicts.verdict_text(model.verdict))
    assessment = model.assessment
    if assessment is not None and assessment.reason:
        table.add_row("verdict reason", assessment.reason)
    if assessment is not None and assessment.validation is not None:
        table.add_row("held-out", verdicts.describe_validation(assessment.validation))
    table.add_row("parameters", str(model.parameter_count))
    table.add_row("input shape", str(tuple(model.spec.get("input_shape", []))))
    table.add_row("layers", _describe_layers(model.spec))
    table.add_row("compile", _describe_compile(model.spec))
    table.add_row("seed", str(model.spec.get("seed", "random")))
    table.add_row("created", _format_time(model.create_time))
    table.add_row("updated", _format_time(model.update_time))
    if model.last_training is not None:
        table.add_row("last training", describe_summary(model.last_training))
    if model.failure_reason:
        table.add_row("failure reason", Text(model.failure_reason, style="red"))
    console.print(table)


def print_models(console: Console, models: list[Model]) -> None:
    """Print a table of models, one row each."""
    if not models:
        console.print("no models")
        return
    table = Table(
        "name", "state", "version", "untrained", "verdict", "parameters", "updated"
    )
    for model in models:
        table.add_row(
            model.name,
            model.state.name,
            str(model.version),
            _untrained_cell(model.untrained),
            verdicts.verdict_text(model.verdict),
            str(model.parameter_count),
            _format_time(model.update_time),
        )
    console.print(table)


# Predictions


def prediction_to_json(prediction: Prediction) -> dict[str, Any]:
    """Return a prediction as a JSON document."""
    return {
        "name": prediction.name,
        "outputs": prediction.outputs.tolist(),
        "untrained": prediction.untrained,
        "meaningful": prediction.meaningful,
        "state": prediction.state.name,
        "version": prediction.version,
        "notice": prediction.notice,
        "verdict": prediction.verdict.name,
        "validation": verdicts.validation_to_json(prediction.validation),
        "extrapolated_rows": prediction.extrapolated_rows.tolist(),
        "non_finite_rows": prediction.non_finite_rows.tolist(),
        "training_ranges_known": prediction.training_ranges_known,
    }


def prediction_banner(prediction: Prediction) -> str | None:
    """Return the warning line for outputs that are not meaningful, else None."""
    if prediction.untrained:
        return UNTRAINED_BANNER
    if not prediction.meaningful:
        return NOT_MEANINGFUL_BANNER
    return None


def print_warnings(console: Console, prediction: Prediction) -> None:
    """Print the banner of outputs that are not meaningful, then the verdict."""
    banner = prediction_banner(prediction)
    if banner is not None:
        console.print(Text(banner, style="bold red"), soft_wrap=True)
    verdicts.print_prediction_verdict(console, prediction)


def print_prediction(console: Console, prediction: Prediction) -> None:
    """Print the outputs as a table, after the banner, the verdict and row marks."""
    outputs = prediction.outputs
    if outputs.ndim == 0:
        rows = outputs.reshape(1, 1)
    else:
        rows = outputs.reshape(outputs.shape[0], -1)
    print_warnings(console, prediction)

    console.print(
        f"model {prediction.name}, version {prediction.version}, state "
        f"{prediction.state.name}, outputs of shape {outputs.shape}",
        soft_wrap=True,
    )
    marks = verdicts.row_marks(prediction) if outputs.ndim else []
    marked = any(marks)
    columns = [f"output {index}" for index in range(rows.shape[1])]
    table = Table("row", *columns, *(["marks"] if marked else []))
    for index, row in enumerate(rows.tolist()):
        cells: list[str | Text] = [str(index)]
        cells.extend(_format_number(value) for value in row)
        if marked:
            cells.append(Text(marks[index], style="bold magenta"))
        table.add_row(*cells)
    console.print(table)

    # Repeat the warnings below a long table, whose top may be out of sight.
    below = prediction.verdict < Verdict.VALIDATED
    if rows.shape[0] > _BANNER_REPEAT_ROWS:
        banner = prediction_banner(prediction)
        if banner is not None:
            console.print(Text(banner, style="bold red"), soft_wrap=True)
        if below:
            console.print(verdicts.prediction_verdict_line(prediction), soft_wrap=True)


# Training


def progress_to_json(event: TrainingProgress) -> dict[str, Any]:
    """Return the progress of one epoch as a JSON document."""
    return {
        "event": "progress",
        "epoch": event.epoch,
        "epochs": event.epochs,
        "loss": event.loss,
        "metrics": event.metrics,
    }


def result_to_json(result: TrainingResult) -> dict[str, Any]:
    """Return the result of a training run as a JSON document.

    ``verdict`` and ``reason`` repeat those of the model's assessment.
    """
    model = result.model
    return {
        "event": "result",
        "model": model_to_json(model),
        "summary": summary_to_json(result.summary),
        "verdict": model.verdict.name,
        "reason": "" if model.assessment is None else model.assessment.reason,
    }


def print_result(console: Console, result: TrainingResult) -> None:
    """Print a training run's result, then the new version's verdict and reason."""
    model = result.model
    console.print(
        f"trained model {model.name}: version {model.version}, state "
        f"{model.state.name}, {describe_summary(result.summary)}",
        soft_wrap=True,
    )
    console.print(verdicts.verdict_line(model.verdict, model.version), soft_wrap=True)
    assessment = model.assessment
    if assessment is None:
        return
    below = model.verdict < Verdict.VALIDATED
    if assessment.reason:
        console.print(
            Text(assessment.reason, style="yellow" if below else ""), soft_wrap=True
        )
    if assessment.validation is not None:
        console.print(
            f"held-out: {verdicts.describe_validation(assessment.validation)}",
            soft_wrap=True,
        )


# Evaluation


def _evaluation_to_json(evaluation: Evaluation) -> dict[str, Any]:
    return {"loss": evaluation.loss, "metrics": evaluation.metrics}


def report_to_json(report: EvaluationReport) -> dict[str, Any]:
    """Return an evaluation report as a JSON document."""
    return {
        "name": report.name,
        "version": report.version,
        "untrained": report.untrained,
        "state": report.state.name,
        "samples": report.samples,
        "current": _evaluation_to_json(report.current),
        "initial": _evaluation_to_json(report.initial),
        "baseline": _evaluation_to_json(report.baseline),
        "baseline_source": report.baseline_source,
        "baseline_kind": report.baseline_kind,
    }


def print_report(console: Console, report: EvaluationReport) -> None:
    """Print the loss and metrics of the three predictors side by side."""
    console.print(
        f"model {report.name}, version {report.version}, state {report.state.name}, "
        f"{report.samples} samples",
        soft_wrap=True,
    )
    if report.untrained:
        console.print(
            Text(
                "UNTRAINED: the current weights are the initial weights, so the "
                "current and initial scores are the same",
                style="bold red",
            ),
            soft_wrap=True,
        )

    source = _BASELINE_SOURCES.get(report.baseline_source, report.baseline_source)
    kind = _BASELINE_KINDS.get(report.baseline_kind, report.baseline_kind)
    table = Table(
        "",
        f"current (version {report.version})",
        "initial weights",
        f"baseline {report.baseline_kind or 'training_mean'} ({kind} of {source})",
    )
    columns = (report.current, report.initial, report.baseline)
    table.add_row("loss", *(_format_number(column.loss) for column in columns))
    metric_names = sorted({name for column in columns for name in column.metrics})
    for metric_name in metric_names:
        values = (column.metrics.get(metric_name) for column in columns)
        table.add_row(metric_name, *(_format_number(value) for value in values))
    console.print(table)


# Watching


def _describe_metrics(metrics: dict[str, float]) -> str:
    return "".join(f", {name} {value:.6g}" for name, value in sorted(metrics.items()))


def describe_event(event: ModelEvent) -> str:
    """Return a watched model's event as one line for a person."""
    model = event.model
    if event.progress is not None:
        progress = event.progress
        return (
            f"{model.name}: epoch {progress.epoch}/{progress.epochs}, loss "
            f"{progress.loss:.6g}{_describe_metrics(progress.metrics)}"
        )
    line = f"{model.name}: state {model.state.name}, version {model.version}"
    if model.untrained:
        line += ", untrained"
    elif model.verdict is not Verdict.UNSPECIFIED:
        line += f", verdict {model.verdict.name}"
    if model.failure_reason:
        line += f", failure reason: {model.failure_reason}"
    return line


def event_to_json(event: ModelEvent) -> dict[str, Any]:
    """Return a watched model's event as a JSON document.

    A state change has ``"event": "state"``; the end of an epoch has
    ``"event": "progress"`` and the fields of ``progress_to_json``.
    """
    if event.progress is None:
        return {"event": "state", "model": model_to_json(event.model)}
    return {**progress_to_json(event.progress), "model": model_to_json(event.model)}


# Archives


def archive_to_json(archive: ExportedArchive) -> dict[str, Any]:
    """Return an exported archive's description as a JSON document."""
    return {
        "name": archive.model.name,
        "version": archive.version,
        "untrained": archive.untrained,
        "path": str(archive.path),
        "size_bytes": archive.size_bytes,
        "sha256": archive.sha256,
    }
