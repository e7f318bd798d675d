"""Request counts and latencies of every ``kerve.v1.Models`` RPC.

``RpcMetricsInterceptor`` wraps the handler of each Models method, so that
every call, unary or streaming, ends in ``kerve_rpc_requests_total`` and
``kerve_rpc_duration_seconds`` with its method, model and status code. Health
checks and server reflection pass through uncounted.

The model label is the request's ``name`` only when a model of that name
exists when the call starts (for a client stream, when its first message
arrives) or when it ends. A request for a model that does not exist, or with
an invalid name, gets the empty label, so callers cannot add series by
sending made-up names. A call is recorded before its status is sent, so a
scrape after a response always includes that call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, NoReturn

import grpc
from prometheus_client import Counter, Histogram

from kerve_server import metrics

MODELS_PREFIX = "/kerve.v1.Models/"
NO_MODEL = ""

Context = grpc.aio.ServicerContext[Any, Any]
ModelExists = Callable[[str], bool]
# The children of the request counter and the duration histogram for one
# set of label values.
Series = tuple[Counter, Histogram]

if TYPE_CHECKING:
    # grpc-stubs makes these classes generic; grpcio's runtime classes are not.
    _Interceptor = grpc.aio.ServerInterceptor[Any, Any]
    Handler = grpc.RpcMethodHandler[Any, Any]
else:
    _Interceptor = grpc.aio.ServerInterceptor


def requested_model(request: object) -> str:
    """Return the model name a request carries, or "" if it has none.

    Most requests have a ``name`` field. The first ImportModelRequest carries
    the name in its ``header``. A request that failed to parse has neither.
    """
    name = getattr(request, "name", None)
    if isinstance(name, str):
        return name
    header = getattr(request, "header", None)
    name = getattr(header, "name", None)
    return name if isinstance(name, str) else NO_MODEL


def model_label(name: str, *, existed: bool, exists: ModelExists) -> str:
    """Return ``name`` if it named a model during the call, else ``NO_MODEL``.

    ``existed`` is whether the model existed at the start of the call.
    ``exists`` is called again at its end, so that a created or imported
    model is labelled with its name, and so is a deleted one.
    """
    if not name:
        return NO_MODEL
    if existed or exists(name):
        return name
    return NO_MODEL


def final_code(context: Context, error: BaseException | None) -> grpc.StatusCode:
    """Return the status a call ended with, from its context and exception.

    An abort leaves its code in the context. A call that the client
    cancelled, or whose deadline passed, ends in ``asyncio.CancelledError``
    (or ``GeneratorExit`` for a stream), and any other exception that leaves
    a handler becomes UNKNOWN in grpcio.
    """
    code = context.code()
    if code is not None:
        return code
    if error is None:
        return grpc.StatusCode.OK
    if isinstance(error, asyncio.CancelledError | GeneratorExit):
        return grpc.StatusCode.CANCELLED
    return grpc.StatusCode.UNKNOWN


class _MethodMetrics:
    """The series of one method, with their children cached by label values."""

    def __init__(self, method: str, exists: ModelExists) -> None:
        self.method = method
        self.exists = exists
        # NOTE: the series of a deleted model stay, here and in the
        # registry of metrics, until the server restarts.
        self._children: dict[tuple[str, grpc.StatusCode], Series] = {}

    def record(self, model: str, code: grpc.StatusCode, seconds: float) -> None:
        """Count one call and observe its duration."""
        key = (model, code)
        children = self._children.get(key)
        if children is None:
            labels = {
                "grpc_method": self.method,
                "model": model,
                "grpc_code": code.name,
            }
            children = (
                metrics.RPC_REQUESTS.labels(**labels),
                metrics.RPC_SECONDS.labels(**labels),
            )
            self._children[key] = children
        requests, duration = children
        requests.inc()
        duration.observe(seconds)


class _Call:
    """One call being measured; it records its metrics once, when it ends."""

    __slots__ = ("_ended", "_existed", "_method", "_name", "_started")

    def __init__(self, method: _MethodMetrics) -> None:
        self._method = method
        self._started = time.perf_counter()
        self._name = NO_MODEL
        self._existed = False
        self._ended = False

    def name_from(self, request: object) -> None:
        """Take the model name from ``request`` and note whether it exists."""
        self._name = requested_model(request)
        self._existed = bool(self._name) and self._method.exists(self._name)

    def end(self, code: grpc.StatusCode) -> None:
        """Record the call with ``code``, unless it was already recorded."""
        if self._ended:
            return
        self._ended = True
        seconds = time.perf_counter() - self._started
        model = model_label(
            self._name, existed=self._existed, exists=self._method.exists
        )
        self._method.record(model, code, seconds)

    def end_with(self, context: Context, error: BaseException | None) -> None:
        """Record the call with the status its context and exception imply."""
        if not self._ended:
            self.end(final_code(context, error))


class _RecordingContext:
    """A servicer context that records the call before an abort sends its status.

    grpcio sends the status of an abort before it raises ``AbortError``, so a
    client could otherwise see the status, scrape, and find the call missing.
    Every other attribute comes from the real context.
    """

    def __init__(self, context: Context, call: _Call) -> None:
        self._context = context
        self._call = call

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)

    async def abort(
        self,
        code: grpc.StatusCode,
        details: str = "",
        trailing_metadata: Any = (),
    ) -> NoReturn:
        self._call.end(code)
        await self._context.abort(code, details, trailing_metadata)
        raise AssertionError("unreachable: abort raises")

    async def abort_with_status(self, status: grpc.Status) -> NoReturn:
        self._call.end(status.code)
        # grpc-stubs lacks this method of grpc.aio.ServicerContext.
        await self._context.abort_with_status(status)  # type: ignore[attr-defined]
        raise AssertionError("unreachable: abort raises")


class RpcMetricsInterceptor(_Interceptor):
    """Counts and times every ``kerve.v1.Models`` call.

    Put it first in the server's interceptors, so that it also counts the
    calls that a later interceptor rejects (UNAUTHENTICATED,
    PERMISSION_DENIED).

    NOTE: calls that grpcio rejects with RESOURCE_EXHAUSTED over
    ``maximum_concurrent_rpcs`` never run the handler, so they are not
    counted (checked with grpcio 1.85). Neither are calls to unknown methods.
    """

    def __init__(self, exists: ModelExists) -> None:
        self._exists = exists
        # Wrapped handlers by method path, beside the handler they wrap, so
        # that a call reuses them when the server returns the same handler.
        self._wrapped: dict[str, tuple[Handler, Handler]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[Any], Awaitable[Handler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler:
        handler = await continuation(handler_call_details)
        path = handler_call_details.method
        if handler is None or not path.startswith(MODELS_PREFIX):
            return handler
        cached = self._wrapped.get(path)
        if cached is not None and cached[0] is handler:
            return cached[1]
        method_metrics = _MethodMetrics(path[len(MODELS_PREFIX) :], self._exists)
        wrapped = _instrumented(handler, method_metrics)
        self._wrapped[path] = (handler, wrapped)
        return wrapped


def _instrumented(handler: Handler, method: _MethodMetrics) -> Handler:
    """Return a handler of the same kind as ``handler`` that records metrics."""
    serializers = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(
            _unary_unary(handler.unary_unary, method), **serializers
        )
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(
            _unary_stream(handler.unary_stream, method), **serializers
        )
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(
            _stream_unary(handler.stream_unary, method), **serializers
        )
    # Models has no bidirectional method; pass one through uncounted.
    return handler


def _unary_unary(behaviour: Any, method: _MethodMetrics) -> Any:
    async def unary_unary(request: Any, context: Context) -> Any:
        call = _Call(method)
        call.name_from(request)
        try:
            response = await behaviour(request, _RecordingContext(context, call))
        except BaseException as error:
            call.end_with(context, error)
            raise
        call.end_with(context, None)
        return response

    return unary_unary


def _unary_stream(behaviour: Any, method: _MethodMetrics) -> Any:
    async def unary_stream(request: Any, context: Context) -> AsyncIterator[Any]:
        call = _Call(method)
        call.name_from(request)
        try:
            async for response in behaviour(request, _RecordingContext(context, call)):
                yield response
        except BaseException as error:
            call.end_with(context, error)
            raise
        call.end_with(context, None)

    return unary_stream


def _stream_unary(behaviour: Any, method: _MethodMetrics) -> Any:
    async def stream_unary(requests: AsyncIterator[Any], context: Context) -> Any:
        call = _Call(method)
        # The model of a client stream is known only from its first message.
        # NOTE: an ImportModel that fails before its first message arrives,
        # or whose first message has no header, is labelled with no model.
        first = True

        async def watched() -> AsyncIterator[Any]:
            nonlocal first
            async for request in requests:
                if first:
                    first = False
                    call.name_from(request)
                yield request

        try:
            response = await behaviour(watched(), _RecordingContext(context, call))
        except BaseException as error:
            call.end_with(context, error)
            raise
        call.end_with(context, None)
        return response

    return stream_unary
