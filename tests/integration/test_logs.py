"""Server logs: JSON lines, start-up lines, state changes, errors, no secrets."""

from __future__ import annotations

import importlib.metadata
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

import kerve
from kerve.v1 import kerve_pb2, kerve_pb2_grpc
from tests.servers import ServerProcess, start_server

ADMIN = "admin-token-for-log-tests-5f3a9c"
PREDICT = "predict-token-for-log-tests-81d2e7"
SPEC = kerve.ModelSpec(
    input_shape=(5,),
    layers=[kerve.Dense(8, activation="relu"), kerve.Dense(1)],
    seed=3,
)
DATA = kerve.Regression(n_samples=200, n_features=5, noise=0.1, random_state=1)
VERSION = importlib.metadata.version("kerve")
# A text line: date, time, level, logger, message.
TEXT_LINE = re.compile(r"^\S+ \S+ (?P<level>[A-Z]+) (?P<logger>\S+): (?P<message>.*)$")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with one damaged model, so that start-up skips it."""
    folder = tmp_path_factory.mktemp("store")
    broken = folder / "models" / "broken"
    broken.mkdir(parents=True)
    (broken / "model.json").write_text("{not json")
    return folder


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, data_dir: Path
) -> Iterator[ServerProcess]:
    """A server logging JSON at DEBUG, with an admin and a predict token."""
    folder = tmp_path_factory.mktemp("json-server")
    token_file = folder / "predict-token"
    token_file.write_text(PREDICT + "\n")
    process = start_server(
        folder,
        "--log-format", "json",
        "--log-level", "DEBUG",
        "--keep-versions", "5",
        "--admin-token", ADMIN,
        "--predict-token-file", str(token_file),
        data_dir=data_dir,
    )  # fmt: skip
    yield process
    process.stop()


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> Iterator[kerve.Client]:
    with kerve.Client(server.address, token=ADMIN, timeout=300) as connected:
        yield connected


def _records(server: ServerProcess) -> list[dict[str, Any]]:
    """Parse every line of the server's log; each must be a JSON object."""
    records = []
    for number, line in enumerate(server.log().splitlines(), start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            pytest.fail(f"log line {number} is not JSON: {line!r}")
        assert isinstance(record, dict), f"log line {number} is not an object"
        records.append(record)
    return records


def _messages(records: list[dict[str, Any]], logger: str) -> list[str]:
    return [record["message"] for record in records if record["logger"] == logger]


def _with_text(records: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    return [record for record in records if text in record["message"]]


def test_json_lines_have_keys(server: ServerProcess) -> None:
    records = _records(server)

    assert records
    for record in records:
        assert {"time", "level", "logger", "message"} <= record.keys(), record
        assert re.fullmatch(
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", record["time"]
        )


def test_native_stderr_routed(server: ServerProcess) -> None:
    records = _records(server)

    native = [r for r in records if r["logger"] == "kerve_server.native_stderr"]
    levels = {"I": "INFO", "W": "WARNING", "E": "ERROR", "F": "CRITICAL"}

    # TensorFlow 2.21 writes Abseil lines (oneDNN, CUDA) to stderr from C++;
    # other versions may write none, and then there is nothing to check.
    for record in native:
        prefix = re.match(r"([IWEF])\d{4} ", record["message"])
        expected = levels[prefix.group(1)] if prefix else "WARNING"
        assert record["level"] == expected, record


def test_startup_lines(server: ServerProcess, data_dir: Path) -> None:
    records = _records(server)
    main = _messages(records, "kerve_server")

    started = [m for m in main if m.startswith("starting Kerve ")]
    changed = [m for m in main if m.startswith("settings changed from their defaults")]
    store = _with_text(records, f"models from {data_dir}")
    listening = _with_text(records, "Kerve listening on ")

    assert started == [started[0]]
    assert started[0].startswith(f"starting Kerve {VERSION} (")
    assert len(changed) == 1
    for setting in (
        "log_format=json",
        "log_level=DEBUG",
        "keep_versions=5",
        "port=0",
        f"data_dir={data_dir}",
        "admin_token=<set>",
        "predict_token_file=<set>",
    ):
        assert setting in changed[0]
    assert "max_epochs" not in changed[0]
    assert len(store) == 1
    assert store[0]["message"] == (
        f"loaded 0 of 1 models from {data_dir}, skipped 1 as damaged"
    )
    assert len(listening) == 1
    assert listening[0]["message"].startswith(f"Kerve listening on {server.address} (")


def test_damaged_model_logged(server: ServerProcess) -> None:
    records = _records(server)

    skipped = _with_text(records, "skipping model broken")

    assert len(skipped) == 1
    assert skipped[0]["level"] == "ERROR"
    assert "unreadable metadata" in skipped[0]["message"]


def test_state_changes_logged(
    server: ServerProcess, client: kerve.Client, name: str
) -> None:
    client.create_model(name, SPEC)
    client.train(name, dataset=DATA, epochs=2)
    client.delete_model(name)

    registry = [
        record
        for record in _records(server)
        if record["logger"] == "kerve_server.service.registry"
        and name in record["message"]
    ]
    messages = [record["message"] for record in registry]

    assert len(messages) == 4, messages
    assert messages[0].startswith(f"created model {name}: ")
    assert messages[0].endswith("state UNTRAINED, version 1")
    assert messages[1].startswith(f"model {name}: state UNTRAINED -> TRAINING, ")
    assert messages[2].startswith(
        f"model {name}: state TRAINING -> TRAINED, version 2 published"
    )
    assert messages[3] == f"deleted model {name} at version 2"
    assert {record["level"] for record in registry} == {"INFO"}


def test_failed_run_logged(
    server: ServerProcess, client: kerve.Client, name: str
) -> None:
    diverging = kerve.ModelSpec(
        input_shape=(5,),
        layers=[kerve.Dense(16, activation="relu"), kerve.Dense(1)],
        optimizer="sgd",
        learning_rate=10.0,
        seed=1,
    )
    unscaled = kerve.Regression(
        n_samples=200, n_features=5, noise=10, bias=1000, random_state=0
    )
    client.create_model(name, diverging)

    with pytest.raises(kerve.KerveError):
        client.train(name, dataset=unscaled, epochs=20)
    failed = _with_text(_records(server), f"model {name}: state TRAINING -> FAILED")

    assert len(failed) == 1
    assert failed[0]["level"] == "WARNING"
    assert "loss became" in failed[0]["message"]
    assert "still serving version 1" in failed[0]["message"]


def test_tokens_never_logged(server: ServerProcess, client: kerve.Client) -> None:
    with grpc.insecure_channel(server.address) as channel:
        stub = kerve_pb2_grpc.ModelsStub(channel)
        calls = [
            ("ListModels", ADMIN),
            ("ListModels", PREDICT),
            ("ListModels", None),
            ("ListModels", ADMIN + "x"),
            ("ListModels", PREDICT[:-1]),
            ("DeleteModel", PREDICT),
        ]
        codes = [_call(stub, method, token) for method, token in calls]
    with kerve.Client(server.address, token=PREDICT) as reader:
        reader.list_models()

    log = server.log()
    rejections = _with_text(_records(server), "rejected /kerve.v1.Models/")

    assert codes == [
        grpc.StatusCode.OK,
        grpc.StatusCode.OK,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED,
    ]
    # The DEBUG lines are there, so the check below reads a DEBUG log.
    assert len(rejections) >= 4
    assert {record["level"] for record in rejections} == {"DEBUG"}
    assert ADMIN not in log
    assert PREDICT not in log
    assert PREDICT[:-1] not in log


def _call(
    stub: kerve_pb2_grpc.ModelsStub, method: str, token: str | None
) -> grpc.StatusCode:
    metadata = () if token is None else (("authorization", f"Bearer {token}"),)
    request: Any = (
        kerve_pb2.ListModelsRequest()
        if method == "ListModels"
        else kerve_pb2.DeleteModelRequest(name="absent")
    )
    try:
        getattr(stub, method)(request, metadata=metadata, timeout=30)
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def test_grpc_debug_lines_left_out(server: ServerProcess, client: kerve.Client) -> None:
    for _ in range(3):
        client.list_models()
    # A rejected call logs a DEBUG line of Kerve's own.
    with pytest.raises(kerve.NotFoundError):
        client.get_model("absent")

    records = _records(server)
    grpc_debug = [
        record
        for record in records
        if record["logger"].split(".")[0] == "grpc" and record["level"] == "DEBUG"
    ]
    kerve_debug = [
        record
        for record in records
        if record["logger"].startswith("kerve_server") and record["level"] == "DEBUG"
    ]

    assert grpc_debug == []
    assert kerve_debug


def test_stop_lines_json(server: ServerProcess) -> None:
    code = server.stop()

    records = _records(server)
    stopping = _messages(records, "kerve_server.transport.server")

    assert code == 0
    assert "received SIGTERM" in stopping
    assert stopping[-1] == "stopped"


def test_text_startup_lines(tmp_path: Path) -> None:
    process = start_server(tmp_path, "--max-epochs", "700")
    try:
        lines = process.log().splitlines()
    finally:
        code = process.stop()

    parsed = [match for line in lines if (match := TEXT_LINE.match(line))]
    messages = [match["message"] for match in parsed]
    started = [m for m in messages if m.startswith(f"starting Kerve {VERSION} (")]
    changed = [m for m in messages if m.startswith("settings changed")]

    assert code == 0
    assert len(started) == 1
    assert len(changed) == 1
    assert "max_epochs=700" in changed[0]
    assert "log_format" not in changed[0]
    assert f"loaded 0 of 0 models from {tmp_path / 'data'}, skipped 0 as damaged" in (
        messages
    )
    assert any(
        m.startswith(f"Kerve listening on {process.address} (") for m in messages
    )
    assert not any(line.lstrip().startswith("{") for line in lines)
