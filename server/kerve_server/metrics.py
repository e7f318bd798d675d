"""Prometheus metrics of the server, served over HTTP when a port is set.

Every metric lives in prometheus_client's default registry. The transport,
the registry and the scheduler update them as things happen. The model
counts are different: ``ModelCollector`` reads them from the registry at
scrape time, so they cannot drift from it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

# Buckets in seconds from a fast Predict (under a millisecond) to a long
# training run or a WatchModel stream (half an hour).
RPC_SECONDS_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
    1800.0,
)

RPC_REQUESTS = Counter(
    "kerve_rpc_requests_total",
    "kerve.v1.Models RPCs completed, by method, model and gRPC status code. "
    "model is empty when the request names no model or a model that does not "
    "exist. Health checks and server reflection are not counted.",
    ["grpc_method", "model", "grpc_code"],
)
RPC_SECONDS = Histogram(
    "kerve_rpc_duration_seconds",
    "Time from a kerve.v1.Models RPC reaching the server to its status, in "
    "seconds, by method, model and gRPC status code; a streaming RPC counts "
    "until its stream ends. Labels as in kerve_rpc_requests_total.",
    ["grpc_method", "model", "grpc_code"],
    buckets=RPC_SECONDS_BUCKETS,
)

PREDICTIONS = Counter(
    "kerve_predictions_total",
    "Predict requests answered, by whether the weights behind them were "
    "untrained and by the verdict of the response.",
    ["untrained", "verdict"],
)
PREDICTED_ROWS = Counter(
    "kerve_predicted_rows_total",
    "Input rows predicted, by whether the weights behind them were untrained "
    "and by the verdict of the response.",
    ["untrained", "verdict"],
)
PREDICT_SECONDS = Histogram(
    "kerve_predict_seconds",
    "Time from a Predict reaching the registry to its outputs, in seconds.",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0),
)

# Powers of two, up to the batch sizes that a large --max-merged-batch-rows
# or a single large request can produce.
BATCH_ROWS_BUCKETS = tuple(float(2**power) for power in range(16))
INFERENCE_BATCH_ROWS = Histogram(
    "kerve_inference_batch_rows",
    "Rows per forward pass that the inference scheduler ran, all models; a "
    "pass runs one Predict request or several merged ones.",
    buckets=BATCH_ROWS_BUCKETS,
)
INFERENCE_BATCH_REQUESTS = Histogram(
    "kerve_inference_batch_requests",
    "Predict requests merged into one forward pass by the inference "
    "scheduler, all models.",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
INFERENCE_QUEUE_SECONDS = Histogram(
    "kerve_inference_queue_wait_seconds",
    "Time a Predict request waited in its model's queue before its forward "
    "pass started, in seconds, all models; 0 for a request that started at "
    "once.",
    buckets=(
        0.0001,
        0.0005,
        0.001,
        0.0025,
        0.005,
        0.01,
        0.025,
        0.05,
        0.1,
        0.25,
        0.5,
        1.0,
        2.5,
        5.0,
    ),
)

TRAINING_RUNS = Counter(
    "kerve_training_runs_total",
    "Training runs that ended, by outcome: published, failed or cancelled.",
    ["outcome"],
)
TRAINING_SECONDS = Histogram(
    "kerve_training_run_duration_seconds",
    "Time from the start of a training run to its end, in seconds, by "
    "outcome: published, failed or cancelled. It includes any wait for a "
    "training slot.",
    ["outcome"],
    buckets=(0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0),
)
TRAINING_NOW = Gauge("kerve_training_runs_active", "Training runs holding a slot.")

# Children of the Predict counters by (untrained, verdict): eight at most,
# looked up here without the lock and the label checks of ``labels``.
_prediction_children: dict[tuple[bool, str], tuple[Counter, Counter]] = {}


def count_prediction(*, untrained: bool, verdict: str, rows: int) -> None:
    """Count one Predict response and the rows it predicted."""
    key = (untrained, verdict)
    children = _prediction_children.get(key)
    if children is None:
        labels = {"untrained": str(untrained).lower(), "verdict": verdict}
        children = (PREDICTIONS.labels(**labels), PREDICTED_ROWS.labels(**labels))
        _prediction_children[key] = children
    requests, predicted_rows = children
    requests.inc()
    predicted_rows.inc(rows)


StateCounts = Callable[[], Mapping[str, int]]


class ModelCollector(Collector):
    """Reports ``kerve_models`` and ``kerve_models_by_state`` at scrape time.

    ``count_by_state`` returns the number of models in each lifecycle state,
    every state included, and must be safe to call from the HTTP server's
    thread. Until a source is set, the collector reports nothing.
    """

    def __init__(self) -> None:
        self.count_by_state: StateCounts | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Yield the total model count and the count per state."""
        if self.count_by_state is None:
            return
        counts = self.count_by_state()
        yield GaugeMetricFamily(
            "kerve_models", "Models in the registry.", value=sum(counts.values())
        )
        by_state = GaugeMetricFamily(
            "kerve_models_by_state",
            "Models in the registry, by lifecycle state: UNTRAINED, TRAINING, "
            "TRAINED or FAILED.",
            labels=["state"],
        )
        for state, count in counts.items():
            by_state.add_metric([state], count)
        yield by_state


MODELS = ModelCollector()
REGISTRY.register(MODELS)


def serve_metrics(
    host: str, port: int, *, count_by_state: StateCounts | None = None
) -> int:
    """Start the metrics endpoint on ``host:port``; return the bound port.

    ``count_by_state`` becomes the source of the models-per-state gauges.
    Returns 0 without starting anything when ``port`` is 0.
    """
    if port == 0:
        return 0
    MODELS.count_by_state = count_by_state
    # NOTE: the endpoint has no authentication or TLS, even when the gRPC
    # port has both; it exposes model names and counts, no weights.
    server, _ = start_http_server(port, addr=host)
    bound = int(server.server_port)
    logger.info("Prometheus metrics on http://%s:%d/metrics", host, bound)
    return bound
