"""The Prometheus endpoint counts predictions by flag and training outcomes."""

from __future__ import annotations

import socket
import urllib.request
from pathlib import Path

import numpy as np

import kerve
from tests.servers import start_server


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _sample(text: str, series: str) -> float:
    """Return the value of one series, named with its labels if it has any."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{series} not in the metrics:\n{text}")


def test_metrics_count_flags(tmp_path: Path) -> None:
    port = _free_port()
    server = start_server(tmp_path, "--metrics-port", str(port))
    spec = kerve.ModelSpec(input_shape=(2,), layers=[kerve.Dense(1)], seed=0)
    data = kerve.Regression(n_samples=20, n_features=2, random_state=0)
    try:
        with kerve.Client(server.address, warn_untrained=False) as client:
            client.create_model("counted", spec)
            client.predict("counted", np.zeros((3, 2)))
            client.train("counted", dataset=data, epochs=1)
            client.predict("counted", np.zeros((2, 2)))
            client.predict("counted", np.zeros((2, 2)))
        url = f"http://127.0.0.1:{port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
    finally:
        server.stop()

    assert _sample(text, 'kerve_predictions_total{untrained="true"}') == 1
    assert _sample(text, 'kerve_predictions_total{untrained="false"}') == 2
    assert _sample(text, "kerve_predicted_rows_total") == 7
    assert _sample(text, 'kerve_training_runs_total{outcome="published"}') == 1
    assert _sample(text, "kerve_models") == 1
    assert f"Prometheus metrics on http://127.0.0.1:{port}/metrics" in server.log()
