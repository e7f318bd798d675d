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
    SettingError,
    Settings,
    changed_settings,
    describe_invalid,
    load_settings,
)
from kerve_server.store import ModelStore

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


def check_data_dir(settings: Settings) -> None:
    """Create the store folder and check that the server can write there.

    Raises:
        SettingError: the folder cannot be created or written, with the
            reason that the operating system gave.
    """
    try:
        ModelStore(settings.data_dir).check_writable()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.filename is not None:
            reason = f"{reason}: {exc.filename}"
        raise SettingError(
            f"cannot use {settings.data_dir} as the model store (--data-dir, "
            f"KERVE_DATA_DIR): {reason}; give a folder that this user can write"
        ) from exc


def main(argv: Sequence[str] | None = None) -> int:
    """Parse settings, configure logging and serve until stopped.

    Returns the exit code. It is 0 after a stop by SIGTERM or SIGINT, and 2
    for an invalid setting or an unusable --data-dir, found before TensorFlow
    is imported. It is 1 when the server fails later, for example on a port
    that cannot be bound.
    """
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
        check_data_dir(settings)
    except SettingError as exc:
        logger.error("%s", exc)
        return 2
    try:
        from kerve_server.transport.server import serve

        asyncio.run(serve(settings))
    except _StopDuringStartup as stop:
        logger.info("stopped by %s during start-up", stop)
        return 0
    except SettingError as exc:
        logger.error("%s", exc)
        return 1
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
