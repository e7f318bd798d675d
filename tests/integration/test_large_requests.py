"""Batches larger than the message size limit: split, or rejected with the fix.

The server accepts messages up to 1 MiB and batches up to 100,000 rows. The
model sums its four inputs (kernel of ones, zero bias), so every output is
known exactly and shows whether the parts came back whole and in order.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import kerve
from tests.servers import ServerProcess, start_server

MAX_MESSAGE = 1024 * 1024
MAX_BATCH_ROWS = 100_000
# 4 MiB of float32 rows of 4 values.
ROWS = 4 * MAX_MESSAGE // 16
SUM = kerve.ModelSpec(
    input_shape=(4,),
    layers=[kerve.Dense(1, kernel_initializer="ones", bias_initializer="zeros")],
)
NARROW = kerve.ModelSpec(
    input_shape=(1,),
    layers=[kerve.Dense(1, kernel_initializer="ones", bias_initializer="zeros")],
)


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(
        tmp_path_factory.mktemp("large"),
        "--max-message-bytes", str(MAX_MESSAGE),
        "--max-batch-rows", str(MAX_BATCH_ROWS),
    )  # fmt: skip
    with kerve.Client(server.address, timeout=60) as client:
        client.create_model("sum", SUM)
        client.create_model("narrow", NARROW)
        archive = client.export_model("sum")
        client.import_model("sum-trained", archive, state=kerve.State.TRAINED)
    yield server
    code = server.stop()
    assert code == 0, f"server exited with {code}; its log:\n{server.log()}"


def numbered_rows(count: int) -> np.ndarray:
    """Rows [i, 1, 2, 3], whose sums i + 6 are exact in float32."""
    rows = np.tile(np.arange(4, dtype=np.float32), (count, 1))
    rows[:, 0] = np.arange(count, dtype=np.float32)
    return rows


def expected_sums(count: int) -> np.ndarray:
    return np.arange(count, dtype=np.float32) + 6


def test_split_batch_equals_row_sums(limited: ServerProcess) -> None:
    rows = numbered_rows(ROWS)

    with kerve.Client(
        limited.address, timeout=60, max_message_bytes=MAX_MESSAGE
    ) as client:
        prediction = client.predict("sum", rows, warn=False)

    assert prediction.outputs.shape == (ROWS, 1)
    assert np.array_equal(prediction.outputs[:, 0], expected_sums(ROWS))
    assert prediction.version == 1
    assert prediction.untrained
    assert not prediction.meaningful


def test_split_batch_equals_row_wise_predictions(limited: ServerProcess) -> None:
    rows = numbered_rows(ROWS)
    # Rows around each boundary between parts of about 65,000 rows.
    indices = [0, 1, ROWS - 1, *range(65_530, 65_540), *range(131_060, 131_075)]

    with kerve.Client(
        limited.address, timeout=60, max_message_bytes=MAX_MESSAGE
    ) as client:
        joined = client.predict("sum", rows, warn=False)
        single = [client.predict("sum", rows[i : i + 1], warn=False) for i in indices]

    for index, prediction in zip(indices, single, strict=True):
        assert np.array_equal(joined.outputs[index], prediction.outputs[0]), index


def test_split_trained_batch_is_meaningful(limited: ServerProcess) -> None:
    rows = numbered_rows(ROWS)

    with kerve.Client(
        limited.address, timeout=60, max_message_bytes=MAX_MESSAGE
    ) as client:
        prediction = client.predict("sum-trained", rows)

    assert prediction.meaningful
    assert not prediction.untrained
    assert prediction.version == 2
    assert prediction.state is kerve.State.TRAINED
    assert np.array_equal(prediction.outputs[:, 0], expected_sums(ROWS))


def test_unsplit_batch_rejected_with_fix(limited: ServerProcess) -> None:
    rows = numbered_rows(ROWS)

    with (
        kerve.Client(limited.address, timeout=60) as client,
        pytest.raises(kerve.ResourceExhaustedError) as raised,
    ):
        client.predict("sum", rows, warn=False)

    message = raised.value.message
    assert message.startswith("the request is ")
    assert f"larger than the server's max message size of {MAX_MESSAGE} bytes" in (
        message
    )
    assert "--max-message-bytes (KERVE_MAX_MESSAGE_BYTES) on the server" in message
    assert "Client(max_message_bytes=...)" in message


def test_row_limit_applies_without_split(limited: ServerProcess) -> None:
    rows = np.arange(MAX_BATCH_ROWS + 1, dtype=np.float32).reshape(-1, 1)

    with (
        kerve.Client(
            limited.address, timeout=60, max_message_bytes=MAX_MESSAGE
        ) as client,
        pytest.raises(kerve.ResourceExhaustedError) as raised,
    ):
        client.predict("narrow", rows, warn=False)

    assert f"the batch has {MAX_BATCH_ROWS + 1:,} rows" in raised.value.message
    assert "--max-batch-rows" in raised.value.message


def test_max_rows_per_request_meets_row_limit(limited: ServerProcess) -> None:
    rows = np.arange(MAX_BATCH_ROWS + 1, dtype=np.float32).reshape(-1, 1)

    with kerve.Client(
        limited.address, timeout=60, max_message_bytes=MAX_MESSAGE
    ) as client:
        prediction = client.predict(
            "narrow", rows, warn=False, max_rows_per_request=MAX_BATCH_ROWS
        )

    assert np.array_equal(prediction.outputs[:, 0], rows[:, 0])


def test_train_over_client_limit_not_sent(limited: ServerProcess) -> None:
    rows = numbered_rows(ROWS)

    with (
        kerve.Client(
            limited.address, timeout=60, max_message_bytes=MAX_MESSAGE
        ) as client,
        pytest.raises(kerve.ResourceExhaustedError) as raised,
    ):
        client.train("sum", x=rows, y=expected_sums(ROWS))

    assert f"the client's max message size of {MAX_MESSAGE} bytes" in (
        raised.value.message
    )
    with kerve.Client(limited.address, timeout=60) as client:
        assert client.get_model("sum").version == 1


def run_kerve(
    server: ServerProcess, *arguments: str
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "KERVE_SERVER": server.address, "COLUMNS": "200"}
    environment.pop("KERVE_MAX_MESSAGE_BYTES", None)
    return subprocess.run(
        [sys.executable, "-m", "kerve", *arguments],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )


def test_cli_splits_with_client_limit(limited: ServerProcess, tmp_path: Path) -> None:
    path = tmp_path / "rows.npy"
    np.save(path, numbered_rows(ROWS))

    completed = run_kerve(
        limited,
        "--max-message-bytes",
        str(MAX_MESSAGE),
        "predict",
        "sum",
        "--input",
        str(path),
        "--json",
    )

    assert completed.returncode == 0, completed.stderr
    outputs = np.array(json.loads(completed.stdout)["outputs"], dtype=np.float32)
    assert np.array_equal(outputs[:, 0], expected_sums(ROWS))


def test_cli_rejection_explains_limit(limited: ServerProcess, tmp_path: Path) -> None:
    path = tmp_path / "rows.npy"
    np.save(path, numbered_rows(ROWS))

    completed = run_kerve(limited, "predict", "sum", "--input", str(path))

    assert completed.returncode == 7
    first_line = completed.stderr.splitlines()[0]
    assert first_line.startswith("error: RESOURCE_EXHAUSTED: the request is ")
    assert "kerve --max-message-bytes" in first_line
