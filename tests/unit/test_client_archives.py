"""Tests of the import and export streams against a small gRPC server.

The server is a real gRPC server on 127.0.0.1 whose ImportModel records what
it receives and whose ExportModel sends a stream chosen by the test, so that
the client's checks of damaged or malformed exports can be exercised.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest

import kerve
from kerve.v1 import kerve_pb2, kerve_pb2_grpc

ARCHIVE = bytes(range(256)) * 40  # 10,240 bytes


@dataclass
class ArchiveServicer(kerve_pb2_grpc.ModelsServicer):
    """Records import streams and replays the export stream it is given."""

    imports: list[list[kerve_pb2.ImportModelRequest]] = field(default_factory=list)
    export_stream: list[kerve_pb2.ExportModelResponse] = field(default_factory=list)

    def ImportModel(
        self, request_iterator: Iterable[kerve_pb2.ImportModelRequest], context: Any
    ) -> kerve_pb2.Model:
        requests = list(request_iterator)
        self.imports.append(requests)
        return kerve_pb2.Model(name=requests[0].header.name, version=1)

    def ExportModel(
        self, request: kerve_pb2.ExportModelRequest, context: Any
    ) -> Iterator[kerve_pb2.ExportModelResponse]:
        yield from self.export_stream


@pytest.fixture(scope="module")
def servicer() -> Iterator[tuple[ArchiveServicer, str]]:
    implementation = ArchiveServicer()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    kerve_pb2_grpc.add_ModelsServicer_to_server(implementation, server)  # type: ignore[no-untyped-call]
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield implementation, f"127.0.0.1:{port}"
    server.stop(grace=None)


@pytest.fixture
def recorder(servicer: tuple[ArchiveServicer, str]) -> ArchiveServicer:
    implementation, _ = servicer
    implementation.imports.clear()
    implementation.export_stream = []
    return implementation


@pytest.fixture
def client(servicer: tuple[ArchiveServicer, str]) -> Iterator[kerve.Client]:
    _, address = servicer
    with kerve.Client(address, timeout=30) as connected:
        yield connected


def header(
    size_bytes: int, sha256: str, version: int = 2
) -> kerve_pb2.ExportModelResponse:
    return kerve_pb2.ExportModelResponse(
        header=kerve_pb2.ExportHeader(
            model=kerve_pb2.Model(name="m", version=version),
            version=version,
            untrained=False,
            size_bytes=size_bytes,
            sha256=sha256,
        )
    )


def chunks(data: bytes, size: int = 4096) -> list[kerve_pb2.ExportModelResponse]:
    return [
        kerve_pb2.ExportModelResponse(chunk=data[offset : offset + size])
        for offset in range(0, len(data), size)
    ]


GOOD_HEADER = header(len(ARCHIVE), hashlib.sha256(ARCHIVE).hexdigest())


def test_import_sends_header_then_chunks(
    client: kerve.Client, recorder: ArchiveServicer
) -> None:
    client.import_model(
        "m",
        ARCHIVE,
        state=kerve.State.TRAINED,
        compile={"optimizer": {"name": "sgd", "learning_rate": 0.1}, "loss": "mae"},
        seed=7,
        chunk_bytes=3000,
    )

    (requests,) = recorder.imports
    first = requests[0].header
    assert requests[0].WhichOneof("part") == "header"
    assert first.name == "m"
    assert first.state == kerve_pb2.TRAINED
    assert first.seed == 7
    assert first.size_bytes == len(ARCHIVE)
    assert first.compile.optimizer.name == "sgd"
    assert first.compile.optimizer.learning_rate == pytest.approx(0.1)
    assert first.compile.loss == "mae"
    parts = [request.chunk for request in requests[1:]]
    assert [len(part) for part in parts] == [3000, 3000, 3000, 1240]
    assert b"".join(parts) == ARCHIVE


def test_import_reads_file(
    client: kerve.Client, recorder: ArchiveServicer, tmp_path: Path
) -> None:
    path = tmp_path / "model.keras"
    path.write_bytes(ARCHIVE)

    client.import_model("m", path)

    (requests,) = recorder.imports
    assert requests[0].header.state == kerve_pb2.UNTRAINED
    assert not requests[0].header.HasField("seed")
    assert not requests[0].header.HasField("compile")
    assert requests[0].header.size_bytes == len(ARCHIVE)
    assert b"".join(request.chunk for request in requests[1:]) == ARCHIVE


def test_import_of_empty_archive_sends_header_only(
    client: kerve.Client, recorder: ArchiveServicer
) -> None:
    client.import_model("m", b"")

    (requests,) = recorder.imports
    assert len(requests) == 1
    assert requests[0].header.size_bytes == 0


def test_export_returns_verified_bytes(
    client: kerve.Client, recorder: ArchiveServicer
) -> None:
    recorder.export_stream = [GOOD_HEADER, *chunks(ARCHIVE)]

    assert client.export_model("m") == ARCHIVE


def test_export_writes_file(
    client: kerve.Client, recorder: ArchiveServicer, tmp_path: Path
) -> None:
    recorder.export_stream = [GOOD_HEADER, *chunks(ARCHIVE)]
    path = tmp_path / "model.keras"

    exported = client.export_model("m", path)

    assert path.read_bytes() == ARCHIVE
    assert exported.path == path
    assert exported.version == 2
    assert exported.untrained is False
    assert exported.size_bytes == len(ARCHIVE)
    assert exported.sha256 == hashlib.sha256(ARCHIVE).hexdigest()
    assert [item.name for item in tmp_path.iterdir()] == ["model.keras"]


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        (
            [header(len(ARCHIVE), "0" * 64), *chunks(ARCHIVE)],
            "damaged: received 10,240 bytes with SHA-256",
        ),
        (
            [GOOD_HEADER, *chunks(ARCHIVE[:-1])],
            "damaged: received 10,239 bytes",
        ),
        (
            [GOOD_HEADER, *chunks(ARCHIVE + b"x")],
            "at least 10,241 bytes, more than the 10,240 its header announced",
        ),
    ],
    ids=["wrong-hash", "short", "long"],
)
def test_damaged_export_raises_data_loss(
    client: kerve.Client,
    recorder: ArchiveServicer,
    tmp_path: Path,
    stream: list[kerve_pb2.ExportModelResponse],
    message: str,
) -> None:
    recorder.export_stream = stream
    path = tmp_path / "model.keras"
    path.write_bytes(b"previous export")

    with pytest.raises(kerve.DataLossError, match=message) as raised:
        client.export_model("m")
    with pytest.raises(kerve.DataLossError, match=message):
        client.export_model("m", path)

    assert raised.value.code is grpc.StatusCode.DATA_LOSS
    assert "model 'm' version 2" in raised.value.message
    assert path.read_bytes() == b"previous export"
    assert [item.name for item in tmp_path.iterdir()] == ["model.keras"]


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        ([], "did not start with a header"),
        (chunks(ARCHIVE), "did not start with a header"),
        ([GOOD_HEADER, GOOD_HEADER, *chunks(ARCHIVE)], "sent a second header"),
    ],
    ids=["empty", "no-header", "two-headers"],
)
def test_malformed_export_raises_internal(
    client: kerve.Client,
    recorder: ArchiveServicer,
    stream: list[kerve_pb2.ExportModelResponse],
    message: str,
) -> None:
    recorder.export_stream = stream

    with pytest.raises(kerve.InternalError, match=message):
        client.export_model("m")
