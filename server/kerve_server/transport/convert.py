"""Conversion between ``kerve.v1`` messages and the service's types."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from google.protobuf import json_format, message
from pydantic import ValidationError

from kerve.v1 import kerve_pb2
from kerve_server.engine import EpochReport
from kerve_server.errors import (
    FieldViolation,
    InvalidArgumentError,
    InvalidDataError,
    InvalidSpecError,
    ResourceExhaustedError,
)
from kerve_server.names import validate_model_name
from kerve_server.service.datasets import (
    InlineData,
    Subset,
    SyntheticDataset,
    parse_dataset,
)
from kerve_server.service.entries import ModelSnapshot, TrainingSummary, WatchEvent
from kerve_server.service.evaluation import Evaluation, EvaluationReport
from kerve_server.service.lifecycle import State
from kerve_server.service.registry import Prediction
from kerve_server.service.training import TrainingRequest
from kerve_server.specs import (
    CompileSpec,
    LayerSpec,
    ModelSpec,
    OptimizerSpec,
    parse_spec,
)
from kerve_server.transport.tensors import decode_tensor, encode_tensor
from kerve_server.transport.trust import (
    VERDICTS,
    assessment_to_proto,
    validation_to_proto,
)

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
        verdict=VERDICTS[snapshot.assessment.verdict],
        assessment=assessment_to_proto(snapshot.assessment),
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
    """Return the Predict response: flag, verdict, state and version included."""
    response = kerve_pb2.PredictResponse(
        outputs=encode_tensor(prediction.outputs),
        untrained=prediction.untrained,
        meaningful=prediction.meaningful,
        state=STATES[prediction.state],
        version=prediction.version,
        notice=prediction.notice,
        name=prediction.model,
        verdict=VERDICTS[prediction.verdict],
        training_ranges_known=prediction.ranges_known,
    )
    if prediction.validation is not None:
        response.validation.CopyFrom(validation_to_proto(prediction.validation))
    if prediction.marks.extrapolated.size:
        response.extrapolated_rows.extend(prediction.marks.extrapolated.tolist())
    if prediction.marks.non_finite.size:
        response.non_finite_rows.extend(prediction.marks.non_finite.tolist())
    return response


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
            x=decode_tensor(request.inline.x, field="inline.x", model=request.name),
            y=decode_tensor(request.inline.y, field="inline.y", model=request.name),
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
    name, learning_rate = None, None
    if request.HasField("optimizer"):
        document = _document(request.optimizer)
        try:
            override = OptimizerSpec.model_validate(document)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(["optimizer", *(str(p) for p in error["loc"])])
            text = f"{error['msg']} (received {error.get('input')!r})"
            raise InvalidDataError(
                f"invalid training options for model {request.name!r}: {field}: {text}",
                violations=[FieldViolation(field, text)],
            ) from None
        name = override.name if "name" in document else None
        learning_rate = override.learning_rate
    return TrainingRequest(
        data=data_from_proto(request, max_rows=max_rows),
        epochs=request.epochs if request.HasField("epochs") else None,
        batch_size=request.batch_size if request.HasField("batch_size") else None,
        validation_split=(
            request.validation_split if request.HasField("validation_split") else None
        ),
        validation_data=(
            InlineData(
                x=decode_tensor(
                    request.validation_data.x,
                    field="validation_data.x",
                    model=request.name,
                ),
                y=decode_tensor(
                    request.validation_data.y,
                    field="validation_data.y",
                    model=request.name,
                ),
            )
            if request.HasField("validation_data")
            else None
        ),
        optimizer_name=name,
        learning_rate=learning_rate,
        shuffle=request.shuffle if request.HasField("shuffle") else True,
        wait_for_slot=request.wait_for_slot,
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
        baseline_kind=report.baseline_kind,
    )


def _evaluation(evaluation: Evaluation) -> kerve_pb2.Evaluation:
    return kerve_pb2.Evaluation(loss=evaluation.loss, metrics=evaluation.metrics)


def event_to_proto(event: WatchEvent) -> kerve_pb2.ModelEvent:
    """Return the WatchModel message for an event of a live model."""
    assert event.model is not None
    proto = kerve_pb2.ModelEvent(model=model_to_proto(event.model))
    if event.is_progress:
        proto.progress.CopyFrom(
            kerve_pb2.TrainingProgress(
                epoch=event.epoch,
                epochs=event.epochs,
                loss=event.loss,
                metrics=event.metrics,
            )
        )
    return proto


async def read_import(
    requests: AsyncIterator[kerve_pb2.ImportModelRequest], *, max_bytes: int
) -> tuple[kerve_pb2.ImportHeader, bytes]:
    """Read an ImportModel stream: the header first, then archive chunks.

    Raises:
        InvalidArgumentError: the stream does not start with a header, has a
            second one, or its size differs from the header's.
        ResourceExhaustedError: the archive exceeds ``max_bytes``.
    """
    header: kerve_pb2.ImportHeader | None = None
    chunks: list[bytes] = []
    received = 0
    async for request in requests:
        part = request.WhichOneof("part")
        if part == "header":
            if header is not None:
                raise _import_error("header", "the stream has a second header")
            header = request.header
            validate_model_name(header.name)
            if header.size_bytes > max_bytes:
                raise _too_large(header.name, header.size_bytes, max_bytes)
            continue
        if header is None:
            raise _import_error("header", "the first message must be the header")
        if part == "chunk":
            received += len(request.chunk)
            if received > max_bytes:
                raise _too_large(header.name, received, max_bytes)
            chunks.append(request.chunk)
    if header is None:
        raise _import_error("header", "the stream ended without a header")
    if header.state not in (kerve_pb2.UNTRAINED, kerve_pb2.TRAINED):
        state = (
            kerve_pb2.State.Name(header.state)
            if header.state in kerve_pb2.State.values()
            else header.state
        )
        raise _import_error(
            "header.state",
            f"cannot import model {header.name!r} with state {state}; expected "
            "UNTRAINED or TRAINED",
        )
    if header.size_bytes and header.size_bytes != received:
        raise _import_error(
            "header.size_bytes",
            f"the header of model {header.name!r} announced {header.size_bytes:,} "
            f"bytes, but {received:,} bytes were received",
        )
    return header, b"".join(chunks)


def import_compile(header: kerve_pb2.ImportHeader) -> CompileSpec | None:
    """Return the compile settings that an import requests, if any.

    Raises:
        InvalidSpecError: the settings are outside the allow-lists.
    """
    if not header.HasField("compile"):
        return None
    document = {"input_shape": [1], "layers": [{"type": "dense", "units": 1}]}
    document["compile"] = _document(header.compile)
    return parse_spec(document, model=header.name).compile


def _import_error(field: str, text: str) -> InvalidArgumentError:
    return InvalidArgumentError(text, violations=[FieldViolation(field, text)])


def _too_large(name: str, size: int, limit: int) -> ResourceExhaustedError:
    return ResourceExhaustedError(
        f"cannot import model {name!r}: the archive has at least {size:,} bytes, "
        f"more than the server's limit of {limit:,}; raise --max-import-bytes "
        "on the server to accept it"
    )


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
