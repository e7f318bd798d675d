"""``kerve status`` and the end of ``kerve watch`` when the server stops.

The module's server holds only the models that these tests create, so the
counts of ``kerve status`` are known exactly.
"""

from __future__ import annotations

import importlib.metadata
import json
import socket
import subprocess
from pathlib import Path

import numpy as np
import pytest

import kerve
from tests.integration.test_cli import (
    COMMAND_TIMEOUT_SECONDS,
    SPEC,
    environment,
    kerve_command,
    run_kerve,
    running_kerve,
)
from tests.servers import BOUND, ServerProcess, start_server, store_with_copies

ROWS = np.random.default_rng(3).normal(size=(6, 4))


@pytest.fixture
def closed_address() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


def run_at(address: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        kerve_command(address, *arguments),
        capture_output=True,
        text=True,
        env=environment(),
        timeout=COMMAND_TIMEOUT_SECONDS,
        check=False,
    )


def test_status_counts_models_by_state(
    server: ServerProcess, client: kerve.Client
) -> None:
    for index in range(2):
        client.create_model(f"untrained-{index}", SPEC)
    client.create_model("trained", SPEC)
    client.train("trained", x=ROWS, y=ROWS[:, :1], epochs=1)

    as_json = run_kerve(server, "status", "--json")
    as_table = run_kerve(server, "status")

    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    assert document["serving"] is True
    assert document["health"] == {"overall": "SERVING", "kerve.v1.Models": "SERVING"}
    assert document["address"] == server.address
    assert document["client_version"] == importlib.metadata.version("kerve")
    assert document["server"]["version"] == importlib.metadata.version("kerve")
    assert document["server"]["tensorflow_version"]
    assert document["server"]["keras_version"].startswith("3.")
    assert document["server"]["start_time"]
    assert document["server"]["max_batch_rows"] == 65536
    assert document["models"]["total"] == 3
    assert document["models"]["by_state"] == {
        "UNTRAINED": 2,
        "TRAINING": 0,
        "TRAINED": 1,
        "FAILED": 0,
    }
    # Six rows are too few to hold any out, so the trained one is UNVALIDATED.
    assert document["models"]["by_verdict"]["UNVALIDATED"] == 1
    assert document["models"]["by_verdict"]["UNTRAINED"] == 2
    assert as_table.returncode == 0, as_table.stderr
    assert "2 UNTRAINED, 0 TRAINING, 1 TRAINED, 0 FAILED" in as_table.stdout
    assert "server version" in as_table.stdout
    assert "TensorFlow" in as_table.stdout
    assert "rows per Predict" in as_table.stdout
    assert as_table.stderr == ""


def test_status_while_store_loads_exits_15(tmp_path: Path) -> None:
    data_dir = store_with_copies(tmp_path, 120)
    loading = start_server(tmp_path / "second", data_dir=data_dir, ready=BOUND)
    try:
        completed = run_at(loading.address, "status", "--json")
        listed = run_at(loading.address, "list")
    finally:
        code = loading.stop()

    # NOTE: this relies on the store taking longer to load than the CLI
    # takes to start, a few seconds against well under one on 2 cores.
    assert completed.returncode == 15, completed.stderr
    document = json.loads(completed.stdout)
    assert document["serving"] is False
    assert document["health"]["overall"] == "NOT_SERVING"
    assert document["server"] is None
    assert document["models"] is None
    assert listed.returncode == 9
    assert "loading its model store" in listed.stderr
    assert "the server is starting" in listed.stderr
    assert "no Kerve server responded" not in listed.stderr
    assert code == 0


def test_status_unreachable_exits_9(closed_address: str) -> None:
    completed = run_at(closed_address, "status")

    assert completed.returncode == 9
    assert completed.stderr.startswith("error: UNAVAILABLE: ")
    assert f"no Kerve server responded at {closed_address}" in completed.stderr
    assert completed.stdout == ""


def test_status_unreachable_json_error(closed_address: str) -> None:
    completed = run_at(closed_address, "status", "--json")

    error = json.loads(completed.stderr)["error"]
    assert completed.returncode == 9
    assert error["code"] == "UNAVAILABLE"
    assert error["exit_code"] == 9
    assert any(closed_address in hint for hint in error["hints"])
    assert completed.stdout == ""


@pytest.mark.parametrize("json_output", [False, True], ids=["table", "json"])
def test_watch_ends_when_server_stops(tmp_path: Path, json_output: bool) -> None:
    own = start_server(tmp_path)
    try:
        with kerve.Client(own.address) as own_client:
            own_client.create_model("watched", SPEC)
        arguments = ["watch", "watched", *(["--json"] if json_output else [])]
        with running_kerve(own.address, *arguments) as running:
            first = running.next_line()
            server_code = own.stop()
            rest = running.remaining_lines()
            stderr = running.stderr()
    finally:
        own.stop()

    assert server_code == 0, own.log()
    assert "watched" in first
    assert rest == []
    assert running.process.returncode == 14
    assert "no Kerve server responded" not in stderr
    assert "Traceback" not in stderr
    if json_output:
        error = json.loads(stderr)["error"]
        assert error["exit_code"] == 14
        assert "closed the watch stream of model watched" in error["message"]
    else:
        assert stderr.startswith(
            "error: the server closed the watch stream of model watched after it "
            "had started"
        )
        assert "kerve status" in stderr
