"""Inference scheduling: where a Predict request meets the compiled function.

Every Predict goes through ``InferenceScheduler.run``, so a batching policy can
change here without touching the service or the transport.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

import numpy as np

Token = TypeVar("Token")
PredictFunction = Callable[[np.ndarray], np.ndarray]
Resolver = Callable[[], tuple[Token, PredictFunction]]


class InferenceScheduler(Generic[Token]):
    """Runs forward passes on a thread pool, off the event loop.

    ``resolve`` is called on the event loop when the pass starts and returns
    the function to run with a token that identifies it (the model version).
    The token comes back with the outputs, so the caller reports exactly the
    version that computed them.
    """

    def __init__(self, *, threads: int) -> None:
        self._executor = ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix="kerve-inference"
        )

    async def run(
        self, resolve: Resolver[Token], inputs: np.ndarray
    ) -> tuple[np.ndarray, Token]:
        """Return the outputs for ``inputs`` and the token of the function."""
        token, predict = resolve()
        loop = asyncio.get_running_loop()
        outputs = await loop.run_in_executor(self._executor, predict, inputs)
        return outputs, token

    def close(self) -> None:
        """Stop the thread pool after the passes that are running."""
        self._executor.shutdown(wait=True, cancel_futures=True)
