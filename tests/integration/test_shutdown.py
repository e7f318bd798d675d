"""SIGTERM and the training-slot limit, each on a server of its own."""

from __future__ import annotations

import signal
import subprocess
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
# A grace period far longer than a stop takes, and a bound on the stop that
# a server waiting for its open streams would exceed. The bound catches a
# hang; it does not measure speed.
LONG_GRACE_SECONDS = "30"
STOP_BOUND_SECONDS = 15.0


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


def test_open_watches_end_at_stop(tmp_path: Path) -> None:
    server = start_server(
        tmp_path / "logs", "--grace-period-seconds", LONG_GRACE_SECONDS
    )
    statuses: list[int] = []
    try:
        with (
            kerve.Client(server.address) as client,
            grpc.insecure_channel(server.address) as channel,
        ):
            client.create_model("watched", SPEC)
            events = client.watch_model("watched")
            first = next(events)
            health = health_pb2_grpc.HealthStub(channel).Watch(
                health_pb2.HealthCheckRequest(service=""), timeout=120
            )
            statuses.append(next(health).status)

            server.process.send_signal(signal.SIGTERM)
            try:
                code = server.process.wait(STOP_BOUND_SECONDS)
            except subprocess.TimeoutExpired:
                pytest.fail(
                    f"the server took more than {STOP_BOUND_SECONDS} s to stop "
                    "with open watch streams"
                )
            with pytest.raises(kerve.UnavailableError) as model_end:
                for _ in events:
                    pass
            with pytest.raises(grpc.RpcError) as health_end:
                for response in health:
                    statuses.append(response.status)
    finally:
        server.stop()

    assert code == 0
    assert first.model.name == "watched"
    assert "watch of model 'watched' ended" in model_end.value.message
    assert "server is shutting down" in model_end.value.message
    assert statuses == [
        health_pb2.HealthCheckResponse.SERVING,
        health_pb2.HealthCheckResponse.NOT_SERVING,
    ]
    assert health_end.value.code() is grpc.StatusCode.UNAVAILABLE
    assert "server is shutting down" in (health_end.value.details() or "")
