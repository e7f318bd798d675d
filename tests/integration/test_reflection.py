"""Server reflection, used the way a generic gRPC tool uses it.

These tests never import Kerve's generated code or its client. They learn
every message and method from the server through grpcio-reflection's own
client (ProtoReflectionDescriptorDatabase), build requests from JSON and
call each method of kerve.v1.Models with them.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import grpc
import numpy as np
import pytest
from google.protobuf import descriptor_pool, json_format, message_factory
from google.protobuf.descriptor import MethodDescriptor
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from tests.servers import ServerProcess

MODELS_SERVICE = "kerve.v1.Models"
CALL_TIMEOUT_SECONDS = 120.0
SPEC = {"inputShape": [3], "layers": [{"dense": {"units": 1}}], "seed": 1}


class ReflectedService:
    """Calls one service's methods from descriptors fetched by reflection."""

    def __init__(self, channel: grpc.Channel, service: str) -> None:
        self.database = ProtoReflectionDescriptorDatabase(channel)
        self.pool = descriptor_pool.DescriptorPool(self.database)
        self.descriptor = self.pool.FindServiceByName(service)
        self._channel = channel
        self.called: set[str] = set()

    def method(self, name: str) -> MethodDescriptor:
        return self.descriptor.methods_by_name[name]

    def _message(self, type_descriptor: Any, fields: dict[str, Any]) -> Any:
        return json_format.ParseDict(
            fields, message_factory.GetMessageClass(type_descriptor)()
        )

    def _callable(self, name: str) -> Any:
        method = self.method(name)
        output_class = message_factory.GetMessageClass(method.output_type)
        path = f"/{self.descriptor.full_name}/{name}"
        kind = {
            (False, False): self._channel.unary_unary,
            (False, True): self._channel.unary_stream,
            (True, False): self._channel.stream_unary,
            (True, True): self._channel.stream_stream,
        }[(method.client_streaming, method.server_streaming)]
        self.called.add(name)
        return kind(
            path,
            request_serializer=lambda message: message.SerializeToString(),
            response_deserializer=output_class.FromString,
        )

    def unary(self, name: str, fields: dict[str, Any]) -> dict[str, Any]:
        request = self._message(self.method(name).input_type, fields)
        response = self._callable(name)(request, timeout=CALL_TIMEOUT_SECONDS)
        return _as_dict(response)

    def server_stream(self, name: str, fields: dict[str, Any]) -> Iterator[Any]:
        request = self._message(self.method(name).input_type, fields)
        return self._callable(name)(request, timeout=CALL_TIMEOUT_SECONDS)

    def client_stream(
        self, name: str, messages: list[dict[str, Any]]
    ) -> dict[str, Any]:
        input_type = self.method(name).input_type
        requests = [self._message(input_type, fields) for fields in messages]
        response = self._callable(name)(iter(requests), timeout=CALL_TIMEOUT_SECONDS)
        return _as_dict(response)


def _as_dict(message: Any) -> dict[str, Any]:
    return json_format.MessageToDict(message)


def _tensor(array: np.ndarray) -> dict[str, Any]:
    little_endian = np.ascontiguousarray(array, dtype="<f4")
    return {
        "shape": [str(size) for size in array.shape],
        "dtype": "float32",
        "data": base64.b64encode(little_endian.tobytes()).decode(),
    }


def _from_tensor(fields: dict[str, Any]) -> np.ndarray:
    shape = [int(size) for size in fields["shape"]]
    data = base64.b64decode(fields.get("data", ""))
    return np.frombuffer(data, dtype="<f4").reshape(shape)


@pytest.fixture(scope="module")
def channel(server: ServerProcess) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.address) as connected:
        yield connected


@pytest.fixture(scope="module")
def models(channel: grpc.Channel) -> ReflectedService:
    return ReflectedService(channel, MODELS_SERVICE)


def test_services_listed(channel: grpc.Channel) -> None:
    services = set(ProtoReflectionDescriptorDatabase(channel).get_services())

    assert MODELS_SERVICE in services
    assert "grpc.health.v1.Health" in services
    assert "grpc.reflection.v1alpha.ServerReflection" in services


def test_methods_listed(models: ReflectedService) -> None:
    methods = {
        name: (method.client_streaming, method.server_streaming)
        for name, method in models.descriptor.methods_by_name.items()
    }

    assert methods["Predict"] == (False, False)
    assert methods["Train"] == (False, True)
    assert methods["ImportModel"] == (True, False)
    assert methods["ExportModel"] == (False, True)
    assert models.method("Predict").input_type.fields_by_name["inputs"]


def test_every_method_callable(models: ReflectedService) -> None:
    rows = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
    targets = rows.sum(axis=1, keepdims=True)

    created = models.unary("CreateModel", {"name": "reflected", "spec": SPEC})
    fetched = models.unary("GetModel", {"name": "reflected"})
    listed = models.unary("ListModels", {})
    predicted = models.unary("Predict", {"name": "reflected", "inputs": _tensor(rows)})
    watch = models.server_stream("WatchModel", {"name": "reflected"})
    first_event = _as_dict(next(watch))
    watch.cancel()
    train_events = [
        _as_dict(event)
        for event in models.server_stream(
            "Train",
            {
                "name": "reflected",
                "inline": {"x": _tensor(rows), "y": _tensor(targets)},
                "epochs": 2,
                "validationSplit": 0,
            },
        )
    ]
    evaluated = models.unary(
        "Evaluate",
        {"name": "reflected", "inline": {"x": _tensor(rows), "y": _tensor(targets)}},
    )
    with pytest.raises(grpc.RpcError) as not_running:
        models.unary("CancelTraining", {"name": "reflected"})
    exported = [
        _as_dict(part)
        for part in models.server_stream("ExportModel", {"name": "reflected"})
    ]
    archive = b"".join(base64.b64decode(part["chunk"]) for part in exported[1:])
    imported = models.client_stream(
        "ImportModel",
        [
            {
                "header": {
                    "name": "reflected-copy",
                    "state": "TRAINED",
                    "sizeBytes": str(len(archive)),
                }
            },
            {"chunk": base64.b64encode(archive).decode()},
        ],
    )
    reset = models.unary("ResetModel", {"name": "reflected"})
    info = models.unary("GetServerInfo", {})
    models.unary("DeleteModel", {"name": "reflected"})
    models.unary("DeleteModel", {"name": "reflected-copy"})

    assert models.called == set(models.descriptor.methods_by_name)
    assert created["name"] == "reflected"
    assert created["state"] == "UNTRAINED"
    assert fetched["version"] == "1"
    assert [model["name"] for model in listed["models"]] == ["reflected"]
    assert predicted["untrained"] is True
    assert predicted["verdict"] == "VERDICT_UNTRAINED"
    assert _from_tensor(predicted["outputs"]).shape == (4, 1)
    assert first_event["model"]["name"] == "reflected"
    assert [event["progress"]["epoch"] for event in train_events[:-1]] == [1, 2]
    assert train_events[-1]["result"]["model"]["state"] == "TRAINED"
    assert "loss" in evaluated["current"]
    assert not_running.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert exported[0]["header"]["version"] == "2"
    assert imported["name"] == "reflected-copy"
    assert imported["state"] == "TRAINED"
    assert reset["state"] == "UNTRAINED"
    assert info["version"]
    assert info["kerasVersion"].startswith("3.")


def test_bad_request_status(models: ReflectedService) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        models.unary("GetModel", {"name": "no-such-model"})

    assert raised.value.code() is grpc.StatusCode.NOT_FOUND
    assert "no-such-model" in (raised.value.details() or "")
