"""The Prometheus endpoint of a real server, scraped over HTTP after real calls.

Counters and histograms accumulate over the whole module, so each test
compares a scrape taken before its calls with one taken after them.
"""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

import kerve
from tests.servers import ServerProcess, start_server

ADMIN = "admin-token-for-metrics-tests-0123"
UNKNOWN = "no-such-model-for-metrics"
SPEC = kerve.ModelSpec(input_shape=(2,), layers=[kerve.Dense(1)], seed=0)
DATA = kerve.Regression(n_samples=20, n_features=2, random_state=0)
# About a million multiply-adds per row, so that batches go to the inference
# thread pool, where concurrent requests queue and merge.
WIDE = kerve.ModelSpec(
    input_shape=(1024,),
    layers=[kerve.Dense(1024, activation="relu"), kerve.Dense(1)],
    seed=0,
)
# Plain SGD at this rate on targets near 1000 sends the loss to Inf or NaN
# within a few epochs, so the run fails.
DIVERGING = kerve.ModelSpec(
    input_shape=(5,),
    layers=[kerve.Dense(16, activation="relu"), kerve.Dense(1)],
    optimizer="sgd",
    learning_rate=10.0,
    seed=1,
)
UNSCALED = kerve.Regression(
    n_samples=200, n_features=5, noise=10, bias=1000, random_state=0
)

Labels = tuple[tuple[str, str], ...]
Samples = dict[tuple[str, Labels], float]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def metrics_port() -> int:
    return _free_port()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, metrics_port: int
) -> Iterator[ServerProcess]:
    process = start_server(
        tmp_path_factory.mktemp("server"),
        "--metrics-port",
        str(metrics_port),
        "--admin-token",
        ADMIN,
    )
    yield process
    code = process.stop()
    assert code == 0, f"server exited with {code}; its log:\n{process.log()}"


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> Iterator[kerve.Client]:
    with kerve.Client(
        server.address, token=ADMIN, timeout=300, warn_untrained=False
    ) as connected:
        yield connected


def scrape(port: int) -> Samples:
    """Return every sample of the endpoint by name and sorted labels."""
    url = f"http://127.0.0.1:{port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """Return one sample's value, 0 if the endpoint does not have it yet."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def change(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def rpc_change(
    before: Samples, after: Samples, method: str, model: str, code: str
) -> tuple[float, float]:
    """Return how much the request counter and the duration count grew."""
    labels = {"grpc_method": method, "model": model, "grpc_code": code}
    return (
        change(before, after, "kerve_rpc_requests_total", **labels),
        change(before, after, "kerve_rpc_duration_seconds_count", **labels),
    )


def test_metrics_count_flags(
    client: kerve.Client, server: ServerProcess, metrics_port: int, name: str
) -> None:
    before = scrape(metrics_port)
    client.create_model(name, SPEC)
    client.predict(name, np.zeros((3, 2)))
    client.train(name, dataset=DATA, epochs=1)
    client.predict(name, np.zeros((2, 2)))
    verdict = client.predict(name, np.zeros((2, 2))).verdict
    after = scrape(metrics_port)
    untrained = {"untrained": "true", "verdict": "UNTRAINED"}
    trained = {"untrained": "false", "verdict": verdict.name}

    assert change(before, after, "kerve_predictions_total", **untrained) == 1
    assert change(before, after, "kerve_predictions_total", **trained) == 2
    assert change(before, after, "kerve_predicted_rows_total", **untrained) == 3
    assert change(before, after, "kerve_predicted_rows_total", **trained) == 4
    assert change(before, after, "kerve_predict_seconds_count") == 3
    assert f"Prometheus metrics on http://127.0.0.1:{metrics_port}/metrics" in (
        server.log()
    )


def test_predict_ok_and_not_found(
    client: kerve.Client, metrics_port: int, name: str
) -> None:
    client.create_model(name, SPEC)
    before = scrape(metrics_port)
    client.predict(name, np.zeros((1, 2)))
    with pytest.raises(kerve.NotFoundError):
        client.predict(UNKNOWN, np.zeros((1, 2)))
    with pytest.raises(kerve.InvalidArgumentError):
        client.predict("Not A Valid Name!", np.zeros((1, 2)))
    after = scrape(metrics_port)

    assert rpc_change(before, after, "Predict", name, "OK") == (1, 1)
    assert rpc_change(before, after, "Predict", "", "NOT_FOUND") == (1, 1)
    assert rpc_change(before, after, "Predict", "", "INVALID_ARGUMENT") == (1, 1)
    assert rpc_change(before, after, "Predict", name, "NOT_FOUND") == (0, 0)
    ok = {"grpc_method": "Predict", "model": name, "grpc_code": "OK"}
    assert change(before, after, "kerve_rpc_duration_seconds_sum", **ok) > 0


def test_unknown_names_not_labels(client: kerve.Client, metrics_port: int) -> None:
    invalid = "Invalid Name With Spaces"
    with pytest.raises(kerve.NotFoundError):
        client.get_model(UNKNOWN)
    with pytest.raises(kerve.NotFoundError):
        client.delete_model(UNKNOWN)
    with pytest.raises(kerve.NotFoundError):
        client.train(UNKNOWN, dataset=DATA, epochs=1)
    with pytest.raises(kerve.InvalidArgumentError):
        client.create_model(invalid, SPEC)
    # 120 million parameters, over the server's default maximum of 50 million.
    bad_spec = kerve.ModelSpec(input_shape=(2,), layers=[kerve.Dense(40_000_000)])
    with pytest.raises(kerve.InvalidArgumentError):
        client.create_model(UNKNOWN, bad_spec)
    samples = scrape(metrics_port)

    label_values = {label_value for _, labels in samples for _, label_value in labels}
    assert UNKNOWN not in label_values
    assert invalid not in label_values
    not_found = {"grpc_method": "GetModel", "model": "", "grpc_code": "NOT_FOUND"}
    assert value(samples, "kerve_rpc_requests_total", **not_found) >= 1


def test_streaming_rpcs_counted(
    client: kerve.Client, metrics_port: int, name: str
) -> None:
    copy = f"{name}-copy"
    client.create_model(name, SPEC)
    before = scrape(metrics_port)
    client.train(name, dataset=DATA, epochs=1)
    archive = client.export_model(name)
    client.import_model(copy, archive)
    with pytest.raises(kerve.AlreadyExistsError):
        client.import_model(copy, archive)
    client.list_models()
    client.delete_model(copy)
    after = scrape(metrics_port)

    assert rpc_change(before, after, "Train", name, "OK") == (1, 1)
    assert rpc_change(before, after, "ExportModel", name, "OK") == (1, 1)
    assert rpc_change(before, after, "ImportModel", copy, "OK") == (1, 1)
    assert rpc_change(before, after, "ImportModel", copy, "ALREADY_EXISTS") == (1, 1)
    assert rpc_change(before, after, "ListModels", "", "OK") == (1, 1)
    assert rpc_change(before, after, "DeleteModel", copy, "OK") == (1, 1)


def test_rejected_token_counted(server: ServerProcess, metrics_port: int) -> None:
    before = scrape(metrics_port)
    with (
        kerve.Client(server.address) as anonymous,
        pytest.raises(kerve.UnauthenticatedError),
    ):
        anonymous.list_models()
    after = scrape(metrics_port)

    assert rpc_change(before, after, "ListModels", "", "UNAUTHENTICATED") == (1, 1)


def test_health_not_counted(server: ServerProcess, metrics_port: int) -> None:
    with grpc.insecure_channel(server.address) as channel:
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    samples = scrape(metrics_port)

    methods = {
        dict(labels).get("grpc_method")
        for sample, labels in samples
        if sample == "kerve_rpc_requests_total"
    }
    assert "Check" not in methods
    assert "Predict" in methods


def test_training_run_duration(
    client: kerve.Client, metrics_port: int, name: str
) -> None:
    client.create_model(name, SPEC)
    before = scrape(metrics_port)
    client.train(name, dataset=DATA, epochs=2)
    after = scrape(metrics_port)
    published = {"outcome": "published"}

    assert change(before, after, "kerve_training_runs_total", **published) == 1
    assert (
        change(before, after, "kerve_training_run_duration_seconds_count", **published)
        == 1
    )
    assert (
        change(before, after, "kerve_training_run_duration_seconds_sum", **published)
        > 0
    )


def test_failed_run_counted(client: kerve.Client, metrics_port: int, name: str) -> None:
    client.create_model(name, DIVERGING)
    before = scrape(metrics_port)
    with pytest.raises(kerve.AbortedError):
        client.train(name, dataset=UNSCALED, epochs=20)
    after = scrape(metrics_port)
    failed = {"outcome": "failed"}

    assert client.get_model(name).state is kerve.State.FAILED
    assert change(before, after, "kerve_training_runs_total", **failed) == 1
    assert (
        change(before, after, "kerve_training_run_duration_seconds_count", **failed)
        == 1
    )
    assert change(before, after, "kerve_training_runs_total", outcome="published") == 0
    assert rpc_change(before, after, "Train", name, "ABORTED") == (1, 1)
    assert change(before, after, "kerve_models_by_state", state="FAILED") == 1


def test_models_by_state_follow_lifecycle(
    client: kerve.Client, metrics_port: int, name: str
) -> None:
    states = ("UNTRAINED", "TRAINING", "TRAINED", "FAILED")
    start = scrape(metrics_port)

    def counts() -> dict[str, float]:
        now = scrape(metrics_port)
        return {
            state: change(start, now, "kerve_models_by_state", state=state)
            for state in states
        } | {"total": change(start, now, "kerve_models")}

    client.create_model(name, SPEC)
    created = counts()
    client.train(name, dataset=DATA, epochs=1)
    trained = counts()
    events = client.train_stream(name, dataset=DATA, epochs=100_000)
    try:
        next(events)  # the first epoch: the run is under way
        training = counts()
        client.cancel_training(name)
        for _ in events:
            pass
    except kerve.RequestCancelledError:
        pass
    finally:
        events.close()
    cancelled = counts()
    client.reset_model(name)
    reset = counts()
    client.delete_model(name)
    deleted = counts()

    zero = dict.fromkeys(states, 0.0)
    assert created == zero | {"UNTRAINED": 1, "total": 1}
    assert trained == zero | {"TRAINED": 1, "total": 1}
    assert training == zero | {"TRAINING": 1, "total": 1}
    assert cancelled == zero | {"TRAINED": 1, "total": 1}
    assert reset == zero | {"UNTRAINED": 1, "total": 1}
    assert deleted == zero | {"total": 0}


def test_batch_histograms_observe_every_request(
    client: kerve.Client, metrics_port: int, name: str
) -> None:
    client.create_model(name, WIDE)
    generator = np.random.default_rng(0)
    batches = [
        generator.standard_normal((int(rows), 1024)).astype(np.float32)
        for rows in generator.integers(1, 6, size=64)
    ]
    before = scrape(metrics_port)
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(client.predict, name, batch) for batch in batches]
        for future in futures:
            future.result(timeout=120)
    after = scrape(metrics_port)
    rows = sum(batch.shape[0] for batch in batches)
    passes = change(before, after, "kerve_inference_batch_rows_count")

    # Each row and each request goes through exactly one forward pass, however
    # the scheduler merged them.
    assert change(before, after, "kerve_inference_batch_rows_sum") == rows
    assert change(before, after, "kerve_inference_batch_requests_sum") == 64
    assert change(before, after, "kerve_inference_batch_requests_count") == passes
    assert 1 <= passes <= 64
    assert change(before, after, "kerve_inference_queue_wait_seconds_count") == 64
    assert change(before, after, "kerve_inference_queue_wait_seconds_sum") >= 0
