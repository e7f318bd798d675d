"""Verdicts, held-out scores and row marks, through a real server and client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest

import kerve
from kerve.v1 import kerve_pb2, kerve_pb2_grpc
from tests.servers import ServerProcess, start_server

DENSE_NETWORK = kerve.ModelSpec(
    input_shape=(5,),
    layers=[kerve.Dense(10, activation="relu"), kerve.Dense(1)],
    optimizer="adam",
    loss="mse",
    seed=3,
)
CLASSIFIER = kerve.ModelSpec(
    input_shape=(4,),
    layers=[kerve.Dense(16, activation="relu"), kerve.Dense(3, activation="softmax")],
    optimizer="adam",
    learning_rate=0.01,
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
    seed=5,
)
# Outputs overflow float32 for inputs near 1e30, so every row is NaN or Inf.
OVERFLOWING = {
    "input_shape": [2],
    "layers": [
        {
            "dense": {
                "units": 2,
                "kernel_initializer": {"name": "constant", "params": {"value": 1e6}},
            }
        },
        {
            "dense": {
                "units": 1,
                "kernel_initializer": {"name": "constant", "params": {"value": 1e6}},
            }
        },
    ],
}


@pytest.fixture(scope="module")
def stub(server: ServerProcess) -> Iterator[kerve_pb2_grpc.ModelsStub]:
    """A raw stub, for requests that the client would not build."""
    with grpc.insecure_channel(server.address) as channel:
        yield kerve_pb2_grpc.ModelsStub(channel)


def _regression(samples: int) -> kerve.Regression:
    return kerve.Regression(
        n_samples=samples, n_features=5, noise=0.1, random_state=42, test_fraction=0.2
    )


def _print_validation(label: str, model: kerve.Model) -> None:
    assert model.assessment is not None
    validation = model.assessment.validation
    assert validation is not None
    print(
        f"{label}: verdict {model.verdict.name}, held-out loss {validation.loss:.6g} "
        f"on {validation.rows} rows, baseline {validation.baseline_loss:.6g}, "
        f"required {validation.required_loss:.6g}, p = {validation.p_value:.3g}, "
        f"{validation.score_name} {validation.score:.4g}"
    )


def test_small_scenario_no_better(client: kerve.Client, name: str) -> None:
    client.create_model(name, DENSE_NETWORK)

    result = client.train(name, dataset=_regression(100), epochs=100)
    model = client.get_model(name)
    _print_validation("100 samples", model)

    assert model.assessment is not None
    validation = model.assessment.validation
    assert validation is not None
    # 80 train-subset rows, of which 20% (16) are held out.
    assert validation.rows == 16
    assert result.summary.samples == 64
    assert validation.source == "validation_split"
    assert validation.baseline_kind == "training_mean"
    assert validation.score_name == "r_squared"
    beats_baseline = (
        validation.loss <= validation.required_loss
        and validation.p_value < validation.significance
    )
    expected = (
        kerve.Verdict.VALIDATED
        if beats_baseline
        else kerve.Verdict.NO_BETTER_THAN_BASELINE
    )
    assert model.verdict is expected
    assert model.verdict is kerve.Verdict.NO_BETTER_THAN_BASELINE
    assert result.model.verdict is model.verdict
    assert "NO_BETTER_THAN_BASELINE" in model.assessment.reason


def test_no_better_predictions_warn(client: kerve.Client, name: str) -> None:
    client.create_model(name, DENSE_NETWORK)
    client.train(name, dataset=_regression(100), epochs=2)
    rows = np.zeros((3, 5), np.float32)

    with pytest.warns(kerve.UntrainedPredictionWarning, match="NO_BETTER"):
        prediction = client.predict(name, rows)

    assert prediction.verdict is kerve.Verdict.NO_BETTER_THAN_BASELINE
    assert prediction.untrained is False
    assert prediction.validation is not None
    assert prediction.validation.rows == 16
    assert prediction.notice.count("NO_BETTER_THAN_BASELINE") >= 1


@pytest.mark.slow
def test_large_scenario_validated(client: kerve.Client, name: str) -> None:
    client.create_model(name, DENSE_NETWORK)

    # Adam's default rate of 0.001 needs far more than 10 epochs for targets
    # with a standard deviation near 140; 0.01 reaches the noise floor.
    result = client.train(
        name, dataset=_regression(10_000), epochs=10, learning_rate=0.01
    )
    model = client.get_model(name)
    _print_validation("10,000 samples", model)
    prediction = client.predict(name, np.zeros((2, 5)), min_verdict="VALIDATED")

    assert model.verdict is kerve.Verdict.VALIDATED
    assert model.assessment is not None
    validation = model.assessment.validation
    assert validation is not None
    assert validation.rows == 1600
    assert validation.loss <= validation.required_loss
    assert validation.p_value < validation.significance
    assert validation.score > 0.9
    assert result.model.verdict is kerve.Verdict.VALIDATED
    assert prediction.verdict is kerve.Verdict.VALIDATED
    assert prediction.meaningful is True
    assert prediction.extrapolated_rows.size == 0


def test_validation_off_is_unvalidated(client: kerve.Client, name: str) -> None:
    client.create_model(name, DENSE_NETWORK)

    result = client.train(name, dataset=_regression(200), validation_split=0)
    model = client.get_model(name)
    prediction = client.predict(name, np.zeros((1, 5)), warn=False)

    assert model.verdict is kerve.Verdict.UNVALIDATED
    assert model.assessment is not None
    assert model.assessment.validation is None
    assert "validation_split to 0" in model.assessment.reason
    assert result.summary.samples == 160
    assert prediction.verdict is kerve.Verdict.UNVALIDATED
    assert prediction.validation is None
    assert prediction.training_ranges_known is True


def test_few_rows_hold_none_out(client: kerve.Client, name: str) -> None:
    client.create_model(name, DENSE_NETWORK)
    rows = np.random.default_rng(0).normal(size=(6, 5))

    client.train(name, x=rows, y=rows.sum(axis=1))
    model = client.get_model(name)

    assert model.verdict is kerve.Verdict.UNVALIDATED
    assert model.assessment is not None
    assert "6 training rows are too few" in model.assessment.reason


def test_validation_data_scores_run(client: kerve.Client, name: str) -> None:
    client.create_model(name, DENSE_NETWORK)
    generator = np.random.default_rng(1)
    x = generator.normal(size=(300, 5))
    weights = np.array([3.0, -2.0, 1.0, 0.5, 4.0])
    checks_x = generator.normal(size=(40, 5))

    result = client.train(
        name,
        x=x,
        y=x @ weights,
        validation_x=checks_x,
        validation_y=checks_x @ weights,
        epochs=40,
        learning_rate=0.05,
    )
    model = client.get_model(name)
    _print_validation("caller data", model)

    assert model.assessment is not None
    validation = model.assessment.validation
    assert validation is not None
    assert validation.source == "validation_data"
    assert validation.rows == 40
    assert result.summary.samples == 300
    assert model.verdict is kerve.Verdict.VALIDATED


def test_validation_data_with_split_rejected(
    client: kerve.Client, name: str, stub: kerve_pb2_grpc.ModelsStub
) -> None:
    client.create_model(name, DENSE_NETWORK)
    rows = kerve.array_to_tensor(np.zeros((20, 5), np.float32))
    targets = kerve.array_to_tensor(np.zeros((20, 1), np.float32))
    request = kerve_pb2.TrainRequest(
        name=name,
        inline=kerve_pb2.InlineData(x=rows, y=targets),
        validation_split=0.2,
        validation_data=kerve_pb2.InlineData(x=rows, y=targets),
    )

    with pytest.raises(grpc.RpcError) as caught:
        list(stub.Train(request))

    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "must be unset when validation_data is sent" in caught.value.details()
    assert "received 0.2" in caught.value.details()
    assert client.get_model(name).version == 1


def test_validation_data_shape_rejected(client: kerve.Client, name: str) -> None:
    client.create_model(name, DENSE_NETWORK)
    rows = np.zeros((20, 5))

    with pytest.raises(kerve.InvalidArgumentError) as caught:
        client.train(
            name,
            x=rows,
            y=rows[:, 0],
            validation_x=np.zeros((4, 3)),
            validation_y=np.zeros(4),
        )

    assert caught.value.code is grpc.StatusCode.INVALID_ARGUMENT
    assert "validation_data.x" in caught.value.message
    assert "received (4, 3)" in caught.value.message
    assert client.get_model(name).state is kerve.State.UNTRAINED


def test_split_leaving_no_rows_rejected(client: kerve.Client, name: str) -> None:
    client.create_model(name, DENSE_NETWORK)
    rows = np.zeros((2, 5))

    with pytest.raises(kerve.InvalidArgumentError) as caught:
        client.train(name, x=rows, y=rows[:, 0], validation_split=0.9)

    assert "validation_split 0.9 of 2 rows holds out 2" in caught.value.message
    assert client.get_model(name).version == 1


def test_classifier_validated_by_accuracy(client: kerve.Client, name: str) -> None:
    client.create_model(name, CLASSIFIER)
    dataset = kerve.Classification(
        n_samples=1500,
        n_features=4,
        n_informative=3,
        n_redundant=0,
        n_classes=3,
        random_state=7,
    )

    client.train(name, dataset=dataset, epochs=20)
    model = client.get_model(name)
    _print_validation("classifier", model)

    assert model.assessment is not None
    validation = model.assessment.validation
    assert validation is not None
    assert validation.baseline_kind == "majority_class"
    assert validation.score_name == "accuracy"
    # The held-out rows are stratified, so the majority class makes up about a
    # third of them.
    assert 0.3 <= validation.baseline_score <= 0.4
    assert validation.score > validation.baseline_score
    assert model.verdict is kerve.Verdict.VALIDATED


def test_unseen_class_not_validated(client: kerve.Client, name: str) -> None:
    client.create_model(name, CLASSIFIER)
    generator = np.random.default_rng(1)
    x = generator.normal(size=(60, 4))
    # Classes 0 and 1 in training, only class 2 in the held-out rows.
    labels = (x[:, 0] > 0).astype(np.int64)

    client.train(
        name,
        x=x,
        y=labels,
        epochs=3,
        validation_x=generator.normal(size=(12, 4)),
        validation_y=np.full(12, 2),
    )
    model = client.get_model(name)
    _print_validation("unseen class", model)

    assert model.assessment is not None
    validation = model.assessment.validation
    assert validation is not None
    assert model.verdict is kerve.Verdict.NO_BETTER_THAN_BASELINE
    # Smoothing gives class 2 a probability of 1 / (60 + 3), not about 0.
    assert validation.baseline_loss == pytest.approx(np.log(63.0), rel=1e-4)
    assert validation.baseline_kind == "majority_class"
    assert "the held-out rows all have the same class" in model.assessment.reason
    assert "train longer" not in model.assessment.reason


def test_binary_unseen_class_not_validated(client: kerve.Client, name: str) -> None:
    spec = kerve.ModelSpec(
        input_shape=(4,),
        layers=[kerve.Dense(1, activation="sigmoid")],
        loss="binary_crossentropy",
        seed=0,
    )
    client.create_model(name, spec)
    x = np.random.default_rng(2).normal(size=(72, 4))

    client.train(
        name,
        x=x[:60],
        y=np.zeros(60),
        epochs=3,
        validation_x=x[60:],
        validation_y=np.ones(12),
    )
    model = client.get_model(name)

    assert model.assessment is not None
    validation = model.assessment.validation
    assert validation is not None
    assert model.verdict is kerve.Verdict.NO_BETTER_THAN_BASELINE
    assert validation.baseline_loss == pytest.approx(np.log(62.0), rel=1e-4)
    assert "the held-out rows all have the same class" in model.assessment.reason


def test_duplicated_rows_not_validated(client: kerve.Client, name: str) -> None:
    client.create_model(name, DENSE_NETWORK)
    generator = np.random.default_rng(7)
    x = generator.normal(size=(300, 5))
    weights = np.array([3.0, -2.0, 1.0, 0.5, 4.0])
    row = generator.normal(size=(1, 5))

    client.train(
        name,
        x=x,
        y=x @ weights,
        validation_x=np.tile(row, (2, 1)),
        validation_y=np.tile(row @ weights, 2),
        epochs=40,
        learning_rate=0.05,
    )
    model = client.get_model(name)
    _print_validation("duplicated rows", model)

    assert model.assessment is not None
    validation = model.assessment.validation
    assert validation is not None
    reason = model.assessment.reason
    assert model.verdict is kerve.Verdict.NO_BETTER_THAN_BASELINE
    assert np.isnan(validation.p_value)
    assert np.isnan(validation.score)
    assert "have no spread (duplicated rows?)" in reason
    assert "the held-out targets are constant" in reason
    assert "train longer" not in reason
    assert "nan" not in reason


def test_held_out_mean_must_be_beaten(client: kerve.Client, name: str) -> None:
    client.create_model(name, DENSE_NETWORK)
    generator = np.random.default_rng(1)
    x = generator.normal(size=(300, 5))
    weights = np.array([3.0, -2.0, 1.0, 0.5, 4.0])
    checks_x = generator.normal(size=(200, 5))

    # The held-out targets are shifted by 12, about twice their standard
    # deviation: the model beats the training mean, not the held-out mean.
    client.train(
        name,
        x=x,
        y=x @ weights,
        validation_x=checks_x,
        validation_y=checks_x @ weights + 12.0,
        epochs=40,
        learning_rate=0.05,
    )
    model = client.get_model(name)
    _print_validation("shifted held-out targets", model)

    assert model.assessment is not None
    validation = model.assessment.validation
    assert validation is not None
    reason = model.assessment.reason
    assert validation.loss <= validation.required_loss
    assert validation.p_value < validation.significance
    assert validation.score < 0
    assert model.verdict is kerve.Verdict.NO_BETTER_THAN_BASELINE
    assert "This run fails this condition: R-squared -" in reason
    assert "is not above 0, so the model does no better than the mean" in reason


def test_constant_held_out_targets(client: kerve.Client, name: str) -> None:
    client.create_model(name, DENSE_NETWORK)
    x = np.random.default_rng(3).normal(size=(60, 5))

    client.train(
        name,
        x=x[:50],
        y=np.zeros(50),
        validation_x=x[50:],
        validation_y=np.ones(10),
        epochs=2,
    )
    model = client.get_model(name)

    assert model.assessment is not None
    reason = model.assessment.reason
    assert model.verdict is kerve.Verdict.NO_BETTER_THAN_BASELINE
    assert "the held-out targets are constant, so no model can be shown" in reason
    assert "R-squared undefined" in reason
    assert "train longer" not in reason


def test_validated_response_lowered_by_inf(client: kerve.Client, name: str) -> None:
    client.create_model(name, DENSE_NETWORK)
    generator = np.random.default_rng(1)
    x = generator.normal(size=(300, 5))
    weights = np.array([3.0, -2.0, 1.0, 0.5, 4.0])
    checks_x = generator.normal(size=(40, 5))
    client.train(
        name,
        x=x,
        y=x @ weights,
        validation_x=checks_x,
        validation_y=checks_x @ weights,
        epochs=40,
        learning_rate=0.05,
    )
    rows = np.zeros((4, 5))
    # Inputs near float32's maximum overflow the first layer.
    rows[1] = -3e38
    rows[3] = 3e38

    prediction = client.predict(name, rows, warn=False)
    with pytest.raises(kerve.FailedPreconditionError) as caught:
        client.predict(name, rows, min_verdict="VALIDATED")

    lowered = (
        "version 2 is VALIDATED, but this response is NO_BETTER_THAN_BASELINE "
        "because 2 of 4 rows have NaN or Inf outputs (rows 1, 3)"
    )
    assert client.get_model(name).verdict is kerve.Verdict.VALIDATED
    assert prediction.verdict is kerve.Verdict.NO_BETTER_THAN_BASELINE
    np.testing.assert_array_equal(prediction.non_finite_rows, [1, 3])
    assert f"NOT MEANINGFUL: model {name!r} {lowered}." in prediction.notice
    assert caught.value.code is grpc.StatusCode.FAILED_PRECONDITION
    assert caught.value.message.startswith(
        f"model {name!r} version 2 is VALIDATED, but this response is "
        "NO_BETTER_THAN_BASELINE because 2 rows have NaN or Inf outputs "
        "(rows 1, 3), which is below the required VALIDATED."
    )
    assert "The version's own verdict: VALIDATED: on 40 held-out rows" in (
        caught.value.message
    )


def test_categorical_targets_rejected(client: kerve.Client, name: str) -> None:
    spec = kerve.ModelSpec(
        input_shape=(3,),
        layers=[kerve.Dense(3, activation="softmax")],
        loss="categorical_crossentropy",
        seed=0,
    )
    client.create_model(name, spec)
    x = np.random.default_rng(4).normal(size=(60, 3))
    one_hot = np.eye(3)[np.arange(60) % 3]

    with pytest.raises(kerve.InvalidArgumentError) as training:
        client.train(name, x=x, y=np.zeros((60, 3)))
    with pytest.raises(kerve.InvalidArgumentError) as validation:
        client.train(
            name,
            x=x,
            y=one_hot,
            validation_x=x[:5],
            validation_y=np.full((5, 3), 0.9),
        )
    with pytest.raises(kerve.InvalidArgumentError) as evaluation:
        client.evaluate(name, x=x[:2], y=np.array([[1.0, 0.0, 0.0], [0.7, 0.7, 0.0]]))

    assert "row 0 contains [0., 0., 0.], which sum to 0 (60 invalid rows" in (
        training.value.message
    )
    assert "invalid validation_data.y" in validation.value.message
    assert "which sum to 2.7 (5 invalid rows in all)" in validation.value.message
    assert "row 1 contains [0.7, 0.7, 0. ], which sum to 1.4 (1 invalid row" in (
        evaluation.value.message
    )
    assert client.get_model(name).version == 1


def test_far_rows_marked_as_extrapolation(client: kerve.Client, name: str) -> None:
    client.create_model(name, DENSE_NETWORK)
    generator = np.random.default_rng(2)
    x = generator.uniform(-1.0, 1.0, size=(200, 5))
    client.train(name, x=x, y=x.sum(axis=1), epochs=2)
    rows = np.zeros((4, 5))
    # The training range is about [-1, 1], and 10% of its width widens it to
    # about [-1.2, 1.2].
    rows[1, 3] = 50.0
    rows[2, 0] = -1.1
    rows[3, 0] = -1.3

    prediction = client.predict(name, rows, warn=False)
    model = client.get_model(name)

    np.testing.assert_array_equal(prediction.extrapolated_rows, [1, 3])
    np.testing.assert_array_equal(prediction.extrapolated, [False, True, False, True])
    assert prediction.non_finite_rows.size == 0
    assert prediction.training_ranges_known is True
    assert "EXTRAPOLATION: 2 of 4 rows (rows 1, 3)" in prediction.notice
    assert model.assessment is not None
    assert model.assessment.input_min is not None
    assert model.assessment.input_max is not None
    assert model.assessment.input_min.shape == (5,)
    assert (model.assessment.input_min >= -1.0).all()
    assert (model.assessment.input_max <= 1.0).all()


def test_untrained_rows_not_checked(client: kerve.Client, name: str) -> None:
    client.create_model(name, DENSE_NETWORK)

    prediction = client.predict(name, np.full((2, 5), 1e6), warn=False)

    assert prediction.verdict is kerve.Verdict.UNTRAINED
    assert prediction.training_ranges_known is False
    assert prediction.extrapolated_rows.size == 0


def test_required_verdict_not_met(client: kerve.Client, name: str) -> None:
    client.create_model(name, DENSE_NETWORK)
    client.train(name, dataset=_regression(100), epochs=2)

    with pytest.raises(kerve.FailedPreconditionError) as caught:
        client.predict(name, np.zeros((1, 5)), min_verdict=kerve.Verdict.VALIDATED)
    accepted = client.predict(
        name, np.zeros((1, 5)), min_verdict="no_better_than_baseline", warn=False
    )

    message = caught.value.message
    assert caught.value.code is grpc.StatusCode.FAILED_PRECONDITION
    assert "version 2 is NO_BETTER_THAN_BASELINE" in message
    assert "below the required VALIDATED" in message
    assert "on 16 held-out rows, loss (mse)" in message
    assert "VALIDATED needs a loss of at most" in message
    assert accepted.verdict is kerve.Verdict.NO_BETTER_THAN_BASELINE


def test_untrained_fails_required_verdict(client: kerve.Client, name: str) -> None:
    client.create_model(name, DENSE_NETWORK)

    with pytest.raises(kerve.FailedPreconditionError) as caught:
        client.predict(name, np.zeros((1, 5)), min_verdict="UNVALIDATED")

    assert "version 1 is UNTRAINED, below the required UNVALIDATED" in (
        caught.value.message
    )


def test_unknown_min_verdict_rejected(
    client: kerve.Client, name: str, stub: kerve_pb2_grpc.ModelsStub
) -> None:
    client.create_model(name, DENSE_NETWORK)
    request = kerve_pb2.PredictRequest(
        name=name, inputs=kerve.array_to_tensor(np.zeros((1, 5), np.float32))
    )
    request.min_verdict = 9  # type: ignore[assignment]

    with pytest.raises(grpc.RpcError) as caught:
        stub.Predict(request)

    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "invalid min_verdict for model" in caught.value.details()
    assert "received 9" in caught.value.details()
    assert "VERDICT_VALIDATED (4)" in caught.value.details()


def test_unknown_verdict_name_raises(client: kerve.Client, name: str) -> None:
    with pytest.raises(ValueError, match="unknown verdict 'good'"):
        client.predict(name, np.zeros((1, 5)), min_verdict="good")


def test_non_finite_outputs_lower_verdict(client: kerve.Client, name: str) -> None:
    client.create_model(name, OVERFLOWING)
    archive = client.export_model(name)
    client.import_model(f"{name}-trained", archive, state=kerve.State.TRAINED)
    rows = np.array([[0.0, 0.0], [1e30, 1e30], [1.0, 1.0]], np.float32)

    prediction = client.predict(f"{name}-trained", rows, warn=False)
    with pytest.raises(kerve.FailedPreconditionError) as caught:
        client.predict(f"{name}-trained", rows, min_verdict="UNVALIDATED")
    model = client.get_model(f"{name}-trained")

    assert model.verdict is kerve.Verdict.UNVALIDATED
    assert prediction.verdict is kerve.Verdict.NO_BETTER_THAN_BASELINE
    np.testing.assert_array_equal(prediction.non_finite_rows, [1])
    assert prediction.meaningful is False
    assert prediction.training_ranges_known is False
    assert "1 of 3 rows has NaN or Inf outputs (row 1)" in prediction.notice
    assert (
        "is UNVALIDATED, but this response is NO_BETTER_THAN_BASELINE because "
        "1 row has NaN or Inf outputs (row 1), which is below the required "
        "UNVALIDATED"
    ) in caught.value.message


def test_reset_returns_to_untrained(client: kerve.Client, name: str) -> None:
    client.create_model(name, DENSE_NETWORK)
    client.train(name, dataset=_regression(200), validation_split=0)

    reset = client.reset_model(name)

    assert reset.verdict is kerve.Verdict.UNTRAINED
    assert reset.assessment is not None
    assert reset.assessment.input_min is None


def test_evaluate_names_baseline_kind(client: kerve.Client, name: str) -> None:
    client.create_model(name, DENSE_NETWORK)

    report = client.evaluate(name, dataset=_regression(100))

    assert report.baseline_kind == "training_mean"
    assert report.baseline_source == "train_subset"
    assert report.baseline.loss > 0


def test_assessment_survives_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "store"
    first = start_server(tmp_path / "first", data_dir=data_dir)
    try:
        with kerve.Client(first.address, warn_untrained=False) as client:
            client.create_model("kept", DENSE_NETWORK)
            client.train("kept", dataset=_regression(100), epochs=3)
            before = client.get_model("kept")
    finally:
        assert first.stop() == 0, first.log()
    second = start_server(tmp_path / "second", data_dir=data_dir)
    try:
        with kerve.Client(second.address, warn_untrained=False) as client:
            after = client.get_model("kept")
            prediction = client.predict("kept", np.full((1, 5), 99.0))
    finally:
        assert second.stop() == 0, second.log()

    assert before.assessment is not None
    assert after.assessment is not None
    assert after.verdict is before.verdict
    assert after.assessment.reason == before.assessment.reason
    assert after.assessment.validation == before.assessment.validation
    assert before.assessment.input_min is not None
    assert after.assessment.input_min is not None
    np.testing.assert_array_equal(
        after.assessment.input_min, before.assessment.input_min
    )
    np.testing.assert_array_equal(prediction.extrapolated_rows, [0])
