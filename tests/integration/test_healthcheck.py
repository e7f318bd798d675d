"""The health probe, through its real entry point, against a real server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from tests.servers import ServerProcess


def run_probe(
    *arguments: str, environment: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kerve_server.healthcheck", *arguments],
        capture_output=True,
        text=True,
        env={**os.environ, **(environment or {})},
        timeout=60,
        check=False,
    )


def test_serving_server_exits_zero(server: ServerProcess) -> None:
    completed = run_probe("--address", server.address)

    assert completed.returncode == 0
    assert completed.stdout == f"healthy: {server.address} is SERVING\n"
    assert completed.stderr == ""


def test_wildcard_host_probes_loopback(server: ServerProcess) -> None:
    # As in the container image: KERVE_HOST=0.0.0.0 and no --address.
    completed = run_probe(
        environment={"KERVE_HOST": "0.0.0.0", "KERVE_PORT": str(server.port)}
    )

    assert completed.returncode == 0
    assert completed.stdout == f"healthy: {server.address} is SERVING\n"


def test_closed_port_exits_one_quickly() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{unused.getsockname()[1]}"

    started = time.monotonic()
    completed = run_probe("--address", address, "--timeout", "30")
    elapsed = time.monotonic() - started

    assert completed.returncode == 1
    # A refused connection fails at once, long before the 30 s timeout.
    assert elapsed < 10
    assert completed.stdout == ""
    assert completed.stderr.startswith(f"unhealthy: {address}: UNAVAILABLE")
    assert completed.stderr.count("\n") == 1
