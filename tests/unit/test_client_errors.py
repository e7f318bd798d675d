"""Tests of the mapping from gRPC status codes to client exceptions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

import kerve

# Every status code that the Kerve server or client sends on purpose, and its
# exception. The client raises DATA_LOSS itself for a damaged export.
SERVER_CODES = {
    grpc.StatusCode.NOT_FOUND: kerve.NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: kerve.AlreadyExistsError,
    grpc.StatusCode.INVALID_ARGUMENT: kerve.InvalidArgumentError,
    grpc.StatusCode.FAILED_PRECONDITION: kerve.FailedPreconditionError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: kerve.ResourceExhaustedError,
    grpc.StatusCode.ABORTED: kerve.AbortedError,
    grpc.StatusCode.DATA_LOSS: kerve.DataLossError,
    grpc.StatusCode.UNAUTHENTICATED: kerve.UnauthenticatedError,
    grpc.StatusCode.PERMISSION_DENIED: kerve.PermissionDeniedError,
    grpc.StatusCode.UNAVAILABLE: kerve.UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: kerve.DeadlineExceededError,
    grpc.StatusCode.CANCELLED: kerve.RequestCancelledError,
    grpc.StatusCode.INTERNAL: kerve.InternalError,
}


class FailedCall(grpc.RpcError, grpc.Call):
    """A finished, failed call, as grpcio raises it from a stub."""

    def __init__(
        self,
        code: grpc.StatusCode,
        details: str,
        trailing_metadata: tuple[tuple[str, str | bytes], ...] = (),
    ) -> None:
        self._code = code
        self._details = details
        self._trailing_metadata = trailing_metadata

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def trailing_metadata(self) -> Any:
        return self._trailing_metadata

    def initial_metadata(self) -> Any:
        return ()

    def is_active(self) -> bool:
        return False

    def time_remaining(self) -> float:
        return 0.0

    def cancel(self) -> bool:
        return False

    def add_callback(self, callback: Callable[[], None]) -> bool:
        return False


def bad_request_metadata(
    code: grpc.StatusCode, message: str, violations: list[tuple[str, str]]
) -> tuple[tuple[str, bytes], ...]:
    bad_request = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=field, description=text)
            for field, text in violations
        ]
    )
    detail = any_pb2.Any()
    detail.Pack(bad_request)
    status = status_pb2.Status(code=code.value[0], message=message, details=[detail])
    return (("grpc-status-details-bin", status.SerializeToString()),)


@pytest.mark.parametrize(
    ("code", "error_class"),
    SERVER_CODES.items(),
    ids=lambda value: getattr(value, "name", ""),
)
def test_server_code_maps_to_its_class(
    code: grpc.StatusCode, error_class: type[kerve.KerveError]
) -> None:
    error = kerve.error_from_rpc(FailedCall(code, "model 'm' not usable"))

    assert type(error) is error_class
    assert error.code is code
    assert error.message == "model 'm' not usable"


def test_every_status_code_maps_to_kerve_error() -> None:
    for code in grpc.StatusCode:
        if code is grpc.StatusCode.OK:
            continue
        error = kerve.error_from_rpc(FailedCall(code, "failed"))
        assert isinstance(error, kerve.KerveError), code
        assert error.code is code


@pytest.mark.parametrize(
    "code",
    [
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.OUT_OF_RANGE,
    ],
    ids=lambda code: code.name,
)
def test_other_codes_map_to_fallback(code: grpc.StatusCode) -> None:
    error = kerve.error_from_rpc(FailedCall(code, "failed"))

    assert type(error) is kerve.UnexpectedStatusError


def test_error_classes_are_distinct() -> None:
    assert len(set(SERVER_CODES.values())) == len(SERVER_CODES)


def test_str_contains_status_name_and_message() -> None:
    error = kerve.error_from_rpc(
        FailedCall(grpc.StatusCode.NOT_FOUND, "model 'prices' not found")
    )

    assert str(error) == "NOT_FOUND: model 'prices' not found"


def test_missing_details_give_empty_message() -> None:
    error = kerve.error_from_rpc(FailedCall(grpc.StatusCode.INTERNAL, None))  # type: ignore[arg-type]

    assert error.message == ""


def test_bad_request_detail_gives_field_violations() -> None:
    code = grpc.StatusCode.INVALID_ARGUMENT
    message = "invalid spec for model 'm'"
    violations = [("layers[0].dense.units", "must be positive"), ("seed", "too big")]
    call = FailedCall(code, message, bad_request_metadata(code, message, violations))

    error = kerve.error_from_rpc(call)

    assert isinstance(error, kerve.InvalidArgumentError)
    assert error.field_violations == violations


def test_mismatched_rich_status_is_ignored() -> None:
    code = grpc.StatusCode.INVALID_ARGUMENT
    metadata = bad_request_metadata(code, "another message", [("seed", "too big")])

    error = kerve.error_from_rpc(FailedCall(code, "invalid spec", metadata))

    assert isinstance(error, kerve.InvalidArgumentError)
    assert error.field_violations == []


def test_no_rich_status_gives_no_violations() -> None:
    error = kerve.error_from_rpc(FailedCall(grpc.StatusCode.INVALID_ARGUMENT, "bad"))

    assert error.field_violations == []


def test_untrained_warning_is_user_warning() -> None:
    assert issubclass(kerve.UntrainedPredictionWarning, UserWarning)


def test_cancelled_error_does_not_shadow_asyncio() -> None:
    assert not hasattr(kerve, "CancelledError")


@pytest.mark.parametrize(
    ("details", "expected_start"),
    [
        (
            "SERVER: Received message larger than max (1120026 vs. 1048576)",
            "the request is 1120026 bytes, larger than the server's max message "
            "size of 1048576 bytes.",
        ),
        (
            "SERVER: Sent message larger than max (1280169 vs. 1048576)",
            "the response is 1280169 bytes, larger than the server's max message "
            "size of 1048576 bytes.",
        ),
        (
            "CLIENT: Sent message larger than max (16023 vs. 2048)",
            "the request is 16023 bytes, larger than the client's max message "
            "size of 2048 bytes.",
        ),
        (
            "CLIENT: Received message larger than max (5000 vs. 4096)",
            "the response is 5000 bytes, larger than the client's max message "
            "size of 4096 bytes.",
        ),
        (
            "Received message larger than max (5000 vs. 4096)",
            "the message is 5000 bytes, larger than a max message size of 4096 bytes.",
        ),
    ],
    ids=["server-received", "server-sent", "client-sent", "client-received", "bare"],
)
def test_message_size_error_explained(details: str, expected_start: str) -> None:
    error = kerve.error_from_rpc(
        FailedCall(grpc.StatusCode.RESOURCE_EXHAUSTED, details)
    )

    assert isinstance(error, kerve.ResourceExhaustedError)
    assert error.message.startswith(expected_start)
    assert (
        "--max-message-bytes (KERVE_MAX_MESSAGE_BYTES) on the server" in error.message
    )
    assert "Client(max_message_bytes=...)" in error.message
    assert "max_rows_per_request" in error.message


def test_other_resource_exhausted_message_kept() -> None:
    details = "the batch has 101 rows, over the max batch rows of 100"

    error = kerve.error_from_rpc(
        FailedCall(grpc.StatusCode.RESOURCE_EXHAUSTED, details)
    )

    assert error.message == details


def test_size_text_under_other_code_kept() -> None:
    details = "SERVER: Received message larger than max (2 vs. 1)"

    error = kerve.error_from_rpc(FailedCall(grpc.StatusCode.INTERNAL, details))

    assert error.message == details
