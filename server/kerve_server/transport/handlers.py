"""Method handlers for ``kerve.v1.Models`` that reject undecodable requests.

The handlers that protoc generates parse each request with ``FromString``.
For a parse failure grpcio returns UNKNOWN with the exception's text.
These handlers parse the same way, but a message that is not valid protobuf
wire format becomes INVALID_ARGUMENT with a plain message. Until the server
has loaded its store, they reject every call with UNAVAILABLE.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
from google.protobuf import message, message_factory

from kerve.v1 import kerve_pb2
from kerve_server.errors import FieldViolation, InvalidArgumentError
from kerve_server.transport.readiness import NOT_READY_MESSAGE, Readiness

logger = logging.getLogger(__name__)

SERVICE = kerve_pb2.DESCRIPTOR.services_by_name["Models"]
Context = grpc.aio.ServicerContext[Any, Any]


class Undecodable:
    """Stands in for a request whose bytes are not a valid message."""

    def __init__(self, type_name: str, size: int) -> None:
        self.message = (
            f"the request is not a valid {type_name} message: its {size:,} bytes "
            "are not protobuf wire format; send a message built from the "
            "kerve.v1 protos"
        )


def _deserializer(cls: type[message.Message]) -> Callable[[bytes], Any]:
    def parse(data: bytes) -> Any:
        try:
            return cls.FromString(data)
        except message.DecodeError:
            logger.debug(
                "rejected %d bytes that are not a valid %s message",
                len(data),
                cls.DESCRIPTOR.full_name,
            )
            return Undecodable(cls.DESCRIPTOR.full_name, len(data))

    return parse


def _unary_request(behaviour: Any, readiness: Readiness, *, streaming: bool) -> Any:
    if streaming:

        async def stream(request: Any, context: Context) -> AsyncIterator[Any]:
            if not readiness.ready:
                await context.abort(grpc.StatusCode.UNAVAILABLE, NOT_READY_MESSAGE)
            if isinstance(request, Undecodable):
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, request.message)
            async for response in behaviour(request, context):
                yield response

        return stream

    async def unary(request: Any, context: Context) -> Any:
        if not readiness.ready:
            await context.abort(grpc.StatusCode.UNAVAILABLE, NOT_READY_MESSAGE)
        if isinstance(request, Undecodable):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, request.message)
        return await behaviour(request, context)

    return unary


def _streamed_requests(behaviour: Any, readiness: Readiness) -> Any:
    async def client_stream(requests: AsyncIterator[Any], context: Context) -> Any:
        if not readiness.ready:
            await context.abort(grpc.StatusCode.UNAVAILABLE, NOT_READY_MESSAGE)

        async def checked() -> AsyncIterator[Any]:
            async for request in requests:
                if isinstance(request, Undecodable):
                    raise InvalidArgumentError(
                        request.message,
                        violations=[FieldViolation("request", request.message)],
                    )
                yield request

        return await behaviour(checked(), context)

    return client_stream


def models_handler(
    servicer: object, readiness: Readiness
) -> grpc.GenericRpcHandler[Any, Any]:
    """Return the generic handler that serves ``servicer`` for every method."""
    handlers = {}
    for method in SERVICE.methods:
        request_class = message_factory.GetMessageClass(method.input_type)
        response_class = message_factory.GetMessageClass(method.output_type)
        behaviour = getattr(servicer, method.name)
        parse = _deserializer(request_class)
        serialize = response_class.SerializeToString
        if method.client_streaming and method.server_streaming:
            raise NotImplementedError(f"{method.full_name}: bidirectional stream")
        if method.client_streaming:
            handlers[method.name] = grpc.stream_unary_rpc_method_handler(
                _streamed_requests(behaviour, readiness), parse, serialize
            )
        elif method.server_streaming:
            handlers[method.name] = grpc.unary_stream_rpc_method_handler(
                _unary_request(behaviour, readiness, streaming=True), parse, serialize
            )
        else:
            handlers[method.name] = grpc.unary_unary_rpc_method_handler(
                _unary_request(behaviour, readiness, streaming=False), parse, serialize
            )
    return grpc.method_handlers_generic_handler(SERVICE.full_name, handlers)
