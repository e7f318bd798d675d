"""Each error condition returns its status code and a message that explains it."""

from __future__ import annotations

import time

import numpy as np
import pytest

import kerve

SPEC = kerve.ModelSpec(
    input_shape=(5,), layers=[kerve.Dense(10, activation="relu"), kerve.Dense(1)]
)


def test_unknown_model_not_found(client: kerve.Client) -> None:
    with pytest.raises(kerve.NotFoundError) as caught:
        client.get_model("no-such-model")

    assert "no-such-model" in caught.value.message
    assert "not found" in caught.value.message


def test_predict_unknown_model_not_found(client: kerve.Client) -> None:
    with pytest.raises(kerve.NotFoundError) as caught:
        client.predict("no-such-model", np.zeros((1, 5)))

    assert "'no-such-model' not found" in caught.value.message


def test_delete_unknown_model_not_found(client: kerve.Client) -> None:
    with pytest.raises(kerve.NotFoundError):
        client.delete_model("no-such-model")


def test_duplicate_name_already_exists(client: kerve.Client, name: str) -> None:
    client.create_model(name, SPEC)

    with pytest.raises(kerve.AlreadyExistsError) as caught:
        client.create_model(name, SPEC)

    assert f"model {name!r} already exists" in caught.value.message


@pytest.mark.parametrize(
    "bad_name",
    ["", "UPPER", "../escape", "a/b", ".hidden", "x" * 64, "tab\tname", "m\u043edel"],
    ids=[
        "empty",
        "uppercase",
        "dotdot",
        "slash",
        "leading-dot",
        "too-long",
        "control",
        "cyrillic-o",
    ],
)
def test_invalid_name_rejected(client: kerve.Client, bad_name: str) -> None:
    with pytest.raises(kerve.InvalidArgumentError) as caught:
        client.create_model(bad_name, SPEC)

    assert "invalid model name" in caught.value.message
    assert "lowercase ASCII letters" in caught.value.message
    assert [field for field, _ in caught.value.field_violations] == ["name"]


def test_invalid_spec_lists_allowed(client: kerve.Client, name: str) -> None:
    spec = {
        "input_shape": [5],
        "layers": [{"dense": {"units": 0, "activation": "lambda"}}],
        "compile": {"optimizer": {"name": "adamw"}, "loss": "hinge"},
    }

    with pytest.raises(kerve.InvalidArgumentError) as caught:
        client.create_model(name, spec)

    message = caught.value.message
    fields = [field for field, _ in caught.value.field_violations]
    assert f"invalid spec for model {name!r}" in message
    assert "layers[0].dense.units" in fields
    assert "layers[0].dense.activation" in fields
    assert "compile.optimizer.name" in fields
    assert "compile.loss" in fields
    assert "'relu'" in message
    assert "(received 'lambda')" in message
    assert "'adam', 'sgd' or 'rmsprop'" in message
    with pytest.raises(kerve.NotFoundError):
        client.get_model(name)


def test_empty_spec_rejected(client: kerve.Client, name: str) -> None:
    with pytest.raises(kerve.InvalidArgumentError) as caught:
        client.create_model(name, {"input_shape": [], "layers": []})

    fields = [field for field, _ in caught.value.field_violations]
    assert fields == ["input_shape", "layers"]


def test_wrong_feature_count_rejected(client: kerve.Client, name: str) -> None:
    client.create_model(name, SPEC)

    with pytest.raises(kerve.InvalidArgumentError) as caught:
        client.predict(name, np.zeros((3, 4)))

    assert caught.value.message == (
        f"model {name!r} expects inputs of shape (batch, 5), received (3, 4)"
    )


def test_missing_batch_axis_rejected(client: kerve.Client, name: str) -> None:
    client.create_model(name, SPEC)

    with pytest.raises(kerve.InvalidArgumentError) as caught:
        client.predict(name, np.zeros(5))

    assert "received (5,), which has no batch axis" in caught.value.message
    assert "send one row as shape (1, 5)" in caught.value.message


def test_row_count_mismatch_rejected(client: kerve.Client, name: str) -> None:
    client.create_model(name, SPEC)

    with pytest.raises(kerve.InvalidArgumentError) as caught:
        client.train(name, x=np.zeros((10, 5)), y=np.zeros((9, 1)))

    assert "x has 10 rows but y has shape (9, 1)" in caught.value.message
    assert client.get_model(name).state is kerve.State.UNTRAINED


def test_wrong_target_shape_rejected(client: kerve.Client, name: str) -> None:
    client.create_model(name, SPEC)

    with pytest.raises(kerve.InvalidArgumentError) as caught:
        client.train(name, x=np.zeros((10, 5)), y=np.zeros((10, 3)))

    assert "y must have shape (10, 1), received (10, 3)" in caught.value.message


def test_non_finite_training_data_rejected(client: kerve.Client, name: str) -> None:
    client.create_model(name, SPEC)
    x = np.zeros((10, 5))
    x[4, 2] = np.nan

    with pytest.raises(kerve.InvalidArgumentError) as caught:
        client.train(name, x=x, y=np.zeros(10))

    assert "at index [4, 2] (row 4)" in caught.value.message
    assert client.get_model(name).version == 1


def test_strict_predict_untrained_fails(client: kerve.Client, name: str) -> None:
    client.create_model(name, SPEC)

    with pytest.raises(kerve.FailedPreconditionError) as caught:
        client.predict(name, np.zeros((1, 5)), strict=True)

    assert "untrained initial weights" in caught.value.message
    assert "strict" in caught.value.message


def test_second_training_run_rejected(client: kerve.Client, name: str) -> None:
    client.create_model(name, SPEC)
    x = np.random.default_rng(0).normal(size=(2000, 5))
    y = x.sum(axis=1)
    stream = client.train_stream(name, x=x, y=y, epochs=10_000, batch_size=8)
    first = next(stream)
    assert isinstance(first, kerve.TrainingProgress)

    with pytest.raises(kerve.FailedPreconditionError) as caught:
        client.train(name, x=x, y=y, epochs=1)
    during = client.get_model(name)
    stream.close()  # cancels the call, which cancels the run

    assert f"model {name!r} is already training" in caught.value.message
    assert during.state is kerve.State.TRAINING
    assert _wait_for_state(client, name, kerve.State.UNTRAINED).version == 1


def _wait_for_state(client: kerve.Client, name: str, state: kerve.State) -> kerve.Model:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        model = client.get_model(name)
        if model.state is state:
            return model
        time.sleep(0.1)
    raise AssertionError(f"model {name} did not reach {state} within 60 s: {model}")
