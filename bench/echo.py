"""The floor: a grpc.aio server that serves Predict without computing.

It speaks ``kerve.v1.Models`` with the server options of Kerve's default
settings. For every PredictRequest it returns a PredictResponse of the size
Kerve would send (zero outputs of the model's output width, the flags, and
a notice of the same text), built once per batch size. Run as
``python -m bench.echo --port 0 --output-units 1``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Any

import grpc

from kerve.v1 import kerve_pb2, kerve_pb2_grpc

logger = logging.getLogger("bench.echo")


def make_server() -> grpc.aio.Server:
    """Return a grpc.aio server with the options of Kerve's default settings."""
    from kerve_server.settings import Settings

    defaults = Settings()
    options = [
        ("grpc.max_receive_message_length", defaults.max_message_bytes),
        ("grpc.max_send_message_length", defaults.max_message_bytes),
        ("grpc.so_reuseport", 0),
    ]
    return grpc.aio.server(
        options=options,
        maximum_concurrent_rpcs=getattr(defaults, "max_concurrent_rpcs", None),
    )


def untrained_notice(name: str) -> str:
    """Return the notice that Kerve sends with untrained version 1 outputs."""
    return (
        f"UNTRAINED: model {name!r} version 1 has its initial weights, so these "
        "outputs say nothing about any data. Train the model before using them."
    )


class EchoServicer(kerve_pb2_grpc.ModelsServicer):
    """Returns a prepared Predict response of Kerve's size for every request."""

    def __init__(self, output_units: int) -> None:
        self._output_units = output_units
        self._responses: dict[tuple[str, int], kerve_pb2.PredictResponse] = {}

    async def Predict(
        self, request: kerve_pb2.PredictRequest, context: Any
    ) -> kerve_pb2.PredictResponse:
        rows = request.inputs.shape[0] if request.inputs.shape else 0
        key = (request.name, rows)
        response = self._responses.get(key)
        if response is None:
            response = self._response(request.name, rows)
            self._responses[key] = response
        return response

    def _response(self, name: str, rows: int) -> kerve_pb2.PredictResponse:
        outputs = kerve_pb2.Tensor(
            shape=[rows, self._output_units],
            dtype="float32",
            data=bytes(4 * rows * self._output_units),
        )
        return kerve_pb2.PredictResponse(
            outputs=outputs,
            untrained=True,
            meaningful=False,
            state=kerve_pb2.UNTRAINED,
            version=1,
            notice=untrained_notice(name),
            name=name,
        )


async def serve(port: int, output_units: int) -> None:
    """Serve until cancelled; log the bound port."""
    server = make_server()
    kerve_pb2_grpc.add_ModelsServicer_to_server(  # type: ignore[no-untyped-call]
        EchoServicer(output_units), server
    )
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    logger.info("echo listening on 127.0.0.1:%d", bound)
    await server.wait_for_termination()


def main(argv: list[str] | None = None) -> int:
    """Parse the options and serve until SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m bench.echo")
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 picks one")
    parser.add_argument(
        "--output-units", type=int, default=1, help="width of each output row"
    )
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    asyncio.run(serve(options.port, options.output_units))
    return 0


if __name__ == "__main__":
    sys.exit(main())
