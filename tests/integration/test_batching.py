"""Concurrent Predict calls through a real server: batching keeps rows apart."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

import kerve

THREADS = 16
REQUESTS = 240
TOLERANCE = 1e-5

# Every hidden unit computes sum(x) / 1024, from a constant kernel of 2**-10
# (exact in float32) and zero biases. The output unit adds the 4 hidden
# units after relu with kernel 0.25, so the output is relu(sum(x) / 1024).
SMALL_FIXED = kerve.ModelSpec(
    input_shape=(3,),
    layers=[
        kerve.Dense(
            4,
            activation="relu",
            kernel_initializer=kerve.Initializer("constant", value=2**-10),
        ),
        kerve.Dense(1, kernel_initializer=kerve.Initializer("constant", value=0.25)),
    ],
)
# The same function of 1024 features through 1024 hidden units: about a
# million multiply-adds per row, so batches go to the inference thread pool,
# where concurrent requests merge. Batches of more than about 120 rows cost
# more than NUMPY_MAX_BATCH_MACS (kerve_server.engine.inference) and run in
# TensorFlow rather than numpy.
WIDE_FIXED = kerve.ModelSpec(
    input_shape=(1024,),
    layers=[
        kerve.Dense(
            1024,
            activation="relu",
            kernel_initializer=kerve.Initializer("constant", value=2**-10),
        ),
        kerve.Dense(1, kernel_initializer=kerve.Initializer("constant", value=2**-10)),
    ],
)


def expected_outputs(inputs: np.ndarray) -> np.ndarray:
    """Return relu(sum(x) / 1024) per row, in float64, as shape (rows, 1)."""
    sums = inputs.astype(np.float64).sum(axis=1, keepdims=True)
    return np.maximum(sums / 1024, 0)


def request_batches(features: int, seed: int) -> list[np.ndarray]:
    """Return REQUESTS batches of 1 to 5 distinct rows each."""
    generator = np.random.default_rng(seed)
    return [
        generator.standard_normal((int(size), features)).astype(np.float32)
        for size in generator.integers(1, 6, size=REQUESTS)
    ]


def predict_concurrently(
    client: kerve.Client, name: str, batches: list[np.ndarray]
) -> list[kerve.Prediction]:
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [
            pool.submit(client.predict, name, batch, warn=False) for batch in batches
        ]
        return [future.result(timeout=120) for future in futures]


def test_concurrent_small_predicts_keep_their_rows(
    client: kerve.Client, name: str
) -> None:
    client.create_model(name, SMALL_FIXED)
    batches = request_batches(3, seed=0)

    predictions = predict_concurrently(client, name, batches)

    for batch, prediction in zip(batches, predictions, strict=True):
        assert prediction.outputs.shape == (batch.shape[0], 1)
        np.testing.assert_allclose(
            prediction.outputs, expected_outputs(batch), rtol=TOLERANCE, atol=1e-7
        )
        assert prediction.version == 1
        assert prediction.untrained is True


def test_concurrent_wide_predicts_keep_their_rows(
    client: kerve.Client, name: str
) -> None:
    client.create_model(name, WIDE_FIXED)
    batches = request_batches(1024, seed=1)
    rows = np.concatenate(batches)
    singles = [client.predict(name, rows[i : i + 1], warn=False) for i in range(40)]

    predictions = predict_concurrently(client, name, batches)

    for batch, prediction in zip(batches, predictions, strict=True):
        assert prediction.outputs.shape == (batch.shape[0], 1)
        np.testing.assert_allclose(
            prediction.outputs, expected_outputs(batch), rtol=TOLERANCE, atol=1e-7
        )
        assert prediction.version == 1
    merged = np.concatenate([p.outputs for p in predictions])
    for i, single in enumerate(singles):
        np.testing.assert_allclose(
            merged[i : i + 1], single.outputs, rtol=TOLERANCE, atol=1e-7
        )


def test_batched_outputs_equal_keras_formula(client: kerve.Client, name: str) -> None:
    client.create_model(name, SMALL_FIXED)
    inputs = np.array(
        [[1.0, 2.0, 3.0], [-1.0, -2.0, -3.0], [512.0, 0.0, 512.0], [0.0, 0.0, 0.0]],
        dtype=np.float32,
    )

    prediction = client.predict(name, inputs, warn=False)

    # relu(sum / 1024): 6/1024, 0 (negative sum), 1024/1024, 0.
    expected = np.array([[6 / 1024], [0.0], [1.0], [0.0]], dtype=np.float32)
    np.testing.assert_allclose(prediction.outputs, expected, rtol=TOLERANCE, atol=0)


def test_large_batch_equals_formula(client: kerve.Client, name: str) -> None:
    client.create_model(name, WIDE_FIXED)
    inputs = np.random.default_rng(2).standard_normal((300, 1024)).astype(np.float32)

    prediction = client.predict(name, inputs, warn=False)

    np.testing.assert_allclose(
        prediction.outputs, expected_outputs(inputs), rtol=TOLERANCE, atol=1e-7
    )
