"""Value objects returned by the client, converted from the protocol messages."""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from google.protobuf import json_format, timestamp_pb2

from kerve._tensors import tensor_to_array
from kerve._trust import Assessment, Validation, Verdict
from kerve.v1 import kerve_pb2


class State(enum.Enum):
    """Lifecycle state of a model, as in ``kerve.v1.State``."""

    UNSPECIFIED = kerve_pb2.STATE_UNSPECIFIED
    """The server sent no state, or one this client does not know."""
    UNTRAINED = kerve_pb2.UNTRAINED
    """Created or reset and never trained since: predictions come from initial
    weights."""
    TRAINING = kerve_pb2.TRAINING
    """A training run is in progress. Predictions come from the last trained
    version, or from the initial weights if there is none."""
    TRAINED = kerve_pb2.TRAINED
    """The current version came from a completed training run."""
    FAILED = kerve_pb2.FAILED
    """The last training run failed, and predictions come from the weights that
    were current before it."""

    @classmethod
    def from_proto(cls, value: int) -> State:
        """Convert a ``kerve.v1.State`` value, mapping unknown values to UNSPECIFIED."""
        try:
            return cls(value)
        except ValueError:
            return cls.UNSPECIFIED

    def __repr__(self) -> str:
        return f"State.{self.name}"


def _datetime_from_proto(message: Any, field_name: str) -> datetime.datetime | None:
    """Return a Timestamp field as an aware UTC datetime, or None when unset."""
    if not message.HasField(field_name):
        return None
    timestamp: timestamp_pb2.Timestamp = getattr(message, field_name)
    return timestamp.ToDatetime(tzinfo=datetime.UTC)


@dataclass(frozen=True)
class TrainingSummary:
    """Summary of a completed training run.

    Attributes:
        epochs_run: Number of epochs that the run completed.
        final_loss: Training loss after the last epoch.
        final_metrics: Metric values after the last epoch, by metric name.
        duration: Wall-clock time of the run.
        samples: Number of training rows.
        end_time: When the run finished, or None if the server sent no end time.
    """

    epochs_run: int
    final_loss: float
    final_metrics: dict[str, float]
    duration: datetime.timedelta
    samples: int
    end_time: datetime.datetime | None

    @classmethod
    def from_proto(cls, message: kerve_pb2.TrainingSummary) -> TrainingSummary:
        """Convert a ``kerve.v1.TrainingSummary`` message."""
        return cls(
            epochs_run=message.epochs_run,
            final_loss=message.final_loss,
            final_metrics=dict(message.final_metrics),
            duration=message.duration.ToTimedelta(),
            samples=message.samples,
            end_time=_datetime_from_proto(message, "end_time"),
        )


@dataclass(frozen=True)
class Model:
    """A named model on the server and its lifecycle state.

    Attributes:
        name: The model's name.
        state: The lifecycle state.
        version: The version that predictions use now. Creation publishes
            version 1, and each completed training run publishes the next.
        untrained: True when the current version's weights are initial weights.
        spec: The model spec in its JSON form, with proto field names, as
            ``spec_from_dict`` accepts it.
        create_time: When the model was created (UTC).
        update_time: When the model last changed (UTC).
        last_training: The last completed training run, or None if the model
            was never trained.
        failure_reason: Why the last training run failed; empty unless the
            state is FAILED.
        parameter_count: Number of weights in the model.
        verdict: How far the current version's outputs can be trusted.
        assessment: The evidence behind the verdict: the reason, held-out
            scores and the ranges of the training inputs.
    """

    name: str
    state: State
    version: int
    untrained: bool
    spec: dict[str, Any] = field(repr=False)
    create_time: datetime.datetime | None = field(repr=False)
    update_time: datetime.datetime | None
    last_training: TrainingSummary | None = field(repr=False)
    failure_reason: str
    parameter_count: int
    verdict: Verdict = Verdict.UNSPECIFIED
    assessment: Assessment | None = field(default=None, repr=False)

    @classmethod
    def from_proto(cls, message: kerve_pb2.Model) -> Model:
        """Convert a ``kerve.v1.Model`` message."""
        last_training = None
        if message.HasField("last_training"):
            last_training = TrainingSummary.from_proto(message.last_training)
        return cls(
            name=message.name,
            state=State.from_proto(message.state),
            version=message.version,
            untrained=message.untrained,
            spec=json_format.MessageToDict(
                message.spec, preserving_proto_field_name=True
            ),
            create_time=_datetime_from_proto(message, "create_time"),
            update_time=_datetime_from_proto(message, "update_time"),
            last_training=last_training,
            failure_reason=message.failure_reason,
            parameter_count=message.parameter_count,
            verdict=Verdict.from_proto(message.verdict),
            assessment=(
                Assessment.from_proto(message.assessment)
                if message.HasField("assessment")
                else None
            ),
        )


@dataclass(frozen=True, eq=False)
class Prediction:
    """Outputs of one Predict call and what they are worth.

    Check ``meaningful`` and ``verdict`` before using the outputs. Outputs of
    untrained weights look like predictions but have learned nothing from any
    data, and a trained model can be NO_BETTER_THAN_BASELINE: no better than
    predicting a constant.

    Attributes:
        outputs: The outputs, shape (batch, units of the last layer).
        untrained: True when the weights that computed the outputs are
            initial weights.
        meaningful: True only when ``untrained`` is false and every output is
            finite.
        state: The model's state when the outputs were computed.
        version: The model version whose weights computed the outputs.
        notice: The server's sentence for a person about what the outputs
            are worth.
        name: The model's name.
        verdict: How far the outputs can be trusted: the version's verdict,
            lowered to at most NO_BETTER_THAN_BASELINE when an output is NaN
            or Inf.
        validation: The version's held-out scores, or None without them.
        extrapolated_rows: Indices of rows with a value outside the ranges of
            the training inputs, where the model has seen no data.
        non_finite_rows: Indices of rows with a NaN or Inf output.
        training_ranges_known: False when the server did not know the
            training ranges, so that no row was checked for extrapolation.
    """

    outputs: npt.NDArray[np.generic]
    untrained: bool
    meaningful: bool
    state: State
    version: int
    notice: str
    name: str
    verdict: Verdict = Verdict.UNSPECIFIED
    validation: Validation | None = None
    extrapolated_rows: npt.NDArray[np.int64] = field(
        default_factory=lambda: np.zeros(0, dtype=np.int64)
    )
    non_finite_rows: npt.NDArray[np.int64] = field(
        default_factory=lambda: np.zeros(0, dtype=np.int64)
    )
    training_ranges_known: bool = False

    @property
    def extrapolated(self) -> npt.NDArray[np.bool_]:
        """One boolean per row: True where the row is an extrapolation."""
        return self._mask(self.extrapolated_rows)

    @property
    def non_finite(self) -> npt.NDArray[np.bool_]:
        """One boolean per row: True where an output of the row is NaN or Inf."""
        return self._mask(self.non_finite_rows)

    def _mask(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        mask = np.zeros(self.outputs.shape[0] if self.outputs.ndim else 0, bool)
        mask[rows] = True
        return mask

    @classmethod
    def from_proto(cls, message: kerve_pb2.PredictResponse) -> Prediction:
        """Convert a ``kerve.v1.PredictResponse`` message."""
        return cls(
            outputs=tensor_to_array(message.outputs),
            untrained=message.untrained,
            meaningful=message.meaningful,
            state=State.from_proto(message.state),
            version=message.version,
            notice=message.notice,
            name=message.name,
            verdict=Verdict.from_proto(message.verdict),
            validation=(
                Validation.from_proto(message.validation)
                if message.HasField("validation")
                else None
            ),
            extrapolated_rows=np.asarray(message.extrapolated_rows, dtype=np.int64),
            non_finite_rows=np.asarray(message.non_finite_rows, dtype=np.int64),
            training_ranges_known=message.training_ranges_known,
        )

    def __repr__(self) -> str:
        # The outputs can have millions of values, so show only their shape.
        return (
            f"Prediction(name={self.name!r}, shape={self.outputs.shape}, "
            f"dtype={self.outputs.dtype}, verdict={self.verdict!r}, "
            f"meaningful={self.meaningful}, untrained={self.untrained}, "
            f"state={self.state!r}, version={self.version}, "
            f"extrapolated_rows={self.extrapolated_rows.size}, "
            f"non_finite_rows={self.non_finite_rows.size})"
        )


@dataclass(frozen=True)
class TrainingProgress:
    """Progress of a training run after one epoch.

    Attributes:
        epoch: The epoch that just ended, as the server numbers it.
        epochs: Number of epochs that the run will train for.
        loss: Training loss of the epoch.
        metrics: Metric values of the epoch, by metric name, including
            validation metrics when the run has a validation split.
    """

    epoch: int
    epochs: int
    loss: float
    metrics: dict[str, float]

    @classmethod
    def from_proto(cls, message: kerve_pb2.TrainingProgress) -> TrainingProgress:
        """Convert a ``kerve.v1.TrainingProgress`` message."""
        return cls(
            epoch=message.epoch,
            epochs=message.epochs,
            loss=message.loss,
            metrics=dict(message.metrics),
        )


@dataclass(frozen=True)
class TrainingResult:
    """Outcome of a completed training run.

    Attributes:
        model: The model after the trained version was published.
        summary: The summary of the run.
    """

    model: Model
    summary: TrainingSummary

    @classmethod
    def from_proto(cls, message: kerve_pb2.TrainingResult) -> TrainingResult:
        """Convert a ``kerve.v1.TrainingResult`` message."""
        return cls(
            model=Model.from_proto(message.model),
            summary=TrainingSummary.from_proto(message.summary),
        )


@dataclass(frozen=True)
class Evaluation:
    """Loss and metrics of one set of predictions.

    Attributes:
        loss: The value of the model's loss function.
        metrics: Metric values by metric name.
    """

    loss: float
    metrics: dict[str, float]

    @classmethod
    def from_proto(cls, message: kerve_pb2.Evaluation) -> Evaluation:
        """Convert a ``kerve.v1.Evaluation`` message."""
        return cls(loss=message.loss, metrics=dict(message.metrics))


@dataclass(frozen=True)
class EvaluationReport:
    """Result of an Evaluate call: three predictors scored on the same rows.

    Attributes:
        name: The model's name.
        version: The version whose weights produced ``current``.
        untrained: True when the current weights are initial weights, so
            ``current`` equals ``initial``.
        state: The model's state.
        current: Scores of the model's current weights.
        initial: Scores of the model's initial weights, as created or last
            reset.
        baseline: Scores of a constant prediction: the mean target of the
            rows named by ``baseline_source``.
        baseline_source: Which rows the baseline mean came from:
            "train_subset", "last_training_run" or "evaluated_rows".
        samples: Number of rows evaluated.
        baseline_kind: "training_mean" for a regression loss,
            "majority_class" for a classification loss, whose constant is
            the class frequencies with one added to each count.
    """

    name: str
    version: int
    untrained: bool
    state: State
    current: Evaluation
    initial: Evaluation
    baseline: Evaluation
    baseline_source: str
    samples: int
    baseline_kind: str = ""

    @classmethod
    def from_proto(cls, message: kerve_pb2.EvaluateResponse) -> EvaluationReport:
        """Convert a ``kerve.v1.EvaluateResponse`` message."""
        return cls(
            name=message.name,
            version=message.version,
            untrained=message.untrained,
            state=State.from_proto(message.state),
            current=Evaluation.from_proto(message.current),
            initial=Evaluation.from_proto(message.initial),
            baseline=Evaluation.from_proto(message.baseline),
            baseline_source=message.baseline_source,
            samples=message.samples,
            baseline_kind=message.baseline_kind,
        )


@dataclass(frozen=True)
class ModelEvent:
    """One event of a watched model: a state change or the end of an epoch.

    Attributes:
        model: The model after the change. The first event of a watch is the
            model as it was when the watch started.
        progress: The epoch that just ended, or None when the event is not
            the end of a training epoch.
    """

    model: Model
    progress: TrainingProgress | None

    @classmethod
    def from_proto(cls, message: kerve_pb2.ModelEvent) -> ModelEvent:
        """Convert a ``kerve.v1.ModelEvent`` message."""
        progress = None
        if message.HasField("progress"):
            progress = TrainingProgress.from_proto(message.progress)
        return cls(model=Model.from_proto(message.model), progress=progress)


@dataclass(frozen=True)
class ExportedArchive:
    """A ``.keras`` archive that ``Client.export_model`` wrote to a file.

    Attributes:
        path: The file that contains the archive.
        model: The model when the export started.
        version: The version whose weights the archive contains.
        untrained: True when those weights are initial weights.
        size_bytes: Size of the archive, checked against the bytes received.
        sha256: Hex SHA-256 of the archive, checked against the bytes received.
    """

    path: Path
    model: Model = field(repr=False)
    version: int
    untrained: bool
    size_bytes: int
    sha256: str = field(repr=False)


@dataclass(frozen=True)
class ServerInfo:
    """Versions of a server and the limits that shape its requests.

    Attributes:
        version: Version of the kerve distribution the server runs.
        python_version: The server's Python version.
        tensorflow_version: The server's TensorFlow version.
        keras_version: The server's Keras version.
        start_time: When the server started serving, after loading its
            store; None if the server did not send it.
        max_message_bytes: Largest request or response message in bytes.
        max_batch_rows: Largest number of rows in one Predict request, which
            ``Client.predict(..., max_rows_per_request=...)`` can use.
    """

    version: str
    python_version: str = field(repr=False)
    tensorflow_version: str
    keras_version: str
    start_time: datetime.datetime | None = field(repr=False)
    max_message_bytes: int = field(repr=False)
    max_batch_rows: int = field(repr=False)

    @classmethod
    def from_proto(cls, message: kerve_pb2.ServerInfo) -> ServerInfo:
        """Convert a ``kerve.v1.ServerInfo`` message."""
        return cls(
            version=message.version,
            python_version=message.python_version,
            tensorflow_version=message.tensorflow_version,
            keras_version=message.keras_version,
            start_time=_datetime_from_proto(message, "start_time"),
            max_message_bytes=message.max_message_bytes,
            max_batch_rows=message.max_batch_rows,
        )
