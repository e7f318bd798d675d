"""Start a local Kerve server and run the scenarios of kerve.demo against it.

The scenarios live in the client package, so ``python -m kerve.demo --server
HOST:PORT`` runs them against any server, a container included. This script
adds the server: it starts ``kerve-server`` on 127.0.0.1 with the default
model store, waits until it reports SERVING, runs the scenarios and stops it
with SIGTERM.

Usage::

    python scripts/demo.py               # starts kerve-server on 127.0.0.1:50051
    python scripts/demo.py --port 50052  # starts it on another port
    python scripts/demo.py --server 127.0.0.1:50051  # uses a running server

The demo deletes and recreates the models it uses (names starting with
``demo-``), so it can run again against the same server.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from typing import IO

import kerve
from kerve.demo import (
    DEFAULT_WAIT_SECONDS,
    ServerError,
    run_scenarios,
    wait_until_serving,
)

HOST = "127.0.0.1"
STARTUP_TIMEOUT_SECONDS = 120.0
SHUTDOWN_TIMEOUT_SECONDS = 30.0
SERVER_LOG_TAIL_LINES = 30


# Server process


def _check_port_free(port: int) -> None:
    """Raise ServerError if something listens on the port already.

    Without this check, the health check could reach that other server while
    the one just started is still failing to bind.
    """
    with socket.socket() as probe:
        try:
            probe.bind((HOST, port))
        except OSError as error:
            raise ServerError(
                f"port {port} on {HOST} is in use ({error.strerror}). Pass --port "
                "with a free port, or --server to use the server already running."
            ) from error


def _tail(log: IO[bytes]) -> str:
    log.flush()
    log.seek(0)
    lines = log.read().decode("utf-8", errors="replace").splitlines()
    return "\n".join(lines[-SERVER_LOG_TAIL_LINES:])


def _exit_checker(
    process: subprocess.Popen[bytes], log: IO[bytes]
) -> Callable[[], None]:
    """Return a function that raises ServerError once ``process`` has exited."""

    def check() -> None:
        if process.poll() is not None:
            raise ServerError(
                f"kerve-server exited with code {process.returncode} before it "
                f"was ready. Last lines of its output:\n{_tail(log)}"
            )

    return check


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=SHUTDOWN_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        seconds = SHUTDOWN_TIMEOUT_SECONDS
        print(f"kerve-server ignored SIGTERM for {seconds:.0f} s; killing it")
        process.kill()
        process.wait()


@contextlib.contextmanager
def running_server(port: int) -> Iterator[str]:
    """Start kerve-server on 127.0.0.1, yield its address, and stop it on exit."""
    _check_port_free(port)
    target = f"{HOST}:{port}"
    command = [
        sys.executable,
        "-m",
        "kerve_server",
        "--host",
        HOST,
        "--port",
        str(port),
    ]
    with tempfile.TemporaryFile() as log:
        print(f"Starting kerve-server on {target} (importing TensorFlow takes a while)")
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            check_process = _exit_checker(process, log)
            wait_until_serving(target, STARTUP_TIMEOUT_SECONDS, check_process)
            print(f"kerve-server is serving on {target}\n")
            yield target
        finally:
            _stop(process)
            print(f"\nStopped kerve-server (exit code {process.returncode})")


def main(argv: list[str] | None = None) -> int:
    """Run the demo and return the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--server",
        metavar="HOST:PORT",
        help="Use the Kerve server running at this address instead of starting one.",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=50051,
        help="Port on 127.0.0.1 of the server that the demo starts (default 50051).",
    )
    arguments = parser.parse_args(argv)
    if not 1 <= arguments.port <= 65535:
        parser.error(f"--port must be between 1 and 65535, got {arguments.port}")
    logging.basicConfig(level=logging.WARNING)

    try:
        if arguments.server is not None:
            wait_until_serving(arguments.server, DEFAULT_WAIT_SECONDS)
            run_scenarios(arguments.server)
        else:
            with running_server(arguments.port) as target:
                run_scenarios(target)
    except (ServerError, kerve.KerveError) as error:
        print(f"demo failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
