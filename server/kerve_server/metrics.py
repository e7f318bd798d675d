"""Prometheus metrics of the server, served over HTTP when a port is set."""

from __future__ import annotations

import logging

from prometheus_client import Counter, Gauge, Histogram, start_http_server

logger = logging.getLogger(__name__)

PREDICTIONS = Counter(
    "kerve_predictions_total",
    "Predict requests answered, by whether the weights behind them were trained.",
    ["untrained"],
)
PREDICTED_ROWS = Counter("kerve_predicted_rows_total", "Input rows predicted.")
PREDICT_SECONDS = Histogram(
    "kerve_predict_seconds",
    "Time from a Predict reaching the registry to its outputs, in seconds.",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0),
)
TRAINING_RUNS = Counter(
    "kerve_training_runs_total",
    "Training runs that ended, by outcome: published, failed or cancelled.",
    ["outcome"],
)
TRAINING_NOW = Gauge("kerve_training_runs_active", "Training runs holding a slot.")
MODELS = Gauge("kerve_models", "Models in the registry.")


def serve_metrics(host: str, port: int) -> int:
    """Start the metrics endpoint on ``host:port``; return the bound port.

    Returns 0 without starting anything when ``port`` is 0.
    """
    if port == 0:
        return 0
    # NOTE: the endpoint has no authentication or TLS, even when the gRPC
    # port has both; it exposes model names and counts, no weights.
    server, _ = start_http_server(port, addr=host)
    bound = int(server.server_port)
    logger.info("Prometheus metrics on http://%s:%d/metrics", host, bound)
    return bound
