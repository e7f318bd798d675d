"""Tests of split predictions and request size checks in the client.

A small in-process gRPC server replaces Kerve. Its Predict returns the first
input column with a version from a script and records every request, so the
tests can count requests and change the version between them.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field

import grpc
import numpy as np
import pytest

import kerve
from kerve.v1 import kerve_pb2, kerve_pb2_grpc

LIMIT = 64 * 1024


@dataclass
class ScriptedModels(kerve_pb2_grpc.ModelsServicer):
    """Predict with scripted versions; every request's rows and size recorded."""

    versions: list[int] = field(default_factory=list)
    untrained: bool = True
    request_rows: list[int] = field(default_factory=list)
    request_sizes: list[int] = field(default_factory=list)

    def Predict(
        self, request: kerve_pb2.PredictRequest, context: grpc.ServicerContext
    ) -> kerve_pb2.PredictResponse:
        inputs = kerve.tensor_to_array(request.inputs)
        self.request_rows.append(inputs.shape[0])
        self.request_sizes.append(request.ByteSize())
        version = self.versions.pop(0) if len(self.versions) > 1 else self.versions[0]
        outputs = inputs[:, :1].astype(np.float32)
        non_finite_rows = np.flatnonzero(~np.isfinite(outputs).all(axis=1))
        finite = non_finite_rows.size == 0
        if self.untrained:
            verdict = kerve_pb2.VERDICT_UNTRAINED
        elif finite:
            verdict = kerve_pb2.VERDICT_VALIDATED
        else:
            verdict = kerve_pb2.VERDICT_NO_BETTER_THAN_BASELINE
        return kerve_pb2.PredictResponse(
            name=request.name,
            outputs=kerve.array_to_tensor(outputs),
            untrained=self.untrained,
            meaningful=not self.untrained and finite,
            state=kerve_pb2.UNTRAINED if self.untrained else kerve_pb2.TRAINED,
            version=version,
            notice=f"version {version}, {inputs.shape[0]} rows",
            verdict=verdict,
            non_finite_rows=non_finite_rows.tolist(),
        )


@pytest.fixture
def models() -> Iterator[tuple[ScriptedModels, str]]:
    servicer = ScriptedModels(versions=[1])
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    kerve_pb2_grpc.add_ModelsServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, f"127.0.0.1:{port}"
    server.stop(grace=None)


@pytest.fixture
def client(models: tuple[ScriptedModels, str]) -> Iterator[kerve.Client]:
    with kerve.Client(
        models[1], timeout=30, max_message_bytes=LIMIT, warn_untrained=False
    ) as connected:
        yield connected


def numbered_rows(count: int, width: int = 4) -> np.ndarray:
    rows = np.zeros((count, width), dtype=np.float32)
    rows[:, 0] = np.arange(count)
    return rows


def test_small_batch_is_one_request(
    models: tuple[ScriptedModels, str], client: kerve.Client
) -> None:
    servicer, _ = models

    prediction = client.predict("m", numbered_rows(10))

    assert servicer.request_rows == [10]
    assert prediction.outputs[:, 0].tolist() == list(range(10))


def test_large_batch_is_split_in_order(
    models: tuple[ScriptedModels, str], client: kerve.Client
) -> None:
    servicer, _ = models
    rows = numbered_rows(3 * LIMIT // 16)

    prediction = client.predict("m", rows)

    assert len(servicer.request_rows) == 4
    assert sum(servicer.request_rows) == len(rows)
    assert max(servicer.request_sizes) <= LIMIT
    assert np.array_equal(prediction.outputs[:, 0], rows[:, 0])
    assert prediction.version == 1
    assert prediction.untrained


def test_max_rows_per_request_splits(
    models: tuple[ScriptedModels, str], client: kerve.Client
) -> None:
    servicer, _ = models

    prediction = client.predict("m", numbered_rows(25), max_rows_per_request=10)

    assert servicer.request_rows == [10, 10, 5]
    assert prediction.outputs[:, 0].tolist() == list(range(25))


def test_version_change_retries_batch(
    models: tuple[ScriptedModels, str], client: kerve.Client
) -> None:
    servicer, _ = models
    # The first try gets version 1, then 2. The retry gets version 2 for all parts.
    servicer.versions = [1, 2, 2, 2, 2]

    prediction = client.predict("m", numbered_rows(25), max_rows_per_request=10)

    assert servicer.request_rows == [10, 10, 10, 10, 5]
    assert prediction.version == 2
    assert prediction.outputs[:, 0].tolist() == list(range(25))


def test_second_version_change_raises(
    models: tuple[ScriptedModels, str], client: kerve.Client
) -> None:
    servicer, _ = models
    servicer.versions = [1, 2, 2, 3, 3]

    with pytest.raises(kerve.AbortedError) as raised:
        client.predict("m", numbered_rows(25), max_rows_per_request=10)

    assert raised.value.code is grpc.StatusCode.ABORTED
    assert "split into 3 requests of at most 10 rows" in raised.value.message
    assert "versions 1 to 2 and 2 to 3" in raised.value.message
    assert servicer.request_rows == [10, 10, 10, 10]


def test_joined_trained_prediction_is_meaningful(
    models: tuple[ScriptedModels, str], client: kerve.Client
) -> None:
    servicer, _ = models
    servicer.untrained = False

    prediction = client.predict("m", numbered_rows(25), max_rows_per_request=10)

    assert prediction.meaningful
    assert not prediction.untrained
    assert prediction.state is kerve.State.TRAINED
    assert prediction.notice == "version 1, 5 rows"


def test_non_finite_part_makes_joined_not_meaningful(
    models: tuple[ScriptedModels, str], client: kerve.Client
) -> None:
    servicer, _ = models
    servicer.untrained = False
    rows = numbered_rows(25)
    rows[[3, 17], 0] = np.nan

    prediction = client.predict("m", rows, max_rows_per_request=10)

    assert not prediction.meaningful
    assert not prediction.untrained
    assert prediction.verdict is kerve.Verdict.NO_BETTER_THAN_BASELINE
    assert prediction.non_finite_rows.tolist() == [3, 17]
    assert "2 rows have NaN or Inf outputs" in prediction.notice


def test_untrained_split_warns_once(models: tuple[ScriptedModels, str]) -> None:
    with (
        kerve.Client(models[1], timeout=30) as client,
        pytest.warns(kerve.UntrainedPredictionWarning) as warned,
    ):
        client.predict("m", numbered_rows(25), max_rows_per_request=10)

    assert len(warned) == 1


def test_empty_batch_is_one_request(
    models: tuple[ScriptedModels, str], client: kerve.Client
) -> None:
    servicer, _ = models

    prediction = client.predict("m", numbered_rows(0), max_rows_per_request=10)

    assert servicer.request_rows == [0]
    assert prediction.outputs.shape == (0, 1)


def test_row_over_limit_raises_before_sending(
    models: tuple[ScriptedModels, str], client: kerve.Client
) -> None:
    servicer, _ = models
    wide = np.zeros((2, LIMIT // 4), dtype=np.float32)

    with pytest.raises(kerve.ResourceExhaustedError) as raised:
        client.predict("m", wide)

    assert f"one input row of model 'm' is {LIMIT} bytes" in raised.value.message
    assert f"max message size of {LIMIT} bytes" in raised.value.message
    assert servicer.request_rows == []


@pytest.mark.parametrize("rows", [0, -1])
def test_max_rows_below_one_rejected(client: kerve.Client, rows: int) -> None:
    with pytest.raises(ValueError, match="max_rows_per_request must be at least 1"):
        client.predict("m", numbered_rows(3), max_rows_per_request=rows)


@pytest.fixture
def closed_client() -> Iterator[kerve.Client]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with kerve.Client(
        f"127.0.0.1:{port}", timeout=5, max_message_bytes=LIMIT
    ) as connected:
        yield connected


def test_train_over_limit_raises_before_sending(closed_client: kerve.Client) -> None:
    rows = numbered_rows(LIMIT // 16)

    with pytest.raises(kerve.ResourceExhaustedError) as raised:
        closed_client.train("m", x=rows, y=rows[:, 0])

    message = raised.value.message
    assert message.startswith("the Train request of model 'm' is ")
    assert f"larger than the client's max message size of {LIMIT} bytes" in message
    assert "Client(max_message_bytes=...)" in message
    assert "KERVE_MAX_MESSAGE_BYTES" in message


def test_train_stream_over_limit_raises_at_call(closed_client: kerve.Client) -> None:
    rows = numbered_rows(LIMIT // 16)

    with pytest.raises(kerve.ResourceExhaustedError):
        closed_client.train_stream("m", x=rows, y=rows[:, 0])


def test_evaluate_over_limit_raises_before_sending(
    closed_client: kerve.Client,
) -> None:
    rows = numbered_rows(LIMIT // 16)

    with pytest.raises(kerve.ResourceExhaustedError) as raised:
        closed_client.evaluate("m", x=rows, y=rows[:, 0])

    assert raised.value.message.startswith("the Evaluate request of model 'm' is ")


def test_train_under_limit_is_sent(closed_client: kerve.Client) -> None:
    rows = numbered_rows(10)

    with pytest.raises(kerve.UnavailableError):
        closed_client.train("m", x=rows, y=rows[:, 0])


def test_max_message_bytes_below_one_rejected() -> None:
    with pytest.raises(ValueError, match="max_message_bytes must be at least 1"):
        kerve.Client("127.0.0.1:1", max_message_bytes=0)


class RecordingImports(kerve_pb2_grpc.ModelsServicer):
    """ImportModel that records the size of every message it receives."""

    def __init__(self) -> None:
        self.message_sizes: list[int] = []

    def ImportModel(
        self,
        request_iterator: Iterator[kerve_pb2.ImportModelRequest],
        context: grpc.ServicerContext,
    ) -> kerve_pb2.Model:
        for request in request_iterator:
            self.message_sizes.append(request.ByteSize())
        return kerve_pb2.Model(name="imported")


def test_import_chunks_fit_client_limit() -> None:
    servicer = RecordingImports()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    kerve_pb2_grpc.add_ModelsServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with kerve.Client(
            f"127.0.0.1:{port}", timeout=30, max_message_bytes=LIMIT
        ) as client:
            model = client.import_model("imported", b"k" * (3 * LIMIT))
    finally:
        server.stop(grace=None)

    assert model.name == "imported"
    # The header, then four chunks of at most LIMIT - 16 bytes.
    assert len(servicer.message_sizes) == 5
    assert max(servicer.message_sizes) <= LIMIT
