"""The demo, ``python -m kerve.demo`` and its launcher, against a real server."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import ServerProcess

LAUNCHER = Path(__file__).resolve().parents[2] / "scripts" / "demo.py"


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *command],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def closed_address() -> str:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{unused.getsockname()[1]}"


@pytest.mark.slow
def test_demo_module_runs_scenarios(server: ServerProcess) -> None:
    completed = run("-m", "kerve.demo", "--server", server.address)

    print(completed.stdout)
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert "  verdict       : UNTRAINED" in lines
    assert "  verdict       : VALIDATED" in lines
    assert "  untrained     : False" in lines
    verdicts = [line for line in lines if line.startswith("  verdict on version 2")]
    assert len(verdicts) == 2
    assert verdicts[0].endswith(": NO_BETTER_THAN_BASELINE")
    assert verdicts[1].endswith(": VALIDATED")
    baselines = [line for line in lines if line.startswith("  baseline ")]
    assert len(baselines) == 2
    assert all(": training_mean of train_subset" in line for line in baselines)


def test_demo_module_requires_server() -> None:
    completed = run("-m", "kerve.demo")

    assert completed.returncode == 2
    assert "--server" in completed.stderr


def test_demo_module_unreachable_server_fails() -> None:
    address = closed_address()

    completed = run("-m", "kerve.demo", "--server", address, "--wait-seconds", "1")

    assert completed.returncode == 1
    assert completed.stdout == ""
    expected = f"demo failed: no SERVING health status from {address} within 1 s\n"
    assert completed.stderr == expected


def test_launcher_rejects_port_in_use(server: ServerProcess) -> None:
    completed = run(str(LAUNCHER), "--port", str(server.port))

    assert completed.returncode == 1
    assert completed.stderr.startswith(
        f"demo failed: port {server.port} on 127.0.0.1 is in use"
    )


def test_launcher_rejects_port_out_of_range() -> None:
    completed = run(str(LAUNCHER), "--port", "70000")

    assert completed.returncode == 2
    assert "--port must be between 1 and 65535, got 70000" in completed.stderr
