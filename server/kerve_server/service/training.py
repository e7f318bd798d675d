"""Training runs: their requests, their progress events and their outcome."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass

import numpy as np

from kerve_server.engine import EpochReport
from kerve_server.errors import KerveError
from kerve_server.service.datasets import InlineData, SyntheticDataset
from kerve_server.service.entries import ModelSnapshot, TrainingSummary
from kerve_server.specs import OptimizerName

DEFAULT_EPOCHS = 1
DEFAULT_BATCH_SIZE = 32
MAX_BATCH_SIZE = 1_000_000


@dataclass(frozen=True)
class TrainingRequest:
    """What to train on and how; ``None`` fields take the defaults."""

    data: InlineData | SyntheticDataset
    epochs: int | None = None
    batch_size: int | None = None
    validation_split: float = 0.0
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
