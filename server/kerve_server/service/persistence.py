"""Conversion between live model entries and the store's metadata files.

The metadata records the model's resting state: a model that was training
when the server stopped is stored in the state it had before the run, since
the run's work is lost with the process.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import numpy as np

from kerve_server import engine
from kerve_server.service.assessment import (
    assessment_document,
    assessment_from_document,
)
from kerve_server.service.entries import (
    ModelEntry,
    TrainingSummary,
    Version,
    VersionRecord,
)
from kerve_server.service.lifecycle import State
from kerve_server.specs import ModelSpec
from kerve_server.store import ModelStore, StoredModel, StoreError

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
MAX_HISTORY = 100


class MetadataError(Exception):
    """Raised when stored metadata is incomplete or inconsistent."""


def entry_metadata(entry: ModelEntry, *, state: State | None = None) -> dict[str, Any]:
    """Return the metadata document that describes ``entry``.

    ``state`` overrides the entry's state, for writing the resting state of
    a model whose run is still going.
    """
    resting = state or entry.state
    if resting is State.TRAINING:
        raise ValueError("TRAINING is not a resting state and is never stored")
    return {
        "format": FORMAT_VERSION,
        "name": entry.name,
        "spec": entry.spec.model_dump(mode="json"),
        "seed": entry.seed,
        "state": resting.value,
        "failure_reason": entry.failure_reason,
        "create_time": entry.create_time.isoformat(),
        "update_time": entry.update_time.isoformat(),
        "serving_version": entry.serving.number,
        "initial_version": entry.initial.number,
        "next_version": entry.next_version,
        "versions": [_version_document(r) for r in sorted_records(entry)],
        "last_training": (
            _summary_document(entry.last_training) if entry.last_training else None
        ),
        "history": [_summary_document(s) for s in entry.history[-MAX_HISTORY:]],
    }


def sorted_records(entry: ModelEntry) -> list[VersionRecord]:
    """Return the entry's version records, oldest first."""
    return [entry.versions[n] for n in sorted(entry.versions)]


def load_entry(store: ModelStore, stored: StoredModel) -> ModelEntry:
    """Rebuild a live entry from its metadata and archives.

    Raises:
        MetadataError: the metadata is incomplete or inconsistent.
        StoreError: an archive is missing or damaged.
        engine.ArchiveError: an archive does not fit the spec.
    """
    document = stored.metadata
    try:
        if document.get("format") != FORMAT_VERSION:
            raise MetadataError(f"unknown metadata format {document.get('format')!r}")
        if document["name"] != stored.name:
            raise MetadataError(
                f"metadata names model {document['name']!r}, not {stored.name!r}"
            )
        spec = ModelSpec.model_validate(document["spec"])
        state = State(document["state"])
        if state is State.TRAINING:
            raise MetadataError("stored state TRAINING is not a resting state")
        records = {
            int(v["number"]): VersionRecord(
                number=int(v["number"]),
                trained=bool(v["trained"]),
                create_time=datetime.fromisoformat(v["create_time"]),
                sha256=str(v["sha256"]),
                assessment=assessment_from_document(
                    v.get("assessment"), bool(v["trained"])
                ),
            )
            for v in document["versions"]
        }
        serving_number = int(document["serving_version"])
        initial_number = int(document["initial_version"])
        last = document.get("last_training")
        history = [_summary(s) for s in document.get("history", [])]
        seed = int(document["seed"])
        create_time = datetime.fromisoformat(document["create_time"])
        update_time = datetime.fromisoformat(document["update_time"])
        next_version = int(document["next_version"])
        failure_reason = str(document.get("failure_reason", ""))
    except (KeyError, TypeError, ValueError) as exc:
        raise MetadataError(f"invalid metadata: {type(exc).__name__}: {exc}") from None
    for number in (serving_number, initial_number):
        if number not in records:
            raise MetadataError(f"version {number} has no record in the metadata")
    serving = _load_version(store, stored.name, spec, records[serving_number])
    initial = (
        serving
        if initial_number == serving_number
        else _load_version(store, stored.name, spec, records[initial_number])
    )
    if state is State.TRAINED and not serving.trained:
        raise MetadataError("state TRAINED but the current version is untrained")
    return ModelEntry(
        name=stored.name,
        spec=spec,
        seed=seed,
        serving=serving,
        initial=initial,
        create_time=create_time,
        update_time=update_time,
        state=state,
        last_training=_summary(last) if last else None,
        failure_reason=failure_reason,
        next_version=next_version,
        versions=records,
        history=history,
    )


def _load_version(
    store: ModelStore, name: str, spec: ModelSpec, record: VersionRecord
) -> Version:
    data = store.read_archive(name, record.number, record.sha256)
    weights = engine.weights_from_archive(spec, data)
    return Version(
        number=record.number,
        trained=record.trained,
        compiled=engine.CompiledModel(spec, weights),
        create_time=record.create_time,
        assessment=record.assessment,
    )


def _version_document(record: VersionRecord) -> dict[str, Any]:
    return {
        "number": record.number,
        "trained": record.trained,
        "create_time": record.create_time.isoformat(),
        "sha256": record.sha256,
        "assessment": assessment_document(record.assessment),
    }


def _summary_document(summary: TrainingSummary) -> dict[str, Any]:
    return {
        "epochs_run": summary.epochs_run,
        "final_loss": summary.final_loss,
        "final_metrics": summary.final_metrics,
        "duration_seconds": summary.duration_seconds,
        "samples": summary.samples,
        "end_time": summary.end_time.isoformat(),
        "target_mean": summary.target_mean.tolist(),
    }


def _summary(document: dict[str, Any]) -> TrainingSummary:
    return TrainingSummary(
        epochs_run=int(document["epochs_run"]),
        final_loss=float(document["final_loss"]),
        final_metrics={k: float(v) for k, v in document["final_metrics"].items()},
        duration_seconds=float(document["duration_seconds"]),
        samples=int(document["samples"]),
        end_time=datetime.fromisoformat(document["end_time"]),
        target_mean=np.asarray(document["target_mean"], dtype=np.float32),
    )


__all__ = ["MetadataError", "StoreError", "entry_metadata", "load_entry"]
