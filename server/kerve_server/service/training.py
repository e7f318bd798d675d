"""Training runs: their requests, their progress events and their outcome."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass

import numpy as np

from kerve_server.engine import EpochReport, FitOptions
from kerve_server.errors import (
    FieldViolation,
    InvalidDataError,
    KerveError,
    TrainingCancelledError,
)
from kerve_server.service.datasets import InlineData, SyntheticDataset
from kerve_server.service.entries import ModelSnapshot, TrainingSummary
from kerve_server.specs import ModelSpec, OptimizerName, OptimizerSpec

DEFAULT_EPOCHS = 1
DEFAULT_BATCH_SIZE = 32
MAX_BATCH_SIZE = 1_000_000


@dataclass(frozen=True)
class TrainingRequest:
    """Data and options of one training run; ``None`` fields take the defaults."""

    data: InlineData | SyntheticDataset
    epochs: int | None = None
    batch_size: int | None = None
    # Fraction of the rows held out to score the trained weights; None takes
    # the server's default and 0 holds out none.
    validation_split: float | None = None
    # Rows to score the trained weights on, instead of held-out rows.
    validation_data: InlineData | None = None
    # Optimizer name and learning rate for this run; None keeps the spec's.
    optimizer_name: OptimizerName | None = None
    learning_rate: float | None = None
    shuffle: bool = True
    # Wait for a free training slot instead of failing when all are taken.
    wait_for_slot: bool = False


@dataclass(frozen=True)
class TrainingOutcome:
    """The end of a completed run: the model after publishing, and a summary."""

    model: ModelSnapshot
    summary: TrainingSummary


@dataclass(frozen=True)
class TrainingData:
    """Validated float32 rows of one run."""

    x: np.ndarray
    y: np.ndarray
    # Caller-sent rows that score the trained weights, validated likewise.
    validation: tuple[np.ndarray, np.ndarray] | None = None


class TrainingRun:
    """One training run of one model, observed by any number of subscribers.

    Events are published on the event loop thread: ``EpochReport`` after each
    epoch, then exactly one final ``TrainingOutcome`` or ``KerveError``.
    """

    def __init__(self, model: str) -> None:
        self.model = model
        self.cancel_requested = threading.Event()
        self._subscribers: list[asyncio.Queue[object]] = []
        self._final: object | None = None

    def publish(self, event: EpochReport) -> None:
        """Send a progress event to every subscriber."""
        for queue in self._subscribers:
            queue.put_nowait(event)

    def finish(self, final: TrainingOutcome | KerveError) -> None:
        """Send the final event; later subscribers receive only that."""
        self._final = final
        for queue in self._subscribers:
            queue.put_nowait(final)

    @property
    def outcome(self) -> str:
        """How the run ended: published, failed, cancelled, or running."""
        if isinstance(self._final, TrainingOutcome):
            return "published"
        if isinstance(self._final, TrainingCancelledError):
            return "cancelled"
        if isinstance(self._final, KerveError):
            return "failed"
        return "running"

    def cancel(self) -> None:
        """Ask the run to stop after the batch that is running."""
        self.cancel_requested.set()

    async def events(self) -> AsyncIterator[EpochReport | TrainingOutcome]:
        """Yield progress events, then the outcome.

        Raises:
            KerveError: the run failed, was cancelled, or lost its model.
        """
        queue: asyncio.Queue[object] = asyncio.Queue()
        if self._final is not None:
            queue.put_nowait(self._final)
        else:
            self._subscribers.append(queue)
        try:
            while True:
                event = await queue.get()
                if isinstance(event, KerveError):
                    raise event
                if isinstance(event, TrainingOutcome):
                    yield event
                    return
                assert isinstance(event, EpochReport)
                yield event
        finally:
            if queue in self._subscribers:
                self._subscribers.remove(queue)


def fit_options(
    name: str, spec: ModelSpec, request: TrainingRequest, *, max_epochs: int
) -> FitOptions:
    """Return the Keras fit arguments of a request, defaults filled in.

    Raises:
        InvalidDataError: epochs, batch size or validation split is out of
            range; the message lists each one.
    """
    epochs = DEFAULT_EPOCHS if request.epochs is None else request.epochs
    batch_size = (
        DEFAULT_BATCH_SIZE if request.batch_size is None else request.batch_size
    )
    violations = []
    if not 1 <= epochs <= max_epochs:
        violations.append(
            FieldViolation(
                "epochs",
                f"must be in [1, {max_epochs:,}], received {epochs}",
            )
        )
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        violations.append(
            FieldViolation(
                "batch_size",
                f"must be in [1, {MAX_BATCH_SIZE:,}], received {batch_size}",
            )
        )
    split = request.validation_split
    if split is not None and not 0.0 <= split < 1.0:
        violations.append(
            FieldViolation("validation_split", f"must be in [0, 1), received {split}")
        )
    if request.validation_data is not None and split is not None:
        violations.append(
            FieldViolation(
                "validation_split",
                f"must be unset when validation_data is sent, received {split}",
            )
        )
    if violations:
        listed = "; ".join(f"{v.field} {v.description}" for v in violations)
        raise InvalidDataError(
            f"invalid training options for model {name!r}: {listed}",
            violations=violations,
        )
    return FitOptions(
        epochs=epochs,
        batch_size=batch_size,
        shuffle=request.shuffle,
        optimizer=optimizer_for_run(spec, request),
    )


def optimizer_for_run(spec: ModelSpec, request: TrainingRequest) -> OptimizerSpec:
    """Return the spec's optimizer with the request's overrides applied."""
    base = spec.compile.optimizer
    if request.optimizer_name is None and request.learning_rate is None:
        return base
    if request.optimizer_name not in (None, base.name):
        # Another optimizer starts from its own default rate, not the spec's.
        return OptimizerSpec(
            name=request.optimizer_name, learning_rate=request.learning_rate
        )
    learning_rate = request.learning_rate
    if learning_rate is None:
        learning_rate = base.learning_rate
    return OptimizerSpec(name=base.name, learning_rate=learning_rate)
