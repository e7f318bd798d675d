"""The benchmark scenarios: each starts its servers and returns its figures.

Every server and every load generator is a separate process on 127.0.0.1.
Throughput points of servers that are compared with each other run in
alternating rounds, so that a change in the machine's other load during the
run affects them alike.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import numpy as np

import kerve
from bench import servers
from kerve.v1 import kerve_pb2, kerve_pb2_grpc

CONCURRENCY = (1, 8, 64)
SEED_SPEC = kerve.ModelSpec(
    input_shape=(5,),
    layers=[kerve.Dense(10, activation="relu"), kerve.Dense(1)],
    seed=0,
)
MEDIUM_SPEC = kerve.ModelSpec(
    input_shape=(64,),
    layers=[
        kerve.Dense(256, activation="relu"),
        kerve.Dense(256, activation="relu"),
        kerve.Dense(1),
    ],
    seed=0,
)
MEDIUM_ROWS = 32
# Kerve's default --tensorflow-threads: half the cores, at least 1.
SERVER_THREADS = str(max(1, (os.cpu_count() or 1) // 2))
LOAD_TIMEOUT_SECONDS = 300.0
PUBLISHED = re.compile(r"published after \d+ epochs in ([\d.]+) s")


@dataclass(frozen=True)
class Target:
    """One server, model and request shape to put load on."""

    label: str
    server: servers.Server
    model: str
    features: int
    rows: int = 1


@dataclass
class Point:
    """The merged figures of one target at one concurrency."""

    label: str
    concurrency: int
    requests: int = 0
    errors: int = 0
    first_error: str = ""
    seconds: float = 0.0
    rows: int = 1
    server_cpu_seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list, repr=False)

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def rows_per_second(self) -> float:
        return self.requests_per_second * self.rows

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        return float(np.percentile(self.latencies_ms, q))

    @property
    def server_cpu_us_per_request(self) -> float:
        return 1e6 * self.server_cpu_seconds / self.requests if self.requests else 0.0

    def summary(self) -> dict[str, Any]:
        """Return the figures of the point, without the raw latencies."""
        return {
            "label": self.label,
            "concurrency": self.concurrency,
            "requests": self.requests,
            "errors": self.errors,
            "first_error": self.first_error,
            "seconds": self.seconds,
            "requests_per_second": self.requests_per_second,
            "rows_per_second": self.rows_per_second,
            "p50_ms": self.percentile(50),
            "p99_ms": self.percentile(99),
            "server_cpu_us_per_request": self.server_cpu_us_per_request,
        }


def run_load(
    target: Target,
    *,
    concurrency: int,
    duration: float,
    warmup: float = 0.5,
    max_requests: int | None = None,
) -> dict[str, Any]:
    """Run ``python -m bench.load`` against ``target`` and return its JSON."""
    command = [
        sys.executable,
        "-m",
        "bench.load",
        "--address",
        target.server.address,
        "--model",
        target.model,
        "--rows",
        str(target.rows),
        "--features",
        str(target.features),
        "--concurrency",
        str(concurrency),
        "--duration",
        str(duration),
        "--warmup",
        str(warmup),
        "--latencies",
    ]
    if max_requests is not None:
        command += ["--max-requests", str(max_requests)]
    completed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=True,
        timeout=LOAD_TIMEOUT_SECONDS,
        cwd=Path(__file__).resolve().parent.parent,
    )
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def measure(
    targets: list[Target], concurrency: int, *, duration: float, rounds: int
) -> list[Point]:
    """Measure every target for ``duration`` s in total, in alternating rounds."""
    points = [Point(t.label, concurrency, rows=t.rows) for t in targets]
    for _ in range(rounds):
        for target, point in zip(targets, points, strict=True):
            cpu_before = target.server.cpu_seconds()
            result = run_load(
                target, concurrency=concurrency, duration=duration / rounds
            )
            point.server_cpu_seconds += target.server.cpu_seconds() - cpu_before
            point.requests += result["requests"]
            point.errors += result["errors"]
            point.first_error = point.first_error or result["first_error"]
            point.seconds += result["seconds"]
            point.latencies_ms += result["latencies_ms"]
    return points


def create_models(address: str, specs: dict[str, kerve.ModelSpec]) -> None:
    with kerve.Client(address, timeout=300) as client:
        for name, spec in specs.items():
            client.create_model(name, spec)


# Throughput ---------------------------------------------------------------


def throughput(work: Path, *, duration: float, rounds: int) -> dict[str, Any]:
    """Rows 1 to 4: echo, naive and Kerve on the seed and the medium model."""
    echo = servers.start("echo", ["-m", "bench.echo", "--output-units", "1"], work)
    naive = servers.start("naive", ["-m", "bench.naive"], work)
    kerve_server = servers.start_kerve("kerve", work)
    floor = servers.start_kerve("kerve-floor", work, module="bench.stack_floor")
    try:
        create_models(naive.address, {"seed": SEED_SPEC})
        create_models(kerve_server.address, {"seed": SEED_SPEC, "medium": MEDIUM_SPEC})
        seed_targets = [
            Target("echo", echo, "seed", 5),
            Target("naive", naive, "seed", 5),
            Target("kerve", kerve_server, "seed", 5),
            Target("kerve-floor", floor, "seed", 5),
        ]
        medium_targets = [
            Target("echo-medium", echo, "medium", 64, MEDIUM_ROWS),
            Target("kerve-medium", kerve_server, "medium", 64, MEDIUM_ROWS),
        ]
        points = []
        for concurrency in CONCURRENCY:
            points += measure(
                seed_targets, concurrency, duration=duration, rounds=rounds
            )
            points += measure(
                medium_targets, concurrency, duration=duration, rounds=rounds
            )
        return {"points": [p.summary() for p in points]}
    finally:
        for server in (echo, naive, kerve_server, floor):
            server.stop()


# Predict during training --------------------------------------------------


class BackgroundTraining:
    """A Train call that runs in a thread until ``stop`` cancels it."""

    def __init__(self, address: str, request: kerve_pb2.TrainRequest) -> None:
        self._channel = grpc.insecure_channel(address)
        stub = kerve_pb2_grpc.ModelsStub(self._channel)  # type: ignore[no-untyped-call]
        self._call = stub.Train(request, timeout=LOAD_TIMEOUT_SECONDS)
        self.epochs = 0
        self.started = threading.Event()
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        try:
            for response in self._call:
                if response.HasField("progress"):
                    self.epochs = response.progress.epoch
                    self.started.set()
        except grpc.RpcError:
            pass  # cancelled by stop(), or the run ended
        finally:
            self.started.set()

    def stop(self) -> int:
        """Cancel the call and return the epochs completed."""
        self._call.cancel()
        self._thread.join(timeout=60)
        self._channel.close()
        return self.epochs


def regression_request(
    name: str, *, samples: int, features: int, epochs: int
) -> kerve_pb2.TrainRequest:
    return kerve_pb2.TrainRequest(
        name=name,
        synthetic=kerve_pb2.SyntheticDataset(
            regression=kerve_pb2.MakeRegression(
                n_samples=samples, n_features=features, noise=0.1
            ),
            random_state=0,
        ),
        epochs=epochs,
    )


TRAINEES = {
    # The medium model: each step is mostly TensorFlow arithmetic.
    "medium": (MEDIUM_SPEC, 64),
    # The seed model: each step is mostly Keras's Python code, which holds
    # the GIL that the event loop needs.
    "seed-size": (SEED_SPEC, 5),
}


def during_training(work: Path, *, duration: float) -> dict[str, Any]:
    """Row 5: Predict on the seed model, idle and while another model trains."""
    kerve_server = servers.start_kerve("kerve-training", work)
    try:
        models = {"seed": SEED_SPEC}
        models.update({f"trainee-{kind}": spec for kind, (spec, _) in TRAINEES.items()})
        create_models(kerve_server.address, models)
        target = Target("kerve", kerve_server, "seed", 5)
        points = []
        for concurrency in CONCURRENCY:
            (idle,) = measure([target], concurrency, duration=duration, rounds=1)
            idle.label = "idle"
            points.append(idle.summary())
            for kind, (_, features) in TRAINEES.items():
                request = regression_request(
                    f"trainee-{kind}", samples=4000, features=features, epochs=10_000
                )
                training = BackgroundTraining(kerve_server.address, request)
                training.started.wait(timeout=120)
                (busy,) = measure([target], concurrency, duration=duration, rounds=1)
                busy.label = f"training {kind}"
                epochs = training.stop()
                points.append({**busy.summary(), "epochs_during": epochs})
        return {"points": points}
    finally:
        kerve_server.stop()


# Train RPC ----------------------------------------------------------------


def train_rpc(work: Path, *, repeats: int) -> dict[str, Any]:
    """Row 6: the Train RPC on 100 rows x 100 epochs against in-process fit.

    The runs alternate between no held-out rows, which fits the same rows as
    the in-process fit, and the server's default of 20% held out, which
    scores those rows after every epoch and gives the verdict.
    """
    samples, epochs = 100, 100
    generator = np.random.default_rng(0)
    x = generator.standard_normal((samples, 5), dtype=np.float32)
    y = x.sum(axis=1, keepdims=True)
    inline = kerve_pb2.InlineData(x=_tensor(x), y=_tensor(y))

    kerve_server = servers.start_kerve("kerve-train", work)
    durations: dict[str, list[float]] = {"none": [], "default": []}
    try:
        names = {f"fit-{i}": SEED_SPEC for i in range(2 * repeats)}
        create_models(kerve_server.address, names)
        with grpc.insecure_channel(kerve_server.address) as channel:
            stub = kerve_pb2_grpc.ModelsStub(channel)  # type: ignore[no-untyped-call]
            for index, name in enumerate(names):
                held_out = "none" if index % 2 == 0 else "default"
                request = kerve_pb2.TrainRequest(
                    name=name, inline=inline, epochs=epochs, batch_size=32
                )
                if held_out == "none":
                    request.validation_split = 0.0
                started = time.perf_counter()
                for _ in stub.Train(request, timeout=LOAD_TIMEOUT_SECONDS):
                    pass
                durations[held_out].append(time.perf_counter() - started)
    finally:
        kerve_server.stop()

    # The server logs how long model.fit itself took in each run, in the
    # order of the runs.
    all_fit_seconds = [
        float(match.group(1))
        for match in PUBLISHED.finditer(kerve_server.log_path.read_text())
    ]
    fit_seconds = all_fit_seconds[0::2]
    fit = ("--samples", str(samples), "--epochs", str(epochs))
    default_threads = compute("fit", *fit)
    server_threads = compute("fit", "--tensorflow-threads", SERVER_THREADS, *fit)

    return {
        "samples": samples,
        "epochs": epochs,
        "kerve_seconds": durations["none"],
        "kerve_median_seconds": statistics.median(durations["none"]),
        "kerve_fit_seconds": fit_seconds,
        "kerve_held_out_seconds": durations["default"],
        "kerve_held_out_median_seconds": statistics.median(durations["default"]),
        "kerve_held_out_fit_seconds": all_fit_seconds[1::2],
        "in_process_default_threads": default_threads,
        "in_process_server_threads": server_threads,
        "in_process_best_median_seconds": min(
            default_threads["median_seconds"], server_threads["median_seconds"]
        ),
    }


def _tensor(array: np.ndarray) -> kerve_pb2.Tensor:
    values = np.ascontiguousarray(array, dtype="<f4")
    return kerve_pb2.Tensor(
        shape=list(values.shape), dtype="float32", data=values.tobytes()
    )


# Memory -------------------------------------------------------------------


def memory(work: Path, *, models: int) -> dict[str, Any]:
    """Row 7: RSS over 20,000 Predict calls; RSS and time for many models."""
    result: dict[str, Any] = {}
    kerve_server = servers.start_kerve("kerve-memory", work)
    try:
        create_models(kerve_server.address, {"seed": SEED_SPEC})
        target = Target("kerve", kerve_server, "seed", 5)
        result["rss_start_mb"] = kerve_server.rss_mb()
        for calls, label in (
            (2_000, "rss_after_2000_mb"),
            (18_000, "rss_after_20000_mb"),
        ):
            run_load(target, concurrency=8, duration=120, warmup=0, max_requests=calls)
            result[label] = kerve_server.rss_mb()
    finally:
        kerve_server.stop()

    many = servers.start_kerve("kerve-many", work)
    try:
        result["models"] = models
        result["rss_empty_mb"] = many.rss_mb()
        started = time.perf_counter()
        _create_many(many.address, models)
        result["create_seconds"] = time.perf_counter() - started
        result["rss_models_mb"] = many.rss_mb()
    finally:
        many.stop()
    started = time.perf_counter()
    # The same store again: the server loads every model before it listens.
    reloaded = servers.start_kerve("kerve-many", work)
    try:
        result["load_seconds"] = time.perf_counter() - started
        result["rss_loaded_mb"] = reloaded.rss_mb()
        with kerve.Client(reloaded.address) as client:
            result["models_loaded"] = len(client.list_models())
    finally:
        reloaded.stop()
    return result


def _create_many(address: str, count: int, in_flight: int = 4) -> None:
    """Create ``count`` seed-size models, ``in_flight`` calls at a time."""
    from concurrent.futures import ThreadPoolExecutor

    with (
        kerve.Client(address, timeout=300) as client,
        ThreadPoolExecutor(in_flight) as pool,
    ):
        names = [f"m{i:05d}" for i in range(count)]
        list(pool.map(lambda name: client.create_model(name, SEED_SPEC), names))


# In-process ---------------------------------------------------------------


def compute(measurement: str, *arguments: str) -> dict[str, Any]:
    """Run ``python -m bench.compute`` in its own process; return its JSON."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.compute", *arguments, measurement],
        capture_output=True,
        text=True,
        check=True,
        timeout=LOAD_TIMEOUT_SECONDS,
        cwd=Path(__file__).resolve().parent.parent,
    )
    result: dict[str, Any] = json.loads(completed.stdout)
    return result
