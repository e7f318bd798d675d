"""The naive server: ``model.predict()`` for every Predict request.

It speaks ``kerve.v1.Models`` (CreateModel and Predict only), builds each
model with Kerve's own engine, and serves every request with one call of
``keras.Model.predict`` on the event loop, with no batching and no compiled
function. Run as ``python -m bench.naive --port 0``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Any

from bench.echo import make_server, untrained_notice
from kerve.v1 import kerve_pb2, kerve_pb2_grpc

logger = logging.getLogger("bench.naive")


class NaiveServicer(kerve_pb2_grpc.ModelsServicer):
    """Holds Keras models by name and calls ``predict`` per request."""

    def __init__(self) -> None:
        # Imported here so that the import cost stays out of module import.
        from kerve_server import engine
        from kerve_server.transport import convert, tensors

        self._engine = engine
        self._convert = convert
        self._tensors = tensors
        self._models: dict[str, Any] = {}

    async def CreateModel(
        self, request: kerve_pb2.CreateModelRequest, context: Any
    ) -> kerve_pb2.Model:
        spec = self._convert.spec_from_proto(request.spec, model=request.name)
        self._models[request.name] = self._engine.build_model(spec, seed=spec.seed or 0)
        return kerve_pb2.Model(
            name=request.name, spec=request.spec, state=kerve_pb2.UNTRAINED, version=1
        )

    async def Predict(
        self, request: kerve_pb2.PredictRequest, context: Any
    ) -> kerve_pb2.PredictResponse:
        model = self._models[request.name]
        inputs = self._tensors.decode_tensor(request.inputs, field="inputs")
        outputs = model.predict(inputs.astype("float32"), verbose=0)
        return kerve_pb2.PredictResponse(
            outputs=self._tensors.encode_tensor(outputs),
            untrained=True,
            meaningful=False,
            state=kerve_pb2.UNTRAINED,
            version=1,
            notice=untrained_notice(request.name),
            name=request.name,
        )


async def serve(port: int) -> None:
    """Serve until cancelled; log the bound port."""
    server = make_server()
    kerve_pb2_grpc.add_ModelsServicer_to_server(  # type: ignore[no-untyped-call]
        NaiveServicer(), server
    )
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    logger.info("naive listening on 127.0.0.1:%d", bound)
    await server.wait_for_termination()


def main(argv: list[str] | None = None) -> int:
    """Parse the options and serve until SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m bench.naive")
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 picks one")
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    asyncio.run(serve(options.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
