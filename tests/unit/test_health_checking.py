"""The health servicer alone: statuses, Watch streams and their end on stop."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2

from kerve_server.transport.health_checking import (
    NOT_SERVING,
    SERVICE_UNKNOWN,
    SERVING,
    STOPPING_MESSAGE,
    HealthServicer,
)

SERVICE = "kerve.v1.Models"


class Aborted(Exception):
    """Raised by ``RecordingContext.abort``, as grpc.aio raises AbortError."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(code, details)
        self.code = code
        self.details = details


class RecordingContext:
    """The one method of a servicer context that the servicer calls."""

    async def abort(self, code: grpc.StatusCode, details: str = "") -> None:
        raise Aborted(code, details)


async def _collect(
    servicer: HealthServicer, service: str, statuses: list[int]
) -> Aborted:
    """Read a Watch stream into ``statuses``; return how it ended."""
    request = health_pb2.HealthCheckRequest(service=service)
    context: Any = RecordingContext()
    try:
        async for response in servicer.Watch(request, context):
            statuses.append(response.status)
    except Aborted as aborted:
        return aborted
    raise AssertionError("the Watch stream ended without a status")


async def _watch_through_stop(service: str) -> tuple[list[int], Aborted]:
    servicer = HealthServicer()
    await servicer.set(SERVICE, NOT_SERVING)
    statuses: list[int] = []
    watch = asyncio.create_task(_collect(servicer, service, statuses))
    await asyncio.sleep(0)
    await servicer.set(SERVICE, SERVING)
    await servicer.set(SERVICE, SERVING)
    await asyncio.sleep(0)

    await servicer.enter_graceful_shutdown()
    await servicer.end_watches()
    ended = await asyncio.wait_for(watch, timeout=10)

    return statuses, ended


def test_watch_ends_after_not_serving() -> None:
    statuses, ended = asyncio.run(_watch_through_stop(SERVICE))

    assert statuses == [NOT_SERVING, SERVING, NOT_SERVING]
    assert ended.code is grpc.StatusCode.UNAVAILABLE
    assert ended.details == STOPPING_MESSAGE


def test_unknown_service_watch_ends() -> None:
    statuses, ended = asyncio.run(_watch_through_stop("kerve.v1.Nothing"))

    assert statuses == [SERVICE_UNKNOWN]
    assert ended.code is grpc.StatusCode.UNAVAILABLE


def test_watch_after_stop_ends_at_once() -> None:
    async def watch_after_stop() -> tuple[list[int], Aborted]:
        servicer = HealthServicer()
        await servicer.enter_graceful_shutdown()
        await servicer.end_watches()
        statuses: list[int] = []
        ended = await asyncio.wait_for(_collect(servicer, "", statuses), timeout=10)
        return statuses, ended

    statuses, ended = asyncio.run(watch_after_stop())

    assert statuses == [NOT_SERVING]
    assert ended.code is grpc.StatusCode.UNAVAILABLE


def test_set_ignored_after_shutdown() -> None:
    async def check_after_set() -> int:
        servicer = HealthServicer()
        await servicer.enter_graceful_shutdown()
        await servicer.set("", SERVING)
        context: Any = RecordingContext()
        response = await servicer.Check(
            health_pb2.HealthCheckRequest(service=""), context
        )
        return int(response.status)

    assert asyncio.run(check_after_set()) == NOT_SERVING


def test_check_unknown_service_not_found() -> None:
    servicer = HealthServicer()
    context: Any = RecordingContext()
    request = health_pb2.HealthCheckRequest(service="kerve.v1.Nothing")

    with pytest.raises(Aborted) as aborted:
        asyncio.run(servicer.Check(request, context))

    assert aborted.value.code is grpc.StatusCode.NOT_FOUND
    assert "kerve.v1.Nothing" in aborted.value.details
