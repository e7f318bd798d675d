"""Conversion between ``kerve.v1`` messages and the service's types."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from google.protobuf import json_format, message
from pydantic import ValidationError

from kerve.v1 import kerve_pb2
from kerve_server.engine import EpochReport
from kerve_server.errors import FieldViolation, InvalidDataError, InvalidSpecError
from kerve_server.service.datasets import (
    InlineData,
    Subset,
    SyntheticDataset,
    parse_dataset,
)
from kerve_server.service.entries import ModelSnapshot, TrainingSummary
from kerve_server.service.lifecycle import State
from kerve_server.service.registry import Evaluation, EvaluationReport, Prediction
from kerve_server.service.training import TrainingRequest
from kerve_server.specs import LayerSpec, ModelSpec, OptimizerSpec, parse_spec
from kerve_server.transport.tensors import decode_tensor, encode_tensor

STATES = {
    State.UNTRAINED: kerve_pb2.UNTRAINED,
    State.TRAINING: kerve_pb2.TRAINING,
    State.TRAINED: kerve_pb2.TRAINED,
    State.FAILED: kerve_pb2.FAILED,
}
SUBSETS = {
    kerve_pb2.SUBSET_UNSPECIFIED: Subset.DEFAULT,
    kerve_pb2.SUBSET_TRAIN: Subset.TRAIN,
    kerve_pb2.SUBSET_TEST: Subset.TEST,
    kerve_pb2.SUBSET_ALL: Subset.ALL,
}
LAYER_KINDS = ("dense",)


def _document(proto: message.Message) -> dict[str, Any]:
    # Zero values are printed, so that a 0 sent for a required size is
    # reported as 0, not as missing. Empty strings mean "the default".
    document = json_format.MessageToDict(
        proto,
        preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True,
    )
    cleaned: dict[str, Any] = _drop_empty_strings(document)
    return cleaned


def _drop_empty_strings(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_empty_strings(v) for k, v in value.items() if v != ""}
    if isinstance(value, list):
        return [_drop_empty_strings(v) for v in value]
    return value


def spec_from_proto(spec: kerve_pb2.ModelSpec, *, model: str) -> ModelSpec:
    """Validate a spec message against the allow-lists.

    Raises:
        InvalidSpecError: a field is outside an allow-list or a limit.
    """
    document = _document(spec)
    layers = []
    for index, layer in enumerate(spec.layers):
        kind = layer.WhichOneof("kind")
        if kind is None:
            message_text = (
                f"layer kind is missing; expected one of: {', '.join(LAYER_KINDS)}"
            )
            raise InvalidSpecError(
                f"invalid spec for model {model!r}: layers[{index}]: {message_text}",
                violations=[FieldViolation(f"layers[{index}]", message_text)],
            )
        layers.append({"type": kind, **document["layers"][index][kind]})
    document["layers"] = layers
    return parse_spec(document, model=model)


def spec_to_proto(spec: ModelSpec) -> kerve_pb2.ModelSpec:
    """Return the spec as a message, with every default filled in."""
    document = spec.model_dump(mode="json", exclude_none=True)
    document["layers"] = [_layer_document(layer) for layer in spec.layers]
    return json_format.ParseDict(document, kerve_pb2.ModelSpec())


def _layer_document(layer: LayerSpec) -> dict[str, Any]:
    fields = layer.model_dump(mode="json")
    kind = fields.pop("type")
    return {kind: fields}


def model_to_proto(snapshot: ModelSnapshot) -> kerve_pb2.Model:
    """Return the model resource for a snapshot."""
    model = kerve_pb2.Model(
        name=snapshot.name,
        spec=spec_to_proto(snapshot.spec),
        state=STATES[snapshot.state],
        version=snapshot.version,
        untrained=snapshot.untrained,
        failure_reason=snapshot.failure_reason,
        parameter_count=snapshot.parameter_count,
    )
    model.create_time.FromDatetime(snapshot.create_time)
    model.update_time.FromDatetime(snapshot.update_time)
    if snapshot.last_training is not None:
        model.last_training.CopyFrom(summary_to_proto(snapshot.last_training))
    return model


def summary_to_proto(summary: TrainingSummary) -> kerve_pb2.TrainingSummary:
    """Return the training summary message."""
    proto = kerve_pb2.TrainingSummary(
        epochs_run=summary.epochs_run,
        final_loss=summary.final_loss,
        final_metrics=summary.final_metrics,
        samples=summary.samples,
    )
    proto.duration.FromTimedelta(timedelta(seconds=summary.duration_seconds))
    proto.end_time.FromDatetime(summary.end_time)
    return proto


def prediction_to_proto(prediction: Prediction) -> kerve_pb2.PredictResponse:
    """Return the Predict response, flag, state and version included."""
    return kerve_pb2.PredictResponse(
        outputs=encode_tensor(prediction.outputs),
        untrained=prediction.untrained,
        meaningful=prediction.meaningful,
        state=STATES[prediction.state],
        version=prediction.version,
        notice=prediction.notice,
        name=prediction.model,
    )


def progress_to_proto(report: EpochReport) -> kerve_pb2.TrainResponse:
    """Return the streamed message for one epoch."""
    return kerve_pb2.TrainResponse(
        progress=kerve_pb2.TrainingProgress(
            epoch=report.epoch,
            epochs=report.epochs,
            loss=report.loss,
            metrics=report.metrics,
        )
    )


def data_from_proto(
    request: kerve_pb2.TrainRequest | kerve_pb2.EvaluateRequest, *, max_rows: int
) -> InlineData | SyntheticDataset:
    """Return the inline rows or the dataset description of a request.

    Raises:
        InvalidDataError: no data, or invalid dataset parameters.
        InvalidTensorError: an inline tensor is malformed.
    """
    kind = request.WhichOneof("data")
    if kind == "inline":
        return InlineData(
            x=decode_tensor(request.inline.x, field="inline.x"),
            y=decode_tensor(request.inline.y, field="inline.y"),
        )
    if kind == "synthetic":
        synthetic = request.synthetic
        generator = synthetic.WhichOneof("generator")
        if generator is None:
            raise _missing(
                "synthetic",
                "the synthetic dataset names no generator; set "
                "regression or classification",
            )
        return parse_dataset(
            generator,
            _document(getattr(synthetic, generator)),
            random_state=(
                synthetic.random_state if synthetic.HasField("random_state") else None
            ),
            test_fraction=synthetic.test_fraction,
            max_rows=max_rows,
        )
    raise _missing("data", "the request has no data; set inline or synthetic")


def training_request_from_proto(
    request: kerve_pb2.TrainRequest, *, max_rows: int
) -> TrainingRequest:
    """Return the service's training request.

    Raises:
        InvalidDataError: missing data or an invalid optimizer override.
    """
    optimizer = None
    if request.HasField("optimizer"):
        try:
            optimizer = OptimizerSpec.model_validate(_document(request.optimizer))
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(["optimizer", *(str(p) for p in error["loc"])])
            text = f"{error['msg']} (received {error.get('input')!r})"
            raise InvalidDataError(
                f"invalid training options for model {request.name!r}: {field}: {text}",
                violations=[FieldViolation(field, text)],
            ) from None
    return TrainingRequest(
        data=data_from_proto(request, max_rows=max_rows),
        epochs=request.epochs if request.HasField("epochs") else None,
        batch_size=request.batch_size if request.HasField("batch_size") else None,
        validation_split=request.validation_split,
        optimizer=optimizer,
        shuffle=request.shuffle if request.HasField("shuffle") else True,
    )


def evaluation_to_proto(report: EvaluationReport) -> kerve_pb2.EvaluateResponse:
    """Return the Evaluate response."""
    return kerve_pb2.EvaluateResponse(
        name=report.model,
        version=report.version,
        untrained=report.untrained,
        state=STATES[report.state],
        current=_evaluation(report.current),
        initial=_evaluation(report.initial),
        baseline=_evaluation(report.baseline),
        baseline_source=report.baseline_source,
        samples=report.samples,
    )


def _evaluation(evaluation: Evaluation) -> kerve_pb2.Evaluation:
    return kerve_pb2.Evaluation(loss=evaluation.loss, metrics=evaluation.metrics)


def subset_from_proto(value: int) -> Subset:
    """Return the subset an Evaluate request names.

    Raises:
        InvalidDataError: the value is not a member of ``kerve.v1.Subset``.
    """
    subset: Subset | None = SUBSETS.get(value)  # type: ignore[call-overload]
    if subset is None:
        names = ", ".join(kerve_pb2.Subset.keys())
        raise _missing("subset", f"unknown subset {value}; expected one of {names}")
    return subset


def _missing(field: str, text: str) -> InvalidDataError:
    return InvalidDataError(text, violations=[FieldViolation(field, text)])
