"""Tests of the value objects converted from protocol messages."""

from __future__ import annotations

import datetime

import numpy as np
import pytest
from google.protobuf import duration_pb2, timestamp_pb2

import kerve
from kerve.v1 import kerve_pb2


def make_model_message() -> kerve_pb2.Model:
    created = timestamp_pb2.Timestamp(seconds=1_700_000_000)
    updated = timestamp_pb2.Timestamp(seconds=1_700_000_060, nanos=500_000_000)
    return kerve_pb2.Model(
        name="prices",
        spec=kerve.ModelSpec(5, [kerve.Dense(1)], seed=3).to_proto(),
        state=kerve_pb2.TRAINED,
        version=2,
        untrained=False,
        create_time=created,
        update_time=updated,
        last_training=kerve_pb2.TrainingSummary(
            epochs_run=10,
            final_loss=0.5,
            final_metrics={"mae": 0.25},
            duration=duration_pb2.Duration(seconds=3),
            samples=80,
            end_time=updated,
        ),
        parameter_count=6,
    )


def test_model_from_proto_converts_every_field() -> None:
    model = kerve.Model.from_proto(make_model_message())

    assert model.name == "prices"
    assert model.state is kerve.State.TRAINED
    assert model.version == 2
    assert model.untrained is False
    assert model.spec["input_shape"] == [5]
    assert model.spec["seed"] == "3"  # int64 fields are strings in proto JSON
    assert model.create_time == datetime.datetime(
        2023, 11, 14, 22, 13, 20, tzinfo=datetime.UTC
    )
    assert model.update_time is not None
    assert model.update_time.tzinfo is not None
    assert model.parameter_count == 6
    assert model.failure_reason == ""


def test_model_last_training_is_converted() -> None:
    summary = kerve.Model.from_proto(make_model_message()).last_training

    assert summary is not None
    assert summary.epochs_run == 10
    assert summary.final_metrics == {"mae": 0.25}
    assert summary.duration == datetime.timedelta(seconds=3)
    assert summary.samples == 80


def test_untrained_model_has_no_last_training_or_times() -> None:
    model = kerve.Model.from_proto(
        kerve_pb2.Model(
            name="new", state=kerve_pb2.UNTRAINED, version=1, untrained=True
        )
    )

    assert model.last_training is None
    assert model.create_time is None
    assert model.state is kerve.State.UNTRAINED


def test_model_repr_omits_spec() -> None:
    text = repr(kerve.Model.from_proto(make_model_message()))

    assert text.startswith("Model(name='prices', state=State.TRAINED, version=2")
    assert "input_shape" not in text


def test_unknown_state_value_becomes_unspecified() -> None:
    assert kerve.State.from_proto(99) is kerve.State.UNSPECIFIED


@pytest.mark.parametrize("state", list(kerve.State), ids=lambda state: state.name)
def test_state_values_match_protocol(state: kerve.State) -> None:
    assert kerve_pb2.State.Name(state.value).removeprefix("STATE_") == state.name


def test_prediction_from_proto_and_repr() -> None:
    outputs = np.arange(300, dtype=np.float32).reshape(100, 3)
    message = kerve_pb2.PredictResponse(
        outputs=kerve.array_to_tensor(outputs),
        untrained=True,
        meaningful=False,
        state=kerve_pb2.UNTRAINED,
        version=1,
        notice="initial weights",
        name="prices",
    )

    prediction = kerve.Prediction.from_proto(message)

    np.testing.assert_array_equal(prediction.outputs, outputs)
    assert prediction.meaningful is False
    assert prediction.untrained is True
    assert repr(prediction) == (
        "Prediction(name='prices', shape=(100, 3), dtype=float32, "
        "verdict=Verdict.UNSPECIFIED, meaningful=False, untrained=True, "
        "state=State.UNTRAINED, version=1, extrapolated_rows=0, non_finite_rows=0)"
    )


def test_missing_meaningful_field_means_not_meaningful() -> None:
    message = kerve_pb2.PredictResponse(
        outputs=kerve.array_to_tensor(np.zeros((1, 1), dtype=np.float32)),
        state=kerve_pb2.TRAINED,
    )

    assert kerve.Prediction.from_proto(message).meaningful is False


def test_evaluation_report_from_proto() -> None:
    message = kerve_pb2.EvaluateResponse(
        name="prices",
        version=2,
        untrained=False,
        state=kerve_pb2.TRAINED,
        current=kerve_pb2.Evaluation(loss=1.0, metrics={"mae": 0.5}),
        initial=kerve_pb2.Evaluation(loss=9.0),
        baseline=kerve_pb2.Evaluation(loss=4.0),
        baseline_source="train_subset",
        samples=20,
    )

    report = kerve.EvaluationReport.from_proto(message)

    assert report.current == kerve.Evaluation(loss=1.0, metrics={"mae": 0.5})
    assert report.initial.loss == 9.0
    assert report.baseline.loss == 4.0
    assert report.baseline_source == "train_subset"
    assert report.samples == 20
    assert report.state is kerve.State.TRAINED


def test_training_progress_and_result_from_proto() -> None:
    progress = kerve.TrainingProgress.from_proto(
        kerve_pb2.TrainingProgress(epoch=1, epochs=5, loss=2.0, metrics={"mae": 1.0})
    )
    result = kerve.TrainingResult.from_proto(
        kerve_pb2.TrainingResult(
            model=make_model_message(),
            summary=kerve_pb2.TrainingSummary(epochs_run=5, final_loss=1.0),
        )
    )

    assert progress == kerve.TrainingProgress(
        epoch=1, epochs=5, loss=2.0, metrics={"mae": 1.0}
    )
    assert result.model.name == "prices"
    assert result.summary.epochs_run == 5
    assert result.summary.end_time is None
