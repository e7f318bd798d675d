"""Log set-up for the server process; only the entry point calls it."""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str) -> None:
    """Send log records at ``level`` and above to stderr, one line each."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Keras and TensorFlow log through absl at import; keep their noise out.
    for noisy in ("absl", "tensorflow", "h5py"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
