"""grpc.health.v1 Check and Watch against real servers: start, serve, stop."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import kerve
from tests.servers import BOUND, ServerProcess, start_server, store_with_copies

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVICE_UNKNOWN = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN
MODELS_SERVICE = "kerve.v1.Models"
# Copies of one stored model, enough that loading them takes seconds, so the
# test can watch health while the store loads.
STORE_COPIES = 120
WATCH_TIMEOUT_SECONDS = 120.0


@pytest.fixture(scope="module")
def health(server: ServerProcess) -> Iterator[health_pb2_grpc.HealthStub]:
    with grpc.insecure_channel(server.address) as channel:
        yield health_pb2_grpc.HealthStub(channel)


class StatusWatch:
    """Collects the statuses of one Watch stream on a background thread."""

    def __init__(self, address: str, service: str) -> None:
        self._channel = grpc.insecure_channel(address)
        stub = health_pb2_grpc.HealthStub(self._channel)
        self._stream = stub.Watch(
            health_pb2.HealthCheckRequest(service=service),
            timeout=WATCH_TIMEOUT_SECONDS,
        )
        self.statuses: list[int] = []
        self.error: grpc.RpcError | None = None
        self.changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for response in self._stream:
                with self.changed:
                    self.statuses.append(response.status)
                    self.changed.notify_all()
        except grpc.RpcError as exc:
            self.error = exc
        with self.changed:
            self.changed.notify_all()

    def wait_for(self, status: int) -> bool:
        """Wait until the stream has sent ``status``; False if it never does."""
        with self.changed:
            return self.changed.wait_for(
                lambda: status in self.statuses or not self._thread.is_alive(),
                timeout=WATCH_TIMEOUT_SECONDS,
            ) and (status in self.statuses)

    def wait_ended(self) -> bool:
        """Wait until the stream has ended; False if it is still open."""
        self._thread.join(timeout=WATCH_TIMEOUT_SECONDS)
        return not self._thread.is_alive()

    def close(self) -> None:
        self._stream.cancel()
        self._thread.join(timeout=10)
        self._channel.close()


# Check
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("service", ["", MODELS_SERVICE])
def test_check_serving(health: health_pb2_grpc.HealthStub, service: str) -> None:
    response = health.Check(health_pb2.HealthCheckRequest(service=service))

    assert response.status == SERVING


def test_check_unknown_service_not_found(
    health: health_pb2_grpc.HealthStub,
) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        health.Check(health_pb2.HealthCheckRequest(service="kerve.v1.Nothing"))

    assert raised.value.code() is grpc.StatusCode.NOT_FOUND


def test_check_needs_no_token(tmp_path: Path) -> None:
    server = start_server(tmp_path, "--admin-token", "a-secret-admin-token")
    try:
        with grpc.insecure_channel(server.address) as channel:
            response = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=MODELS_SERVICE)
            )
    finally:
        code = server.stop()

    assert response.status == SERVING
    assert code == 0


# Watch
# ---------------------------------------------------------------------------


def test_watch_sends_current_status(server: ServerProcess) -> None:
    watch = StatusWatch(server.address, MODELS_SERVICE)
    try:
        assert watch.wait_for(SERVING)
    finally:
        watch.close()

    assert watch.statuses[0] == SERVING


def test_watch_unknown_service(server: ServerProcess) -> None:
    watch = StatusWatch(server.address, "kerve.v1.Nothing")
    try:
        assert watch.wait_for(SERVICE_UNKNOWN)
    finally:
        watch.close()

    assert watch.statuses[0] == SERVICE_UNKNOWN


def test_watch_sees_shutdown(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    watches = {
        service: StatusWatch(server.address, service)
        for service in ("", MODELS_SERVICE)
    }
    unknown = StatusWatch(server.address, "kerve.v1.Nothing")
    try:
        for watch in watches.values():
            assert watch.wait_for(SERVING)
        assert unknown.wait_for(SERVICE_UNKNOWN)
        code = server.stop()
        seen = {
            service: watch.wait_for(NOT_SERVING) for service, watch in watches.items()
        }
        ended = [watch.wait_ended() for watch in (*watches.values(), unknown)]
    finally:
        server.stop()
        for watch in (*watches.values(), unknown):
            watch.close()

    assert code == 0
    assert seen == {"": True, MODELS_SERVICE: True}
    assert ended == [True, True, True]
    for watch in watches.values():
        assert watch.statuses == [SERVING, NOT_SERVING]
    assert unknown.statuses == [SERVICE_UNKNOWN]
    for watch in (*watches.values(), unknown):
        assert watch.error is not None
        assert watch.error.code() is grpc.StatusCode.UNAVAILABLE
        assert "server is shutting down" in (watch.error.details() or "")


# Start-up: the port is bound before the store loads
# ---------------------------------------------------------------------------


def test_not_serving_while_store_loads(tmp_path: Path) -> None:
    data_dir = store_with_copies(tmp_path, STORE_COPIES)
    server = start_server(tmp_path / "second", data_dir=data_dir, ready=BOUND)
    watch = StatusWatch(server.address, MODELS_SERVICE)
    try:
        # NOTE: loading 121 small models took about 3 s on 2 cores. A much
        # faster machine could load them before the first status arrives,
        # and this test would then fail on its first check.
        assert watch.wait_for(NOT_SERVING)
        with kerve.Client(server.address, timeout=30) as client:
            with pytest.raises(kerve.UnavailableError) as raised:
                client.list_models()
            assert watch.wait_for(SERVING)
            models = client.list_models()
    finally:
        watch.close()
        code = server.stop()

    assert watch.statuses[0] == NOT_SERVING
    assert watch.statuses[-1] == SERVING
    assert "loading its model store" in raised.value.message
    assert len(models) == STORE_COPIES + 1
    assert code == 0
