"""A numpy forward pass for sequential Dense models, with Keras 3's formulas.

For a model of a few thousand weights, one call of a traced TensorFlow
function costs about half a millisecond of fixed overhead, while the same
arithmetic in numpy takes a few microseconds. ``DenseForward`` computes what
``keras.layers.Dense`` computes, in float32, with each allow-listed
activation written as Keras 3 (TensorFlow backend) defines it.
``CompiledModel`` checks it against Keras's own output before serving from it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy import special

from kerve_server.specs import DenseSpec

Activation = Callable[[np.ndarray], np.ndarray]

# keras.activations.selu uses tf.nn.selu, whose constants are these.
SELU_ALPHA = np.float32(1.6732632423543772848170429916717)
SELU_SCALE = np.float32(1.0507009873554804934193349852946)
# keras.activations.leaky_relu defaults to a slope of 0.2, unlike the
# keras.layers.LeakyReLU layer (0.3), and Dense(activation="leaky_relu")
# calls the function.
LEAKY_RELU_SLOPE = np.float32(0.2)
_SQRT_HALF = np.float32(0.7071067811865476)


def _linear(x: np.ndarray) -> np.ndarray:
    return x


def _relu(x: np.ndarray) -> np.ndarray:
    result: np.ndarray = np.maximum(x, 0, out=x)
    return result


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # expit is exact at both tails, where 1 / (1 + exp(-x)) overflows.
    result: np.ndarray = special.expit(x, out=x)
    return result


def _tanh(x: np.ndarray) -> np.ndarray:
    result: np.ndarray = np.tanh(x, out=x)
    return result


def _softmax(x: np.ndarray) -> np.ndarray:
    # Subtracting the row maximum keeps exp finite and the softmax unchanged.
    np.subtract(x, x.max(axis=-1, keepdims=True), out=x)
    np.exp(x, out=x)
    np.divide(x, x.sum(axis=-1, keepdims=True), out=x)
    return x


def _elu(x: np.ndarray) -> np.ndarray:
    # tf.nn.elu: x where x > 0, else exp(x) - 1 (alpha 1.0).
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


def _selu(x: np.ndarray) -> np.ndarray:
    negative = SELU_ALPHA * np.expm1(np.minimum(x, 0))
    return SELU_SCALE * np.where(x > 0, x, negative)


def _softplus(x: np.ndarray) -> np.ndarray:
    # log(1 + exp(x)) without overflow for large x.
    result: np.ndarray = np.logaddexp(np.float32(0), x, out=x)
    return result


def _softsign(x: np.ndarray) -> np.ndarray:
    result: np.ndarray = x / (np.abs(x) + np.float32(1))
    return result


def _gelu(x: np.ndarray) -> np.ndarray:
    # keras.activations.gelu defaults to approximate=False, which TensorFlow
    # computes as 0.5 * x * erfc(-x / sqrt(2)).
    result: np.ndarray = np.float32(0.5) * x * special.erfc(-x * _SQRT_HALF)
    return result


def _swish(x: np.ndarray) -> np.ndarray:
    result: np.ndarray = x * special.expit(x)
    return result


def _leaky_relu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, LEAKY_RELU_SLOPE * x)


ACTIVATIONS: dict[str, Activation] = {
    "linear": _linear,
    "relu": _relu,
    "sigmoid": _sigmoid,
    "tanh": _tanh,
    "softmax": _softmax,
    "elu": _elu,
    "selu": _selu,
    "softplus": _softplus,
    "softsign": _softsign,
    "gelu": _gelu,
    "swish": _swish,
    "leaky_relu": _leaky_relu,
}


class DenseForward:
    """The forward pass of a stack of Dense layers, as numpy float32 arithmetic.

    Each layer computes ``activation(inputs @ kernel + bias)`` on the last
    axis, as ``keras.layers.Dense`` does. The arrays are used as given, not
    copied, so the caller must not change them. Instances are safe to call
    from several threads.

    Raises:
        KeyError: a layer's activation is not in ``ACTIVATIONS``.
        ValueError: the number of weight arrays does not fit the layers.
    """

    def __init__(
        self, layers: Sequence[DenseSpec], weights: Sequence[np.ndarray]
    ) -> None:
        expected = sum(2 if layer.use_bias else 1 for layer in layers)
        if len(weights) != expected:
            raise ValueError(
                f"{len(layers)} Dense layers need {expected} weight arrays, "
                f"received {len(weights)}"
            )
        self._layers: list[tuple[np.ndarray, np.ndarray | None, Activation]] = []
        arrays = iter(weights)
        for layer in layers:
            kernel = next(arrays)
            bias = next(arrays) if layer.use_bias else None
            self._layers.append((kernel, bias, ACTIVATIONS[layer.activation]))

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        """Return the float32 outputs for a float32 batch of inputs.

        Overflow gives Inf and NaN without a RuntimeWarning, as TensorFlow
        does. The caller decides what a non-finite output means.
        """
        outputs = inputs
        with np.errstate(all="ignore"):
            for kernel, bias, activation in self._layers:
                # matmul returns a new array, so the in-place steps below
                # never write into the caller's inputs.
                outputs = np.matmul(outputs, kernel)
                if bias is not None:
                    np.add(outputs, bias, out=outputs)
                outputs = activation(outputs)
        return outputs


def outputs_match(
    actual: np.ndarray, expected: np.ndarray, *, tolerance: float = 1e-5
) -> bool:
    """Return whether ``actual`` equals ``expected`` within ``tolerance``.

    The test is ``|actual - expected| <= tolerance * (1 + |expected|)`` for
    every element, absolute and relative at once. NaN matches NaN, and an
    infinity matches the same infinity.
    """
    if actual.shape != expected.shape:
        return False
    with np.errstate(all="ignore"):
        return bool(
            np.allclose(
                actual, expected, rtol=tolerance, atol=tolerance, equal_nan=True
            )
        )


def max_difference(actual: np.ndarray, expected: np.ndarray) -> float:
    """Return the largest absolute difference, ignoring NaN, for log messages."""
    with np.errstate(all="ignore"):
        differences = np.abs(actual.astype(np.float64) - expected)
    finite = differences[np.isfinite(differences)]
    return float(finite.max()) if finite.size else math.nan
