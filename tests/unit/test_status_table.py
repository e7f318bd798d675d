"""The error-to-status table covers every error the service can raise."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from kerve_server import errors
from kerve_server.transport.status import STATUS_BY_ERROR, status_code, to_status


def _all_errors() -> list[type[errors.KerveError]]:
    found: list[type[errors.KerveError]] = []
    pending = [errors.KerveError]
    while pending:
        cls = pending.pop()
        found.extend(cls.__subclasses__())
        pending.extend(cls.__subclasses__())
    return found


@pytest.mark.parametrize("error_class", _all_errors(), ids=lambda cls: cls.__name__)
def test_every_error_has_status(error_class: type[errors.KerveError]) -> None:
    code = status_code(error_class("message"))

    assert code not in {
        grpc.StatusCode.OK,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
    }


def test_base_error_is_unmapped() -> None:
    with pytest.raises(LookupError):
        status_code(errors.KerveError("message"))


def test_subclass_uses_base_status() -> None:
    assert status_code(errors.InvalidSpecError("x")) is grpc.StatusCode.INVALID_ARGUMENT
    assert errors.InvalidSpecError not in STATUS_BY_ERROR


def test_violations_become_bad_request() -> None:
    error = errors.InvalidSpecError(
        "invalid spec", violations=[errors.FieldViolation("layers[0]", "bad")]
    )

    status = to_status(error)
    metadata = dict(status.trailing_metadata)
    detail = rpc_status.status_pb2.Status.FromString(
        metadata["grpc-status-details-bin"]
    )
    bad_request = error_details_pb2.BadRequest()
    detail.details[0].Unpack(bad_request)

    assert status.code is grpc.StatusCode.INVALID_ARGUMENT
    assert status.details == "invalid spec"
    assert bad_request.field_violations[0].field == "layers[0]"
    assert bad_request.field_violations[0].description == "bad"
