"""In-process measurements: compute ceilings, path crossovers and model.fit.

Run as ``python -m bench.compute [--tensorflow-threads N] ceiling|crossover|fit``;
each prints one JSON object. ``--tensorflow-threads 0`` keeps TensorFlow's
default pools (all cores). These are the references that the served figures
are compared with, so they run in a process of their own, with no server.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

SEED_LAYERS: list[dict[str, Any]] = [{"units": 10, "activation": "relu"}, {"units": 1}]
MEDIUM_LAYERS: list[dict[str, Any]] = [
    {"units": 256, "activation": "relu"},
    {"units": 256, "activation": "relu"},
    {"units": 1},
]
LARGE_LAYERS: list[dict[str, Any]] = [
    {"units": 1024, "activation": "relu"},
    {"units": 1024, "activation": "relu"},
    {"units": 1},
]
BATCH_SIZES = (1, 32, 128, 256, 512, 1024, 2048, 4096)
MEASURE_SECONDS = 0.4


def spec_of(features: int, layers: list[dict[str, Any]]) -> Any:
    """Return the Kerve ModelSpec of a Dense stack on ``features`` inputs."""
    from kerve_server.specs import ModelSpec

    return ModelSpec.model_validate(
        {
            "input_shape": [features],
            "layers": [{"type": "dense", **layer} for layer in layers],
            "seed": 0,
        }
    )


def seconds_per_call(function: Callable[[], object]) -> float:
    """Return the mean time of one call, over about MEASURE_SECONDS."""
    function()
    calls = 0
    started = time.perf_counter()
    while time.perf_counter() - started < MEASURE_SECONDS or calls < 3:
        function()
        calls += 1
    return (time.perf_counter() - started) / calls


class Passes:
    """The numpy pass, the traced function and model.predict of one model."""

    def __init__(self, features: int, layers: list[dict[str, Any]]) -> None:
        import tensorflow as tf

        from kerve_server import engine
        from kerve_server.engine.forward import DenseForward

        self.spec = spec_of(features, layers)
        weights = engine.initial_weights(self.spec, seed=0)
        self.model = engine.build_model(self.spec, seed=0)
        self.model.set_weights(weights)
        self.numpy = DenseForward(self.spec.layers, weights)
        signature = tf.TensorSpec((None, features), tf.float32)
        self.function = tf.function(
            lambda x: self.model(x, training=False),
            input_signature=[signature],
            autograph=False,
        )
        self.features = features

    def inputs(self, rows: int) -> np.ndarray:
        generator = np.random.default_rng(rows)
        return generator.standard_normal((rows, self.features), dtype=np.float32)

    def tensorflow(self, x: np.ndarray) -> np.ndarray:
        outputs: np.ndarray = self.function(x).numpy()
        return outputs


def blas_limit(threads: int) -> Any:
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    return threadpool_limits(limits=threads, user_api="blas")


def measure_ceiling() -> dict[str, Any]:
    """Rows/s of every in-process way to run the medium model, and the best."""
    passes = Passes(64, MEDIUM_LAYERS)
    figures: list[dict[str, Any]] = []
    for rows in BATCH_SIZES[1:]:
        x = passes.inputs(rows)
        candidates: dict[str, Callable[[], object]] = {
            "tf.function": functools.partial(passes.tensorflow, x),
            "numpy, BLAS default threads": functools.partial(passes.numpy, x),
        }
        for method, function in candidates.items():
            figures.append(_rate(method, rows, function))
        with blas_limit(1):
            single = functools.partial(passes.numpy, x)
            figures.append(_rate("numpy, 1 BLAS thread", rows, single))
    x = passes.inputs(4096)
    figures.append(
        _rate("model.predict", 4096, lambda: passes.model.predict(x, verbose=0))
    )
    best = max(figures, key=lambda figure: figure["rows_per_second"])
    return {"figures": figures, "best": best}


def measure_crossover() -> dict[str, Any]:
    """Time numpy and TensorFlow per batch, and a thread-pool round trip."""
    import tensorflow as tf

    models = {
        "seed (71 parameters)": Passes(5, SEED_LAYERS),
        "medium (82,689 parameters)": Passes(64, MEDIUM_LAYERS),
        "large (1,575,937 parameters)": Passes(512, LARGE_LAYERS),
    }
    figures = []
    with blas_limit(1):
        for label, passes in models.items():
            macs = passes.spec.parameter_count
            for rows in BATCH_SIZES:
                x = passes.inputs(rows)
                numpy_seconds = seconds_per_call(functools.partial(passes.numpy, x))
                tf_seconds = seconds_per_call(functools.partial(passes.tensorflow, x))
                figures.append(
                    {
                        "model": label,
                        "rows": rows,
                        "macs": rows * macs,
                        "numpy_us": numpy_seconds * 1e6,
                        "tensorflow_us": tf_seconds * 1e6,
                    }
                )
    return {
        "tensorflow_intra_op_threads": (
            tf.config.threading.get_intra_op_parallelism_threads()
        ),
        "figures": figures,
        "pool_round_trip_us": _pool_round_trip() * 1e6,
    }


def _pool_round_trip() -> float:
    """Return the time of one await of run_in_executor on an empty function."""

    async def trips() -> float:
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(max_workers=2) as pool:
            await loop.run_in_executor(pool, int)
            calls = 2000
            started = time.perf_counter()
            for _ in range(calls):
                await loop.run_in_executor(pool, int)
            return (time.perf_counter() - started) / calls

    return asyncio.run(trips())


def measure_fit(samples: int, epochs: int, repeats: int) -> dict[str, Any]:
    """Time building, compiling and fitting the seed model, as Kerve's Train does."""
    from kerve_server import engine
    from kerve_server.engine.scoring import make_loss, make_metrics

    spec = spec_of(5, SEED_LAYERS)
    generator = np.random.default_rng(0)
    x = generator.standard_normal((samples, 5), dtype=np.float32)
    y = x.sum(axis=1, keepdims=True)
    durations = []
    for _ in range(repeats):
        import keras

        started = time.perf_counter()
        model = engine.build_model(spec, seed=0)
        model.compile(
            optimizer=keras.optimizers.Adam(),
            loss=make_loss(spec.compile.loss),
            metrics=make_metrics(spec.compile),
        )
        model.fit(x, y, epochs=epochs, batch_size=32, verbose=0, shuffle=True)
        durations.append(time.perf_counter() - started)
    return {
        "samples": samples,
        "epochs": epochs,
        "seconds": durations,
        "median_seconds": statistics.median(durations),
    }


def _rate(method: str, rows: int, function: Callable[[], object]) -> dict[str, Any]:
    seconds = seconds_per_call(function)
    return {"method": method, "rows": rows, "rows_per_second": rows / seconds}


def main(argv: list[str] | None = None) -> int:
    """Run one measurement and print it as JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.compute")
    parser.add_argument(
        "--tensorflow-threads",
        type=int,
        default=0,
        help="size of TensorFlow's thread pools; 0 keeps TensorFlow's default",
    )
    parser.add_argument("--samples", type=int, default=100, help="rows for fit")
    parser.add_argument("--epochs", type=int, default=100, help="epochs for fit")
    parser.add_argument("--repeats", type=int, default=3, help="fits to time")
    parser.add_argument("measurement", choices=["ceiling", "crossover", "fit"])
    options = parser.parse_args(argv)

    from kerve_server.engine import backend  # noqa: F401  (before TensorFlow)

    if options.tensorflow_threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(options.tensorflow_threads)
        tf.config.threading.set_inter_op_parallelism_threads(options.tensorflow_threads)
    if options.measurement == "ceiling":
        result = measure_ceiling()
    elif options.measurement == "crossover":
        result = measure_crossover()
    else:
        result = measure_fit(options.samples, options.epochs, options.repeats)
    json.dump(result, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
