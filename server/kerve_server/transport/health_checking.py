"""The ``grpc.health.v1.Health`` servicer, with Watch streams that end on stop.

grpcio-health-checking's asyncio ``HealthServicer`` (1.85) sends NOT_SERVING
to open Watch streams on ``enter_graceful_shutdown`` but keeps the streams
open until the client leaves, so every stop with a Watch client open lasts
the whole grace period. This servicer sends the same statuses, and
``end_watches`` ends every open stream with UNAVAILABLE after its last
status has been sent.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]
ServingStatus = int

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVICE_UNKNOWN = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN

STOPPING_MESSAGE = (
    "the server is shutting down; reconnect and watch again when it is back"
)


class HealthServicer(health_pb2_grpc.HealthServicer):  # type: ignore[misc]
    """Serves Check and Watch from a status per service name.

    The overall status, service "", starts as SERVING, and ``set`` changes a
    service's status. Check of a service without a status fails with
    NOT_FOUND, while Watch of one sends SERVICE_UNKNOWN and waits for a status.
    """

    def __init__(self) -> None:
        self._statuses: dict[str, ServingStatus] = {"": SERVING}
        # One queue per open Watch stream. A None on a queue ends the stream.
        self._watchers: dict[str, set[asyncio.Queue[ServingStatus | None]]] = (
            collections.defaultdict(set)
        )
        self._shutting_down = False
        self._watches_ended = False

    async def Check(
        self, request: health_pb2.HealthCheckRequest, context: Context
    ) -> health_pb2.HealthCheckResponse:
        """Return the service's status, or fail with NOT_FOUND."""
        status = self._statuses.get(request.service)
        if status is None:
            await context.abort(
                grpc.StatusCode.NOT_FOUND,
                f"no health status for service {request.service!r}",
            )
        return health_pb2.HealthCheckResponse(status=status)

    async def Watch(
        self, request: health_pb2.HealthCheckRequest, context: Context
    ) -> AsyncIterator[health_pb2.HealthCheckResponse]:
        """Send the service's status now and after each change.

        The stream ends with UNAVAILABLE once ``end_watches`` is called.
        """
        queue: asyncio.Queue[ServingStatus | None] = asyncio.Queue()
        watchers = self._watchers[request.service]
        watchers.add(queue)
        if self._watches_ended:
            queue.put_nowait(None)
        try:
            status: ServingStatus | None = self._statuses.get(
                request.service, SERVICE_UNKNOWN
            )
            sent = None
            while status is not None:
                # Only the latest status matters to a watcher, so a status
                # equal to the one sent last is not sent again.
                if status != sent:
                    yield health_pb2.HealthCheckResponse(status=status)
                    sent = status
                status = await queue.get()
        finally:
            watchers.discard(queue)
            if not watchers:
                self._watchers.pop(request.service, None)
        await context.abort(grpc.StatusCode.UNAVAILABLE, STOPPING_MESSAGE)

    async def set(self, service: str, status: ServingStatus) -> None:
        """Set a service's status, unless ``enter_graceful_shutdown`` was called."""
        if self._shutting_down:
            return
        self._set(service, status)

    async def enter_graceful_shutdown(self) -> None:
        """Set every service NOT_SERVING, for good."""
        if self._shutting_down:
            return
        self._shutting_down = True
        for service in list(self._statuses):
            self._set(service, NOT_SERVING)

    async def end_watches(self) -> None:
        """End every open Watch stream after the statuses queued for it."""
        self._watches_ended = True
        for watchers in self._watchers.values():
            for queue in watchers:
                queue.put_nowait(None)

    def _set(self, service: str, status: ServingStatus) -> None:
        self._statuses[service] = status
        for queue in self._watchers.get(service, ()):
            queue.put_nowait(status)
