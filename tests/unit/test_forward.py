"""Unit tests of the numpy forward pass against Keras, and its fallback."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from kerve_server import engine
from kerve_server.engine import forward
from kerve_server.engine.inference import (
    INLINE_MAX_BATCH_MACS,
    INLINE_MAX_ROWS,
    NUMPY_MAX_BATCH_MACS,
    macs_per_row,
)
from kerve_server.specs import Activation, ModelSpec, allowed_values

ACTIVATION_NAMES = allowed_values(Activation).split(", ")
TOLERANCE = 1e-5


def dense_spec(input_shape: list[int], *layers: dict[str, Any]) -> ModelSpec:
    return ModelSpec.model_validate(
        {
            "input_shape": input_shape,
            "layers": [{"type": "dense", **layer} for layer in layers],
            "seed": 0,
        }
    )


def keras_outputs(
    spec: ModelSpec, weights: list[np.ndarray], inputs: np.ndarray
) -> np.ndarray:
    model = engine.build_model(spec, seed=0)
    model.set_weights(weights)
    return np.asarray(model(inputs, training=False))


def sample_inputs(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Return moderate rows, then rows large enough to reach the tails."""
    generator = np.random.default_rng(seed)
    moderate = 3 * generator.standard_normal((40, *shape), dtype=np.float32)
    extreme = 30 * generator.standard_normal((8, *shape), dtype=np.float32)
    return np.concatenate([moderate, extreme, np.zeros((1, *shape), np.float32)])


def assert_matches_keras(spec: ModelSpec, inputs: np.ndarray) -> None:
    weights = engine.initial_weights(spec, seed=3)
    expected = keras_outputs(spec, weights, inputs)
    actual = forward.DenseForward(spec.layers, weights)(inputs)
    assert actual.dtype == np.float32
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=TOLERANCE, atol=TOLERANCE)
    assert forward.outputs_match(actual, expected)


def test_every_allowed_activation_has_numpy_form() -> None:
    assert sorted(forward.ACTIVATIONS) == sorted(ACTIVATION_NAMES)


@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_activation_matches_keras(activation: str) -> None:
    spec = dense_spec(
        [6],
        {"units": 16, "activation": activation},
        {"units": 4, "activation": activation},
    )
    assert_matches_keras(spec, sample_inputs((6,)))


@pytest.mark.parametrize(
    "activation",
    ["gelu", "leaky_relu", "selu", "elu", "softplus", "sigmoid", "swish"],
)
def test_activation_matches_keras_function(activation: str) -> None:
    # Defaults that differ between Keras functions and layers (gelu's
    # approximate flag, leaky_relu's slope) show up on raw values.
    import keras

    values = np.linspace(-12, 12, 97, dtype=np.float32).reshape(1, -1)
    expected = np.asarray(keras.activations.get(activation)(values))
    actual = forward.ACTIVATIONS[activation](values.copy())
    np.testing.assert_allclose(actual, expected, rtol=TOLERANCE, atol=TOLERANCE)


def test_stack_of_mixed_layers_matches_keras() -> None:
    spec = dense_spec(
        [12],
        {"units": 64, "activation": "relu"},
        {"units": 32, "activation": "tanh", "use_bias": False},
        {"units": 32, "activation": "gelu"},
        {"units": 16, "activation": "selu"},
        {"units": 8, "activation": "leaky_relu"},
        {"units": 5, "activation": "softmax"},
    )
    assert_matches_keras(spec, sample_inputs((12,)))


def test_wide_layers_match_keras() -> None:
    spec = dense_spec(
        [64],
        {"units": 256, "activation": "relu"},
        {"units": 256, "activation": "relu"},
        {"units": 1},
    )
    assert_matches_keras(spec, sample_inputs((64,)))


def test_rank_three_inputs_match_keras() -> None:
    # Dense acts on the last axis: (batch, 3, 4) -> (batch, 3, units).
    spec = dense_spec(
        [3, 4],
        {"units": 7, "activation": "swish"},
        {"units": 2, "activation": "softmax"},
    )
    assert_matches_keras(spec, sample_inputs((3, 4)))


def test_empty_batch_has_output_shape() -> None:
    spec = dense_spec([5], {"units": 10, "activation": "relu"}, {"units": 2})
    weights = engine.initial_weights(spec, seed=0)
    outputs = forward.DenseForward(spec.layers, weights)(np.zeros((0, 5), np.float32))
    assert outputs.shape == (0, 2)


def test_forward_leaves_inputs_unchanged() -> None:
    spec = dense_spec([4], {"units": 4, "activation": "relu"})
    inputs = sample_inputs((4,))
    original = inputs.copy()
    forward.DenseForward(spec.layers, engine.initial_weights(spec, seed=0))(inputs)
    np.testing.assert_array_equal(inputs, original)


def test_overflow_gives_inf_without_warning() -> None:
    spec = dense_spec(
        [2],
        {
            "units": 2,
            "activation": "softplus",
            "kernel_initializer": {"name": "constant", "params": {"value": 1e6}},
        },
    )
    weights = engine.initial_weights(spec, seed=0)
    huge = np.full((1, 2), 3e38, dtype=np.float32)
    outputs = forward.DenseForward(spec.layers, weights)(huge)
    assert np.isinf(outputs).all()


def test_weight_count_is_checked() -> None:
    spec = dense_spec([5], {"units": 10}, {"units": 1})
    weights = engine.initial_weights(spec, seed=0)
    with pytest.raises(ValueError, match="need 4 weight arrays, received 3"):
        forward.DenseForward(spec.layers, weights[:3])


def test_outputs_match_tolerance() -> None:
    expected = np.array([[1.0, 100.0, np.nan, np.inf]], dtype=np.float32)
    close = expected + np.array([[5e-6, 5e-4, 0, 0]], dtype=np.float32)
    far = expected + np.array([[5e-5, 0, 0, 0]], dtype=np.float32)
    assert forward.outputs_match(close, expected)
    assert not forward.outputs_match(far, expected)
    assert not forward.outputs_match(expected[:, :2], expected)


# CompiledModel: which path serves ----------------------------------------


def test_small_model_serves_from_numpy() -> None:
    spec = dense_spec([5], {"units": 10, "activation": "relu"}, {"units": 1})
    compiled = engine.CompiledModel(spec, engine.initial_weights(spec, seed=0))
    inputs = sample_inputs((5,))
    expected = np.asarray(compiled.keras_model(inputs, training=False))

    assert compiled.uses_numpy
    assert compiled.max_inline_rows == INLINE_MAX_ROWS
    np.testing.assert_allclose(
        compiled.predict(inputs), expected, rtol=TOLERANCE, atol=TOLERANCE
    )


def test_inline_rows_follow_multiply_adds() -> None:
    spec = dense_spec([64], {"units": 256, "activation": "relu"}, {"units": 1})
    compiled = engine.CompiledModel(spec, engine.initial_weights(spec, seed=0))

    assert compiled.max_inline_rows == INLINE_MAX_BATCH_MACS // macs_per_row(spec)
    assert compiled.max_inline_rows < INLINE_MAX_ROWS


def test_large_batch_uses_tensorflow_and_matches() -> None:
    spec = dense_spec([64], {"units": 256, "activation": "relu"}, {"units": 1})
    compiled = engine.CompiledModel(spec, engine.initial_weights(spec, seed=0))
    rows = NUMPY_MAX_BATCH_MACS // macs_per_row(spec) + 1
    inputs = np.random.default_rng(1).standard_normal((rows, 64), dtype=np.float32)
    expected = np.asarray(compiled.keras_model(inputs, training=False))

    assert compiled.uses_numpy
    np.testing.assert_allclose(
        compiled.predict(inputs), expected, rtol=TOLERANCE, atol=TOLERANCE
    )


def test_large_model_keeps_tensorflow_path() -> None:
    # Each sample has enough rows of 1024 features that one input costs
    # more multiply-adds than the numpy pass may take per batch.
    per_sample_row = 1024 * 512 + 512
    sample_rows = NUMPY_MAX_BATCH_MACS // per_sample_row + 1
    spec = dense_spec([sample_rows, 1024], {"units": 512, "activation": "relu"})
    assert macs_per_row(spec) > NUMPY_MAX_BATCH_MACS
    compiled = engine.CompiledModel(spec, engine.initial_weights(spec, seed=0))
    shape = (2, sample_rows, 1024)
    inputs = np.random.default_rng(2).standard_normal(shape, np.float32)
    expected = np.asarray(compiled.keras_model(inputs, training=False))

    assert not compiled.uses_numpy
    assert compiled.max_inline_rows == 0
    np.testing.assert_allclose(
        compiled.predict(inputs), expected, rtol=TOLERANCE, atol=TOLERANCE
    )


def test_disagreeing_numpy_pass_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    def wrong_tanh(x: np.ndarray) -> np.ndarray:
        return x

    monkeypatch.setitem(forward.ACTIVATIONS, "tanh", wrong_tanh)
    spec = dense_spec([5], {"units": 10, "activation": "tanh"}, {"units": 1})
    compiled = engine.CompiledModel(spec, engine.initial_weights(spec, seed=0))
    inputs = sample_inputs((5,))
    expected = np.asarray(compiled.keras_model(inputs, training=False))

    assert not compiled.uses_numpy
    assert compiled.max_inline_rows == 0
    np.testing.assert_allclose(
        compiled.predict(inputs), expected, rtol=TOLERANCE, atol=TOLERANCE
    )
