"""Log set-up for the server process; only the entry point calls it."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import UTC, datetime
from typing import TextIO

from pythonjsonlogger.json import JsonFormatter

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The record attributes of a JSON line, and the keys they get.
JSON_FIELDS = "{asctime}{levelname}{name}{message}"
JSON_KEYS = {
    "asctime": "time",
    "levelname": "level",
    "name": "logger",
    "exc_info": "exception",
}


class _UtcJsonFormatter(JsonFormatter):
    """JSON lines whose time is ISO 8601 in UTC, with milliseconds."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        return moment.isoformat(timespec="milliseconds")


def json_formatter() -> logging.Formatter:
    """Return the formatter of ``--log-format json``: one JSON object a line."""
    return _UtcJsonFormatter(JSON_FIELDS, style="{", rename_fields=JSON_KEYS)


def configure_logging(
    level: str, log_format: str = "text", stream: TextIO | None = None
) -> None:
    """Send log records at ``level`` and above to ``stream``, one line each.

    ``stream`` defaults to stderr. In JSON mode the handler writes to its
    own duplicate of file descriptor 2, so that ``relay_native_stderr`` can
    take descriptor 2 away without taking the log with it.
    """
    if stream is None:
        stream = _own_stderr() if log_format == "json" else sys.stderr
    handler = logging.StreamHandler(stream)
    if log_format == "json":
        handler.setFormatter(json_formatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # warnings.warn goes through the log too, in its format.
    logging.captureWarnings(True)
    # Keras and TensorFlow log through absl at import; keep their noise out.
    for noisy in ("absl", "tensorflow", "h5py"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # grpcio logs a DEBUG line per RPC ("Loaded running loop") from
    # grpc._cython.cygrpc; its children inherit the level set on "grpc".
    logging.getLogger("grpc").setLevel(max(logging.INFO, root.level))


def _own_stderr() -> TextIO:
    # Open for the life of the process, like sys.stderr.
    return open(
        os.dup(sys.stderr.fileno()),
        "w",
        buffering=1,
        encoding="utf-8",
        errors="backslashreplace",
    )


def relay_native_stderr(level: str) -> None:
    """Send what is written to file descriptor 2 through a JSON relay process.

    TensorFlow's and gRPC's C++ code write lines straight to descriptor 2,
    past Python's logging, so in JSON mode they would break the
    one-object-a-line format. Descriptor 2 becomes a pipe to a child process
    (``kerve_server.native_stderr``) that logs each line as a JSON record on
    the original stderr. A child, not a thread, so that the lines written
    just before a crash in native code are still logged. Call it after
    ``configure_logging``, whose handler keeps writing to the original stderr.
    """
    global _relay
    relay = subprocess.Popen(
        [sys.executable, "-m", "kerve_server.native_stderr", level],
        stdin=subprocess.PIPE,
    )
    assert relay.stdin is not None
    sys.stderr.flush()
    os.dup2(relay.stdin.fileno(), 2)
    relay.stdin.close()
    _relay = relay


# The relay process; it exits when this process closes its end of the pipe.
_relay: subprocess.Popen[bytes] | None = None
