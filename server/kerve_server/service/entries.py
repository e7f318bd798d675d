"""Live state of one model: its versions, lifecycle state and training run."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from kerve_server.engine import CompiledModel
from kerve_server.service.assessment import Assessment
from kerve_server.service.lifecycle import State
from kerve_server.specs import ModelSpec


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Version:
    """One published set of weights and the compiled function that runs it."""

    number: int
    trained: bool
    compiled: CompiledModel
    create_time: datetime
    assessment: Assessment


@dataclass(frozen=True)
class VersionRecord:
    """Store record of one version: enough to find and check its archive."""

    number: int
    trained: bool
    create_time: datetime
    sha256: str
    assessment: Assessment


@dataclass(frozen=True)
class TrainingSummary:
    """Summary of a completed training run."""

    epochs_run: int
    final_loss: float
    final_metrics: dict[str, float]
    duration_seconds: float
    samples: int
    end_time: datetime
    # Mean target row of the training data, the prediction of the
    # evaluation baseline.
    target_mean: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class ModelSnapshot:
    """A consistent copy of a model's public state at one moment."""

    name: str
    spec: ModelSpec
    state: State
    version: int
    untrained: bool
    # The current version's verdict, scores and input ranges.
    assessment: Assessment
    create_time: datetime
    update_time: datetime
    last_training: TrainingSummary | None
    failure_reason: str
    parameter_count: int


@dataclass
class ModelEntry:
    """The registry's record of one model.

    Every field changes only on the event loop thread, so a reader on that
    thread always reads a consistent entry. ``serving`` is replaced, never
    mutated, which makes publishing a version one atomic assignment.
    """

    name: str
    spec: ModelSpec
    seed: int
    serving: Version
    initial: Version
    create_time: datetime
    update_time: datetime
    state: State = State.UNTRAINED
    last_training: TrainingSummary | None = None
    failure_reason: str = ""
    next_version: int = 2
    training: bool = False
    deleted: bool = False
    versions: dict[int, VersionRecord] = field(default_factory=dict)
    history: list[TrainingSummary] = field(default_factory=list)
    # Serializes the changes that write to the store, so that metadata on
    # disk changes in the same order as the entry.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    watchers: set[asyncio.Queue[WatchEvent]] = field(default_factory=set, repr=False)

    def snapshot(self) -> ModelSnapshot:
        """Return the public state of the model as it is now."""
        return ModelSnapshot(
            name=self.name,
            spec=self.spec,
            state=self.state,
            version=self.serving.number,
            untrained=not self.serving.trained,
            assessment=self.serving.assessment,
            create_time=self.create_time,
            update_time=self.update_time,
            last_training=self.last_training,
            failure_reason=self.failure_reason,
            parameter_count=self.spec.parameter_count,
        )

    def set_state(self, state: State, *, failure_reason: str = "") -> None:
        """Move to ``state`` and stamp the update time."""
        self.state = state
        self.failure_reason = failure_reason
        self.update_time = utc_now()


@dataclass(frozen=True)
class WatchEvent:
    """A state change of a model, or the end of one of its training epochs.

    ``model`` is None only in the last event of a deleted model.
    """

    model: ModelSnapshot | None
    epoch: int = 0
    epochs: int = 0
    loss: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)
    is_progress: bool = False
