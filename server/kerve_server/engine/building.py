"""Building Keras models from declarative specs."""

from __future__ import annotations

import keras
import numpy as np

from kerve_server.specs import DenseSpec, InitializerSpec, ModelSpec

_SEED_MODULUS = 2**31 - 1


def build_model(spec: ModelSpec, seed: int) -> keras.Model:
    """Build the uncompiled Sequential model that ``spec`` describes.

    Every random initializer gets its own seed derived from ``seed``, so the
    same spec and seed always give the same initial weights, whatever else
    the process has built before.
    """
    layers: list[keras.Layer] = [keras.Input(shape=tuple(spec.input_shape))]
    for index, layer in enumerate(spec.layers):
        layers.append(_dense(layer, seed=(seed + 2 * index) % _SEED_MODULUS))
    return keras.Sequential(layers)


def initial_weights(spec: ModelSpec, seed: int) -> list[np.ndarray]:
    """Return the initial weights of ``spec`` with ``seed``, as numpy arrays."""
    return [
        np.asarray(w, dtype=np.float32) for w in build_model(spec, seed).get_weights()
    ]


def _dense(layer: DenseSpec, *, seed: int) -> keras.layers.Dense:
    return keras.layers.Dense(
        layer.units,
        activation=layer.activation,
        use_bias=layer.use_bias,
        kernel_initializer=_initializer(layer.kernel_initializer, seed),
        bias_initializer=_initializer(layer.bias_initializer, seed + 1),
    )


def _initializer(spec: InitializerSpec, seed: int) -> keras.initializers.Initializer:
    params = spec.resolved_params()
    match spec.name:
        case "zeros":
            return keras.initializers.Zeros()
        case "ones":
            return keras.initializers.Ones()
        case "constant":
            return keras.initializers.Constant(params["value"])
        case "random_uniform":
            return keras.initializers.RandomUniform(
                params["minval"], params["maxval"], seed=seed
            )
        case "random_normal":
            return keras.initializers.RandomNormal(
                params["mean"], params["stddev"], seed=seed
            )
        case "truncated_normal":
            return keras.initializers.TruncatedNormal(
                params["mean"], params["stddev"], seed=seed
            )
        case _:
            # The variance-scaling family: glorot, he and lecun, uniform or
            # normal, each named as in keras.initializers.get.
            initializer = keras.initializers.get(
                {"class_name": spec.name, "config": {"seed": seed}}
            )
            return initializer
