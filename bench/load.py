"""Load generator: N Predict calls in flight against one server, for a time.

Run as ``python -m bench.load --address 127.0.0.1:PORT --model NAME ...``; it
prints one JSON object with the request rate and latency percentiles. It uses
the raw grpc.aio stub, not the Kerve client, so that the client library's
own work stays out of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from dataclasses import asdict, dataclass

import grpc
import numpy as np

from kerve.v1 import kerve_pb2, kerve_pb2_grpc


@dataclass(frozen=True)
class LoadResult:
    """Figures of one load run; latencies in milliseconds."""

    requests: int
    errors: int
    first_error: str
    seconds: float
    requests_per_second: float
    rows_per_second: float
    p50_ms: float
    p99_ms: float
    client_cpu_seconds: float
    latencies_ms: list[float]


def predict_request(name: str, rows: int, features: int) -> kerve_pb2.PredictRequest:
    """Return a Predict request for ``rows`` random float32 rows."""
    inputs = np.random.default_rng(0).standard_normal((rows, features))
    data = inputs.astype("<f4").tobytes()
    tensor = kerve_pb2.Tensor(shape=[rows, features], dtype="float32", data=data)
    return kerve_pb2.PredictRequest(name=name, inputs=tensor)


async def generate_load(
    address: str,
    request: kerve_pb2.PredictRequest,
    *,
    concurrency: int,
    duration: float,
    warmup: float,
    max_requests: int,
) -> LoadResult:
    """Keep ``concurrency`` calls in flight for ``warmup`` + ``duration`` s.

    Only calls that start after the warm-up count, and the run stops after
    ``max_requests`` counted calls even if time remains.
    """
    rows = request.inputs.shape[0]
    latencies: list[float] = []
    errors: list[str] = []
    async with grpc.aio.insecure_channel(address) as channel:
        stub = kerve_pb2_grpc.ModelsStub(channel)  # type: ignore[no-untyped-call]
        await channel.channel_ready()
        start = time.perf_counter()
        measure_from = start + warmup
        stop_at = measure_from + duration

        async def worker() -> None:
            while len(latencies) + len(errors) < max_requests:
                began = time.perf_counter()
                if began >= stop_at:
                    return
                try:
                    await stub.Predict(request, timeout=30)
                except grpc.aio.AioRpcError as error:
                    if began >= measure_from:
                        errors.append(f"{error.code().name}: {error.details()}")
                    continue
                if began >= measure_from:
                    latencies.append(time.perf_counter() - began)

        cpu_before = _cpu_seconds()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        ended = time.perf_counter()
        cpu_used = _cpu_seconds() - cpu_before
    seconds = max(ended - measure_from, 1e-9)
    counted = np.array(latencies) * 1000 if latencies else np.array([np.nan])
    return LoadResult(
        requests=len(latencies),
        errors=len(errors),
        first_error=errors[0] if errors else "",
        seconds=seconds,
        requests_per_second=len(latencies) / seconds,
        rows_per_second=len(latencies) * rows / seconds,
        p50_ms=float(np.percentile(counted, 50)),
        p99_ms=float(np.percentile(counted, 99)),
        client_cpu_seconds=cpu_used,
        latencies_ms=[round(value, 4) for value in counted.tolist()]
        if latencies
        else [],
    )


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the load and print the result as JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.load")
    parser.add_argument("--address", required=True, help="host:port of the server")
    parser.add_argument("--model", required=True, help="model name to predict on")
    parser.add_argument("--rows", type=int, default=1, help="rows per request")
    parser.add_argument("--features", type=int, required=True, help="row width")
    parser.add_argument("--concurrency", type=int, default=1, help="calls in flight")
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds")
    parser.add_argument(
        "--warmup", type=float, default=1.0, help="seconds before measuring"
    )
    parser.add_argument(
        "--max-requests",
        type=int,
        default=10_000_000,
        help="stop after this many measured calls",
    )
    parser.add_argument(
        "--latencies",
        action="store_true",
        help="include every measured latency in the output",
    )
    options = parser.parse_args(argv)

    request = predict_request(options.model, options.rows, options.features)
    result = asyncio.run(
        generate_load(
            options.address,
            request,
            concurrency=options.concurrency,
            duration=options.duration,
            warmup=options.warmup,
            max_requests=options.max_requests,
        )
    )
    document = asdict(result)
    if not options.latencies:
        del document["latencies_ms"]
    json.dump(document, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
