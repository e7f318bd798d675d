"""Show what Kerve is for, in three scenarios against a running server.

1. An untrained dense network returns outputs, and every response flags
   them as coming from initial weights.
2. Fixed initializers (zeros, ones) give identical outputs across calls and
   models, which look trustworthy but are still flagged.
3. Training on make_regression data lowers the test MSE, clears the flag and
   publishes a new version. A small dataset shows that trained is not the
   same as good; a large one shows a large drop.

Usage::

    python -m kerve.demo --server 127.0.0.1:50051

``scripts/demo.py`` in the repository (``make demo``) starts a local server
first and then runs the same scenarios. The demo deletes and recreates the
models it uses (names starting with ``demo-``), so it can run again against
the same server.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import sys
import time
import warnings
from collections.abc import Callable

import grpc
import numpy as np
import numpy.typing as npt
from grpc_health.v1 import health_pb2, health_pb2_grpc

import kerve

logger = logging.getLogger(__name__)

DEFAULT_WAIT_SECONDS = 10.0

UNTRAINED_MODEL = "demo-untrained"
FIXED_MODELS = ("demo-fixed-a", "demo-fixed-b")
SMALL_MODEL = "demo-regression-small"
LARGE_MODEL = "demo-regression-large"
ALL_MODELS = (UNTRAINED_MODEL, *FIXED_MODELS, SMALL_MODEL, LARGE_MODEL)


class ServerError(RuntimeError):
    """Raised when the server cannot be started or does not become ready."""


def wait_until_serving(
    target: str,
    timeout: float,
    check_process: Callable[[], None] | None = None,
) -> None:
    """Poll the gRPC health service until it reports SERVING.

    Args:
        target: The server's address, HOST:PORT.
        timeout: Seconds to wait for SERVING.
        check_process: Called before each poll. A caller that started the
            server passes a function that raises ServerError once the server
            process has exited, so the wait ends at once.

    Raises:
        ServerError: If ``check_process`` raises it or the timeout passes first.
    """
    deadline = time.monotonic() + timeout
    request = health_pb2.HealthCheckRequest(service="")
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            if check_process is not None:
                check_process()
            try:
                response = stub.Check(request, timeout=2.0)
            except grpc.RpcError as error:
                logger.debug("health check of %s failed: %s", target, error)
            else:
                if response.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            if time.monotonic() > deadline:
                raise ServerError(
                    f"no SERVING health status from {target} within {timeout:.0f} s"
                )
            time.sleep(0.5)


# Scenarios


def _section(title: str) -> None:
    print(f"\n{'=' * 78}\n{title}\n{'=' * 78}")


def _show_prediction(prediction: kerve.Prediction, count: int = 5) -> None:
    first = ", ".join(f"{value:.4f}" for value in prediction.outputs[:count, 0])
    print(f"  outputs shape : {prediction.outputs.shape}")
    print(f"  untrained     : {prediction.untrained}")
    print(f"  verdict       : {prediction.verdict.name}")
    print(f"  meaningful    : {prediction.meaningful}")
    print(f"  state         : {prediction.state.name}")
    print(f"  version       : {prediction.version}")
    print(f"  notice        : {prediction.notice}")
    print(f"  first outputs : [{first}]")


def _delete_if_present(client: kerve.Client, names: tuple[str, ...]) -> None:
    for name in names:
        with contextlib.suppress(kerve.NotFoundError):
            client.delete_model(name)
            print(f"Deleted model {name} left by an earlier run")


def dense_spec(
    kernel_initializers: tuple[str, str] = ("glorot_uniform", "glorot_uniform"),
    seed: int | None = None,
) -> kerve.ModelSpec:
    """Input(5) -> Dense(10, relu) -> Dense(1), with the given kernel initializers."""
    first, second = kernel_initializers
    layers = [
        kerve.Dense(10, activation="relu", kernel_initializer=first),
        kerve.Dense(1, kernel_initializer=second),
    ]
    return kerve.ModelSpec(5, layers, optimizer="adam", loss="mse", seed=seed)


def untrained_network(client: kerve.Client, rows: npt.NDArray[np.float32]) -> None:
    """Scenario 1: an untrained network returns outputs, and they are flagged."""
    _section("1. An untrained network returns outputs, and flags them")
    model = client.create_model(UNTRAINED_MODEL, dense_spec())
    print(
        f"Created {model.name}: Input(5) -> Dense(10, relu) -> Dense(1), "
        f"state {model.state.name}, version {model.version}, never trained."
    )
    print(f"Predicting {len(rows)} random rows:")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", kerve.UntrainedPredictionWarning)
        prediction = client.predict(UNTRAINED_MODEL, rows)
    _show_prediction(prediction)
    for warning in caught:
        print(f"The client also emitted {warning.category.__name__}: {warning.message}")
    print(
        "These numbers come from random initial weights. They look like "
        "predictions but have learned nothing from any data."
    )


def fixed_initializers(client: kerve.Client, rows: npt.NDArray[np.float32]) -> None:
    """Scenario 2: zeros and ones initializers give identical, still flagged outputs."""
    _section("2. Fixed initializers: deterministic, and still flagged")
    spec = dense_spec(kernel_initializers=("zeros", "ones"))
    outputs = []
    for name in FIXED_MODELS:
        client.create_model(name, spec)
        for _ in range(2):
            prediction = client.predict(name, rows, warn=False)
            outputs.append(prediction.outputs)
    print(
        "Two models with kernel initializer zeros in the first layer and ones in "
        "the second, each asked twice with the same rows:"
    )
    _show_prediction(prediction)
    first = outputs[0]
    same_calls = all(np.array_equal(first, other) for other in outputs[:2])
    same_calls = same_calls and np.array_equal(outputs[2], outputs[3])
    same_models = np.array_equal(first, outputs[2])
    print(f"  identical across calls  : {same_calls}")
    print(f"  identical across models : {same_models}")
    print(
        "With zero kernels and zero biases every hidden unit outputs relu(0) = 0, "
        "so every output is 0. Repeatable output is not trained output: the flag "
        f"stays on (untrained={prediction.untrained}, "
        f"meaningful={prediction.meaningful}, verdict={prediction.verdict.name})."
    )


def _train_and_compare(
    client: kerve.Client,
    name: str,
    dataset: kerve.Regression,
    epochs: int,
    batch_size: int,
) -> tuple[kerve.EvaluationReport, kerve.EvaluationReport, kerve.TrainingResult]:
    client.create_model(name, dense_spec(seed=0))
    before = client.evaluate(name, dataset=dataset)
    print(
        f"Training {name} on {dataset.n_samples} make_regression rows "
        f"({1 - dataset.test_fraction:.0%} train, {dataset.test_fraction:.0%} test), "
        f"{epochs} epochs, batch {batch_size}, adam, mse ..."
    )
    result = client.train(name, dataset=dataset, epochs=epochs, batch_size=batch_size)
    after = client.evaluate(name, dataset=dataset)
    print(
        f"  trained in {result.summary.duration.total_seconds():.1f} s, final "
        f"training MSE {result.summary.final_loss:.1f}"
    )
    print(f"  test MSE, untrained weights             : {before.current.loss:12.1f}")
    print(f"  test MSE, trained weights               : {after.current.loss:12.1f}")
    print(f"  test MSE, predicting the training mean  : {after.baseline.loss:12.1f}")
    baseline = f"{after.baseline_kind} of {after.baseline_source}"
    print(f"  {'baseline':<40}: {baseline}, {after.samples} rows evaluated")
    model = result.model
    print(f"  {f'verdict on version {model.version}':<40}: {model.verdict.name}")
    if model.assessment is not None:
        print(f"  {'reason':<40}: {model.assessment.reason}")
    return before, after, result


def untrained_versus_trained(
    client: kerve.Client, rows: npt.NDArray[np.float32]
) -> None:
    """Scenario 3: training lowers the test MSE and clears the flag."""
    _section("3. Untrained versus trained on make_regression")
    small = kerve.Regression(100, 5, noise=0.1, random_state=0, test_fraction=0.2)
    before, after, result = _train_and_compare(
        client, SMALL_MODEL, small, epochs=100, batch_size=32
    )
    ratio = after.current.loss / after.baseline.loss
    verdict = "no better than" if ratio >= 1 else f"{ratio:.0%} of"
    # The rows fitted: the train subset less the rows held out for the verdict.
    train_rows = result.summary.samples
    steps = result.summary.epochs_run * math.ceil(train_rows / 32)
    print(
        f"Trained is not the same as good: the trained test MSE is {verdict} the "
        "MSE of always predicting the training mean. The run made only "
        f"{steps} small optimizer steps on {train_rows} rows."
    )

    print()
    large = kerve.Regression(10_000, 5, noise=0.1, random_state=0, test_fraction=0.2)
    before, after, _ = _train_and_compare(
        client, LARGE_MODEL, large, epochs=10, batch_size=32
    )
    drop = 1 - after.current.loss / before.current.loss
    print(f"With 100 times more rows, training cut the test MSE by {drop:.1%}.")

    prediction = client.predict(LARGE_MODEL, rows)
    print("Predicting the random rows with the trained model:")
    _show_prediction(prediction)
    print(
        f"The flag is off and the version advanced from {before.version} to "
        f"{prediction.version}."
    )


def run_scenarios(target: str) -> None:
    """Run the three scenarios against the server at ``target``."""
    rows = np.random.default_rng(0).normal(size=(100, 5)).astype(np.float32)
    with kerve.Client(target, timeout=120.0) as client:
        _delete_if_present(client, ALL_MODELS)
        untrained_network(client, rows)
        fixed_initializers(client, rows)
        untrained_versus_trained(client, rows)


def positive_seconds(text: str) -> float:
    """Parse a ``--wait-seconds`` value: a finite number greater than 0."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number of seconds, received {text!r}"
        ) from None
    if not (math.isfinite(seconds) and seconds > 0):
        raise argparse.ArgumentTypeError(
            f"expected a finite number of seconds greater than 0, received {text!r}"
        )
    return seconds


def main(argv: list[str] | None = None) -> int:
    """Run the demo against a running server and return the process exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m kerve.demo", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--server",
        metavar="HOST:PORT",
        required=True,
        help="Address of the running Kerve server, for example 127.0.0.1:50051.",
    )
    parser.add_argument(
        "--wait-seconds",
        metavar="S",
        type=positive_seconds,
        default=DEFAULT_WAIT_SECONDS,
        help=(
            "Seconds to wait for the server's health status to become SERVING "
            "(default: %(default)s)."
        ),
    )
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    try:
        wait_until_serving(arguments.server, arguments.wait_seconds)
        run_scenarios(arguments.server)
    except (ServerError, kerve.KerveError) as error:
        print(f"demo failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
