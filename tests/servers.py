"""Start a real Kerve server process on 127.0.0.1 and an ephemeral port."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import kerve

LISTENING = re.compile(r"Kerve listening on \S+:(\d+)")
BOUND = re.compile(r"bound \S+:(\d+); health NOT_SERVING")
START_TIMEOUT_SECONDS = 180.0


@dataclass
class ServerProcess:
    """A server started by ``start_server``, with its log file."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def address(self) -> str:
        """Target for a client: host and port."""
        return f"127.0.0.1:{self.port}"

    def log(self) -> str:
        """Return everything the server has logged so far."""
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 30.0) -> int:
        """Send SIGTERM and return the exit code; SIGKILL after ``timeout``."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_server(
    log_dir: Path,
    *arguments: str,
    data_dir: Path | None = None,
    ready: re.Pattern[str] = LISTENING,
) -> ServerProcess:
    """Start ``python -m kerve_server`` on port 0 and wait until it listens.

    The store goes in ``data_dir``, by default a ``data`` folder beside the
    log, so that no test touches the user's own store. ``ready`` is the log
    line to wait for; its first group is the port. The default waits until
    the store has loaded; ``BOUND`` returns as soon as the port is bound.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"server-{time.monotonic_ns()}.log"
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kerve_server",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--data-dir",
                str(data_dir or log_dir / "data"),
                *arguments,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
        )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        match = ready.search(log_path.read_text(errors="replace"))
        if match:
            return ServerProcess(process, int(match.group(1)), log_path)
        if process.poll() is not None:
            raise RuntimeError(
                f"kerve server exited with {process.returncode} before "
                f"listening; its log:\n{log_path.read_text(errors='replace')}"
            )
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(
        f"kerve server did not listen within {START_TIMEOUT_SECONDS} s; its log:\n"
        + log_path.read_text(errors="replace")
    )


def store_with_copies(tmp_path: Path, copies: int) -> Path:
    """Create a store with one small model and ``copies`` copies of it.

    Loading 120 copies takes a few seconds on 2 cores, long enough for a
    test to see the server while it loads. Returns the store folder.
    """
    data_dir = tmp_path / "store"
    first = start_server(tmp_path / "first", data_dir=data_dir)
    try:
        with kerve.Client(first.address) as client:
            client.create_model(
                "original", kerve.ModelSpec(input_shape=(3,), layers=[kerve.Dense(2)])
            )
    finally:
        first.stop()
    models = data_dir / "models"
    for index in range(copies):
        name = f"copy-{index:03d}"
        shutil.copytree(models / "original", models / name)
        # The metadata names its model, and the store checks it against the
        # folder's name.
        metadata_path = models / name / "model.json"
        metadata = json.loads(metadata_path.read_text())
        metadata["name"] = name
        metadata_path.write_text(json.dumps(metadata))
    return data_dir
