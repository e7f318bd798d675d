"""Entry point: ``kerve-server`` or ``python -m kerve_server``."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from kerve_server.logs import configure_logging
from kerve_server.settings import Settings, load_settings

logger = logging.getLogger("kerve_server")


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
    # Imported here, after logging is set up, because importing TensorFlow
    # takes seconds and logs on its own.
    from kerve_server.transport.server import serve

    logger.info("starting Kerve server")
    try:
        asyncio.run(serve(settings))
    except OSError as exc:
        logger.error("cannot start: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
