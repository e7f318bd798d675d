"""The one table from service errors to gRPC status codes, and its use.

Every servicer method is wrapped by ``translate_errors`` or
``translate_stream_errors``. A ``KerveError`` becomes its status with the
error's message and a ``google.rpc.BadRequest`` detail listing the field
violations. Any other exception is a bug: the caller gets INTERNAL with a
generic message, and the traceback goes to the server log.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from kerve_server import errors

logger = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[errors.KerveError], grpc.StatusCode] = {
    errors.ModelNotFoundError: grpc.StatusCode.NOT_FOUND,
    errors.ModelExistsError: grpc.StatusCode.ALREADY_EXISTS,
    errors.InvalidArgumentError: grpc.StatusCode.INVALID_ARGUMENT,
    errors.FailedPreconditionError: grpc.StatusCode.FAILED_PRECONDITION,
    errors.ResourceExhaustedError: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.TrainingFailedError: grpc.StatusCode.ABORTED,
    errors.TrainingCancelledError: grpc.StatusCode.CANCELLED,
    errors.ServerStoppingError: grpc.StatusCode.UNAVAILABLE,
}

INTERNAL_MESSAGE = "internal error in the Kerve server; the server log has the details"


def status_code(error: errors.KerveError) -> grpc.StatusCode:
    """Return the status for ``error``, from its class or nearest base.

    Raises:
        LookupError: no class in the error's ancestry is in the table.
    """
    for cls in type(error).__mro__:
        code = STATUS_BY_ERROR.get(cls)
        if code is not None:
            return code
    raise LookupError(f"{type(error).__name__} has no gRPC status in STATUS_BY_ERROR")


def to_status(error: errors.KerveError) -> grpc.Status:
    """Build the rich status, with field violations, for ``error``."""
    code = status_code(error)
    message = status_pb2.Status(code=code.value[0], message=error.message)
    if error.violations:
        detail = any_pb2.Any()
        detail.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=v.field, description=v.description
                    )
                    for v in error.violations
                ]
            )
        )
        message.details.append(detail)
    return rpc_status.to_status(message)


async def _abort_with_status(
    context: grpc.aio.ServicerContext[Any, Any], status: grpc.Status
) -> None:
    # grpc-stubs lacks this method of grpc.aio.ServicerContext (grpcio 1.85).
    await context.abort_with_status(status)  # type: ignore[attr-defined]


async def _abort_internal(
    context: grpc.aio.ServicerContext[Any, Any], method: str
) -> None:
    # Called from an except block: the traceback is the current exception.
    logger.error("unexpected error in %s", method, exc_info=True)  # noqa: LOG014
    await _abort_with_status(
        context,
        rpc_status.to_status(
            status_pb2.Status(code=code_pb2.INTERNAL, message=INTERNAL_MESSAGE)
        ),
    )


Request = TypeVar("Request")
Response = TypeVar("Response")
Servicer = TypeVar("Servicer")
UnaryMethod = Callable[
    [Servicer, Request, grpc.aio.ServicerContext[Any, Any]], Awaitable[Response]
]
StreamMethod = Callable[
    [Servicer, Request, grpc.aio.ServicerContext[Any, Any]], AsyncIterator[Response]
]


def translate_errors(
    method: UnaryMethod[Servicer, Request, Response],
) -> UnaryMethod[Servicer, Request, Response]:
    """Wrap a unary servicer method so that errors become statuses."""

    @functools.wraps(method)
    async def wrapper(
        self: Servicer, request: Request, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Response:
        try:
            return await method(self, request, context)
        except errors.KerveError as error:
            await _abort(context, method.__name__, error)
        except grpc.aio.AbortError:
            raise
        except Exception:
            await _abort_internal(context, method.__name__)
        raise AssertionError("unreachable: abort raises")

    return wrapper


def translate_stream_errors(
    method: StreamMethod[Servicer, Request, Response],
) -> StreamMethod[Servicer, Request, Response]:
    """Wrap a server-streaming servicer method so that errors become statuses."""

    @functools.wraps(method)
    async def wrapper(
        self: Servicer, request: Request, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Response]:
        try:
            async for response in method(self, request, context):
                yield response
        except errors.KerveError as error:
            await _abort(context, method.__name__, error)
        except grpc.aio.AbortError:
            raise
        except Exception:
            await _abort_internal(context, method.__name__)

    return wrapper


async def _abort(
    context: grpc.aio.ServicerContext[Any, Any], method: str, error: errors.KerveError
) -> None:
    status = to_status(error)
    logger.debug("%s rejected with %s: %s", method, status.code.name, error.message)
    await _abort_with_status(context, status)
