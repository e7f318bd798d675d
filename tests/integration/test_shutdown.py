"""SIGTERM and the training-slot limit, each on a server of its own."""

from __future__ import annotations

import threading
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import kerve
from tests.servers import start_server

SPEC = kerve.ModelSpec(
    input_shape=(5,), layers=[kerve.Dense(8, activation="relu"), kerve.Dense(1)]
)
LONG = kerve.Regression(n_samples=4000, n_features=5, noise=0.1, random_state=4)


def test_sigterm_during_training(tmp_path: Path) -> None:
    data_dir = tmp_path / "store"
    server = start_server(tmp_path / "logs", data_dir=data_dir)
    try:
        with kerve.Client(server.address) as client:
            client.create_model("busy", SPEC)
            stream = client.train_stream("busy", dataset=LONG, epochs=10_000)
            assert isinstance(next(stream), kerve.TrainingProgress)

            code = server.stop(timeout=30)
            with pytest.raises(kerve.KerveError) as caught:
                for _ in stream:
                    pass
    finally:
        server.stop()

    restarted = start_server(tmp_path / "logs", data_dir=data_dir)
    try:
        with kerve.Client(restarted.address) as client:
            model = client.get_model("busy")
    finally:
        restarted.stop()

    assert code == 0
    assert caught.value.code in {grpc.StatusCode.CANCELLED, grpc.StatusCode.UNAVAILABLE}
    assert "stopping: health NOT_SERVING" in server.log()
    assert "training cancelled" in server.log()
    assert model.state is kerve.State.UNTRAINED
    assert model.version == 1


def test_health_serving_then_stops(tmp_path: Path) -> None:
    server = start_server(tmp_path / "logs")
    try:
        with grpc.insecure_channel(server.address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            overall = health.Check(health_pb2.HealthCheckRequest(service=""))
            models = health.Check(
                health_pb2.HealthCheckRequest(service="kerve.v1.Models")
            )
    finally:
        code = server.stop()

    assert overall.status == health_pb2.HealthCheckResponse.SERVING
    assert models.status == health_pb2.HealthCheckResponse.SERVING
    assert code == 0


def test_training_slots_bounded(tmp_path: Path) -> None:
    server = start_server(tmp_path / "logs", "--max-concurrent-training", "1")
    try:
        with kerve.Client(server.address) as client:
            client.create_model("first", SPEC)
            client.create_model("second", SPEC)
            stream = client.train_stream("first", dataset=LONG, epochs=10_000)
            assert isinstance(next(stream), kerve.TrainingProgress)

            with pytest.raises(kerve.ResourceExhaustedError) as caught:
                client.train("second", dataset=LONG, epochs=1)
            waited: list[kerve.TrainingResult] = []
            waiter = threading.Thread(
                target=lambda: waited.append(
                    client.train("second", dataset=LONG, epochs=1, wait_for_slot=True)
                )
            )
            waiter.start()
            stream.close()  # type: ignore[attr-defined]
            waiter.join(timeout=120)
    finally:
        server.stop()

    assert "already runs 1 training runs" in caught.value.message
    assert "--max-concurrent-training" in caught.value.message
    assert len(waited) == 1
    assert waited[0].model.state is kerve.State.TRAINED
