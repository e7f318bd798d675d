"""The model store: what the server keeps on disk, one folder per model.

Layout under the data directory::

    models/<name>/model.json        metadata, written last
    models/<name>/v000001.keras     one archive per kept version

Every file is written to a temporary name in the same folder, flushed and
synced, renamed into place, and then the folder is synced, so a crash at any
moment leaves either the old file or the new one. Metadata is written after
the archives it names, so it never points at an archive that is not on disk.
Temporary files and folders whose metadata never landed are leftovers of a
crash; ``ModelStore.load`` removes them. This module handles bytes and JSON
only: what an archive contains is the engine's business.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kerve_server.names import NAME_PATTERN

logger = logging.getLogger(__name__)

METADATA_FILE = "model.json"
TEMPORARY_PREFIX = ".tmp-"
DELETED_PREFIX = ".deleted-"


def archive_name(version: int) -> str:
    """Return the file name of a version's archive."""
    return f"v{version:06d}.keras"


def sha256(data: bytes) -> str:
    """Return the hex SHA-256 digest of ``data``."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class StoredModel:
    """A model folder as found on disk: its metadata, not yet checked."""

    name: str
    folder: Path
    metadata: dict[str, Any]


@dataclass(frozen=True)
class DamagedModel:
    """A model folder that could not be read, and why."""

    name: str
    folder: Path
    reason: str


class StoreError(Exception):
    """Raised when a stored file is missing, unreadable or does not match."""


class ModelStore:
    """Reads and writes model folders under ``root / "models"``.

    Methods block on disk I/O; the registry calls them from worker threads.
    Callers serialize the writes to any one model.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.models = root / "models"

    def open(self) -> None:
        """Create the store's folders if they do not exist."""
        self.models.mkdir(parents=True, exist_ok=True)

    def check_writable(self) -> None:
        """Create the store's folders and write and remove a file in them.

        A real write, not ``os.access``, so that a read-only file system and
        a process that ignores permissions (root) are judged correctly. A
        file left by a crash here is removed by ``load``, like every
        temporary file.

        Raises:
            OSError: a folder cannot be created or a file cannot be written.
        """
        self.open()
        descriptor, path = tempfile.mkstemp(prefix=TEMPORARY_PREFIX, dir=self.models)
        os.close(descriptor)
        os.unlink(path)

    def load(self) -> list[StoredModel | DamagedModel]:
        """Read every model's metadata and remove crash leftovers.

        A folder without metadata is a create that never completed and is
        removed. A folder whose metadata cannot be parsed is reported as
        damaged and left on disk for a person to inspect.
        """
        self.open()
        found: list[StoredModel | DamagedModel] = []
        for folder in sorted(self.models.iterdir()):
            if folder.name.startswith((TEMPORARY_PREFIX, DELETED_PREFIX)):
                logger.info("removing leftover %s from an earlier run", folder)
                _remove(folder)
                continue
            if not folder.is_dir() or not NAME_PATTERN.fullmatch(folder.name):
                logger.warning("ignoring %s: not a model folder", folder)
                continue
            self._remove_temporary_files(folder)
            metadata_path = folder / METADATA_FILE
            if not metadata_path.exists():
                logger.warning(
                    "removing %s: it has no %s, so its creation never completed",
                    folder,
                    METADATA_FILE,
                )
                _remove(folder)
                continue
            try:
                metadata = json.loads(metadata_path.read_bytes())
            except (OSError, ValueError) as exc:
                found.append(
                    DamagedModel(folder.name, folder, f"unreadable metadata: {exc}")
                )
                continue
            if not isinstance(metadata, dict):
                found.append(
                    DamagedModel(folder.name, folder, "metadata is not an object")
                )
                continue
            found.append(StoredModel(folder.name, folder, metadata))
        return found

    def write_archive(self, name: str, version: int, data: bytes) -> str:
        """Write a version's archive atomically and return its SHA-256."""
        folder = self.models / name
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomic(folder / archive_name(version), data)
        return sha256(data)

    def write_metadata(self, name: str, metadata: dict[str, Any]) -> None:
        """Replace the model's metadata atomically; this commits a change."""
        data = json.dumps(metadata, indent=1, sort_keys=True).encode()
        folder = self.models / name
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomic(folder / METADATA_FILE, data)

    def read_archive(self, name: str, version: int, expected_sha256: str) -> bytes:
        """Return a version's archive bytes after checking their digest.

        Raises:
            StoreError: the file is missing or its digest differs.
        """
        path = self.models / name / archive_name(version)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc}") from exc
        digest = sha256(data)
        if digest != expected_sha256:
            raise StoreError(
                f"{path} is damaged: its SHA-256 is {digest}, the metadata "
                f"records {expected_sha256}"
            )
        return data

    def remove_archives(self, name: str, keep: set[int]) -> None:
        """Delete the archives of versions not in ``keep``."""
        folder = self.models / name
        for path in folder.glob("v*.keras"):
            number = _version_of(path)
            if number is not None and number not in keep:
                path.unlink(missing_ok=True)
        _sync_folder(folder)

    def delete(self, name: str) -> None:
        """Remove a model folder: rename it away atomically, then delete it."""
        folder = self.models / name
        if not folder.exists():
            return
        graveyard = self.models / f"{DELETED_PREFIX}{name}-{os.getpid()}-{id(folder)}"
        os.replace(folder, graveyard)
        _sync_folder(self.models)
        _remove(graveyard)

    def _remove_temporary_files(self, folder: Path) -> None:
        for path in folder.glob(f"{TEMPORARY_PREFIX}*"):
            logger.info("removing leftover %s from an earlier run", path)
            path.unlink(missing_ok=True)


def _version_of(path: Path) -> int | None:
    digits = path.stem.removeprefix("v")
    return int(digits) if digits.isdigit() else None


def _write_atomic(path: Path, data: bytes) -> None:
    descriptor, temporary = tempfile.mkstemp(prefix=TEMPORARY_PREFIX, dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def scratch_file(suffix: str) -> Iterator[Path]:
    """Yield a path in a fresh temporary folder, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="kerve-") as folder:
        yield Path(folder) / f"archive{suffix}"
