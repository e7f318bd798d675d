"""The model store: restarts, deletes and damaged entries, with real processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import kerve
from tests.servers import ServerProcess, start_server

SPEC = kerve.ModelSpec(
    input_shape=(5,),
    layers=[kerve.Dense(8, activation="relu"), kerve.Dense(1)],
    seed=3,
)
ROWS = np.random.default_rng(5).normal(size=(16, 5)).astype(np.float32)
DATA = kerve.Regression(n_samples=200, n_features=5, noise=0.1, random_state=1)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


def _serve(tmp_path: Path, data_dir: Path, *arguments: str) -> ServerProcess:
    return start_server(tmp_path / "logs", *arguments, data_dir=data_dir)


@pytest.fixture
def restartable(tmp_path: Path, data_dir: Path) -> Iterator[list[ServerProcess]]:
    """Servers started by a test, all stopped at its end."""
    started: list[ServerProcess] = []
    yield started
    for process in started:
        process.stop()


def test_restart_keeps_trained_model(
    tmp_path: Path, data_dir: Path, restartable: list[ServerProcess]
) -> None:
    first = _serve(tmp_path, data_dir)
    restartable.append(first)
    with kerve.Client(first.address) as client:
        client.create_model("kept", SPEC)
        client.create_model("fresh", SPEC)
        client.train("kept", dataset=DATA, epochs=3)
        before = client.predict("kept", ROWS, warn=False)
        fresh_before = client.predict("fresh", ROWS, warn=False)
    assert first.stop() == 0

    second = _serve(tmp_path, data_dir)
    restartable.append(second)
    with kerve.Client(second.address) as client:
        model = client.get_model("kept")
        after = client.predict("kept", ROWS, warn=False)
        fresh = client.get_model("fresh")
        fresh_after = client.predict("fresh", ROWS, warn=False)

    assert model.state is kerve.State.TRAINED
    assert model.version == before.version == 2
    assert model.last_training is not None
    assert model.last_training.epochs_run == 3
    np.testing.assert_allclose(after.outputs, before.outputs, rtol=0, atol=1e-6)
    assert after.untrained is False
    assert fresh.state is kerve.State.UNTRAINED
    assert fresh_after.untrained is True
    np.testing.assert_allclose(fresh_after.outputs, fresh_before.outputs, atol=1e-6)
    assert "loaded 2 of 2 models" in second.log()


def test_delete_survives_restart(
    tmp_path: Path, data_dir: Path, restartable: list[ServerProcess]
) -> None:
    first = _serve(tmp_path, data_dir)
    restartable.append(first)
    with kerve.Client(first.address) as client:
        client.create_model("gone", SPEC)
        client.train("gone", dataset=DATA, epochs=1)
        client.delete_model("gone")
        client.create_model("gone", SPEC)
        recreated = client.get_model("gone")
    first.stop()

    second = _serve(tmp_path, data_dir)
    restartable.append(second)
    with kerve.Client(second.address) as client:
        reloaded = client.get_model("gone")
        client.delete_model("gone")
    second.stop()

    third = _serve(tmp_path, data_dir)
    restartable.append(third)
    with kerve.Client(third.address) as client:
        names = [model.name for model in client.list_models()]

    assert recreated.state is kerve.State.UNTRAINED
    assert recreated.version == 1
    assert reloaded.state is kerve.State.UNTRAINED
    assert reloaded.version == 1
    assert names == []
    assert list((data_dir / "models").iterdir()) == []


def test_damaged_entries_are_skipped(
    tmp_path: Path, data_dir: Path, restartable: list[ServerProcess]
) -> None:
    first = _serve(tmp_path, data_dir)
    restartable.append(first)
    with kerve.Client(first.address) as client:
        for name in ("bad-archive", "bad-metadata", "healthy"):
            client.create_model(name, SPEC)
        client.train("bad-archive", dataset=DATA, epochs=1)
        expected = client.predict("healthy", ROWS, warn=False).outputs
    first.stop()
    models = data_dir / "models"
    archive = models / "bad-archive" / "v000002.keras"
    archive.write_bytes(archive.read_bytes()[:100])
    metadata = models / "bad-metadata" / "model.json"
    metadata.write_bytes(metadata.read_bytes()[:50])
    (models / "half-created").mkdir()
    (models / "healthy" / ".tmp-leftover").write_bytes(b"partial")

    second = _serve(tmp_path, data_dir)
    restartable.append(second)
    with kerve.Client(second.address) as client:
        names = [model.name for model in client.list_models()]
        outputs = client.predict("healthy", ROWS, warn=False).outputs
        with pytest.raises(kerve.NotFoundError):
            client.get_model("bad-archive")
        with pytest.raises(kerve.AlreadyExistsError) as taken:
            client.create_model("bad-metadata", SPEC)
        kept_for_inspection = metadata.exists()
        client.delete_model("bad-metadata")
        recreated = client.create_model("bad-metadata", SPEC)
    log = second.log()

    assert names == ["healthy"]
    np.testing.assert_allclose(outputs, expected, atol=1e-6)
    assert "exists in the store but could not be loaded" in taken.value.message
    assert kept_for_inspection
    assert recreated.version == 1
    assert "skipping model bad-archive" in log
    assert "is damaged: its SHA-256 is" in log
    assert "skipping model bad-metadata" in log
    assert "unreadable metadata" in log
    assert not (models / "half-created").exists()
    assert not (models / "healthy" / ".tmp-leftover").exists()
    # Damaged folders stay for a person to inspect.
    assert archive.exists()


def test_old_versions_are_pruned(
    tmp_path: Path, data_dir: Path, restartable: list[ServerProcess]
) -> None:
    server = _serve(tmp_path, data_dir, "--keep-versions", "2")
    restartable.append(server)
    with kerve.Client(server.address) as client:
        client.create_model("pruned", SPEC)
        for _ in range(4):
            client.train("pruned", dataset=DATA, epochs=1)
        model = client.get_model("pruned")

    archives = sorted(p.name for p in (data_dir / "models" / "pruned").glob("*.keras"))

    assert model.version == 5
    assert archives == ["v000001.keras", "v000004.keras", "v000005.keras"]
