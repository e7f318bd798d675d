"""The compiled inference function that serves one model version."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from kerve_server.engine.building import build_model
from kerve_server.specs import ModelSpec


class CompiledModel:
    """A model with fixed weights and a forward pass traced once.

    The function's input signature leaves the batch axis open, so every batch
    size reuses the one trace; ``model.predict`` is never called, because it
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
        # Trace now, so that the first request does not pay for it.
        self.predict(np.zeros((1, *spec.input_shape), dtype=np.float32))

    def _forward(self, inputs: tf.Tensor) -> tf.Tensor:
        return self._model(inputs, training=False)

    @property
    def keras_model(self) -> keras.Model:
        """The Keras model; callers must not change its weights."""
        return self._model

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        """Return the float32 outputs for a float32 batch of inputs."""
        outputs: np.ndarray = self._function(inputs).numpy()
        return outputs
