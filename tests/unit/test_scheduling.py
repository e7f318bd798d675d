"""Unit tests of kerve_server.scheduling with fake predictors."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import numpy as np
import pytest

from kerve_server.errors import ResourceExhaustedError
from kerve_server.scheduling import InferenceScheduler, Predictor

T = TypeVar("T")
WAIT_SECONDS = 10.0


class FakePredictor:
    """Doubles its inputs; records every batch; can hold or fail batches."""

    def __init__(self, *, max_inline_rows: int = 0) -> None:
        self.max_inline_rows = max_inline_rows
        self.batches: list[np.ndarray] = []
        self.threads: list[str] = []
        self.started = threading.Event()
        self.gate = threading.Event()
        self.gate.set()
        self.fail_with: Exception | None = None

    def hold(self) -> None:
        """Make the next batches block until ``release``."""
        self.gate.clear()

    def release(self) -> None:
        self.gate.set()

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        self.batches.append(inputs.copy())
        self.threads.append(threading.current_thread().name)
        self.started.set()
        assert self.gate.wait(WAIT_SECONDS), "the test never released the batch"
        if self.fail_with is not None:
            raise self.fail_with
        return inputs * 2


class Resolver:
    """Resolves to the current (version, predictor) and counts the calls."""

    def __init__(self, predictor: Predictor, version: int = 1) -> None:
        self.predictor = predictor
        self.version = version
        self.calls = 0

    def __call__(self) -> tuple[int, Predictor]:
        self.calls += 1
        return self.version, self.predictor


@pytest.fixture
def scheduler() -> Iterator[InferenceScheduler[int]]:
    scheduler: InferenceScheduler[int] = InferenceScheduler(
        threads=2, max_batch_rows=8, max_queued_requests=5
    )
    yield scheduler
    scheduler.close()


def rows(count: int, start: float = 0.0) -> np.ndarray:
    """Return ``count`` distinct rows of width 3."""
    values = np.arange(start, start + 3 * count, dtype=np.float32)
    return values.reshape(count, 3)


def run(coroutine: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(asyncio.wait_for(coroutine(), WAIT_SECONDS))


async def wait_started(predictor: FakePredictor) -> None:
    """Wait until the predictor's first batch is on a pool thread."""
    assert await asyncio.to_thread(predictor.started.wait, WAIT_SECONDS)


async def settle() -> None:
    """Let every task that can run reach its next await."""
    for _ in range(5):
        await asyncio.sleep(0)


def test_idle_inline_request_never_suspends(
    scheduler: InferenceScheduler[int],
) -> None:
    predictor = FakePredictor(max_inline_rows=10)
    resolve = Resolver(predictor)
    key = object()
    inputs = rows(2)

    async def scenario() -> None:
        coroutine = scheduler.run(resolve, inputs, model="m", key=key)
        # An idle model with an inline predictor completes on the first step,
        # without yielding to the event loop once.
        with pytest.raises(StopIteration) as stopped:
            coroutine.send(None)
        outputs, version = stopped.value.value
        np.testing.assert_array_equal(outputs, inputs * 2)
        assert version == 1

    run(scenario)
    assert len(predictor.batches) == 1
    assert predictor.threads == [threading.current_thread().name]


def test_idle_pool_request_starts_at_once(
    scheduler: InferenceScheduler[int],
) -> None:
    predictor = FakePredictor()
    predictor.hold()
    key = object()

    async def scenario() -> tuple[np.ndarray, int]:
        task = asyncio.create_task(
            scheduler.run(Resolver(predictor), rows(1), model="m", key=key)
        )
        # The batch reaches the pool with no other request and no timer.
        await wait_started(predictor)
        assert not task.done()
        predictor.release()
        return await task

    outputs, version = run(scenario)
    np.testing.assert_array_equal(outputs, rows(1) * 2)
    assert version == 1
    assert predictor.threads[0].startswith("kerve-inference")


def test_requests_during_batch_merge(scheduler: InferenceScheduler[int]) -> None:
    predictor = FakePredictor()
    predictor.hold()
    key = object()
    inputs = [rows(1, 0), rows(2, 100), rows(1, 200), rows(3, 300)]

    async def scenario() -> list[tuple[np.ndarray, int]]:
        resolve = Resolver(predictor)
        first = asyncio.create_task(
            scheduler.run(resolve, inputs[0], model="m", key=key)
        )
        await wait_started(predictor)
        others = [
            asyncio.create_task(scheduler.run(resolve, x, model="m", key=key))
            for x in inputs[1:]
        ]
        await settle()
        assert scheduler.queued_requests(key) == 3
        predictor.release()
        return await asyncio.gather(first, *others)

    results = run(scenario)
    assert [batch.shape[0] for batch in predictor.batches] == [1, 6]
    np.testing.assert_array_equal(predictor.batches[1], np.concatenate(inputs[1:]))
    for x, (outputs, _) in zip(inputs, results, strict=True):
        np.testing.assert_array_equal(outputs, x * 2)
    assert scheduler.queued_requests(key) == 0


def test_merged_outputs_split_exactly(scheduler: InferenceScheduler[int]) -> None:
    predictor = FakePredictor()
    predictor.hold()
    key = object()
    inputs = [rows(2, 0), rows(1, 10), rows(0, 20), rows(3, 30), rows(2, 40)]

    async def scenario() -> list[tuple[np.ndarray, int]]:
        resolve = Resolver(predictor)
        first = asyncio.create_task(
            scheduler.run(resolve, inputs[0], model="m", key=key)
        )
        await wait_started(predictor)
        others = [
            asyncio.create_task(scheduler.run(resolve, x, model="m", key=key))
            for x in inputs[1:]
        ]
        await settle()
        predictor.release()
        return await asyncio.gather(first, *others)

    results = run(scenario)
    for x, (outputs, _) in zip(inputs, results, strict=True):
        assert outputs.shape == x.shape
        np.testing.assert_array_equal(outputs, x * 2)


def test_full_queue_rejects_at_once(scheduler: InferenceScheduler[int]) -> None:
    predictor = FakePredictor()
    predictor.hold()
    key = object()

    async def scenario() -> None:
        resolve = Resolver(predictor)
        first = asyncio.create_task(scheduler.run(resolve, rows(1), model="m", key=key))
        await wait_started(predictor)
        queued = [
            asyncio.create_task(scheduler.run(resolve, rows(1), model="m", key=key))
            for _ in range(5)
        ]
        await settle()
        with pytest.raises(ResourceExhaustedError) as rejected:
            await scheduler.run(resolve, rows(1), model="house-prices", key=key)
        message = rejected.value.message
        assert "'house-prices'" in message
        assert "max queued requests of 5" in message
        assert "--max-queued-requests" in message
        predictor.release()
        await asyncio.gather(first, *queued)

    run(scenario)
    assert [batch.shape[0] for batch in predictor.batches] == [1, 5]


def test_merged_batches_respect_row_cap(
    scheduler: InferenceScheduler[int],
) -> None:
    predictor = FakePredictor()
    predictor.hold()
    key = object()
    # The cap is 8 rows: 5 + 3 fit, 4 does not join them, and 9 runs alone.
    sizes = [5, 3, 4, 9, 2]

    async def scenario() -> list[tuple[np.ndarray, int]]:
        resolve = Resolver(predictor)
        first = asyncio.create_task(scheduler.run(resolve, rows(1), model="m", key=key))
        await wait_started(predictor)
        others = [
            asyncio.create_task(
                scheduler.run(resolve, rows(n, 10 * n), model="m", key=key)
            )
            for n in sizes
        ]
        await settle()
        predictor.release()
        return await asyncio.gather(first, *others)

    results = run(scenario)
    assert [batch.shape[0] for batch in predictor.batches] == [1, 8, 4, 9, 2]
    for n, (outputs, _) in zip(sizes, results[1:], strict=True):
        np.testing.assert_array_equal(outputs, rows(n, 10 * n) * 2)


def test_each_batch_resolves_one_version(
    scheduler: InferenceScheduler[int],
) -> None:
    predictor = FakePredictor()
    predictor.hold()
    key = object()
    resolve = Resolver(predictor, version=1)

    async def scenario() -> list[tuple[np.ndarray, int]]:
        first = asyncio.create_task(scheduler.run(resolve, rows(1), model="m", key=key))
        await wait_started(predictor)
        queued = [
            asyncio.create_task(scheduler.run(resolve, rows(1, i), model="m", key=key))
            for i in range(3)
        ]
        await settle()
        # A new version is published while the requests wait.
        resolve.version = 2
        predictor.release()
        return await asyncio.gather(first, *queued)

    results = run(scenario)
    assert [version for _, version in results] == [1, 2, 2, 2]
    assert resolve.calls == 2
    assert len(predictor.batches) == 2


def test_models_never_share_batches(scheduler: InferenceScheduler[int]) -> None:
    first_model, second_model = FakePredictor(), FakePredictor()
    first_model.hold()
    second_model.hold()
    key_one, key_two = object(), object()

    async def scenario() -> list[tuple[np.ndarray, int]]:
        resolve_a = Resolver(first_model, version=1)
        resolve_b = Resolver(second_model, version=7)
        tasks = [
            asyncio.create_task(
                scheduler.run(resolve_a, rows(1), model="a", key=key_one)
            ),
            asyncio.create_task(
                scheduler.run(resolve_b, rows(1), model="b", key=key_two)
            ),
        ]
        await wait_started(first_model)
        await wait_started(second_model)
        tasks += [
            asyncio.create_task(
                scheduler.run(resolve_a, rows(2), model="a", key=key_one)
            ),
            asyncio.create_task(
                scheduler.run(resolve_b, rows(3), model="b", key=key_two)
            ),
        ]
        await settle()
        first_model.release()
        second_model.release()
        return await asyncio.gather(*tasks)

    results = run(scenario)
    assert [batch.shape[0] for batch in first_model.batches] == [1, 2]
    assert [batch.shape[0] for batch in second_model.batches] == [1, 3]
    assert [version for _, version in results] == [1, 7, 1, 7]


def test_error_reaches_whole_batch(scheduler: InferenceScheduler[int]) -> None:
    predictor = FakePredictor()
    predictor.hold()
    key = object()
    failure = ValueError("forward pass failed")

    async def scenario() -> None:
        resolve = Resolver(predictor)
        first = asyncio.create_task(scheduler.run(resolve, rows(1), model="m", key=key))
        await wait_started(predictor)
        queued = [
            asyncio.create_task(scheduler.run(resolve, rows(1, i), model="m", key=key))
            for i in range(3)
        ]
        await settle()
        predictor.fail_with = failure
        predictor.release()
        results = await asyncio.gather(first, *queued, return_exceptions=True)
        assert results == [failure] * 4

        # The scheduler still serves the model afterwards.
        predictor.fail_with = None
        outputs, version = await scheduler.run(resolve, rows(2), model="m", key=key)
        np.testing.assert_array_equal(outputs, rows(2) * 2)
        assert version == 1

    run(scenario)
    assert [batch.shape[0] for batch in predictor.batches] == [1, 3, 2]


def test_inline_error_reaches_caller(scheduler: InferenceScheduler[int]) -> None:
    predictor = FakePredictor(max_inline_rows=10)
    predictor.fail_with = ValueError("forward pass failed")
    key = object()

    async def scenario() -> None:
        with pytest.raises(ValueError, match="forward pass failed"):
            await scheduler.run(Resolver(predictor), rows(1), model="m", key=key)
        predictor.fail_with = None
        outputs, _ = await scheduler.run(
            Resolver(predictor), rows(1), model="m", key=key
        )
        np.testing.assert_array_equal(outputs, rows(1) * 2)

    run(scenario)


def test_cancelled_request_leaves_batch(scheduler: InferenceScheduler[int]) -> None:
    predictor = FakePredictor()
    predictor.hold()
    key = object()

    async def scenario() -> tuple[np.ndarray, int]:
        resolve = Resolver(predictor)
        first = asyncio.create_task(scheduler.run(resolve, rows(1), model="m", key=key))
        await wait_started(predictor)
        cancelled = asyncio.create_task(
            scheduler.run(resolve, rows(2, 50), model="m", key=key)
        )
        waiting = asyncio.create_task(
            scheduler.run(resolve, rows(1, 90), model="m", key=key)
        )
        await settle()
        cancelled.cancel()
        await settle()
        predictor.release()
        await first
        return await waiting

    outputs, _ = run(scenario)
    np.testing.assert_array_equal(outputs, rows(1, 90) * 2)
    assert [batch.shape[0] for batch in predictor.batches] == [1, 1]


def test_queued_inline_batch_runs_on_loop(
    scheduler: InferenceScheduler[int],
) -> None:
    big = FakePredictor(max_inline_rows=2)
    big.hold()
    key = object()

    async def scenario() -> list[tuple[np.ndarray, int]]:
        resolve = Resolver(big)
        first = asyncio.create_task(scheduler.run(resolve, rows(5), model="m", key=key))
        await wait_started(big)
        small = asyncio.create_task(scheduler.run(resolve, rows(1), model="m", key=key))
        await settle()
        big.release()
        return await asyncio.gather(first, small)

    results = run(scenario)
    np.testing.assert_array_equal(results[1][0], rows(1) * 2)
    assert big.threads[0].startswith("kerve-inference")
    assert big.threads[1] == threading.current_thread().name
