"""The registry: the named models that the server holds in memory."""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from kerve_server import engine
from kerve_server.errors import (
    FieldViolation,
    InvalidDataError,
    InvalidSpecError,
    KerveError,
    ModelExistsError,
    ModelNotFoundError,
    ResourceExhaustedError,
    TrainingCancelledError,
    TrainingFailedError,
    TrainingInProgressError,
    UntrainedModelError,
)
from kerve_server.names import validate_model_name
from kerve_server.scheduling import InferenceScheduler, PredictFunction
from kerve_server.service import data as checks
from kerve_server.service.datasets import (
    ClassificationParams,
    InlineData,
    Subset,
    SyntheticDataset,
    generate,
)
from kerve_server.service.entries import (
    ModelEntry,
    ModelSnapshot,
    TrainingSummary,
    Version,
    utc_now,
)
from kerve_server.service.lifecycle import State
from kerve_server.service.training import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_EPOCHS,
    MAX_BATCH_SIZE,
    TrainingData,
    TrainingOutcome,
    TrainingRequest,
    TrainingRun,
)
from kerve_server.specs import MAX_SEED, ModelSpec

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """Limits that the registry enforces, taken from the server settings."""

    max_parameters: int
    max_batch_rows: int
    max_dataset_rows: int
    max_epochs: int
    max_concurrent_training: int
    inference_threads: int = 2


@dataclass(frozen=True)
class Prediction:
    """Outputs of one Predict and the facts about the weights behind them."""

    model: str
    outputs: np.ndarray
    version: int
    untrained: bool
    meaningful: bool
    state: State
    notice: str


@dataclass(frozen=True)
class Evaluation:
    """Loss and metrics of one set of predictions."""

    loss: float
    metrics: dict[str, float]


@dataclass(frozen=True)
class EvaluationReport:
    """Current, initial and baseline scores on the same rows."""

    model: str
    version: int
    untrained: bool
    state: State
    current: Evaluation
    initial: Evaluation
    baseline: Evaluation
    baseline_source: str
    samples: int


class ModelRegistry:
    """Named models with their versions, lifecycle state and training runs.

    Methods must be called on one asyncio event loop; TensorFlow work runs
    on thread pools, and all state changes happen back on the loop.
    """

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._models: dict[str, ModelEntry] = {}
        self._creating: set[str] = set()
        self._runs: dict[str, TrainingRun] = {}
        self._scheduler: InferenceScheduler[Version] = InferenceScheduler(
            threads=limits.inference_threads
        )
        self._training_executor = ThreadPoolExecutor(
            max_workers=limits.max_concurrent_training,
            thread_name_prefix="kerve-training",
        )
        self._training_slots = asyncio.Semaphore(limits.max_concurrent_training)
        self._tasks: set[asyncio.Task[None]] = set()

    # Models -----------------------------------------------------------------

    async def create(self, name: str, spec: ModelSpec) -> ModelSnapshot:
        """Create an untrained model and publish its initial weights as version 1.

        Raises:
            InvalidNameError: the name breaks the naming rule.
            InvalidSpecError: the spec exceeds the parameter budget.
            ModelExistsError: the name is taken.
        """
        validate_model_name(name)
        self._check_budget(name, spec)
        if name in self._models or name in self._creating:
            raise ModelExistsError(
                f"model {name!r} already exists; delete it first or choose another name"
            )
        seed = spec.seed if spec.seed is not None else secrets.randbelow(MAX_SEED + 1)
        self._creating.add(name)
        try:
            compiled = await asyncio.to_thread(_initial_model, spec, seed)
        finally:
            self._creating.discard(name)
        now = utc_now()
        version = Version(number=1, trained=False, compiled=compiled, create_time=now)
        entry = ModelEntry(
            name=name,
            spec=spec,
            seed=seed,
            serving=version,
            initial=version,
            create_time=now,
            update_time=now,
        )
        self._models[name] = entry
        logger.info(
            "created model %s: %d parameters, state %s, version 1",
            name,
            spec.parameter_count,
            entry.state.value,
        )
        return entry.snapshot()

    def require(self, name: str) -> None:
        """Check that ``name`` is valid and names a model.

        Raises:
            InvalidNameError: the name breaks the naming rule.
            ModelNotFoundError: no model has that name.
        """
        self._entry(name)

    def get(self, name: str) -> ModelSnapshot:
        """Return the model's current state.

        Raises:
            ModelNotFoundError: no model has that name.
        """
        return self._entry(name).snapshot()

    def list(self) -> list[ModelSnapshot]:
        """Return every model, ordered by name."""
        return [self._models[name].snapshot() for name in sorted(self._models)]

    def delete(self, name: str) -> None:
        """Delete a model and cancel its training run, if any.

        Raises:
            ModelNotFoundError: no model has that name.
        """
        entry = self._entry(name)
        del self._models[name]
        entry.deleted = True
        run = self._runs.get(name)
        if run is not None:
            run.cancel()
        logger.info("deleted model %s at version %d", name, entry.serving.number)

    # Predict ----------------------------------------------------------------

    async def predict(
        self, name: str, inputs: np.ndarray, *, strict: bool = False
    ) -> Prediction:
        """Run the model's current version on a batch.

        Raises:
            ModelNotFoundError: no model has that name.
            InvalidTensorError: the inputs do not fit the model.
            ResourceExhaustedError: the batch has more rows than allowed.
            UntrainedModelError: ``strict`` and the weights are untrained.
        """
        entry = self._entry(name)
        rows = inputs.shape[0] if inputs.ndim else 0
        if rows > self._limits.max_batch_rows:
            raise ResourceExhaustedError(
                f"model {name!r}: the batch has {rows:,} rows, more than the "
                f"server's max batch rows of {self._limits.max_batch_rows:,}; "
                "split it into smaller requests or raise --max-batch-rows",
                violations=[FieldViolation("inputs", "too many rows")],
            )
        batch = checks.check_inputs(name, entry.spec, inputs, field="inputs")
        if strict and not entry.serving.trained:
            raise _untrained(entry.name, entry.serving.number)

        def resolve() -> tuple[Version, PredictFunction]:
            version = entry.serving
            return version, version.compiled.predict

        outputs, version = await self._scheduler.run(resolve, batch)
        if strict and not version.trained:
            raise _untrained(entry.name, version.number)
        finite = bool(np.isfinite(outputs).all())
        return Prediction(
            model=name,
            outputs=outputs,
            version=version.number,
            untrained=not version.trained,
            meaningful=version.trained and finite,
            state=entry.state,
            notice=_notice(entry, version, outputs, finite),
        )

    # Training ---------------------------------------------------------------

    async def train(self, name: str, request: TrainingRequest) -> TrainingRun:
        """Validate a training request and start the run.

        The run trains a copy of the current weights on a thread pool and
        publishes a new version when it completes. The caller follows it
        through ``TrainingRun.events``.

        Raises:
            ModelNotFoundError: no model has that name.
            TrainingInProgressError: the model already has a run.
            InvalidDataError, InvalidTensorError: the data or the options
                are invalid; no weight has changed.
        """
        entry = self._entry(name)
        if entry.training:
            raise TrainingInProgressError(
                f"model {name!r} is already training; wait for the run to "
                "finish or cancel it before starting another"
            )
        entry.training = True
        try:
            options = self._fit_options(entry, request)
            rows = await self._training_rows(entry, request.data)
            _check_training_rows(name, rows.x.shape[0], request.validation_split)
        except BaseException:
            entry.training = False
            raise
        run = TrainingRun(name)
        self._runs[name] = run
        task = asyncio.create_task(self._run(entry, run, rows, options))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return run

    def cancel_training(self, name: str) -> bool:
        """Ask the model's run to stop; return False if it has none."""
        run = self._runs.get(name)
        if run is None:
            return False
        run.cancel()
        return True

    async def _run(
        self,
        entry: ModelEntry,
        run: TrainingRun,
        rows: TrainingData,
        options: engine.FitOptions,
    ) -> None:
        loop = asyncio.get_running_loop()
        try:
            async with self._training_slots:
                if run.cancel_requested.is_set() or entry.deleted:
                    run.finish(_cancelled(entry.name))
                    return
                await self._fit_and_publish(loop, entry, run, rows, options)
        except Exception:
            # A bug or an unexpected Keras error: the model keeps its
            # weights and the caller gets a generic message.
            logger.exception("training run of model %s failed", entry.name)
            reason = "training failed with an internal error; see the server log"
            if not entry.deleted:
                entry.set_state(State.FAILED, failure_reason=reason)
            run.finish(TrainingFailedError(f"model {entry.name!r}: {reason}"))
        finally:
            entry.training = False
            if self._runs.get(entry.name) is run:
                del self._runs[entry.name]

    async def _fit_and_publish(
        self,
        loop: asyncio.AbstractEventLoop,
        entry: ModelEntry,
        run: TrainingRun,
        rows: TrainingData,
        options: engine.FitOptions,
    ) -> None:
        previous_state, previous_reason = entry.state, entry.failure_reason
        start_version = entry.serving
        entry.set_state(State.TRAINING)
        logger.info(
            "model %s: state %s -> TRAINING, %d rows, %d epochs, from version %d",
            entry.name,
            previous_state.value,
            rows.x.shape[0],
            options.epochs,
            start_version.number,
        )

        def on_epoch(report: engine.EpochReport) -> None:
            loop.call_soon_threadsafe(run.publish, report)

        fit = functools.partial(
            engine.fit,
            entry.spec,
            start_version.compiled.weights,
            rows.x,
            rows.y,
            options,
            on_epoch=on_epoch,
            cancel=run.cancel_requested,
        )
        outcome = await loop.run_in_executor(self._training_executor, fit)
        if outcome.cancelled or entry.deleted:
            if not entry.deleted:
                entry.set_state(previous_state, failure_reason=previous_reason)
            logger.info(
                "model %s: training cancelled after %.1f s; state back to %s",
                entry.name,
                outcome.duration_seconds,
                previous_state.value,
            )
            run.finish(_cancelled(entry.name))
            return
        if outcome.failure is not None:
            entry.set_state(State.FAILED, failure_reason=outcome.failure)
            logger.warning(
                "model %s: state TRAINING -> FAILED: %s; still serving version %d",
                entry.name,
                outcome.failure,
                entry.serving.number,
            )
            run.finish(
                TrainingFailedError(
                    f"training of model {entry.name!r} failed: {outcome.failure}; "
                    f"the model keeps version {entry.serving.number} and is FAILED"
                )
            )
            return
        compiled = await asyncio.to_thread(
            engine.CompiledModel, entry.spec, outcome.weights
        )
        if entry.deleted:
            run.finish(_cancelled(entry.name))
            return
        now = utc_now()
        summary = TrainingSummary(
            epochs_run=outcome.epochs_run,
            final_loss=outcome.final_loss,
            final_metrics=outcome.final_metrics,
            duration_seconds=outcome.duration_seconds,
            samples=int(rows.x.shape[0]),
            end_time=now,
            target_mean=checks.target_mean(entry.spec, rows.y),
        )
        # Publishing is this one assignment on the event loop thread: a
        # Predict resolves either the old version or the new one.
        entry.serving = Version(
            number=entry.next_version, trained=True, compiled=compiled, create_time=now
        )
        entry.next_version += 1
        entry.last_training = summary
        entry.set_state(State.TRAINED)
        logger.info(
            "model %s: state TRAINING -> TRAINED, version %d published after "
            "%d epochs in %.1f s, final loss %.6g",
            entry.name,
            entry.serving.number,
            outcome.epochs_run,
            outcome.duration_seconds,
            outcome.final_loss,
        )
        run.finish(TrainingOutcome(entry.snapshot(), summary))

    def _fit_options(
        self, entry: ModelEntry, request: TrainingRequest
    ) -> engine.FitOptions:
        epochs = DEFAULT_EPOCHS if request.epochs is None else request.epochs
        batch_size = (
            DEFAULT_BATCH_SIZE if request.batch_size is None else request.batch_size
        )
        violations = []
        if not 1 <= epochs <= self._limits.max_epochs:
            violations.append(
                FieldViolation(
                    "epochs",
                    f"must be in [1, {self._limits.max_epochs:,}], received {epochs}",
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
        if not 0.0 <= split < 1.0:
            violations.append(
                FieldViolation(
                    "validation_split", f"must be in [0, 1), received {split}"
                )
            )
        if violations:
            listed = "; ".join(f"{v.field} {v.description}" for v in violations)
            raise InvalidDataError(
                f"invalid training options for model {entry.name!r}: {listed}",
                violations=violations,
            )
        return engine.FitOptions(
            epochs=epochs,
            batch_size=batch_size,
            validation_split=split,
            shuffle=request.shuffle,
            optimizer=request.optimizer or entry.spec.compile.optimizer,
        )

    async def _training_rows(
        self, entry: ModelEntry, source: InlineData | SyntheticDataset
    ) -> TrainingData:
        x, y, _ = await self._rows(entry, source, Subset.TRAIN)
        return TrainingData(x, y)

    # Evaluate ---------------------------------------------------------------

    async def evaluate(
        self,
        name: str,
        source: InlineData | SyntheticDataset,
        subset: Subset = Subset.DEFAULT,
    ) -> EvaluationReport:
        """Score the current weights, the initial weights and a mean predictor.

        Raises:
            ModelNotFoundError: no model has that name.
            InvalidDataError, InvalidTensorError: the data do not fit.
        """
        entry = self._entry(name)
        serving, initial, state = entry.serving, entry.initial, entry.state
        if subset is Subset.DEFAULT and isinstance(source, SyntheticDataset):
            subset = Subset.TEST if source.test_fraction > 0 else Subset.ALL
        x, y, train_y = await self._rows(entry, source, subset)
        if x.shape[0] == 0:
            raise InvalidDataError(
                f"model {name!r}: the evaluation data have no rows",
                violations=[FieldViolation("x", "no rows")],
            )
        if train_y is not None:
            mean, source_name = checks.target_mean(entry.spec, train_y), "train_subset"
        elif entry.last_training is not None:
            mean, source_name = entry.last_training.target_mean, "last_training_run"
        else:
            mean, source_name = checks.target_mean(entry.spec, y), "evaluated_rows"
        compile_spec = entry.spec.compile

        def score_all() -> tuple[Evaluation, Evaluation, Evaluation]:
            baseline = np.broadcast_to(mean, (x.shape[0], *entry.spec.output_shape))
            scores = [
                engine.score(compile_spec, y, predictions)
                for predictions in (
                    serving.compiled.predict(x),
                    initial.compiled.predict(x),
                    np.ascontiguousarray(baseline),
                )
            ]
            current, first, constant = (Evaluation(*s) for s in scores)
            return current, first, constant

        current, first, constant = await asyncio.to_thread(score_all)
        logger.debug("evaluated model %s version %d", name, serving.number)
        return EvaluationReport(
            model=name,
            version=serving.number,
            untrained=not serving.trained,
            state=state,
            current=current,
            initial=first,
            baseline=constant,
            baseline_source=source_name,
            samples=int(x.shape[0]),
        )

    # Shared -----------------------------------------------------------------

    async def _rows(
        self,
        entry: ModelEntry,
        source: InlineData | SyntheticDataset,
        subset: Subset,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Return validated float32 inputs, targets and train-subset targets."""
        spec = entry.spec
        if isinstance(source, InlineData):
            x = checks.check_inputs(entry.name, spec, source.x, field="x")
            y = checks.check_targets(entry.name, spec, source.y, x.shape[0])
            return x, y, None
        _check_dataset_fits(entry.name, spec, source)
        generated = await asyncio.to_thread(generate, source, subset)
        x = checks.check_inputs(entry.name, spec, generated.x, field="synthetic")
        y = self._dataset_targets(entry, source, generated.y, x.shape[0])
        train_y = (
            self._dataset_targets(
                entry, source, generated.train_y, len(generated.train_y)
            )
            if generated.train_y is not None
            else None
        )
        return x, y, train_y

    @staticmethod
    def _dataset_targets(
        entry: ModelEntry, source: SyntheticDataset, labels: np.ndarray, rows: int
    ) -> np.ndarray:
        if isinstance(source.params, ClassificationParams):
            labels = checks.classification_targets(
                entry.name, entry.spec, labels, source.params.n_classes
            )
        return checks.check_targets(
            entry.name, entry.spec, labels, rows, field="synthetic"
        )

    def _entry(self, name: str) -> ModelEntry:
        validate_model_name(name)
        entry = self._models.get(name)
        if entry is None:
            raise ModelNotFoundError(
                f"model {name!r} not found; ListModels shows the models that exist"
            )
        return entry

    def _check_budget(self, name: str, spec: ModelSpec) -> None:
        count = spec.parameter_count
        if count > self._limits.max_parameters:
            raise InvalidSpecError(
                f"invalid spec for model {name!r}: {count:,} parameters, more "
                f"than the server's max parameters of "
                f"{self._limits.max_parameters:,}; use fewer or smaller layers "
                "or raise --max-parameters",
                violations=[FieldViolation("spec.layers", "too many parameters")],
            )

    async def close(self) -> None:
        """Cancel running training runs and wait for them to finish."""
        for run in self._runs.values():
            run.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._training_executor.shutdown(wait=True, cancel_futures=True)
        self._scheduler.close()


def _initial_model(spec: ModelSpec, seed: int) -> engine.CompiledModel:
    return engine.CompiledModel(spec, engine.initial_weights(spec, seed))


def _check_dataset_fits(name: str, spec: ModelSpec, source: SyntheticDataset) -> None:
    features = source.params.n_features
    if tuple(spec.input_shape) != (features,):
        message = (
            f"model {name!r} expects input shape {tuple(spec.input_shape)}, but "
            f"{source.generator} with n_features={features} makes rows of shape "
            f"({features},); set n_features to match the model"
        )
        raise InvalidDataError(
            message, violations=[FieldViolation("synthetic.n_features", message)]
        )


def _check_training_rows(name: str, rows: int, validation_split: float) -> None:
    fit_rows = rows - int(rows * validation_split)
    if rows == 0 or fit_rows < 1:
        raise InvalidDataError(
            f"model {name!r}: no rows to train on (received {rows} rows with "
            f"validation_split {validation_split}); send at least one row",
            violations=[FieldViolation("x", "no training rows")],
        )


def _untrained(name: str, version: int) -> UntrainedModelError:
    return UntrainedModelError(
        f"model {name!r} version {version} has untrained initial weights, and "
        "the request is strict; train the model first or send strict=false to "
        "receive flagged output"
    )


def _cancelled(name: str) -> KerveError:
    return TrainingCancelledError(
        f"training of model {name!r} was cancelled; the model keeps its "
        "previous state and version"
    )


def _notice(
    entry: ModelEntry, version: Version, outputs: np.ndarray, finite: bool
) -> str:
    if not version.trained:
        training = (
            " A training run is in progress." if entry.state is State.TRAINING else ""
        )
        return (
            f"UNTRAINED: model {entry.name!r} version {version.number} has its "
            "initial weights, so these outputs say nothing about any data. "
            f"Train the model before using them.{training}"
        )
    if not finite:
        bad = int((~np.isfinite(outputs)).sum())
        return (
            f"NOT MEANINGFUL: model {entry.name!r} version {version.number} is "
            f"trained, but {bad} output value(s) are NaN or Inf."
        )
    notice = f"Model {entry.name!r} version {version.number} is trained."
    if entry.state is State.TRAINING:
        notice += " A newer training run is in progress."
    elif entry.state is State.FAILED:
        notice += " Its last training run failed; this is the version before it."
    return notice
