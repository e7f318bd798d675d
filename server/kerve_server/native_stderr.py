"""Relay process of ``--log-format json``: native stderr lines as JSON records.

The server starts ``python -m kerve_server.native_stderr LEVEL`` with its
file descriptor 2 as this process's standard input. Each line read is logged
as one JSON record on this process's stderr, which is the server's original
stderr. The relay ends when the server's end of the pipe closes, so lines
written just before a crash of the server are still logged.
"""

from __future__ import annotations

import logging
import re
import signal
import sys

from kerve_server.logs import configure_logging

# Named, because run with -m the module's __name__ is "__main__".
logger = logging.getLogger("kerve_server.native_stderr")

# Abseil's C++ log prefix, which TensorFlow and gRPC write: the severity
# letter, then month and day (0000 before absl is initialized) and a space.
NATIVE_SEVERITY = re.compile(r"^([IWEF])\d{4} ")
NATIVE_LEVELS = {
    "I": logging.INFO,
    "W": logging.WARNING,
    "E": logging.ERROR,
    "F": logging.CRITICAL,
}


def native_level(line: str) -> int:
    """Return the level of a line from its Abseil prefix, else WARNING."""
    match = NATIVE_SEVERITY.match(line)
    return NATIVE_LEVELS[match.group(1)] if match else logging.WARNING


def main(level: str) -> int:
    """Log each line of standard input until it closes."""
    # A Ctrl-C or a SIGTERM to the process group is for the server; the
    # relay stays to log what the server writes while it stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    configure_logging(level, "json", stream=sys.stderr)
    for raw in sys.stdin.buffer:
        line = raw.decode("utf-8", errors="backslashreplace").rstrip("\r\n")
        if line.strip():
            logger.log(native_level(line), "%s", line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
