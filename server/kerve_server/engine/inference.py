"""The forward passes that serve one model version: numpy or TensorFlow.

Small batches of small models run in numpy (``engine.forward``), which
costs microseconds where a call of a traced TensorFlow function costs about
half a millisecond. Larger batches run in the traced function, because
TensorFlow's kernels beat single-threaded numpy once the arithmetic
outweighs the fixed cost of a call. ``python -m bench.compute crossover``
measures both; BENCHMARKS.md records the figures behind the two limits
below.
"""

from __future__ import annotations

import logging
import math

import keras
import numpy as np
import tensorflow as tf

from kerve_server.engine.building import build_model
from kerve_server.engine.forward import DenseForward, max_difference, outputs_match
from kerve_server.specs import ModelSpec

logger = logging.getLogger(__name__)

# A batch of at most this many multiply-adds and rows runs on the event
# loop: numpy needs up to about 40 microseconds for it, less than the round
# trip to a thread of the inference pool (about 90 microseconds on an idle
# core). The row limit matters for thin layers, where the elementwise steps
# cost more than the multiply-adds.
INLINE_MAX_BATCH_MACS = 1_000_000
INLINE_MAX_ROWS = 1024
# Above this many multiply-adds per batch, the TensorFlow function runs it.
# Against TensorFlow on one thread, numpy on one thread was as fast or faster
# up to about 200 million (TensorFlow 2.21, OpenBLAS 0.3.31, 2 cores). More
# TensorFlow threads move the crossover lower. A model whose single input
# row costs more than this never uses numpy.
NUMPY_MAX_BATCH_MACS = 128_000_000
# Batches on which the numpy pass must match Keras before it serves: (rows,
# scale of the standard normal inputs).
CHECK_BATCHES = ((1, 1.0), (8, 1.0), (32, 10.0))


class CompiledModel:
    """A model with fixed weights and its forward passes, ready to serve.

    ``predict`` runs the numpy pass on batches of up to ``NUMPY_MAX_BATCH_MACS``
    multiply-adds, if that pass matched Keras's own output on random batches
    when the instance was built, and the TensorFlow function otherwise. The
    function's input signature leaves the batch axis open, so every batch
    size reuses one trace. ``model.predict`` is never called, because it
    costs tens of milliseconds of fixed overhead per call. Instances are
    immutable after construction and safe to call from several threads.
    """

    def __init__(self, spec: ModelSpec, weights: list[np.ndarray]) -> None:
        self.spec = spec
        self.weights = [np.array(w, dtype=np.float32, copy=True) for w in weights]
        for array in self.weights:
            array.flags.writeable = False
        self._model = build_model(spec, seed=0)
        self._model.set_weights(self.weights)
        signature = tf.TensorSpec((None, *spec.input_shape), tf.float32)
        self._function = tf.function(
            self._forward, input_signature=[signature], autograph=False
        )
        macs = macs_per_row(spec)
        self._numpy = self._checked_numpy_forward(macs)
        if self._numpy is None:
            self._max_numpy_rows = -1
            self._max_inline_rows = 0
            # Trace now, so that the first request does not pay for it. With
            # the numpy pass, the first batch too large for it traces.
            self.predict(np.zeros((1, *spec.input_shape), dtype=np.float32))
        else:
            self._max_numpy_rows = NUMPY_MAX_BATCH_MACS // macs
            self._max_inline_rows = min(INLINE_MAX_BATCH_MACS // macs, INLINE_MAX_ROWS)

    def _forward(self, inputs: tf.Tensor) -> tf.Tensor:
        return self._model(inputs, training=False)

    @property
    def keras_model(self) -> keras.Model:
        """The Keras model; callers must not change its weights."""
        return self._model

    @property
    def uses_numpy(self) -> bool:
        """Whether small batches run in numpy rather than TensorFlow."""
        return self._numpy is not None

    @property
    def max_inline_rows(self) -> int:
        """Largest batch, in rows, cheap enough to run on the event loop."""
        return self._max_inline_rows

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        """Return the float32 outputs for a float32 batch of inputs."""
        if self._numpy is not None and inputs.shape[0] <= self._max_numpy_rows:
            return self._numpy(inputs)
        outputs: np.ndarray = self._function(inputs).numpy()
        return outputs

    def _checked_numpy_forward(self, macs: int) -> DenseForward | None:
        """Return the numpy pass if it matches Keras on random batches."""
        if macs > NUMPY_MAX_BATCH_MACS:
            logger.debug("%d multiply-adds per row: TensorFlow path only", macs)
            return None

        forward = DenseForward(self.spec.layers, self.weights)
        generator = np.random.default_rng(0)
        max_rows = NUMPY_MAX_BATCH_MACS // macs
        batches = [
            scale
            * generator.standard_normal(
                (min(rows, max_rows), *self.spec.input_shape), dtype=np.float32
            )
            for rows, scale in CHECK_BATCHES
        ]
        # One Keras call for all batches, because each eager call costs
        # milliseconds; numpy runs each batch on its own, as when serving.
        expected = np.asarray(self._model(np.concatenate(batches), training=False))

        start = 0
        for inputs in batches:
            rows = inputs.shape[0]
            actual = forward(inputs)
            reference = expected[start : start + rows]
            start += rows
            if not outputs_match(actual, reference):
                logger.warning(
                    "the numpy forward pass differs from Keras by up to %.3g on "
                    "a batch of %d rows; this version uses TensorFlow only",
                    max_difference(actual, reference),
                    rows,
                )
                return None
        return forward


def macs_per_row(spec: ModelSpec) -> int:
    """Return the multiply-adds that one input row costs, at least 1."""
    rows_per_sample = math.prod(spec.input_shape[:-1])
    return max(1, rows_per_sample * spec.parameter_count)
