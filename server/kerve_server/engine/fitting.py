"""Fitting a copy of a model, with per-epoch progress and cancellation."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np

from kerve_server.engine.building import build_model
from kerve_server.engine.scoring import make_loss, make_metrics
from kerve_server.specs import ModelSpec, OptimizerSpec

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FitOptions:
    """Arguments of one call to ``keras.Model.fit``."""

    epochs: int
    batch_size: int
    shuffle: bool
    optimizer: OptimizerSpec


@dataclass(frozen=True)
class EpochReport:
    """Loss and metrics at the end of one epoch; epochs count from 1."""

    epoch: int
    epochs: int
    loss: float
    metrics: dict[str, float]


@dataclass(frozen=True)
class FitOutcome:
    """Result of a fit: new weights, or why there are none.

    Exactly one of three cases holds: ``failure`` is set (the run failed and
    ``weights`` is empty), ``cancelled`` is true (``weights`` is empty), or
    the run completed and ``weights`` contains the trained weights.
    """

    weights: list[np.ndarray] = field(default_factory=list)
    epochs_run: int = 0
    final_loss: float = math.nan
    final_metrics: dict[str, float] = field(default_factory=dict)
    duration_seconds: float = 0.0
    cancelled: bool = False
    failure: str | None = None


def fit(
    spec: ModelSpec,
    weights: list[np.ndarray],
    inputs: np.ndarray,
    targets: np.ndarray,
    options: FitOptions,
    *,
    on_epoch: Callable[[EpochReport], None],
    cancel: threading.Event,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
) -> FitOutcome:
    """Train a fresh copy of the model, starting from ``weights``.

    The serving model is never touched: this builds its own model object.
    With ``validation`` rows, each epoch's report includes ``val_`` scores.
    ``cancel`` is checked after every batch. A loss that becomes NaN or Inf
    stops the run at that batch and returns a failure.
    """
    model = build_model(spec, seed=0)
    model.set_weights(weights)
    model.compile(
        optimizer=_optimizer(options.optimizer),
        loss=make_loss(spec.compile.loss),
        metrics=make_metrics(spec.compile),
    )
    watcher = _RunWatcher(options.epochs, on_epoch, cancel)
    started = time.perf_counter()
    model.fit(
        inputs,
        targets,
        epochs=options.epochs,
        batch_size=options.batch_size,
        validation_data=validation,
        shuffle=options.shuffle,
        verbose=0,
        callbacks=[watcher],
    )
    duration = time.perf_counter() - started
    if watcher.failure is not None:
        return FitOutcome(failure=watcher.failure, duration_seconds=duration)
    if cancel.is_set():
        return FitOutcome(cancelled=True, duration_seconds=duration)
    trained = [np.asarray(w, dtype=np.float32) for w in model.get_weights()]
    if not all(np.isfinite(w).all() for w in trained):
        return FitOutcome(
            failure="weights became NaN or Inf during training",
            duration_seconds=duration,
        )
    last = watcher.last
    return FitOutcome(
        weights=trained,
        epochs_run=watcher.epochs_run,
        final_loss=last.loss if last else math.nan,
        final_metrics=dict(last.metrics) if last else {},
        duration_seconds=duration,
    )


def _optimizer(spec: OptimizerSpec) -> keras.optimizers.Optimizer:
    kwargs = {} if spec.learning_rate is None else {"learning_rate": spec.learning_rate}
    match spec.name:
        case "adam":
            return keras.optimizers.Adam(**kwargs)
        case "sgd":
            return keras.optimizers.SGD(**kwargs)
        case "rmsprop":
            return keras.optimizers.RMSprop(**kwargs)
    raise ValueError(f"unknown optimizer {spec.name!r}")


class _RunWatcher(keras.callbacks.Callback):  # type: ignore[misc]
    """Reports epochs, and stops the run on cancellation or a bad loss."""

    def __init__(
        self,
        epochs: int,
        on_epoch: Callable[[EpochReport], None],
        cancel: threading.Event,
    ) -> None:
        super().__init__()
        self._epochs = epochs
        self._on_epoch = on_epoch
        self._cancel = cancel
        self._epoch = 0
        self.epochs_run = 0
        self.failure: str | None = None
        self.last: EpochReport | None = None

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self._epoch = epoch + 1

    def on_train_batch_end(
        self, batch: int, logs: dict[str, float] | None = None
    ) -> None:
        # Release the GIL between batches: the event loop that serves
        # Predict then runs when it needs to, instead of waiting up to the
        # interpreter's switch interval (5 ms by default) while this thread
        # runs Keras's Python code.
        time.sleep(0)
        if self._cancel.is_set():
            self.model.stop_training = True
            return
        loss = float((logs or {}).get("loss", 0.0))
        if not math.isfinite(loss):
            self.failure = (
                f"loss became {loss} at epoch {self._epoch}, batch {batch + 1}; "
                "try a lower learning rate or scaled inputs and targets"
            )
            self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        if self.failure is not None or self._cancel.is_set():
            return
        values = {key: float(value) for key, value in (logs or {}).items()}
        loss = values.pop("loss", math.nan)
        report = EpochReport(
            epoch=epoch + 1, epochs=self._epochs, loss=loss, metrics=values
        )
        self.epochs_run = epoch + 1
        self.last = report
        self._on_epoch(report)
