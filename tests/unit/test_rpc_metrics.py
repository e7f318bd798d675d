"""Unit tests of the labels that kerve_server.transport.rpc_metrics extracts."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest

from kerve.v1 import kerve_pb2
from kerve_server.transport.handlers import Undecodable
from kerve_server.transport.rpc_metrics import (
    NO_MODEL,
    final_code,
    model_label,
    requested_model,
)


class FakeContext:
    """A servicer context reduced to the status code it has set, if any."""

    def __init__(self, code: grpc.StatusCode | None = None) -> None:
        self._code = code

    def code(self) -> grpc.StatusCode | None:
        return self._code


@pytest.mark.parametrize(
    ("request_message", "expected"),
    [
        (kerve_pb2.PredictRequest(name="house-prices"), "house-prices"),
        (kerve_pb2.TrainRequest(name="demo"), "demo"),
        (kerve_pb2.ExportModelRequest(name="demo"), "demo"),
        (kerve_pb2.ListModelsRequest(), NO_MODEL),
        (
            kerve_pb2.ImportModelRequest(
                header=kerve_pb2.ImportHeader(name="imported")
            ),
            "imported",
        ),
        (kerve_pb2.ImportModelRequest(chunk=b"\x00\x01"), NO_MODEL),
        (Undecodable("kerve.v1.PredictRequest", 3), NO_MODEL),
    ],
    ids=[
        "predict",
        "train",
        "export",
        "list-has-no-name",
        "import-header",
        "import-chunk-first",
        "undecodable",
    ],
)
def test_requested_model(request_message: object, expected: str) -> None:
    assert requested_model(request_message) == expected


def test_label_of_existing_model() -> None:
    assert model_label("demo", existed=False, exists={"demo"}.__contains__) == "demo"


def test_label_of_deleted_model() -> None:
    assert model_label("demo", existed=True, exists=set[str]().__contains__) == "demo"


def test_label_of_unknown_model() -> None:
    label = model_label("made-up", existed=False, exists={"demo"}.__contains__)

    assert label == NO_MODEL


def test_label_without_name_skips_lookup() -> None:
    def exists(name: str) -> bool:
        raise AssertionError(f"looked up {name!r}")

    assert model_label("", existed=False, exists=exists) == NO_MODEL


@pytest.mark.parametrize(
    ("code", "error", "expected"),
    [
        (None, None, grpc.StatusCode.OK),
        (grpc.StatusCode.NOT_FOUND, Exception("aborted"), grpc.StatusCode.NOT_FOUND),
        (None, asyncio.CancelledError(), grpc.StatusCode.CANCELLED),
        (None, GeneratorExit(), grpc.StatusCode.CANCELLED),
        (None, ValueError("bug"), grpc.StatusCode.UNKNOWN),
    ],
    ids=["ok", "aborted", "cancelled", "stream-closed", "escaped-error"],
)
def test_final_code(
    code: grpc.StatusCode | None,
    error: BaseException | None,
    expected: grpc.StatusCode,
) -> None:
    context: Any = FakeContext(code)

    assert final_code(context, error) is expected
