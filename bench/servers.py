"""Starting benchmark servers as processes on 127.0.0.1, and reading their use."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

LISTENING = re.compile(r"listening on 127\.0\.0\.1:(\d+)")
START_TIMEOUT_SECONDS = 180.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    """A server process started by ``start``, with its log file."""

    label: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def address(self) -> str:
        """Target for a client: host and port."""
        return f"127.0.0.1:{self.port}"

    def rss_mb(self) -> float:
        """Return the resident set size of the process, in MiB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kilobytes = int(status.split("VmRSS:")[1].split()[0])
        return kilobytes / 1024

    def cpu_seconds(self) -> float:
        """Return the user and system CPU time the process has used."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1]
        values = fields.split()
        # After the command name: utime and stime are fields 14 and 15 of
        # proc(5), so 11 and 12 here.
        return (int(values[11]) + int(values[12])) / CLOCK_TICKS

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


def start(label: str, arguments: list[str], log_dir: Path, **env: str) -> Server:
    """Start ``python ARGUMENTS`` and wait until it logs its port.

    Raises:
        RuntimeError: the process exited, or did not listen in time.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{label}.log"
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, *arguments],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
        )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        match = LISTENING.search(log_path.read_text(errors="replace"))
        if match:
            return Server(label, process, int(match.group(1)), log_path)
        if process.poll() is not None:
            raise RuntimeError(
                f"{label} exited with {process.returncode} before listening; "
                f"its log:\n{log_path.read_text(errors='replace')}"
            )
        time.sleep(0.1)
    process.kill()
    process.wait()
    raise RuntimeError(f"{label} did not listen within {START_TIMEOUT_SECONDS} s")


def start_kerve(
    label: str, log_dir: Path, *flags: str, module: str = "kerve_server"
) -> Server:
    """Start ``python -m kerve_server`` on 127.0.0.1, port 0, its own store.

    ``module`` replaces ``kerve_server`` for a module that runs Kerve's entry
    point with the same flags.
    """
    store = log_dir / f"{label}-store"
    return start(
        label,
        ["-m", module, "--host", "127.0.0.1", "--port", "0", *flags],
        log_dir,
        KERVE_DATA_DIR=str(store),
    )
