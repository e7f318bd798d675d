"""Readiness of the Models service while the server loads its store.

The server binds its port before it loads the store, so that probes reach it
at once: health reports NOT_SERVING and Models calls fail with UNAVAILABLE
until every model is loaded. Health checking and reflection answer
throughout.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from kerve_server.transport.auth import (
    MODELS_SERVICE,
    AsyncServerInterceptor,
    Decision,
    rejecting_handler,
)

NOT_READY = Decision(
    grpc.StatusCode.UNAVAILABLE,
    "the server is loading its model store and is not serving yet; retry "
    "when grpc.health.v1 reports SERVING",
)


class ReadinessGate(AsyncServerInterceptor):
    """Rejects Models calls with UNAVAILABLE until ``open`` is called."""

    def __init__(self) -> None:
        self._ready = False

    @property
    def ready(self) -> bool:
        """Whether Models calls are let through."""
        return self._ready

    def open(self) -> None:
        """Let Models calls through from now on."""
        self._ready = True

    async def intercept_service(
        self,
        continuation: Callable[[Any], Awaitable[grpc.RpcMethodHandler[Any, Any]]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        if (
            self._ready
            or handler is None
            or not handler_call_details.method.startswith(MODELS_SERVICE)
        ):
            return handler
        return rejecting_handler(handler, NOT_READY)
