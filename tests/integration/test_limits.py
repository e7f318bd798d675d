"""Configured limits: concurrent RPCs, message size and batch rows."""

from __future__ import annotations

import time
from collections.abc import Iterator

import grpc
import numpy as np
import pytest

import kerve
from kerve.v1 import kerve_pb2, kerve_pb2_grpc
from tests.servers import ServerProcess, start_server

MAX_RPCS = 3
MAX_MESSAGE = 1024 * 1024
FREE_SLOTS_SECONDS = 10.0
SPEC = kerve.ModelSpec(input_shape=(4,), layers=[kerve.Dense(1)], seed=0)


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(
        tmp_path_factory.mktemp("limits"),
        "--max-concurrent-rpcs", str(MAX_RPCS),
        "--max-message-bytes", str(MAX_MESSAGE),
        "--max-batch-rows", "100",
    )  # fmt: skip
    with kerve.Client(server.address) as client:
        client.create_model("small", SPEC)
    yield server
    server.stop()


def test_rpcs_beyond_limit_rejected(limited: ServerProcess) -> None:
    with grpc.insecure_channel(limited.address) as channel:
        stub = kerve_pb2_grpc.ModelsStub(channel)
        watches = [
            stub.WatchModel(kerve_pb2.WatchModelRequest(name="small"))
            for _ in range(MAX_RPCS)
        ]
        for watch in watches:
            next(watch)
        try:
            with pytest.raises(grpc.RpcError) as caught:
                stub.ListModels(kerve_pb2.ListModelsRequest(), timeout=10)
        finally:
            for watch in watches:
                watch.cancel()

    assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED


def test_serving_again_after_flood(limited: ServerProcess) -> None:
    # The server frees a slot once it processes a watch's cancellation,
    # which can take a moment after the previous test cancels the watches.
    deadline = time.monotonic() + FREE_SLOTS_SECONDS
    with kerve.Client(limited.address, timeout=30) as client:
        while True:
            try:
                models = client.list_models()
                break
            except kerve.ResourceExhaustedError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    assert [model.name for model in models] == ["small"]


def test_message_over_limit_rejected(limited: ServerProcess) -> None:
    rows = np.zeros((MAX_MESSAGE // 16 + 10, 4), dtype=np.float32)

    with (
        kerve.Client(limited.address, timeout=30) as client,
        pytest.raises(kerve.ResourceExhaustedError) as caught,
    ):
        client.predict("small", rows, warn=False)

    assert str(MAX_MESSAGE) in caught.value.message


def test_batch_over_row_limit_rejected(limited: ServerProcess) -> None:
    with (
        kerve.Client(limited.address, timeout=30) as client,
        pytest.raises(kerve.ResourceExhaustedError) as caught,
    ):
        client.predict("small", np.zeros((101, 4)), warn=False)

    assert "the batch has 101 rows" in caught.value.message
    assert "max batch rows of 100" in caught.value.message
    assert "--max-batch-rows" in caught.value.message


def test_export_larger_than_message_limit(limited: ServerProcess) -> None:
    spec = kerve.ModelSpec(input_shape=(500,), layers=[kerve.Dense(600)], seed=1)
    with kerve.Client(limited.address, timeout=60) as client:
        client.create_model("wide", spec)
        archive = client.export_model("wide")
        client.delete_model("wide")
        client.import_model("wide", archive)
        reimported = client.get_model("wide")

    assert len(archive) > MAX_MESSAGE
    assert reimported.parameter_count == 500 * 600 + 600


def test_outputs_over_message_limit_rejected(limited: ServerProcess) -> None:
    spec = kerve.ModelSpec(input_shape=(4,), layers=[kerve.Dense(4096)], seed=0)
    with kerve.Client(limited.address, timeout=30) as client:
        client.create_model("wide-outputs", spec)
        with pytest.raises(kerve.ResourceExhaustedError) as caught:
            client.predict("wide-outputs", np.zeros((100, 4)), warn=False)
        fits = client.predict("wide-outputs", np.zeros((50, 4)), warn=False)

    assert "the outputs of 100 rows need about" in caught.value.message
    assert "send at most 63 rows per request" in caught.value.message
    assert fits.outputs.shape == (50, 4096)
