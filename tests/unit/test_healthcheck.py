"""Tests of the health probe against in-process grpc.health.v1 servers.

The servers here are real gRPC servers running the standard health servicer,
so each status the probe must handle can be set directly.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from kerve_server import healthcheck

ServingStatus = health_pb2.HealthCheckResponse.ServingStatus


@pytest.fixture
def health_server() -> Iterator[tuple[str, health.HealthServicer]]:
    """A gRPC server on 127.0.0.1 with only the health service, and its servicer."""
    servicer = health.HealthServicer()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}", servicer
    server.stop(grace=None)


@pytest.fixture
def silent_address() -> Iterator[str]:
    """An address that accepts TCP connections but never sends a byte."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield f"127.0.0.1:{listener.getsockname()[1]}"


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Remove the variables that set the default address."""
    for variable in ("KERVE_HOST", "KERVE_PORT"):
        monkeypatch.delenv(variable, raising=False)
    return monkeypatch


def test_serving_exits_zero(
    health_server: tuple[str, health.HealthServicer],
    capsys: pytest.CaptureFixture[str],
) -> None:
    address, servicer = health_server
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)

    code = healthcheck.main(["--address", address])

    output = capsys.readouterr()
    assert code == 0
    assert output.out == f"healthy: {address} is SERVING\n"
    assert output.err == ""


@pytest.mark.parametrize("status", ["NOT_SERVING", "UNKNOWN"])
def test_not_serving_exits_one(
    health_server: tuple[str, health.HealthServicer],
    capsys: pytest.CaptureFixture[str],
    status: str,
) -> None:
    address, servicer = health_server
    servicer.set("", ServingStatus.Value(status))

    code = healthcheck.main(["--address", address])

    output = capsys.readouterr()
    assert code == 1
    assert output.out == ""
    assert output.err == (
        f"unhealthy: {address}: health status is {status}, expected SERVING\n"
    )


def test_shutdown_exits_one(
    health_server: tuple[str, health.HealthServicer],
    capsys: pytest.CaptureFixture[str],
) -> None:
    address, servicer = health_server
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    servicer.enter_graceful_shutdown()

    code = healthcheck.main(["--address", address])

    assert code == 1
    assert "NOT_SERVING" in capsys.readouterr().err


def test_silent_server_times_out(
    silent_address: str, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    code = healthcheck.main(["--address", silent_address, "--timeout", "0.5"])
    elapsed = time.monotonic() - started

    error = capsys.readouterr().err
    assert code == 1
    assert elapsed < 5
    assert error.startswith(f"unhealthy: {silent_address}: DEADLINE_EXCEEDED")
    assert error.count("\n") == 1


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("0.0.0.0", "127.0.0.1:6001"),
        ("::", "[::1]:6001"),
        ("[::]", "[::1]:6001"),
        ("127.0.0.1", "127.0.0.1:6001"),
        ("kerve.internal", "kerve.internal:6001"),
    ],
)
def test_default_address_from_environment(
    clean_environment: pytest.MonkeyPatch, host: str, expected: str
) -> None:
    clean_environment.setenv("KERVE_HOST", host)
    clean_environment.setenv("KERVE_PORT", "6001")

    assert healthcheck.default_address() == expected


def test_default_address_uses_server_defaults(
    clean_environment: pytest.MonkeyPatch,
) -> None:
    assert healthcheck.default_address() == "127.0.0.1:50051"


def test_port_zero_needs_address(clean_environment: pytest.MonkeyPatch) -> None:
    clean_environment.setenv("KERVE_PORT", "0")

    with pytest.raises(healthcheck.ProbeError) as caught:
        healthcheck.default_address()

    assert "KERVE_PORT is 0" in str(caught.value)
    assert "--address" in str(caught.value)


def test_invalid_port_exits_one(
    clean_environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_environment.setenv("KERVE_PORT", "http")

    code = healthcheck.main([])

    error = capsys.readouterr().err
    assert code == 1
    assert error.startswith("unhealthy: invalid setting port:")
    assert "'http'" in error


@pytest.mark.parametrize("value", ["0", "-1", "soon", "nan", "inf"])
def test_invalid_timeout_rejected(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        healthcheck.main(["--address", "127.0.0.1:1", "--timeout", value])

    assert caught.value.code == 2
    assert f"received {value!r}" in capsys.readouterr().err


def test_import_skips_tensorflow() -> None:
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, kerve_server.healthcheck; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'tensorflow', 'keras', 'numpy', 'sklearn'}))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert loaded.stdout.strip() == "[]"
