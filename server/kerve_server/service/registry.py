"""The registry: the named models that the server keeps in memory."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import math
import secrets
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from kerve_server import engine, metrics
from kerve_server.errors import (
    FailedPreconditionError,
    FieldViolation,
    InvalidArgumentError,
    InvalidDataError,
    InvalidSpecError,
    ModelExistsError,
    ModelNotFoundError,
    ResourceExhaustedError,
    ServerStoppingError,
    TrainingFailedError,
    TrainingInProgressError,
)
from kerve_server.names import validate_model_name
from kerve_server.plural import plural
from kerve_server.scheduling import InferenceScheduler, Predictor
from kerve_server.service import data as checks
from kerve_server.service.assessment import (
    NO_ROWS,
    UNTRAINED,
    HeldOutPlan,
    RowMarks,
    TrustPolicy,
    Validation,
    Verdict,
    assess_trained,
    baseline_kind,
    imported_assessment,
    mark_rows,
    plan_held_out,
    response_verdict,
)
from kerve_server.service.datasets import (
    InlineData,
    Subset,
    SyntheticDataset,
)
from kerve_server.service.entries import (
    ModelEntry,
    ModelSnapshot,
    TrainingSummary,
    Version,
    VersionRecord,
    WatchEvent,
    utc_now,
)
from kerve_server.service.evaluation import (
    EvaluationReport,
    baseline_mean,
    score_versions,
)
from kerve_server.service.lifecycle import State
from kerve_server.service.notices import (
    cancelled_error,
    deleted_error,
    non_finite_error,
    prediction_notice,
    untrained_error,
    verdict_error,
)
from kerve_server.service.persistence import MetadataError, entry_metadata, load_entry
from kerve_server.service.rows import check_training_rows, load_rows
from kerve_server.service.training import (
    TrainingData,
    TrainingOutcome,
    TrainingRequest,
    TrainingRun,
    fit_options,
)
from kerve_server.specs import (
    MAX_SEED,
    CompileSpec,
    ModelSpec,
    parse_spec,
)
from kerve_server.store import DamagedModel, ModelStore, StoreError

logger = logging.getLogger(__name__)

# Bytes of a PredictResponse besides its output values, an upper estimate.
RESPONSE_ENVELOPE_BYTES = 4096

# Events a slow watcher may fall behind before it loses the oldest.
WATCH_QUEUE_SIZE = 1000
# The last event on a watcher's queue when the server shuts down; watchers
# compare events with it by identity.
_STOPPING = WatchEvent(model=None)


@dataclass(frozen=True)
class Limits:
    """Limits that the registry enforces, taken from the server settings."""

    max_parameters: int
    max_batch_rows: int
    max_dataset_rows: int
    max_epochs: int
    max_concurrent_training: int
    inference_threads: int = 2
    keep_versions: int = 3
    max_import_bytes: int = 256 * 1024 * 1024
    max_message_bytes: int = 64 * 1024 * 1024
    max_merged_batch_rows: int = 4096
    max_queued_requests: int = 256
    tensorflow_threads: int = 1


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
    # The version's verdict, lowered when an output is NaN or Inf.
    verdict: Verdict
    validation: Validation | None
    marks: RowMarks
    # Whether the rows were checked against the training inputs' ranges.
    ranges_known: bool


class ModelRegistry:
    """Named models with their versions, lifecycle state and training runs.

    Methods must be called on one asyncio event loop; TensorFlow work runs
    on thread pools, and all state changes happen back on the loop.
    """

    def __init__(
        self,
        limits: Limits,
        store: ModelStore | None = None,
        policy: TrustPolicy | None = None,
    ) -> None:
        self._limits = limits
        self._policy = policy or TrustPolicy()
        self._store = store
        self._models: dict[str, ModelEntry] = {}
        self._creating: set[str] = set()
        self._deleting: set[str] = set()
        # Store folders that failed to load, by name, with the reason. Their
        # names stay taken until DeleteModel removes the folder.
        self._damaged: dict[str, str] = {}
        self._runs: dict[str, TrainingRun] = {}
        # Before the first TensorFlow operation, which fixes TensorFlow's
        # thread pools for the life of the process.
        engine.limit_threads(limits.tensorflow_threads)
        self._scheduler: InferenceScheduler[Version] = InferenceScheduler(
            threads=limits.inference_threads,
            max_batch_rows=limits.max_merged_batch_rows,
            max_queued_requests=limits.max_queued_requests,
        )
        self._training_executor = ThreadPoolExecutor(
            max_workers=limits.max_concurrent_training,
            thread_name_prefix="kerve-training",
        )
        self._slots_in_use = 0
        self._slot_released = asyncio.Condition()
        self._tasks: set[asyncio.Task[None]] = set()
        self._watches_ended = False

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
        self._check_name_free(name)
        seed = spec.seed if spec.seed is not None else secrets.randbelow(MAX_SEED + 1)
        self._creating.add(name)
        try:
            compiled = await asyncio.to_thread(_initial_model, spec, seed)
            now = utc_now()
            version = Version(
                number=1,
                trained=False,
                compiled=compiled,
                create_time=now,
                assessment=UNTRAINED,
            )
            entry = ModelEntry(
                name=name,
                spec=spec,
                seed=seed,
                serving=version,
                initial=version,
                create_time=now,
                update_time=now,
            )
            await self._persist_version(entry, version)
            await self._persist(entry)
        finally:
            self._creating.discard(name)
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

    def has_model(self, name: str) -> bool:
        """Return True if a model of that name is in the registry."""
        return name in self._models

    def count_by_state(self) -> dict[str, int]:
        """Return how many models are in each state, every state included.

        Safe to call from any thread, such as the metrics endpoint's.
        """
        counts = dict.fromkeys((state.value for state in State), 0)
        # list() copies the values in one C call while holding the GIL, so
        # the event loop thread cannot resize the dict during the copy. A
        # free-threaded CPython build would need a lock here.
        for entry in list(self._models.values()):
            counts[entry.state.value] += 1
        return counts

    def get(self, name: str) -> ModelSnapshot:
        """Return the model's current state.

        Raises:
            ModelNotFoundError: no model has that name.
        """
        return self._entry(name).snapshot()

    def list(self) -> list[ModelSnapshot]:
        """Return every model, ordered by name."""
        return [self._models[name].snapshot() for name in sorted(self._models)]

    async def delete(self, name: str) -> None:
        """Delete a model from the registry and the store.

        A training run of the model is cancelled. Predictions already
        running finish on the version they started with.

        Raises:
            ModelNotFoundError: no model has that name.
        """
        validate_model_name(name)
        if name not in self._models and name in self._damaged:
            await self._delete_damaged(name)
            return
        entry = self._entry(name)
        del self._models[name]
        entry.deleted = True
        run = self._runs.get(name)
        if run is not None:
            run.cancel()
            self._wake_slot_waiters()
        self._deleting.add(name)
        try:
            async with entry.lock:
                if self._store is not None:
                    await asyncio.to_thread(self._store.delete, name)
        finally:
            self._deleting.discard(name)
        self._notify_deleted(entry)
        logger.info("deleted model %s at version %d", name, entry.serving.number)

    # Predict ----------------------------------------------------------------

    async def predict(
        self,
        name: str,
        inputs: np.ndarray,
        *,
        strict: bool = False,
        min_verdict: Verdict | None = None,
    ) -> Prediction:
        """Run the model's current version on a batch.

        The scheduler may merge the batch with other requests for the same
        model. The version reported is the one that computed the outputs.

        Raises:
            ModelNotFoundError: no model has that name.
            InvalidTensorError: the inputs do not fit the model.
            ResourceExhaustedError: the batch has more rows than allowed, or
                the model's queue is full.
            UntrainedModelError: ``strict`` and the weights are untrained,
                or the response's verdict is below ``min_verdict``.
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
        self._check_output_size(name, entry.spec, rows)
        if strict and not entry.serving.trained:
            raise untrained_error(entry.name, entry.serving.number)
        if min_verdict is not None and entry.serving.assessment.verdict < min_verdict:
            serving = entry.serving
            raise verdict_error(
                name, serving, serving.assessment.verdict, min_verdict, NO_ROWS
            )

        def resolve() -> tuple[Version, Predictor]:
            # Called once per batch: a model deleted meanwhile still resolves
            # to its last version, so its queued requests complete.
            version = entry.serving
            return version, version.compiled

        with metrics.PREDICT_SECONDS.time():
            outputs, version = await self._scheduler.run(
                resolve, batch, model=name, key=entry
            )
        if strict and not version.trained:
            raise untrained_error(entry.name, version.number)
        assessment = version.assessment
        marks = mark_rows(assessment, batch, outputs, self._policy.extrapolation_margin)
        finite = not marks.non_finite.size
        if strict and not finite:
            raise non_finite_error(entry.name, version.number, outputs)
        verdict = response_verdict(assessment.verdict, marks)
        if min_verdict is not None and verdict < min_verdict:
            raise verdict_error(name, version, verdict, min_verdict, marks.non_finite)
        metrics.count_prediction(
            untrained=not version.trained, verdict=verdict.name, rows=batch.shape[0]
        )
        return Prediction(
            model=name,
            outputs=outputs,
            version=version.number,
            untrained=not version.trained,
            meaningful=version.trained and finite,
            state=entry.state,
            notice=prediction_notice(entry, version, outputs, marks),
            verdict=verdict,
            validation=assessment.validation,
            marks=marks,
            ranges_known=assessment.ranges_known,
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
        if not request.wait_for_slot and self._slots_in_use >= self._max_slots:
            raise ResourceExhaustedError(
                f"cannot train model {name!r} now: the server already runs "
                f"{self._slots_in_use} training runs, its maximum "
                "(--max-concurrent-training); retry later or send "
                "wait_for_slot=true to wait for a slot"
            )
        entry.training = True
        try:
            options = fit_options(
                entry.name, entry.spec, request, max_epochs=self._limits.max_epochs
            )
            rows = await self._training_rows(entry, request)
            check_training_rows(name, rows.x.shape[0])
            plan = await asyncio.to_thread(
                plan_held_out,
                name,
                entry.spec,
                rows.x,
                rows.y,
                validation_split=request.validation_split,
                validation_data=rows.validation,
                default_fraction=self._policy.validation_fraction,
            )
        except BaseException:
            entry.training = False
            raise
        run = TrainingRun(name)
        self._runs[name] = run
        task = asyncio.create_task(self._run(entry, run, plan, options))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return run

    def cancel_training(self, name: str) -> ModelSnapshot:
        """Ask the model's run to stop after the batch that is running.

        Raises:
            ModelNotFoundError: no model has that name.
            FailedPreconditionError: the model has no training run.
        """
        entry = self._entry(name)
        run = self._runs.get(name)
        if run is None:
            raise FailedPreconditionError(
                f"model {name!r} has no training run to cancel; its state is "
                f"{entry.state.value}"
            )
        run.cancel()
        self._wake_slot_waiters()
        logger.info("model %s: training cancel requested", name)
        return entry.snapshot()

    def cancel_all(self) -> None:
        """Ask every training run to stop, for shutdown."""
        for run in self._runs.values():
            run.cancel()
        self._wake_slot_waiters()

    def _wake_slot_waiters(self) -> None:
        async def notify() -> None:
            async with self._slot_released:
                self._slot_released.notify_all()

        task = asyncio.get_running_loop().create_task(notify())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def _max_slots(self) -> int:
        return self._limits.max_concurrent_training

    async def _acquire_slot(self, run: TrainingRun) -> bool:
        """Wait for a training slot; return False if the run was cancelled."""
        async with self._slot_released:
            if self._slots_in_use >= self._max_slots:
                logger.info(
                    "model %s: training run waits for a slot; %d of %d in use",
                    run.model,
                    self._slots_in_use,
                    self._max_slots,
                )
            while self._slots_in_use >= self._max_slots:
                await self._slot_released.wait()
                if run.cancel_requested.is_set():
                    return False
            self._slots_in_use += 1
            metrics.TRAINING_NOW.set(self._slots_in_use)
            return True

    async def _release_slot(self) -> None:
        async with self._slot_released:
            self._slots_in_use -= 1
            metrics.TRAINING_NOW.set(self._slots_in_use)
            self._slot_released.notify_all()

    async def _run(
        self,
        entry: ModelEntry,
        run: TrainingRun,
        rows: HeldOutPlan,
        options: engine.FitOptions,
    ) -> None:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        acquired = False
        try:
            acquired = await self._acquire_slot(run)
            if not acquired or run.cancel_requested.is_set() or entry.deleted:
                logger.info(
                    "model %s: training run cancelled before it started; "
                    "state stays %s, version %d",
                    entry.name,
                    entry.state.value,
                    entry.serving.number,
                )
                run.finish(cancelled_error(entry.name))
                return
            async with entry.lock:
                await self._fit_and_publish(loop, entry, run, rows, options)
        except Exception:
            # A bug or an unexpected Keras error: the model keeps its
            # weights and the caller gets a generic message.
            reason = "training failed with an internal error; see the server log"
            if entry.deleted:
                logger.exception(
                    "model %s: training run failed with an unexpected error "
                    "after the model was deleted",
                    entry.name,
                )
            else:
                logger.exception(
                    "model %s: training run failed with an unexpected error; "
                    "state %s -> FAILED, still serving version %d",
                    entry.name,
                    entry.state.value,
                    entry.serving.number,
                )
                entry.set_state(State.FAILED, failure_reason=reason)
            run.finish(TrainingFailedError(f"model {entry.name!r}: {reason}"))
        finally:
            metrics.TRAINING_RUNS.labels(outcome=run.outcome).inc()
            metrics.TRAINING_SECONDS.labels(outcome=run.outcome).observe(
                time.perf_counter() - started
            )
            entry.training = False
            if self._runs.get(entry.name) is run:
                del self._runs[entry.name]
            if acquired:
                await self._release_slot()

    async def _fit_and_publish(
        self,
        loop: asyncio.AbstractEventLoop,
        entry: ModelEntry,
        run: TrainingRun,
        rows: HeldOutPlan,
        options: engine.FitOptions,
    ) -> None:
        previous_state, previous_reason = entry.state, entry.failure_reason
        start_version = entry.serving
        entry.set_state(State.TRAINING)
        self._notify(entry)
        logger.info(
            "model %s: state %s -> TRAINING, %d rows to fit, %d held out (%s), "
            "%d epochs, from version %d",
            entry.name,
            previous_state.value,
            rows.x.shape[0],
            0 if rows.validation_x is None else rows.validation_x.shape[0],
            rows.source,
            options.epochs,
            start_version.number,
        )

        def on_epoch(report: engine.EpochReport) -> None:
            loop.call_soon_threadsafe(self._publish_progress, entry, run, report)

        fit = functools.partial(
            engine.fit,
            entry.spec,
            start_version.compiled.weights,
            rows.x,
            rows.y,
            options,
            on_epoch=on_epoch,
            cancel=run.cancel_requested,
            validation=(
                None
                if rows.validation_x is None or rows.validation_y is None
                else (rows.validation_x, rows.validation_y)
            ),
        )
        outcome = await loop.run_in_executor(self._training_executor, fit)
        if outcome.cancelled or entry.deleted:
            if entry.deleted:
                logger.info("model %s: training stopped by its deletion", entry.name)
                run.finish(deleted_error(entry.name))
                return
            entry.set_state(previous_state, failure_reason=previous_reason)
            self._notify(entry)
            logger.info(
                "model %s: training cancelled after %.1f s; state back to %s",
                entry.name,
                outcome.duration_seconds,
                previous_state.value,
            )
            run.finish(cancelled_error(entry.name))
            return
        if outcome.failure is not None:
            entry.set_state(State.FAILED, failure_reason=outcome.failure)
            await self._persist(entry)
            self._notify(entry)
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
        assessment = await asyncio.to_thread(
            assess_trained, entry.spec, compiled, rows, self._policy
        )
        if entry.deleted or run.cancel_requested.is_set():
            if not entry.deleted:
                entry.set_state(previous_state, failure_reason=previous_reason)
                self._notify(entry)
            logger.info(
                "model %s: training cancelled after fitting, before version %d "
                "was published; state back to %s",
                entry.name,
                entry.next_version,
                entry.state.value,
            )
            run.finish(cancelled_error(entry.name))
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
        version = Version(
            number=entry.next_version,
            trained=True,
            compiled=compiled,
            create_time=now,
            assessment=assessment,
        )
        await self._persist_version(entry, version)
        published = dataclasses.replace(
            entry,
            serving=version,
            next_version=version.number + 1,
            last_training=summary,
            history=[*entry.history, summary],
            state=State.TRAINED,
            failure_reason="",
            update_time=now,
        )
        await self._persist(published)
        # Publishing is these assignments on the event loop thread, with no
        # await between them: a Predict resolves either the old version or
        # the new one.
        entry.serving = version
        entry.next_version = version.number + 1
        entry.last_training = summary
        entry.history.append(summary)
        entry.set_state(State.TRAINED)
        self._notify(entry)
        logger.info(
            "model %s: state TRAINING -> TRAINED, version %d published after "
            "%d epochs in %.1f s, final loss %.6g; %s",
            entry.name,
            entry.serving.number,
            outcome.epochs_run,
            outcome.duration_seconds,
            outcome.final_loss,
            assessment.reason,
        )
        await self._prune(entry)
        run.finish(TrainingOutcome(entry.snapshot(), summary))

    def _publish_progress(
        self, entry: ModelEntry, run: TrainingRun, report: engine.EpochReport
    ) -> None:
        run.publish(report)
        self._notify(entry, progress=report)

    # Store ------------------------------------------------------------------

    async def load(self) -> None:
        """Load every model in the store into the registry.

        A damaged model is logged and skipped; it never appears with weights
        other than its own. Call once, before serving.
        """
        if self._store is None:
            return
        store = self._store
        found = await asyncio.to_thread(store.load)
        loaded = 0
        for item in found:
            if isinstance(item, DamagedModel):
                self._damaged[item.name] = item.reason
                logger.error(
                    "skipping model %s in %s: %s", item.name, item.folder, item.reason
                )
                continue
            try:
                entry = await asyncio.to_thread(load_entry, store, item)
            except (MetadataError, StoreError, engine.ArchiveError) as exc:
                self._damaged[item.name] = str(exc)
                logger.error("skipping model %s in %s: %s", item.name, item.folder, exc)
                continue
            self._models[entry.name] = entry
            loaded += 1
            logger.info(
                "loaded model %s: state %s, version %d",
                entry.name,
                entry.state.value,
                entry.serving.number,
            )
        logger.info(
            "loaded %d of %d models from %s, skipped %d as damaged",
            loaded,
            len(found),
            store.root,
            len(found) - loaded,
        )

    async def _persist_version(self, entry: ModelEntry, version: Version) -> None:
        """Write a version's archive and record it in the entry."""
        digest = ""
        if self._store is not None:
            store = self._store

            def write() -> str:
                return store.write_archive(
                    entry.name, version.number, engine.archive_bytes(version.compiled)
                )

            digest = await asyncio.to_thread(write)
        entry.versions[version.number] = VersionRecord(
            number=version.number,
            trained=version.trained,
            create_time=version.create_time,
            sha256=digest,
            assessment=version.assessment,
        )

    async def _persist(self, entry: ModelEntry) -> None:
        """Write the entry's metadata, the step that commits a change."""
        if self._store is None:
            return
        document = entry_metadata(entry)
        await asyncio.to_thread(self._store.write_metadata, entry.name, document)

    async def _prune(self, entry: ModelEntry) -> None:
        """Forget versions beyond the ones kept: initial, current, and recent."""
        recent = sorted(entry.versions)[-self._limits.keep_versions :]
        keep = {entry.initial.number, entry.serving.number, *recent}
        dropped = [number for number in entry.versions if number not in keep]
        if not dropped:
            return
        for number in dropped:
            del entry.versions[number]
        await self._persist(entry)
        if self._store is not None:
            await asyncio.to_thread(self._store.remove_archives, entry.name, keep)

    async def _training_rows(
        self, entry: ModelEntry, request: TrainingRequest
    ) -> TrainingData:
        x, y, _ = await load_rows(entry.name, entry.spec, request.data, Subset.TRAIN)
        if request.validation_data is None:
            return TrainingData(x, y)
        try:
            validation_x, validation_y, _ = await load_rows(
                entry.name,
                entry.spec,
                request.validation_data,
                Subset.ALL,
                field="validation_data",
            )
        except InvalidArgumentError as exc:
            # The checks word their messages for the training data, so the
            # message names the field they found invalid.
            field = exc.violations[0].field if exc.violations else "validation_data"
            raise type(exc)(
                f"invalid {field}: {exc.message}", violations=exc.violations
            ) from None
        if validation_x.shape[0] == 0:
            raise InvalidDataError(
                f"model {entry.name!r}: validation_data has no rows; send at "
                "least one row or leave it unset",
                violations=[FieldViolation("validation_data.x", "no rows")],
            )
        return TrainingData(x, y, (validation_x, validation_y))

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
        x, y, train_y = await load_rows(entry.name, entry.spec, source, subset)
        if x.shape[0] == 0:
            raise InvalidDataError(
                f"model {name!r}: the evaluation data have no rows",
                violations=[FieldViolation("x", "no rows")],
            )
        mean, source_name = baseline_mean(
            entry.spec,
            train_targets=train_y,
            last_training=entry.last_training,
            evaluated_targets=y,
        )
        current, first, constant = await asyncio.to_thread(
            score_versions, entry.spec, serving, initial, x, y, mean
        )
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
            baseline_kind=baseline_kind(entry.spec),
        )

    # Reset, watch, import and export ----------------------------------------

    async def reset(self, name: str, *, seed: int | None = None) -> ModelSnapshot:
        """Re-initialize the weights and publish them as a new untrained version.

        Raises:
            ModelNotFoundError: no model has that name.
            TrainingInProgressError: the model is training.
            InvalidArgumentError: the seed is out of range.
        """
        entry = self._entry(name)
        if entry.training:
            raise TrainingInProgressError(
                f"model {name!r} is training; cancel the run before resetting it"
            )
        if seed is not None and not 0 <= seed <= MAX_SEED:
            raise InvalidArgumentError(
                f"invalid seed for model {name!r}: expected 0 to {MAX_SEED}, "
                f"received {seed}",
                violations=[FieldViolation("seed", f"must be in [0, {MAX_SEED}]")],
            )
        if seed is None:
            seed = entry.spec.seed
        if seed is None:
            seed = secrets.randbelow(MAX_SEED + 1)
        entry.training = True  # blocks a Train from starting during the reset
        try:
            async with entry.lock:
                compiled = await asyncio.to_thread(_initial_model, entry.spec, seed)
                now = utc_now()
                version = Version(
                    number=entry.next_version,
                    trained=False,
                    compiled=compiled,
                    create_time=now,
                    assessment=UNTRAINED,
                )
                await self._persist_version(entry, version)
                await self._persist(
                    dataclasses.replace(
                        entry,
                        serving=version,
                        initial=version,
                        seed=seed,
                        next_version=version.number + 1,
                        state=State.UNTRAINED,
                        failure_reason="",
                        update_time=now,
                    )
                )
                if entry.deleted:
                    raise self._not_found(name)
                previous = entry.state
                entry.serving = version
                entry.initial = version
                entry.seed = seed
                entry.next_version = version.number + 1
                entry.set_state(State.UNTRAINED)
                self._notify(entry)
                logger.info(
                    "model %s: reset, state %s -> UNTRAINED, version %d",
                    name,
                    previous.value,
                    version.number,
                )
                await self._prune(entry)
        finally:
            entry.training = False
        return entry.snapshot()

    async def watch(self, name: str) -> AsyncIterator[WatchEvent]:
        """Yield the model now, then every state change and training epoch.

        The stream ends after the model is deleted. A watcher that falls
        more than ``WATCH_QUEUE_SIZE`` events behind loses the oldest ones.

        Raises:
            ModelNotFoundError: no model has that name.
            ServerStoppingError: ``end_watches`` was called.
        """
        entry = self._entry(name)
        queue: asyncio.Queue[WatchEvent] = asyncio.Queue(maxsize=WATCH_QUEUE_SIZE)
        entry.watchers.add(queue)
        if self._watches_ended:
            _offer(queue, _STOPPING)
        try:
            yield WatchEvent(model=entry.snapshot())
            while True:
                event = await queue.get()
                if event is _STOPPING:
                    raise ServerStoppingError(
                        f"the watch of model {name!r} ended because the server "
                        "is shutting down; watch again when it is back"
                    )
                yield event
                if event.model is None:
                    return
        finally:
            entry.watchers.discard(queue)

    def end_watches(self) -> None:
        """End every watch, now and from now on, for shutdown.

        Each watcher gets the events already queued for it, then
        ``ServerStoppingError``.
        """
        self._watches_ended = True
        for entry in self._models.values():
            for queue in entry.watchers:
                _offer(queue, _STOPPING)

    def _notify(
        self, entry: ModelEntry, *, progress: engine.EpochReport | None = None
    ) -> None:
        if not entry.watchers:
            return
        snapshot = entry.snapshot()
        if progress is None:
            event = WatchEvent(model=snapshot)
        else:
            event = WatchEvent(
                model=snapshot,
                epoch=progress.epoch,
                epochs=progress.epochs,
                loss=progress.loss,
                metrics=progress.metrics,
                is_progress=True,
            )
        for queue in entry.watchers:
            _offer(queue, event)

    def _notify_deleted(self, entry: ModelEntry) -> None:
        for queue in entry.watchers:
            _offer(queue, WatchEvent(model=None))

    async def import_model(
        self,
        name: str,
        archive: bytes,
        *,
        trained: bool,
        compile_spec: CompileSpec | None,
        seed: int | None,
    ) -> ModelSnapshot:
        """Create a model from a ``.keras`` archive.

        The archive's config must describe what a spec can express; it is
        then loaded with Keras's safe mode on.

        Raises:
            InvalidNameError, ModelExistsError: as for ``create``.
            InvalidArgumentError: the archive is not a model Kerve can serve.
            ResourceExhaustedError: the archive is over the size limit.
        """
        validate_model_name(name)
        limit = self._limits.max_import_bytes
        if len(archive) > limit:
            raise ResourceExhaustedError(
                f"cannot import model {name!r}: the archive has {len(archive):,} "
                f"bytes, more than the limit of {limit:,} (--max-import-bytes)"
            )
        self._check_name_free(name)
        try:
            document = engine.spec_document_from_archive(
                archive, max_unpacked_bytes=2 * limit
            )
        except engine.ArchiveError as exc:
            raise _archive_error(name, exc) from None
        if compile_spec is not None:
            document["compile"] = compile_spec.model_dump(mode="json")
        document["seed"] = seed
        spec = parse_spec(document, model=name)
        self._check_budget(name, spec)
        if seed is None:
            seed = secrets.randbelow(MAX_SEED + 1)
        self._creating.add(name)
        try:
            try:
                weights = await asyncio.to_thread(engine.load_imported, spec, archive)
            except engine.ArchiveError as exc:
                raise _archive_error(name, exc) from None
            compiled, initial = await asyncio.to_thread(
                _imported_models, spec, weights, seed, trained
            )
            now = utc_now()
            # A trained import gets its architecture's initial weights as
            # version 1, so that Evaluate can compare against them.
            first = Version(1, False, initial, now, UNTRAINED)
            serving = (
                Version(2, True, compiled, now, imported_assessment())
                if trained
                else first
            )
            entry = ModelEntry(
                name=name,
                spec=spec,
                seed=seed,
                serving=serving,
                initial=first,
                create_time=now,
                update_time=now,
                state=State.TRAINED if trained else State.UNTRAINED,
                next_version=serving.number + 1,
            )
            await self._persist_version(entry, first)
            if serving is not first:
                await self._persist_version(entry, serving)
            await self._persist(entry)
        finally:
            self._creating.discard(name)
        self._models[name] = entry
        logger.info(
            "imported model %s: %d parameters, state %s, version %d, %d archive bytes",
            name,
            spec.parameter_count,
            entry.state.value,
            serving.number,
            len(archive),
        )
        return entry.snapshot()

    async def export_model(
        self, name: str, version: int | None = None
    ) -> tuple[ModelSnapshot, VersionRecord, bytes]:
        """Return a version of the model as ``.keras`` archive bytes.

        Raises:
            ModelNotFoundError: no model has that name, or the version is
                not kept.
        """
        entry = self._entry(name)
        number = entry.serving.number if version is None else version
        record = entry.versions.get(number)
        if record is None:
            kept = ", ".join(str(n) for n in sorted(entry.versions))
            raise ModelNotFoundError(
                f"model {name!r} has no version {number}; the kept versions are {kept}"
            )
        live = {v.number: v for v in (entry.serving, entry.initial)}.get(number)
        if live is not None:
            data = await asyncio.to_thread(engine.archive_bytes, live.compiled)
        elif self._store is not None:
            data = await asyncio.to_thread(
                self._store.read_archive, name, number, record.sha256
            )
        else:
            raise ModelNotFoundError(f"model {name!r} version {number} is not kept")
        return entry.snapshot(), record, data

    async def _delete_damaged(self, name: str) -> None:
        reason = self._damaged.pop(name)
        if self._store is not None:
            await asyncio.to_thread(self._store.delete, name)
        logger.info("deleted the damaged store folder of model %s (%s)", name, reason)

    def _check_name_free(self, name: str) -> None:
        if name in self._models or name in self._creating:
            raise ModelExistsError(
                f"model {name!r} already exists; delete it first or choose another name"
            )
        if name in self._deleting:
            raise ModelExistsError(
                f"model {name!r} is being deleted; retry when the delete returns"
            )
        if name in self._damaged:
            raise ModelExistsError(
                f"model {name!r} exists in the store but could not be loaded "
                f"({self._damaged[name]}); DeleteModel removes its folder, or "
                "repair it and restart the server"
            )

    # Shared -----------------------------------------------------------------

    def _entry(self, name: str) -> ModelEntry:
        validate_model_name(name)
        entry = self._models.get(name)
        if entry is None:
            raise self._not_found(name)
        return entry

    @staticmethod
    def _not_found(name: str) -> ModelNotFoundError:
        return ModelNotFoundError(
            f"model {name!r} not found; ListModels shows the models that exist"
        )

    def _check_output_size(self, name: str, spec: ModelSpec, rows: int) -> None:
        """Reject a batch whose outputs could not fit in one response message."""
        size = rows * math.prod(spec.output_shape) * 4 + RESPONSE_ENVELOPE_BYTES
        limit = self._limits.max_message_bytes
        if size > limit:
            most = max(
                1,
                (limit - RESPONSE_ENVELOPE_BYTES) // (math.prod(spec.output_shape) * 4),
            )
            raise ResourceExhaustedError(
                f"model {name!r}: the outputs of {plural(rows, 'row')} need about "
                f"{size:,} bytes, more than the message limit of {limit:,}; send "
                f"at most {plural(most, 'row')} per request (the client's "
                "max_rows_per_request) or raise --max-message-bytes",
                violations=[FieldViolation("inputs", "outputs too large")],
            )

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
        self.cancel_all()
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._training_executor.shutdown(wait=True, cancel_futures=True)
        self._scheduler.close()


def _initial_model(spec: ModelSpec, seed: int) -> engine.CompiledModel:
    return engine.CompiledModel(spec, engine.initial_weights(spec, seed))


def _imported_models(
    spec: ModelSpec, weights: list[np.ndarray], seed: int, trained: bool
) -> tuple[engine.CompiledModel, engine.CompiledModel]:
    compiled = engine.CompiledModel(spec, weights)
    initial = _initial_model(spec, seed) if trained else compiled
    return compiled, initial


def _archive_error(name: str, error: Exception) -> InvalidArgumentError:
    message = f"cannot import model {name!r}: {error}"
    return InvalidArgumentError(
        message, violations=[FieldViolation("chunk", str(error))]
    )


def _offer(queue: asyncio.Queue[WatchEvent], event: WatchEvent) -> None:
    """Put ``event`` on a watcher's queue, dropping its oldest if it is full."""
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(event)
