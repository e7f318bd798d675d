"""Kerve's server with Predict served from a prepared response: a diagnostic.

This runs the real ``kerve_server`` entry point, but replaces
``ModelsServicer.Predict`` with a method that returns one prepared
PredictResponse of the size Kerve sends for the seed model. The difference
between this server and the echo server is the cost of Kerve's server set-up
(its handlers, interceptors and options); the difference between this server
and Kerve is the cost of the Predict path itself. Run as
``python -m bench.stack_floor --host 127.0.0.1 --port 0`` (Kerve's flags).
"""

from __future__ import annotations

import sys
from typing import Any

from bench.echo import untrained_notice
from kerve.v1 import kerve_pb2


def main(argv: list[str] | None = None) -> int:
    """Patch the servicer, then run Kerve's entry point with ``argv``."""
    from kerve_server.__main__ import main as kerve_main
    from kerve_server.transport import servicer

    response = kerve_pb2.PredictResponse(
        outputs=kerve_pb2.Tensor(shape=[1, 1], dtype="float32", data=bytes(4)),
        untrained=True,
        meaningful=False,
        state=kerve_pb2.UNTRAINED,
        version=1,
        notice=untrained_notice("seed"),
        name="seed",
    )

    async def predict(self: Any, request: Any, context: Any) -> Any:
        return response

    servicer.ModelsServicer.Predict = predict  # type: ignore[method-assign]
    return kerve_main(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
