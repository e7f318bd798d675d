"""Bearer-token authentication with two roles, as a gRPC server interceptor.

A caller sends ``authorization: Bearer <token>`` metadata. The predict token
allows the read and predict methods; the admin token allows every method.
Health checking and server reflection stay open, so that probes and tools
work without a token. Tokens are compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc

logger = logging.getLogger(__name__)

MODELS_SERVICE = "/kerve.v1.Models/"
PREDICT_METHODS = frozenset(
    MODELS_SERVICE + name
    for name in (
        "Predict",
        "Evaluate",
        "GetModel",
        "ListModels",
        "WatchModel",
        "GetServerInfo",
    )
)
OPEN_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")
BEARER = "bearer "


@dataclass(frozen=True)
class Tokens:
    """The configured tokens; ``predict`` may be None, ``admin`` may not."""

    admin: str
    predict: str | None = None


@dataclass(frozen=True)
class Decision:
    """Why a call is rejected: its status and message."""

    code: grpc.StatusCode
    message: str


def authorize(tokens: Tokens, method: str, metadata: Any) -> Decision | None:
    """Return None if the call may proceed, else the rejection.

    Raises nothing: a malformed header is a rejection, not an error.
    """
    if method.startswith(OPEN_PREFIXES):
        return None
    presented = _bearer_token(metadata)
    if presented is None:
        return Decision(
            grpc.StatusCode.UNAUTHENTICATED,
            "missing credentials: send the metadata 'authorization: Bearer "
            "<token>' with a predict or admin token",
        )
    is_admin = _matches(presented, tokens.admin)
    is_predict = tokens.predict is not None and _matches(presented, tokens.predict)
    if is_admin:
        return None
    if is_predict:
        if method in PREDICT_METHODS:
            return None
        return Decision(
            grpc.StatusCode.PERMISSION_DENIED,
            f"the predict token does not allow {method.rsplit('/', 1)[-1]}; "
            "it allows Predict, Evaluate, GetModel, ListModels, WatchModel and "
            "GetServerInfo. Use the admin token",
        )
    return Decision(
        grpc.StatusCode.UNAUTHENTICATED,
        "invalid credentials: the bearer token matches no configured token",
    )


def _bearer_token(metadata: Any) -> str | None:
    for key, value in metadata or ():
        if key != "authorization":
            continue
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        if text[: len(BEARER)].lower() == BEARER:
            return text[len(BEARER) :].strip()
        return None
    return None


def _matches(presented: str, expected: str) -> bool:
    return hmac.compare_digest(presented.encode(), expected.encode())


if TYPE_CHECKING:
    # grpc-stubs makes the class generic; grpcio's runtime class is not.
    AsyncServerInterceptor = grpc.aio.ServerInterceptor[Any, Any]
else:
    AsyncServerInterceptor = grpc.aio.ServerInterceptor


class TokenInterceptor(AsyncServerInterceptor):
    """Rejects calls whose token does not allow the method."""

    def __init__(self, tokens: Tokens) -> None:
        self._tokens = tokens

    async def intercept_service(
        self,
        continuation: Callable[[Any], Awaitable[grpc.RpcMethodHandler[Any, Any]]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        decision = authorize(
            self._tokens,
            handler_call_details.method,
            handler_call_details.invocation_metadata,
        )
        if decision is None:
            return handler
        # DEBUG, not INFO: a client retrying with a bad token must not
        # flood the log.
        logger.debug(
            "rejected %s with %s",
            handler_call_details.method,
            decision.code.name,
        )
        return rejecting_handler(handler, decision)


def rejecting_handler(
    handler: grpc.RpcMethodHandler[Any, Any], decision: Decision
) -> grpc.RpcMethodHandler[Any, Any]:
    """Return a handler of the same kind as ``handler`` that only aborts."""

    async def reject_unary(
        request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Any:
        await context.abort(decision.code, decision.message)

    async def reject_stream(
        request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Any:
        await context.abort(decision.code, decision.message)
        yield  # pragma: no cover - abort raises, but this makes a generator

    serializers = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(reject_unary, **serializers)
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(reject_stream, **serializers)
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(reject_unary, **serializers)
    return grpc.stream_stream_rpc_method_handler(reject_stream, **serializers)
