"""Entry point: ``kerve-server`` or ``python -m kerve_server``."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from pydantic import ValidationError

from kerve_server.logs import configure_logging
from kerve_server.settings import Settings, load_settings

logger = logging.getLogger("kerve_server")


class _StopDuringStartup(Exception):
    """Raised by SIGTERM or SIGINT before the server has its own handlers."""


def _stop_during_startup(signum: int, frame: FrameType | None) -> None:
    raise _StopDuringStartup(signal.Signals(signum).name)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse settings, configure logging and serve until stopped."""
    try:
        settings: Settings = load_settings(sys.argv[1:] if argv is None else argv)
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"])
            print(
                f"kerve-server: invalid setting {field}: {error['msg']} "
                f"(received {error.get('input')!r})",
                file=sys.stderr,
            )
        return 2
    configure_logging(settings.log_level)
    # Importing TensorFlow takes seconds. A stop requested meanwhile ends the
    # process at once; serve() replaces these handlers with graceful ones.
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _stop_during_startup)
    logger.info("starting Kerve server")
    try:
        from kerve_server.transport.server import serve

        asyncio.run(serve(settings))
    except _StopDuringStartup as stop:
        logger.info("stopped by %s during start-up", stop)
        return 0
    except OSError as exc:
        logger.error("cannot start: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
