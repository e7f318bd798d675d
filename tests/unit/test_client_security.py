"""Tests of the client's token and TLS options.

The metadata tests run a small in-process gRPC server that records the
metadata of each call. The option checks need no server, because the client
reads its files when it is constructed and connects only at the first call.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest

import kerve
from kerve.v1 import kerve_pb2, kerve_pb2_grpc

TOKEN = "token-for-unit-tests-0123456789"
PEM = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"


class RecordingModels(kerve_pb2_grpc.ModelsServicer):
    """ListModels and WatchModel that record the metadata of each call."""

    def __init__(self) -> None:
        self.metadata: list[dict[str, str | bytes]] = []

    def ListModels(
        self, request: kerve_pb2.ListModelsRequest, context: grpc.ServicerContext
    ) -> kerve_pb2.ListModelsResponse:
        self.metadata.append(dict(context.invocation_metadata()))
        return kerve_pb2.ListModelsResponse()

    def WatchModel(
        self, request: kerve_pb2.WatchModelRequest, context: grpc.ServicerContext
    ) -> Iterator[kerve_pb2.ModelEvent]:
        self.metadata.append(dict(context.invocation_metadata()))
        yield kerve_pb2.ModelEvent(model=kerve_pb2.Model(name=request.name))


@pytest.fixture
def recording() -> Iterator[tuple[RecordingModels, str]]:
    servicer = RecordingModels()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    kerve_pb2_grpc.add_ModelsServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, f"127.0.0.1:{port}"
    server.stop(grace=None)


def test_token_sent_on_unary_and_stream_calls(
    recording: tuple[RecordingModels, str],
) -> None:
    servicer, address = recording

    with kerve.Client(address, token=TOKEN, timeout=10) as client:
        client.list_models()
        events = client.watch_model("m")
        next(events)
        events.close()

    assert len(servicer.metadata) == 2
    for metadata in servicer.metadata:
        assert metadata["authorization"] == f"Bearer {TOKEN}"


def test_no_token_sends_no_authorization(
    recording: tuple[RecordingModels, str],
) -> None:
    servicer, address = recording

    with kerve.Client(address, timeout=10) as client:
        client.list_models()

    assert "authorization" not in servicer.metadata[0]


def test_repr_hides_token() -> None:
    with kerve.Client("127.0.0.1:1", token=TOKEN) as client:
        text = repr(client)

    assert TOKEN not in text
    assert text == "Client(target='127.0.0.1:1', tls=False, token=<hidden>)"


@pytest.mark.parametrize(
    "token",
    ["", "two words", "line\nbreak", "caf\u00e9"],
    ids=["empty", "space", "newline", "non-ascii"],
)
def test_invalid_token_rejected_without_echo(token: str) -> None:
    with pytest.raises(ValueError) as raised:
        kerve.Client("127.0.0.1:1", token=token)

    assert "token" in str(raised.value)
    if token:
        assert token not in str(raised.value)


def test_plaintext_token_to_remote_host_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The channel connects lazily, and this client makes no call.
    with (
        caplog.at_level(logging.WARNING, logger="kerve"),
        kerve.Client("kerve.invalid:50051", token=TOKEN),
    ):
        pass

    assert "over plaintext" in caplog.text
    assert "kerve.invalid:50051" in caplog.text
    assert TOKEN not in caplog.text


@pytest.mark.parametrize(
    "target",
    ["127.0.0.1:50051", "localhost:50051", "[::1]:50051", "unix:/tmp/kerve.sock"],
)
def test_plaintext_token_to_loopback_is_quiet(
    caplog: pytest.LogCaptureFixture, target: str
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="kerve"),
        kerve.Client(target, token=TOKEN),
    ):
        pass

    assert caplog.text == ""


def test_cert_without_key_rejected(tmp_path: Path) -> None:
    cert = tmp_path / "client.pem"
    cert.write_text(PEM)

    with pytest.raises(ValueError, match="cert_file was given without key_file"):
        kerve.Client("127.0.0.1:1", cert_file=cert)


def test_key_without_cert_rejected(tmp_path: Path) -> None:
    key = tmp_path / "client.key"
    key.write_text(PEM)

    with pytest.raises(ValueError, match="key_file was given without cert_file"):
        kerve.Client("127.0.0.1:1", key_file=key)


def test_missing_ca_file_names_file(tmp_path: Path) -> None:
    path = tmp_path / "missing-ca.pem"

    with pytest.raises(FileNotFoundError) as raised:
        kerve.Client("127.0.0.1:1", ca_file=path)

    assert raised.value.filename == str(path)
    assert "cannot read the ca_file" in str(raised.value)


def test_non_pem_file_rejected(tmp_path: Path) -> None:
    path = tmp_path / "ca.pem"
    path.write_text("not a certificate\n")

    with pytest.raises(ValueError) as raised:
        kerve.Client("127.0.0.1:1", ca_file=path)

    assert f"ca_file {path} is not in PEM format" in str(raised.value)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({}, False),
        ({"tls": True}, True),
        ({"server_name": "localhost"}, True),
    ],
    ids=["default", "tls", "server-name"],
)
def test_tls_follows_options(arguments: dict[str, object], expected: bool) -> None:
    with kerve.Client("127.0.0.1:1", **arguments) as client:  # type: ignore[arg-type]
        assert client.tls is expected


def test_ca_file_turns_tls_on(tmp_path: Path) -> None:
    path = tmp_path / "ca.pem"
    path.write_text(PEM)

    with kerve.Client("127.0.0.1:1", ca_file=path) as client:
        assert client.tls
        assert repr(client) == "Client(target='127.0.0.1:1', tls=True)"


def test_tls_to_plaintext_server_unavailable(
    recording: tuple[RecordingModels, str],
) -> None:
    _, address = recording

    with (
        kerve.Client(address, tls=True, token=TOKEN, timeout=10) as client,
        pytest.raises(kerve.UnavailableError) as raised,
    ):
        client.list_models()

    assert TOKEN not in str(raised.value)
