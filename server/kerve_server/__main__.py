"""Entry point: ``kerve-server`` or ``python -m kerve_server``."""

from __future__ import annotations

import asyncio
import logging
import os
import platform
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from pydantic import ValidationError

from kerve_server.about import kerve_version
from kerve_server.logs import configure_logging, relay_native_stderr
from kerve_server.settings import (
    Settings,
    changed_settings,
    describe_invalid,
    load_settings,
)

logger = logging.getLogger("kerve_server")


class _StopDuringStartup(Exception):
    """Raised by SIGTERM or SIGINT before the server has its own handlers."""


def _stop_during_startup(signum: int, frame: FrameType | None) -> None:
    raise _StopDuringStartup(signal.Signals(signum).name)


def log_startup(settings: Settings) -> None:
    """Log the version and every setting that differs from its default."""
    logger.info(
        "starting Kerve %s (Python %s, process %d)",
        kerve_version(),
        platform.python_version(),
        os.getpid(),
    )
    changed = changed_settings(settings)
    if changed:
        text = ", ".join(f"{name}={value}" for name, value in changed.items())
        logger.info("settings changed from their defaults: %s", text)
    else:
        logger.info("all settings at their defaults")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse settings, configure logging and serve until stopped."""
    try:
        settings: Settings = load_settings(sys.argv[1:] if argv is None else argv)
    except ValidationError as exc:
        for line in describe_invalid(exc):
            print(f"kerve-server: {line}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    if settings.log_format == "json":
        relay_native_stderr(settings.log_level)
    # Importing TensorFlow takes seconds. A stop requested meanwhile ends the
    # process at once; serve() replaces these handlers with graceful ones.
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _stop_during_startup)
    log_startup(settings)
    try:
        from kerve_server.transport.server import serve

        asyncio.run(serve(settings))
    except _StopDuringStartup as stop:
        logger.info("stopped by %s during start-up", stop)
        return 0
    except OSError as exc:
        logger.error("cannot start: %s", exc)
        return 1
    except Exception:
        # The log, JSON lines included, gets the traceback, not bare stderr.
        logger.critical("Kerve server failed", exc_info=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
