"""Token roles over plaintext and mutual TLS: every RPC, every kind of caller."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from kerve.v1 import kerve_pb2, kerve_pb2_grpc
from tests.certificates import Certificates, make_certificates
from tests.servers import ServerProcess, start_server

ADMIN = "admin-token-for-tests-0123456789"
PREDICT = "predict-token-for-tests-987654321"
AUTH_CODES = {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED}


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module", params=["plaintext", "mutual-tls"])
def secured(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    certificates: Certificates,
) -> Iterator[tuple[ServerProcess, grpc.ChannelCredentials | None]]:
    folder = tmp_path_factory.mktemp(request.param)
    token_file = folder / "admin-token"
    token_file.write_text(ADMIN + "\n")
    arguments = ["--admin-token-file", str(token_file), "--predict-token", PREDICT]
    credentials = None
    if request.param == "mutual-tls":
        arguments += [
            "--tls-cert-file", str(certificates.server_cert),
            "--tls-key-file", str(certificates.server_key),
            "--tls-client-ca-file", str(certificates.ca),
        ]  # fmt: skip
        credentials = grpc.ssl_channel_credentials(
            root_certificates=certificates.ca.read_bytes(),
            private_key=certificates.client_key.read_bytes(),
            certificate_chain=certificates.client_cert.read_bytes(),
        )
    server = start_server(folder, *arguments)
    yield server, credentials
    server.stop()


@pytest.fixture(scope="module")
def channel(
    secured: tuple[ServerProcess, grpc.ChannelCredentials | None],
) -> Iterator[grpc.Channel]:
    server, credentials = secured
    if credentials is None:
        opened = grpc.insecure_channel(server.address)
    else:
        opened = grpc.secure_channel(server.address, credentials)
    with opened:
        stub = kerve_pb2_grpc.ModelsStub(opened)
        spec = kerve_pb2.ModelSpec(
            input_shape=[2],
            layers=[kerve_pb2.Layer(dense=kerve_pb2.DenseLayer(units=1))],
        )
        stub.CreateModel(
            kerve_pb2.CreateModelRequest(name="shared", spec=spec),
            metadata=_metadata(ADMIN),
        )
        yield opened


def _metadata(token: str | None) -> tuple[tuple[str, str], ...]:
    return () if token is None else (("authorization", f"Bearer {token}"),)


def _rows() -> kerve_pb2.Tensor:
    array = np.zeros((1, 2), dtype="<f4")
    return kerve_pb2.Tensor(shape=[1, 2], dtype="float32", data=array.tobytes())


SPEC = kerve_pb2.ModelSpec(
    input_shape=[2], layers=[kerve_pb2.Layer(dense=kerve_pb2.DenseLayer(units=1))]
)


def _evaluate_request() -> kerve_pb2.EvaluateRequest:
    targets = kerve_pb2.Tensor(shape=[1], dtype="float32", data=b"\0\0\0\0")
    return kerve_pb2.EvaluateRequest(
        name="shared", inline=kerve_pb2.InlineData(x=_rows(), y=targets)
    )


def _import_requests() -> Iterator[kerve_pb2.ImportModelRequest]:
    header = kerve_pb2.ImportHeader(name="imported", state=kerve_pb2.UNTRAINED)
    yield kerve_pb2.ImportModelRequest(header=header)


# Each RPC: whether the predict token allows it, and a request for it.
REQUESTS: dict[str, tuple[bool, Callable[[], Any]]] = {
    "GetModel": (True, lambda: kerve_pb2.GetModelRequest(name="shared")),
    "ListModels": (True, kerve_pb2.ListModelsRequest),
    "Predict": (True, lambda: kerve_pb2.PredictRequest(name="shared", inputs=_rows())),
    "Evaluate": (True, _evaluate_request),
    "WatchModel": (True, lambda: kerve_pb2.WatchModelRequest(name="shared")),
    "GetServerInfo": (True, kerve_pb2.GetServerInfoRequest),
    "CreateModel": (
        False,
        lambda: kerve_pb2.CreateModelRequest(name="new-model", spec=SPEC),
    ),
    "DeleteModel": (False, lambda: kerve_pb2.DeleteModelRequest(name="absent")),
    "Train": (False, lambda: kerve_pb2.TrainRequest(name="absent")),
    "ResetModel": (False, lambda: kerve_pb2.ResetModelRequest(name="absent")),
    "CancelTraining": (False, lambda: kerve_pb2.CancelTrainingRequest(name="absent")),
    "ImportModel": (False, _import_requests),
    "ExportModel": (False, lambda: kerve_pb2.ExportModelRequest(name="absent")),
}
SERVER_STREAMING = {"WatchModel", "Train", "ExportModel"}


def _invoke(stub: kerve_pb2_grpc.ModelsStub, method: str, metadata: Any) -> None:
    request = REQUESTS[method][1]()
    call = getattr(stub, method)
    if method in SERVER_STREAMING:
        responses = call(request, metadata=metadata, timeout=30)
        next(iter(responses), None)
        responses.cancel()
    else:
        call(request, metadata=metadata, timeout=30)


def _status(method: str, channel: grpc.Channel, token: str | None) -> grpc.StatusCode:
    stub = kerve_pb2_grpc.ModelsStub(channel)
    try:
        _invoke(stub, method, _metadata(token))
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


@pytest.mark.parametrize("method", sorted(REQUESTS))
def test_no_token_unauthenticated(channel: grpc.Channel, method: str) -> None:
    assert _status(method, channel, None) is grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("method", sorted(REQUESTS))
def test_wrong_token_unauthenticated(channel: grpc.Channel, method: str) -> None:
    status = _status(method, channel, ADMIN + "x")

    assert status is grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("method", sorted(REQUESTS))
def test_predict_token_role(channel: grpc.Channel, method: str) -> None:
    allowed = REQUESTS[method][0]

    status = _status(method, channel, PREDICT)

    if allowed:
        assert status not in AUTH_CODES
    else:
        assert status is grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize("method", sorted(REQUESTS))
def test_admin_token_allowed(channel: grpc.Channel, method: str) -> None:
    assert _status(method, channel, ADMIN) not in AUTH_CODES


def test_health_open_without_token(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)

    response = health.Check(health_pb2.HealthCheckRequest(service=""))

    assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_messages_explain_rejection(channel: grpc.Channel) -> None:
    stub = kerve_pb2_grpc.ModelsStub(channel)

    with pytest.raises(grpc.RpcError) as missing:
        stub.ListModels(kerve_pb2.ListModelsRequest())
    with pytest.raises(grpc.RpcError) as denied:
        stub.DeleteModel(
            kerve_pb2.DeleteModelRequest(name="x"), metadata=_metadata(PREDICT)
        )

    assert "authorization: Bearer" in missing.value.details()
    assert "does not allow DeleteModel" in denied.value.details()


def test_tokens_never_logged(
    secured: tuple[ServerProcess, Any], channel: grpc.Channel
) -> None:
    server, _ = secured
    _status("ListModels", channel, ADMIN + "x")

    log = server.log()

    assert ADMIN not in log
    assert PREDICT not in log


def test_mutual_tls_needs_client_certificate(
    secured: tuple[ServerProcess, grpc.ChannelCredentials | None],
    certificates: Certificates,
) -> None:
    server, credentials = secured
    if credentials is None:
        pytest.skip("plaintext server")
    anonymous = grpc.ssl_channel_credentials(
        root_certificates=certificates.ca.read_bytes()
    )
    with grpc.secure_channel(server.address, anonymous) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            health.Check(health_pb2.HealthCheckRequest(), timeout=10)

    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE


def test_plaintext_client_rejected_by_tls(
    secured: tuple[ServerProcess, grpc.ChannelCredentials | None],
) -> None:
    server, credentials = secured
    if credentials is None:
        pytest.skip("plaintext server")
    with grpc.insecure_channel(server.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            health.Check(health_pb2.HealthCheckRequest(), timeout=10)

    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE


def test_predict_token_alone_rejected(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError) as caught:
        start_server(tmp_path, "--predict-token", PREDICT)

    assert "a predict token needs an admin token" in str(caught.value)
