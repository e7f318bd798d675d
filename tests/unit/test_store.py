"""The on-disk store: atomic writes, leftovers and damaged entries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kerve_server.store import (
    DamagedModel,
    ModelStore,
    StoredModel,
    StoreError,
    archive_name,
    sha256,
)


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    opened = ModelStore(tmp_path)
    opened.open()
    return opened


def test_round_trip(store: ModelStore) -> None:
    digest = store.write_archive("m", 1, b"archive-bytes")
    store.write_metadata("m", {"name": "m", "versions": [1]})

    loaded = store.load()

    assert digest == sha256(b"archive-bytes")
    assert loaded == [
        StoredModel("m", store.models / "m", {"name": "m", "versions": [1]})
    ]
    assert store.read_archive("m", 1, digest) == b"archive-bytes"


def test_damaged_archive_detected(store: ModelStore) -> None:
    digest = store.write_archive("m", 1, b"archive-bytes")
    (store.models / "m" / archive_name(1)).write_bytes(b"archive-bytez")

    with pytest.raises(StoreError, match="is damaged: its SHA-256 is"):
        store.read_archive("m", 1, digest)


def test_missing_archive_detected(store: ModelStore) -> None:
    with pytest.raises(StoreError, match="cannot read"):
        store.read_archive("m", 7, "0" * 64)


def test_truncated_metadata_reported(store: ModelStore) -> None:
    store.write_metadata("m", {"name": "m"})
    metadata = store.models / "m" / "model.json"
    metadata.write_bytes(metadata.read_bytes()[:5])

    (item,) = store.load()

    assert isinstance(item, DamagedModel)
    assert item.reason.startswith("unreadable metadata")
    assert metadata.exists()


def test_non_object_metadata_reported(store: ModelStore) -> None:
    (store.models / "m").mkdir()
    (store.models / "m" / "model.json").write_text(json.dumps([1, 2]))

    (item,) = store.load()

    assert isinstance(item, DamagedModel)
    assert item.reason == "metadata is not an object"


def test_leftovers_removed(store: ModelStore) -> None:
    store.write_metadata("kept", {"name": "kept"})
    (store.models / "kept" / ".tmp-abc").write_bytes(b"partial")
    (store.models / "never-committed").mkdir()
    (store.models / "never-committed" / archive_name(1)).write_bytes(b"x")
    (store.models / ".deleted-old-1-2").mkdir()
    (store.models / ".tmp-xyz").write_bytes(b"partial")

    loaded = store.load()

    assert [item.name for item in loaded] == ["kept"]
    assert sorted(p.name for p in store.models.iterdir()) == ["kept"]
    assert [p.name for p in (store.models / "kept").iterdir()] == ["model.json"]


def test_foreign_folders_ignored(store: ModelStore) -> None:
    (store.models / "Not A Model").mkdir()

    assert store.load() == []
    assert (store.models / "Not A Model").exists()


def test_delete_removes_folder(store: ModelStore) -> None:
    store.write_archive("m", 1, b"x")
    store.write_metadata("m", {})

    store.delete("m")
    store.delete("m")

    assert list(store.models.iterdir()) == []


def test_remove_archives_keeps_listed(store: ModelStore) -> None:
    for version in (1, 2, 3, 4):
        store.write_archive("m", version, b"x")

    store.remove_archives("m", keep={1, 4})

    assert sorted(p.name for p in (store.models / "m").glob("*.keras")) == [
        archive_name(1),
        archive_name(4),
    ]


def test_metadata_replaced_atomically(store: ModelStore) -> None:
    store.write_metadata("m", {"version": 1})
    store.write_metadata("m", {"version": 2})

    files = sorted(p.name for p in (store.models / "m").iterdir())

    assert files == ["model.json"]
    assert json.loads((store.models / "m" / "model.json").read_text()) == {"version": 2}


def test_check_writable_creates_folders(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "new" / "store")

    store.check_writable()

    assert store.models.is_dir()
    assert list(store.models.iterdir()) == []


def test_check_writable_rejects_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "a-file"
    data_dir.write_text("not a folder")

    with pytest.raises(NotADirectoryError):
        ModelStore(data_dir).check_writable()
