"""Probe a Kerve server through grpc.health.v1, for container health checks.

``python -m kerve_server.healthcheck [--address HOST:PORT] [--timeout S]``
exits 0 when the server reports SERVING, else prints the reason on one line
and exits 1. It imports gRPC and the settings but not TensorFlow, so a probe
takes well under a second.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pydantic import ValidationError

from kerve_server.settings import Settings

DEFAULT_TIMEOUT_SECONDS = 3.0

# A server bound to every interface is reached through loopback.
LOOPBACK_FOR_WILDCARD = {
    "": "127.0.0.1",
    "0.0.0.0": "127.0.0.1",
    "::": "[::1]",
    "[::]": "[::1]",
}


class ProbeError(Exception):
    """Failed probe: the server did not report SERVING, for the reason given."""


def default_address() -> str:
    """Build the server address from ``KERVE_HOST`` and ``KERVE_PORT``.

    Raises:
        ProbeError: a ``KERVE_*`` variable is invalid, or the port is 0, so
            only the server's log shows the port it picked.
    """
    try:
        settings = Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"])
        raise ProbeError(
            f"invalid setting {field}: {error['msg']} (received {error.get('input')!r})"
        ) from exc
    if settings.port == 0:
        raise ProbeError(
            "KERVE_PORT is 0, so the server picked a free port. "
            "Pass --address HOST:PORT"
        )
    host = LOOPBACK_FOR_WILDCARD.get(settings.host, settings.host)
    return f"{host}:{settings.port}"


def check(address: str, timeout: float) -> None:
    """Call the health Check method of ``address`` for the server's overall status.

    Raises:
        ProbeError: the call failed, took longer than ``timeout`` seconds, or
            returned a status other than SERVING.
    """
    # The probe targets the local server, so an http_proxy variable set for
    # other traffic must not redirect it.
    options = [("grpc.enable_http_proxy", 0)]
    with grpc.insecure_channel(address, options=options) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            response = stub.Check(health_pb2.HealthCheckRequest(), timeout=timeout)
        except grpc.RpcError as exc:
            raise ProbeError(f"{address}: {describe_rpc_error(exc)}") from exc
    if response.status != health_pb2.HealthCheckResponse.SERVING:
        status = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
        raise ProbeError(f"{address}: health status is {status}, expected SERVING")


def describe_rpc_error(error: grpc.RpcError) -> str:
    """Return the status code and details of a failed call on one line."""
    if not isinstance(error, grpc.Call):
        return str(error)
    code = error.code()
    name = code.name if code is not None else "UNKNOWN"
    details = " ".join((error.details() or "no details").split())
    return f"{name}: {details}"


def positive_seconds(text: str) -> float:
    """Parse a ``--timeout`` value: a finite number of seconds greater than 0."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number of seconds, received {text!r}"
        ) from None
    if not (math.isfinite(seconds) and seconds > 0):
        raise argparse.ArgumentTypeError(
            f"expected a finite number of seconds greater than 0, received {text!r}"
        )
    return seconds


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m kerve_server.healthcheck",
        description=(
            "Exit 0 if the Kerve server reports SERVING through grpc.health.v1, "
            "else print the reason and exit 1."
        ),
    )
    parser.add_argument(
        "--address",
        metavar="HOST:PORT",
        help=(
            "Server to probe. Default: KERVE_HOST and KERVE_PORT, as the server "
            "reads them, with 0.0.0.0 or :: replaced by loopback."
        ),
    )
    parser.add_argument(
        "--timeout",
        metavar="S",
        type=positive_seconds,
        default=DEFAULT_TIMEOUT_SECONDS,
        help="Seconds to wait for the response (default: %(default)s).",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Probe the server once and return the exit code: 0 if SERVING, else 1."""
    arguments = build_parser().parse_args(argv)

    try:
        address = arguments.address or default_address()
        check(address, arguments.timeout)
    except ProbeError as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1

    print(f"healthy: {address} is SERVING")
    return 0


if __name__ == "__main__":
    sys.exit(main())
