"""Lifecycle under concurrency: retrain, cancel, failure, reset and delete."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import grpc
import numpy as np
import pytest

import kerve
from kerve.v1 import kerve_pb2, kerve_pb2_grpc
from tests.servers import ServerProcess

SPEC = kerve.ModelSpec(
    input_shape=(5,),
    layers=[kerve.Dense(16, activation="relu"), kerve.Dense(1)],
    optimizer="adam",
    learning_rate=0.01,
    seed=11,
)
ROWS = np.random.default_rng(9).normal(size=(4, 5)).astype(np.float32)
DATA = kerve.Regression(n_samples=400, n_features=5, noise=0.1, random_state=3)
LONG = kerve.Regression(n_samples=4000, n_features=5, noise=0.1, random_state=4)


@pytest.fixture(scope="module")
def stub(server: ServerProcess) -> Iterator[kerve_pb2_grpc.ModelsStub]:
    """A raw stub, for the RPCs that the test drives message by message."""
    with grpc.insecure_channel(server.address) as channel:
        yield kerve_pb2_grpc.ModelsStub(channel)


def _wait_for(client: kerve.Client, name: str, state: kerve.State) -> kerve.Model:
    deadline = time.monotonic() + 60
    model = client.get_model(name)
    while model.state is not state and time.monotonic() < deadline:
        time.sleep(0.05)
        model = client.get_model(name)
    assert model.state is state, f"{name} stayed {model.state}, expected {state}"
    return model


def _start_long_run(client: kerve.Client, name: str) -> Iterator[object]:
    stream = client.train_stream(name, dataset=LONG, epochs=10_000, batch_size=8)
    first = next(stream)
    assert isinstance(first, kerve.TrainingProgress)
    return stream


def test_retrain_predictions_match_a_version(client: kerve.Client, name: str) -> None:
    client.create_model(name, SPEC)
    observed: list[tuple[int, bool, np.ndarray]] = []
    errors: list[BaseException] = []
    outputs_by_version = {1: client.predict(name, ROWS, warn=False).outputs}
    stop = threading.Event()

    def predict_loop() -> None:
        with kerve.Client(client.target, warn_untrained=False) as own:
            deadline = time.monotonic() + 120
            while not stop.is_set() and time.monotonic() < deadline:
                try:
                    result = own.predict(name, ROWS)
                except kerve.KerveError as exc:
                    errors.append(exc)
                    return
                observed.append((result.version, result.untrained, result.outputs))

    threads = [threading.Thread(target=predict_loop) for _ in range(8)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(3):
            result = client.train(name, dataset=DATA, epochs=3)
            version = result.model.version
            outputs_by_version[version] = client.predict(name, ROWS, warn=False).outputs
    finally:
        stop.set()
        for thread in threads:
            thread.join()

    assert errors == []
    assert sorted(outputs_by_version) == [1, 2, 3, 4]
    assert len(observed) > 8
    seen = set()
    for version, untrained, outputs in observed:
        seen.add(version)
        assert version in outputs_by_version
        assert untrained is (version == 1)
        np.testing.assert_allclose(outputs, outputs_by_version[version], atol=1e-6)
    assert len(seen) >= 2


def test_cancel_training_keeps_state(
    client: kerve.Client, stub: kerve_pb2_grpc.ModelsStub, name: str
) -> None:
    client.create_model(name, SPEC)
    client.train(name, dataset=DATA, epochs=1)
    before = client.predict(name, ROWS, warn=False)
    stream = _start_long_run(client, name)

    cancelled = stub.CancelTraining(kerve_pb2.CancelTrainingRequest(name=name))
    with pytest.raises(kerve.RequestCancelledError) as caught:
        for _ in stream:
            pass
    after = _wait_for(client, name, kerve.State.TRAINED)
    again = client.predict(name, ROWS, warn=False)

    assert cancelled.state == kerve_pb2.TRAINING
    assert "was cancelled" in caught.value.message
    assert after.version == before.version == 2
    np.testing.assert_array_equal(again.outputs, before.outputs)


def test_cancel_without_run_fails(
    client: kerve.Client, stub: kerve_pb2_grpc.ModelsStub, name: str
) -> None:
    client.create_model(name, SPEC)

    with pytest.raises(grpc.RpcError) as caught:
        stub.CancelTraining(kerve_pb2.CancelTrainingRequest(name=name))

    assert caught.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert f"model {name!r} has no training run" in caught.value.details()


def test_disconnect_cancels_run(client: kerve.Client, name: str) -> None:
    client.create_model(name, SPEC)
    stream = _start_long_run(client, name)

    stream.close()  # type: ignore[attr-defined]
    model = _wait_for(client, name, kerve.State.UNTRAINED)

    assert model.version == 1
    assert model.untrained is True


def test_detached_run_survives_disconnect(
    client: kerve.Client, stub: kerve_pb2_grpc.ModelsStub, name: str
) -> None:
    client.create_model(name, SPEC)
    request = kerve_pb2.TrainRequest(
        name=name,
        synthetic=DATA.to_proto(),
        epochs=5,
        keep_running_on_disconnect=True,
    )
    call = stub.Train(request)
    first = next(call)
    call.cancel()

    model = _wait_for(client, name, kerve.State.TRAINED)

    assert first.HasField("progress")
    assert model.version == 2
    assert model.last_training is not None
    assert model.last_training.epochs_run == 5


def test_nan_loss_marks_failed(client: kerve.Client, name: str) -> None:
    spec = kerve.ModelSpec(
        input_shape=(5,),
        layers=[kerve.Dense(16, activation="relu"), kerve.Dense(1)],
        optimizer="sgd",
        learning_rate=10.0,
        seed=1,
    )
    client.create_model(name, spec)
    unscaled = kerve.Regression(
        n_samples=200, n_features=5, noise=10, bias=1000, random_state=0
    )
    before = client.predict(name, ROWS, warn=False)

    with pytest.raises(kerve.KerveError) as caught:
        client.train(name, dataset=unscaled, epochs=20)
    failed = client.get_model(name)
    during = client.predict(name, ROWS, warn=False)
    client.train(name, dataset=DATA, epochs=1, learning_rate=0.001)
    recovered = client.get_model(name)

    assert caught.value.code is grpc.StatusCode.ABORTED
    assert "loss became" in caught.value.message
    assert failed.state is kerve.State.FAILED
    assert "loss became" in failed.failure_reason
    assert failed.version == 1
    assert during.untrained is True
    assert during.version == 1
    np.testing.assert_array_equal(during.outputs, before.outputs)
    assert recovered.state is kerve.State.TRAINED
    assert recovered.failure_reason == ""
    assert recovered.version == 2


def test_reset_reinitializes(
    client: kerve.Client, stub: kerve_pb2_grpc.ModelsStub, name: str
) -> None:
    client.create_model(name, SPEC)
    initial = client.predict(name, ROWS, warn=False).outputs
    client.train(name, dataset=DATA, epochs=2)

    reset = stub.ResetModel(kerve_pb2.ResetModelRequest(name=name))
    after = client.predict(name, ROWS, warn=False)

    assert reset.state == kerve_pb2.UNTRAINED
    assert reset.version == 3
    assert reset.untrained is True
    assert after.untrained is True
    assert after.version == 3
    # The spec has a seed, so the reset gives the same initial weights.
    np.testing.assert_array_equal(after.outputs, initial)


def test_reset_during_training_rejected(
    client: kerve.Client, stub: kerve_pb2_grpc.ModelsStub, name: str
) -> None:
    client.create_model(name, SPEC)
    stream = _start_long_run(client, name)
    try:
        with pytest.raises(grpc.RpcError) as caught:
            stub.ResetModel(kerve_pb2.ResetModelRequest(name=name))
    finally:
        stream.close()  # type: ignore[attr-defined]

    assert caught.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "cancel the run before resetting" in caught.value.details()


def test_delete_during_predictions(client: kerve.Client, name: str) -> None:
    client.create_model(name, SPEC)
    outcomes: list[str] = []

    def predict_loop() -> None:
        with kerve.Client(client.target, warn_untrained=False) as own:
            for _ in range(200):
                try:
                    own.predict(name, ROWS)
                    outcomes.append("ok")
                except kerve.NotFoundError:
                    outcomes.append("not-found")
                    return
                except kerve.KerveError as exc:
                    outcomes.append(f"error: {exc}")
                    return

    threads = [threading.Thread(target=predict_loop) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    client.delete_model(name)
    for thread in threads:
        thread.join()

    assert [o for o in outcomes if o.startswith("error")] == []
    assert "not-found" in outcomes
    with pytest.raises(kerve.NotFoundError):
        client.get_model(name)


def test_delete_during_training(client: kerve.Client, name: str) -> None:
    client.create_model(name, SPEC)
    stream = _start_long_run(client, name)

    client.delete_model(name)
    with pytest.raises(kerve.RequestCancelledError):
        for _ in stream:
            pass

    with pytest.raises(kerve.NotFoundError):
        client.get_model(name)


def test_training_leaves_others_responsive(
    client: kerve.Client, server: ServerProcess, name: str
) -> None:
    client.create_model(f"{name}-busy", SPEC)
    client.create_model(f"{name}-idle", SPEC)
    stream = _start_long_run(client, f"{name}-busy")
    try:
        with kerve.Client(server.address, timeout=10, warn_untrained=False) as quick:
            for _ in range(20):
                quick.predict(f"{name}-idle", ROWS)
                quick.get_model(f"{name}-busy")
                quick.list_models()
    finally:
        stream.close()  # type: ignore[attr-defined]
