"""Tests of the client's argument checks, which run before any request is sent.

The client points at a port where nothing listens, so a check that let a
request through would fail with UnavailableError instead of the expected error.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import kerve


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def client(closed_port: int) -> Iterator[kerve.Client]:
    with kerve.Client(f"127.0.0.1:{closed_port}", timeout=5) as client:
        yield client


ROWS = np.zeros((4, 5), dtype=np.float32)
TARGETS = np.zeros((4, 1), dtype=np.float32)
DATASET = kerve.Regression(10, 5, random_state=0)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "no data given"),
        ({"x": ROWS}, "x was given without y"),
        ({"y": TARGETS}, "y was given without x"),
        ({"x": ROWS, "y": TARGETS, "dataset": DATASET}, "not both"),
        ({"x": ROWS, "dataset": DATASET}, "not both"),
    ],
    ids=["none", "x-only", "y-only", "all", "x-and-dataset"],
)
def test_train_needs_exactly_one_data_source(
    client: kerve.Client, arguments: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        client.train("m", **arguments)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        client.train_stream("m", **arguments)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        client.evaluate("m", **arguments)  # type: ignore[arg-type]


def test_wrong_dataset_type_raises_type_error(client: kerve.Client) -> None:
    with pytest.raises(TypeError, match="dataset must be"):
        client.evaluate("m", dataset={"regression": {}})  # type: ignore[arg-type]


def test_wrong_spec_type_raises_type_error(client: kerve.Client) -> None:
    with pytest.raises(TypeError, match="spec must be"):
        client.create_model("m", [5, 1])  # type: ignore[arg-type]


def test_bad_spec_dict_raises_value_error(client: kerve.Client) -> None:
    with pytest.raises(ValueError, match="invalid model spec"):
        client.create_model("m", {"bogus": 1})


def test_unsupported_input_dtype_raises_type_error(client: kerve.Client) -> None:
    with pytest.raises(TypeError, match="dtype bool"):
        client.predict("m", np.ones((2, 5), dtype=bool))


def test_unreachable_server_raises_unavailable(client: kerve.Client) -> None:
    with pytest.raises(kerve.UnavailableError) as raised:
        client.list_models()

    assert raised.value.code.name == "UNAVAILABLE"


def test_unreachable_server_fails_train_stream(client: kerve.Client) -> None:
    with pytest.raises(kerve.UnavailableError):
        list(client.train_stream("m", dataset=DATASET))


@pytest.mark.parametrize(
    "state", [kerve.State.TRAINING, kerve.State.FAILED, kerve.State.UNSPECIFIED]
)
def test_import_rejects_other_states(client: kerve.Client, state: kerve.State) -> None:
    with pytest.raises(ValueError, match=r"State\.UNTRAINED or State\.TRAINED"):
        client.import_model("m", b"archive", state=state)


def test_import_rejects_zero_chunk_bytes(client: kerve.Client) -> None:
    with pytest.raises(ValueError, match="chunk_bytes must be at least 1, got 0"):
        client.import_model("m", b"archive", chunk_bytes=0)


def test_import_missing_file_raises_os_error(
    client: kerve.Client, tmp_path: Path
) -> None:
    with pytest.raises(FileNotFoundError):
        client.import_model("m", tmp_path / "missing.keras")


def test_import_bad_compile_raises_value_error(client: kerve.Client) -> None:
    with pytest.raises(ValueError, match="invalid compile settings"):
        client.import_model("m", b"archive", compile={"optimiser": "sgd"})


def test_import_wrong_archive_type_raises_type_error(client: kerve.Client) -> None:
    with pytest.raises(TypeError, match="archive must be"):
        client.import_model("m", 42)  # type: ignore[arg-type]


def test_export_to_missing_folder_sends_nothing(
    client: kerve.Client, tmp_path: Path
) -> None:
    with pytest.raises(FileNotFoundError):
        client.export_model("m", tmp_path / "missing" / "model.keras")


def test_unreachable_export_leaves_no_file(
    client: kerve.Client, tmp_path: Path
) -> None:
    with pytest.raises(kerve.UnavailableError):
        client.export_model("m", tmp_path / "model.keras")

    assert list(tmp_path.iterdir()) == []


def test_unreachable_server_fails_watch(client: kerve.Client) -> None:
    with pytest.raises(kerve.UnavailableError):
        next(client.watch_model("m"))


def test_client_repr_shows_target(closed_port: int) -> None:
    with kerve.Client(f"127.0.0.1:{closed_port}") as client:
        assert repr(client) == f"Client(target='127.0.0.1:{closed_port}', tls=False)"
        assert client.target == f"127.0.0.1:{closed_port}"


def test_import_loads_no_tensorflow_or_keras() -> None:
    code = (
        "import sys, kerve, kerve.cli\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'keras', 'sklearn'))\n"
        "print(heavy)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert completed.stdout.strip() == "[]"
