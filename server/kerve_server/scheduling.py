"""Inference scheduling: per-model batching in front of the compiled function.

Every Predict goes through ``InferenceScheduler.run``. A request for a model
with nothing queued or running starts at once: a forward pass cheap enough
for the event loop runs there, and any other runs on the inference thread
pool. Requests that arrive while a model's batch is on the pool wait in that
model's queue, and when the batch completes, the queued requests run as one
merged batch. Nothing ever waits for a timer, so an idle model adds no
latency, and a busy one merges as many requests as arrived during its last
batch.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

import numpy as np

from kerve_server import metrics
from kerve_server.errors import ResourceExhaustedError

logger = logging.getLogger(__name__)

Token = TypeVar("Token")


class Predictor(Protocol):
    """A forward pass that the scheduler can run."""

    @property
    def max_inline_rows(self) -> int:
        """Largest batch, in rows, cheap enough to run on the event loop."""
        ...

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        """Return one output row per input row, on any thread."""
        ...


Resolver = Callable[[], tuple[Token, Predictor]]


@dataclass
class _Request(Generic[Token]):
    resolve: Resolver[Token]
    inputs: np.ndarray
    future: asyncio.Future[tuple[np.ndarray, Token]]
    # perf_counter() when the request joined its model's queue; None for a
    # request that started without queueing.
    queued_at: float | None = None

    @property
    def rows(self) -> int:
        return int(self.inputs.shape[0])


@dataclass
class _ModelQueue(Generic[Token]):
    """A model with a batch on the pool, and the requests that wait for it."""

    key: object
    pending: deque[_Request[Token]] = field(default_factory=deque)


class InferenceScheduler(Generic[Token]):
    """Batches each model's Predict requests and runs them.

    ``resolve`` is called on the event loop once per batch, just before the
    batch runs, and returns the predictor with a token that identifies it
    (the model version). Every request in the batch gets that token back
    with its own rows of the outputs, so each caller reports exactly the
    version that computed them, and no batch mixes two versions.

    Requests are grouped by ``key``, compared by identity. The registry
    passes the live model's entry, so that a model deleted and created again
    under the same name never shares a batch with its predecessor. A model
    runs at most one batch at a time.
    """

    def __init__(
        self, *, threads: int, max_batch_rows: int, max_queued_requests: int
    ) -> None:
        self._executor = ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix="kerve-inference"
        )
        self._max_batch_rows = max_batch_rows
        self._max_queued_requests = max_queued_requests
        # Keyed by id(key). Each queue keeps its key alive, so no other
        # object can reuse the id while the queue exists.
        self._queues: dict[int, _ModelQueue[Token]] = {}

    async def run(
        self,
        resolve: Resolver[Token],
        inputs: np.ndarray,
        *,
        model: str,
        key: object,
    ) -> tuple[np.ndarray, Token]:
        """Return the outputs for ``inputs`` and the token of the predictor.

        Raises:
            ResourceExhaustedError: the model already has the maximum number
                of queued requests.
            Exception: whatever the predictor or ``resolve`` raised.
        """
        queue = self._queues.get(id(key))
        if queue is not None:
            return await self._enqueue(queue, resolve, inputs, model)
        token, predictor = resolve()
        if inputs.shape[0] <= predictor.max_inline_rows:
            # Nothing else of this model is queued or running, and the event
            # loop runs nothing else until this returns.
            _observe_pass(int(inputs.shape[0]), requests=1, waits=(0.0,))
            return predictor.predict(inputs), token
        queue = self._open_queue(key)
        future: asyncio.Future[tuple[np.ndarray, Token]]
        future = asyncio.get_running_loop().create_future()
        request = _Request(resolve, inputs, future)
        _observe_batch([request])
        try:
            self._submit(queue, [request], token, predictor)
        except BaseException:
            # Nothing was queued behind this request yet: close the queue so
            # that the model's next request does not wait for a batch that
            # never started.
            self._close_queue(queue)
            raise
        return await future

    def queued_requests(self, key: object) -> int:
        """Return how many requests of the model ``key`` wait for a batch."""
        queue = self._queues.get(id(key))
        return len(queue.pending) if queue is not None else 0

    def close(self) -> None:
        """Stop the thread pool after the batches that are running.

        Batches that have not started fail with RuntimeError. Passes that run
        on the event loop keep working.
        """
        self._executor.shutdown(wait=True, cancel_futures=True)

    async def _enqueue(
        self,
        queue: _ModelQueue[Token],
        resolve: Resolver[Token],
        inputs: np.ndarray,
        model: str,
    ) -> tuple[np.ndarray, Token]:
        limit = self._max_queued_requests
        if len(queue.pending) >= limit:
            raise ResourceExhaustedError(
                f"model {model!r} already has {len(queue.pending):,} Predict "
                f"requests queued, the server's max queued requests of "
                f"{limit:,}; retry later, send fewer requests at once, or "
                "raise --max-queued-requests"
            )
        future: asyncio.Future[tuple[np.ndarray, Token]]
        future = asyncio.get_running_loop().create_future()
        queue.pending.append(
            _Request(resolve, inputs, future, queued_at=time.perf_counter())
        )
        return await future

    def _open_queue(self, key: object) -> _ModelQueue[Token]:
        queue: _ModelQueue[Token] = _ModelQueue(key)
        self._queues[id(key)] = queue
        return queue

    def _close_queue(self, queue: _ModelQueue[Token]) -> None:
        self._queues.pop(id(queue.key), None)

    def _submit(
        self,
        queue: _ModelQueue[Token],
        batch: list[_Request[Token]],
        token: Token,
        predictor: Predictor,
    ) -> None:
        """Start ``batch`` on the pool. Its completion starts the next batch."""
        inputs = _merge(batch)
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, predictor.predict, inputs)
        future.add_done_callback(
            functools.partial(self._batch_done, queue, batch, token)
        )

    def _batch_done(
        self,
        queue: _ModelQueue[Token],
        batch: list[_Request[Token]],
        token: Token,
        future: asyncio.Future[np.ndarray],
    ) -> None:
        if future.cancelled():
            _fail(batch, RuntimeError("the inference thread pool was shut down"))
        elif (error := future.exception()) is not None:
            _fail(batch, error)
        else:
            _deliver(batch, future.result(), token)
        self._start_next(queue)

    def _start_next(self, queue: _ModelQueue[Token]) -> None:
        """Run the queued requests as merged batches until one goes to the pool.

        Batches cheap enough for the event loop run here, one after another.
        The first batch that needs the pool is submitted, and its completion
        calls this again. The queue closes when it is empty.
        """
        while True:
            batch = self._take_batch(queue)
            if not batch:
                self._close_queue(queue)
                return
            _observe_batch(batch)
            try:
                token, predictor = batch[0].resolve()
                rows = sum(request.rows for request in batch)
                if rows > predictor.max_inline_rows:
                    self._submit(queue, batch, token, predictor)
                    return
                outputs = predictor.predict(_merge(batch))
            except Exception as error:
                # Not swallowed: every request of the batch raises it, and
                # the next batch still runs.
                _fail(batch, error)
                continue
            _deliver(batch, outputs, token)

    def _take_batch(self, queue: _ModelQueue[Token]) -> list[_Request[Token]]:
        """Pop the oldest queued requests up to the max merged batch rows.

        A request larger than the limit on its own runs alone. Requests whose
        caller has gone (cancelled futures) are dropped.
        """
        batch: list[_Request[Token]] = []
        rows = 0
        pending = queue.pending
        while pending:
            request = pending[0]
            if request.future.done():
                pending.popleft()
                continue
            if batch and rows + request.rows > self._max_batch_rows:
                break
            batch.append(pending.popleft())
            rows += request.rows
        if len(batch) > 1:
            logger.debug("merged %d requests, %d rows", len(batch), rows)
        return batch


def _observe_batch(batch: list[_Request[Token]]) -> None:
    """Record a forward pass about to start, with its requests' queue waits."""
    now = time.perf_counter()
    _observe_pass(
        sum(request.rows for request in batch),
        requests=len(batch),
        waits=[
            0.0 if request.queued_at is None else now - request.queued_at
            for request in batch
        ],
    )


def _observe_pass(rows: int, *, requests: int, waits: Iterable[float]) -> None:
    metrics.INFERENCE_BATCH_ROWS.observe(rows)
    metrics.INFERENCE_BATCH_REQUESTS.observe(requests)
    for seconds in waits:
        metrics.INFERENCE_QUEUE_SECONDS.observe(seconds)


def _merge(batch: list[_Request[Token]]) -> np.ndarray:
    if len(batch) == 1:
        return batch[0].inputs
    return np.concatenate([request.inputs for request in batch])


def _deliver(batch: list[_Request[Token]], outputs: np.ndarray, token: Token) -> None:
    """Give each request its own rows of ``outputs``, in batch order."""
    rows = sum(request.rows for request in batch)
    if outputs.shape[0] != rows:
        _fail(
            batch,
            RuntimeError(
                f"the forward pass returned {outputs.shape[0]} rows for a batch "
                f"of {rows} rows"
            ),
        )
        return
    start = 0
    for request in batch:
        end = start + request.rows
        if not request.future.done():
            request.future.set_result((outputs[start:end], token))
        start = end


def _fail(batch: list[_Request[Token]], error: BaseException) -> None:
    for request in batch:
        if not request.future.done():
            request.future.set_exception(error)
