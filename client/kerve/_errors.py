"""Exceptions raised by the client, one per gRPC status code.

The hierarchy::

    KerveError
    ├── NotFoundError              NOT_FOUND
    ├── AlreadyExistsError         ALREADY_EXISTS
    ├── InvalidArgumentError       INVALID_ARGUMENT
    ├── FailedPreconditionError    FAILED_PRECONDITION
    ├── ResourceExhaustedError     RESOURCE_EXHAUSTED
    ├── AbortedError               ABORTED
    ├── DataLossError              DATA_LOSS
    ├── UnauthenticatedError       UNAUTHENTICATED
    ├── PermissionDeniedError      PERMISSION_DENIED
    ├── UnavailableError           UNAVAILABLE
    ├── DeadlineExceededError      DEADLINE_EXCEEDED
    ├── RequestCancelledError      CANCELLED
    ├── InternalError              INTERNAL
    └── UnexpectedStatusError      any other code

``UntrainedPredictionWarning`` is a warning, not an error: the client emits it
for a prediction that is not meaningful.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

logger = logging.getLogger(__name__)


class KerveError(Exception):
    """Base class of the errors raised when the server rejects or fails a request.

    Attributes:
        code: The gRPC status code of the failed call.
        message: The server's error message (the status details). For a
            message over a size limit, the client rewrites it to name both
            sizes and the settings that raise the limit.
        field_violations: ``(field, description)`` pairs from a
            ``google.rpc.BadRequest`` detail, empty when the server sent none.
    """

    def __init__(
        self,
        message: str,
        *,
        code: grpc.StatusCode,
        field_violations: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field_violations = list(field_violations)

    def __str__(self) -> str:
        return f"{self.code.name}: {self.message}"


class NotFoundError(KerveError):
    """Raised when no model has the requested name."""


class AlreadyExistsError(KerveError):
    """Raised when creating a model under a name that another model has."""


class InvalidArgumentError(KerveError):
    """Raised for an invalid request: a bad spec, name, shape, dtype or data.

    ``field_violations`` usually names the offending fields.
    """


class FailedPreconditionError(KerveError):
    """Raised when the model's state does not allow the request.

    Examples are a training request while the model is already training, and a
    strict prediction from a model whose current weights are untrained.
    """


class ResourceExhaustedError(KerveError):
    """Raised when a limit is reached: a full queue or a message over the size limit.

    The client raises it too, before sending, for a Predict, Train or Evaluate
    request larger than its ``max_message_bytes``. For a message over a size
    limit, the message states both sizes and the settings that raise the limit.
    """


class AbortedError(KerveError):
    """Raised when a training run failed, for example because its loss became NaN.

    The model is now FAILED and keeps serving the version from before the run.
    ``Model.failure_reason`` describes the failure.

    ``Client.predict`` raises it too when it split a batch into several
    requests and their outputs came from different versions twice in a row.
    """


class DataLossError(KerveError):
    """Raised when data arrived damaged.

    ``Client.export_model`` raises it when the archive received does not match
    the size or SHA-256 that the export's header announced.
    """


class UnauthenticatedError(KerveError):
    """Raised when the request has missing or invalid credentials."""


class PermissionDeniedError(KerveError):
    """Raised when the credentials do not allow the request."""


class UnavailableError(KerveError):
    """Raised when the server cannot be reached or is shutting down."""


class DeadlineExceededError(KerveError):
    """Raised when the call did not finish within its timeout."""


class RequestCancelledError(KerveError):
    """Raised when the call was cancelled, by the client or by the server."""


class InternalError(KerveError):
    """Raised when the server failed because of a bug.

    The message is generic, and the details are in the server's log.
    """


class UnexpectedStatusError(KerveError):
    """Raised for a status code that Kerve's server does not send on purpose.

    Examples are UNIMPLEMENTED from a server that lacks a method and UNKNOWN
    from a proxy. ``code`` is the status code received.
    """


class UntrainedPredictionWarning(UserWarning):
    """Warning that a prediction is not meaningful.

    The client emits it when the outputs came from initial (untrained) weights
    or contain non-finite values. Its message is the server's notice.
    """


_ERRORS_BY_CODE: dict[grpc.StatusCode, type[KerveError]] = {
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhaustedError,
    grpc.StatusCode.ABORTED: AbortedError,
    grpc.StatusCode.DATA_LOSS: DataLossError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.CANCELLED: RequestCancelledError,
    grpc.StatusCode.INTERNAL: InternalError,
}


def error_from_rpc(error: grpc.RpcError) -> KerveError:
    """Convert a failed gRPC call into the matching ``KerveError`` subclass.

    Args:
        error: The exception that a stub call raised.

    Returns:
        The exception to raise in its place, with the status code, the
        server's message and any field violations.
    """
    if not isinstance(error, grpc.Call):
        # grpcio raises RpcError objects that are also Calls. Anything else
        # carries no status, so it is reported as UNKNOWN.
        return UnexpectedStatusError(str(error), code=grpc.StatusCode.UNKNOWN)

    code = error.code() or grpc.StatusCode.UNKNOWN
    message = error.details() or ""
    if code is grpc.StatusCode.RESOURCE_EXHAUSTED:
        message = explain_message_size(message) or message
    error_class = _ERRORS_BY_CODE.get(code, UnexpectedStatusError)
    return error_class(message, code=code, field_violations=_field_violations(error))


# grpcio's status message for a message over a size limit, as of grpcio 1.85:
# "SERVER: Received message larger than max (1120026 vs. 1048576)". The side
# is optional in the pattern in case another grpcio version leaves it out.
_MESSAGE_SIZE = re.compile(
    r"(?:(?P<side>SERVER|CLIENT): )?(?P<direction>Received|Sent) message larger "
    r"than max \((?P<size>\d+) vs\. (?P<limit>\d+)\)"
)


def explain_message_size(message: str) -> str | None:
    """Rewrite grpcio's message about a message over a size limit.

    Returns:
        A message that names the size, the limit, whose limit it is and the
        settings that raise it, or None if ``message`` is about something
        else.
    """
    match = _MESSAGE_SIZE.search(message)
    if match is None:
        return None
    size, limit, side = match["size"], match["limit"], match["side"]
    # The server receives requests and sends responses, and the client does
    # the opposite.
    if side is None:
        kind, holder = "message", "a"
    elif side == "SERVER":
        kind = "request" if match["direction"] == "Received" else "response"
        holder = "the server's"
    else:
        kind = "request" if match["direction"] == "Sent" else "response"
        holder = "the client's"
    return (
        f"the {kind} is {size} bytes, larger than {holder} max message size of "
        f"{limit} bytes. To allow it, raise --max-message-bytes "
        "(KERVE_MAX_MESSAGE_BYTES) on the server and the client's limit "
        "(Client(max_message_bytes=...) or kerve --max-message-bytes) to at "
        f"least {size}. To stay under it with Predict, send fewer rows per "
        "request, with predict(..., max_rows_per_request=N) or kerve predict "
        "--max-rows-per-request N."
    )


def _field_violations(call: grpc.Call) -> list[tuple[str, str]]:
    """Read the ``google.rpc.BadRequest`` field violations of a failed call."""
    try:
        status = rpc_status.from_call(call)
    except ValueError:
        # from_call raises when the rich status disagrees with the call's own
        # code or message. The call's status is still usable without details.
        logger.debug("ignored a rich status that does not match the call's status")
        return []
    if status is None:
        return []

    violations: list[tuple[str, str]] = []
    for detail in status.details:
        if not detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            continue
        bad_request = error_details_pb2.BadRequest()
        detail.Unpack(bad_request)
        violations.extend(
            (violation.field, violation.description)
            for violation in bad_request.field_violations
        )
    return violations
