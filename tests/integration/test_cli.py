"""The ``kerve`` command line through its real entry point, against a real server.

Each command runs as ``python -m kerve --server ADDRESS ...`` in a child
process; the tests check its exit code, standard output and standard error.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import kerve
from tests.servers import ServerProcess

COMMAND_TIMEOUT_SECONDS = 120
WAIT_SECONDS = 60.0
UNTRAINED_BANNER = "UNTRAINED: these outputs come from initial weights and mean nothing"
SPEC = kerve.ModelSpec(
    input_shape=(4,),
    layers=[kerve.Dense(8, activation="relu"), kerve.Dense(1)],
    seed=0,
)
ROWS = np.random.default_rng(0).normal(size=(6, 4))
REGRESSION_FLAGS = (
    "--regression",
    "--samples",
    "200",
    "--features",
    "4",
    "--noise",
    "0.1",
    "--random-state",
    "0",
    "--test-fraction",
    "0.25",
)
# Four rows for this many epochs train for minutes, so such a run is still
# going when the test cancels it.
LONG_RUN = {"x": ROWS[:4], "y": ROWS[:4, :1], "batch_size": 4, "epochs": 100_000}
SIGINT_IGNORED = signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def environment() -> dict[str, str]:
    # A wide terminal keeps rich from wrapping table cells.
    variables = {**os.environ, "COLUMNS": "200"}
    for variable in ("KERVE_SERVER", "KERVE_TIMEOUT"):
        variables.pop(variable, None)
    return variables


def kerve_command(address: str, *arguments: str) -> list[str]:
    return [sys.executable, "-m", "kerve", "--server", address, *arguments]


def run_kerve(
    server: ServerProcess, *arguments: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        kerve_command(server.address, *arguments),
        input=stdin,
        capture_output=True,
        text=True,
        env=environment(),
        timeout=COMMAND_TIMEOUT_SECONDS,
        check=False,
    )


def json_lines(text: str) -> list[Any]:
    return [json.loads(line) for line in text.splitlines()]


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {WAIT_SECONDS} s waiting for {what}")
        time.sleep(0.05)


class RunningKerve:
    """A ``kerve`` child process whose output lines are read by a thread."""

    def __init__(self, address: str, *arguments: str) -> None:
        self.process = subprocess.Popen(
            kerve_command(address, *arguments),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment(),
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def next_line(self) -> str:
        """Return the next line of standard output; fail at its end or timeout."""
        try:
            line = self._lines.get(timeout=WAIT_SECONDS)
        except queue.Empty:
            pytest.fail(f"no output line within {WAIT_SECONDS} s")
        if line is None:
            pytest.fail(f"the output ended; standard error: {self.stderr()}")
        return line

    def lines_until(self, last: Callable[[str], bool]) -> list[str]:
        lines = [self.next_line()]
        while not last(lines[-1]):
            lines.append(self.next_line())
        return lines

    def remaining_lines(self) -> list[str]:
        """Wait for the process to end and return the lines not read yet."""
        self.process.wait(COMMAND_TIMEOUT_SECONDS)
        self._reader.join(WAIT_SECONDS)
        lines = []
        while (line := self._lines.get_nowait()) is not None:
            lines.append(line)
        return lines

    def stderr(self) -> str:
        assert self.process.stderr is not None
        if self.process.poll() is None:
            return "(still running)"
        return self.process.stderr.read()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(COMMAND_TIMEOUT_SECONDS)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@contextlib.contextmanager
def running_kerve(address: str, *arguments: str) -> Iterator[RunningKerve]:
    running = RunningKerve(address, *arguments)
    try:
        yield running
    finally:
        running.stop()


needs_sigint = pytest.mark.skipif(
    SIGINT_IGNORED, reason="SIGINT is ignored here, so the child would ignore it too"
)


@pytest.fixture
def rows_files(tmp_path: Path) -> dict[str, Path]:
    """The same rows as .npy, .csv and .json files."""
    paths = {suffix: tmp_path / f"rows.{suffix}" for suffix in ("npy", "csv", "json")}
    np.save(paths["npy"], ROWS)
    np.savetxt(paths["csv"], ROWS, delimiter=",", header="a,b,c,d", comments="")
    paths["json"].write_text(json.dumps(ROWS.tolist()))
    return paths


@pytest.fixture
def training_files(tmp_path: Path) -> tuple[Path, Path]:
    x = np.random.default_rng(1).normal(size=(32, 4))
    paths = (tmp_path / "x.npy", tmp_path / "y.npy")
    np.save(paths[0], x)
    np.save(paths[1], x.sum(axis=1, keepdims=True))
    return paths


# Models


def test_create_from_flags(server: ServerProcess, name: str) -> None:
    completed = run_kerve(
        server,
        "create",
        name,
        "--input-shape",
        "4",
        "--layer",
        "8:relu",
        "--layer",
        "1::zeros",
        "--loss",
        "mae",
        "--seed",
        "0",
    )

    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    assert "UNTRAINED" in completed.stdout
    assert "Dense(8, relu), Dense(1, linear, kernel zeros)" in completed.stdout
    assert "loss mae" in completed.stdout


def test_create_json(server: ServerProcess, name: str) -> None:
    completed = run_kerve(
        server, "create", name, "--input-shape", "4", "--layer", "1", "--json"
    )

    document = json.loads(completed.stdout)
    assert completed.returncode == 0
    assert document["name"] == name
    assert document["state"] == "UNTRAINED"
    assert document["version"] == 1
    assert document["untrained"] is True
    assert document["spec"]["input_shape"] == [4]


def test_create_from_spec_file(
    server: ServerProcess, client: kerve.Client, name: str, tmp_path: Path
) -> None:
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(
        json.dumps(
            {
                "input_shape": [5],
                "layers": [
                    {
                        "dense": {
                            "units": 10,
                            "activation": "relu",
                            "kernel_initializer": {"name": "he_normal"},
                        }
                    },
                    {"dense": {"units": 1}},
                ],
                "compile": {
                    "optimizer": {"name": "adam", "learning_rate": 0.01},
                    "loss": "mse",
                    "metrics": ["mae"],
                },
                "seed": 0,
            }
        )
    )

    completed = run_kerve(server, "create", name, "--spec-file", str(spec_file))

    assert completed.returncode == 0, completed.stderr
    model = client.get_model(name)
    assert model.spec["input_shape"] == [5]
    assert model.spec["layers"][0]["dense"]["kernel_initializer"]["name"] == (
        "he_normal"
    )
    assert model.spec["compile"]["metrics"] == ["mae"]
    assert model.parameter_count == 5 * 10 + 10 + 10 + 1


def test_list_json_and_table(
    server: ServerProcess, client: kerve.Client, name: str
) -> None:
    client.create_model(name, SPEC)

    as_json = run_kerve(server, "list", "--json")
    as_table = run_kerve(server, "list")

    assert as_json.returncode == 0
    models = {model["name"]: model for model in json.loads(as_json.stdout)}
    assert models[name]["state"] == "UNTRAINED"
    assert models[name]["version"] == 1
    assert as_table.returncode == 0
    (row,) = [line for line in as_table.stdout.splitlines() if f" {name} " in line]
    assert "UNTRAINED" in row
    assert "yes" in row


def test_get_shows_model(
    server: ServerProcess, client: kerve.Client, name: str
) -> None:
    client.create_model(name, SPEC)

    completed = run_kerve(server, "get", name)
    as_json = run_kerve(server, "get", name, "--json")

    assert completed.returncode == 0
    fields = dict(
        line.split(maxsplit=1) for line in completed.stdout.splitlines() if line
    )
    assert fields["name"].strip() == name
    assert fields["state"].strip() == "UNTRAINED"
    assert fields["version"].strip() == "1"
    assert json.loads(as_json.stdout)["parameter_count"] == 49


def test_delete(server: ServerProcess, client: kerve.Client, name: str) -> None:
    client.create_model(name, SPEC)

    deleted = run_kerve(server, "delete", name)
    again = run_kerve(server, "get", name)

    assert deleted.returncode == 0
    assert deleted.stdout.strip() == f"deleted model {name}"
    assert again.returncode == 3
    assert again.stderr.startswith(f"error: NOT_FOUND: model {name!r} not found")


# Predictions


@pytest.mark.parametrize("source", ["npy", "csv", "json", "stdin"])
def test_predict_input_formats(
    server: ServerProcess,
    client: kerve.Client,
    name: str,
    rows_files: dict[str, Path],
    source: str,
) -> None:
    client.create_model(name, SPEC)
    if source == "stdin":
        arguments, stdin = ["--input", "-"], json.dumps(ROWS.tolist())
    else:
        arguments, stdin = ["--input", str(rows_files[source])], None

    completed = run_kerve(server, "predict", name, *arguments, "--json", stdin=stdin)

    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    expected = client.predict(name, ROWS, warn=False).outputs
    np.testing.assert_allclose(np.array(document["outputs"]), expected, rtol=1e-6)
    assert document["untrained"] is True
    assert document["meaningful"] is False
    assert document["version"] == 1
    assert UNTRAINED_BANNER in completed.stderr


def test_untrained_banner_in_table(
    server: ServerProcess, client: kerve.Client, name: str, rows_files: dict[str, Path]
) -> None:
    client.create_model(name, SPEC)

    completed = run_kerve(server, "predict", name, "--input", str(rows_files["npy"]))

    assert completed.returncode == 0
    assert completed.stdout.startswith(UNTRAINED_BANNER)
    assert f"model {name}, version 1, state UNTRAINED" in completed.stdout
    assert completed.stderr == ""


def test_banner_gone_after_training(
    server: ServerProcess, client: kerve.Client, name: str, rows_files: dict[str, Path]
) -> None:
    client.create_model(name, SPEC)
    client.train(name, x=ROWS, y=ROWS[:, :1], epochs=2)

    table = run_kerve(server, "predict", name, "--input", str(rows_files["csv"]))
    as_json = run_kerve(
        server, "predict", name, "--input", str(rows_files["csv"]), "--json"
    )

    assert table.returncode == 0
    assert "UNTRAINED" not in table.stdout
    assert "NOT MEANINGFUL" not in table.stdout
    assert f"model {name}, version 2, state TRAINED" in table.stdout
    assert table.stderr == ""
    # Six rows are too few to hold any out, so the version is UNVALIDATED.
    assert "VERDICT UNVALIDATED: version 2" in table.stdout
    assert json.loads(as_json.stdout)["meaningful"] is True
    assert json.loads(as_json.stdout)["verdict"] == "UNVALIDATED"
    assert as_json.stderr.startswith("VERDICT UNVALIDATED: version 2")


def test_strict_predict_fails(
    server: ServerProcess, client: kerve.Client, name: str, rows_files: dict[str, Path]
) -> None:
    client.create_model(name, SPEC)

    completed = run_kerve(
        server, "predict", name, "--input", str(rows_files["npy"]), "--strict"
    )

    assert completed.returncode == 6
    assert completed.stderr.startswith("error: FAILED_PRECONDITION: ")
    assert completed.stdout == ""


# Training and evaluation


def test_train_json_lines(
    server: ServerProcess, client: kerve.Client, name: str
) -> None:
    client.create_model(name, SPEC)

    completed = run_kerve(
        server, "train", name, *REGRESSION_FLAGS, "--epochs", "3", "--json"
    )

    assert completed.returncode == 0, completed.stderr
    *progress, result = json_lines(completed.stdout)
    assert [(line["event"], line["epoch"]) for line in progress] == [
        ("progress", 1),
        ("progress", 2),
        ("progress", 3),
    ]
    assert result["event"] == "result"
    assert result["model"]["state"] == "TRAINED"
    assert result["model"]["version"] == 2
    assert result["summary"]["epochs_run"] == 3
    # Without --validation-split, the server holds out 20% of the 150 rows.
    assert result["summary"]["samples"] == 120
    assert result["model"]["assessment"]["validation"]["rows"] == 30


def test_train_classification_options(
    server: ServerProcess, client: kerve.Client, name: str
) -> None:
    # Three classes with scikit-learn's default of 2 clusters per class need
    # 3 informative features; one cluster per class fits in 2.
    client.create_model(
        name,
        kerve.ModelSpec(
            input_shape=(4,),
            layers=[kerve.Dense(3, activation="softmax")],
            loss="sparse_categorical_crossentropy",
        ),
    )
    arguments = ["--samples", "60", "--features", "4", "--classes", "3"]

    completed = run_kerve(
        server,
        "train",
        name,
        "--classification",
        *arguments,
        "--redundant",
        "0",
        "--clusters-per-class",
        "1",
        "--flip-y",
        "0",
        "--class-sep",
        "2.0",
        "--json",
    )

    assert completed.returncode == 0, completed.stderr
    result = json_lines(completed.stdout)[-1]
    assert result["model"]["state"] == "TRAINED"


def test_train_from_files(
    server: ServerProcess,
    client: kerve.Client,
    name: str,
    training_files: tuple[Path, Path],
) -> None:
    client.create_model(name, SPEC)
    x, y = training_files

    completed = run_kerve(
        server, "train", name, "--x", str(x), "--y", str(y), "--epochs", "2"
    )

    assert completed.returncode == 0, completed.stderr
    # The server holds out 20% of the 32 rows to give the verdict.
    assert completed.stdout.startswith(
        f"trained model {name}: version 2, state TRAINED, 2 epochs on 25 samples"
    )
    assert "verdict" in completed.stdout.splitlines()[1].lower()
    assert "held-out: 7 rows (validation_split)" in completed.stdout


def test_evaluate_table_and_json(
    server: ServerProcess, client: kerve.Client, name: str
) -> None:
    client.create_model(name, SPEC)
    dataset = kerve.Regression(200, 4, noise=0.1, random_state=0, test_fraction=0.25)
    client.train(name, dataset=dataset, epochs=2)

    table = run_kerve(server, "evaluate", name, *REGRESSION_FLAGS)
    as_json = run_kerve(
        server, "evaluate", name, *REGRESSION_FLAGS, "--subset", "all", "--json"
    )

    assert table.returncode == 0, table.stderr
    assert f"model {name}, version 2, state TRAINED, 50 samples" in table.stdout
    assert "current (version 2)" in table.stdout
    assert "initial weights" in table.stdout
    assert "baseline training_mean (mean of the train subset)" in table.stdout
    report = json.loads(as_json.stdout)
    assert report["samples"] == 200
    assert report["baseline_source"] == "train_subset"
    assert report["baseline_kind"] == "training_mean"
    assert report["untrained"] is False
    assert set(report) >= {"current", "initial", "baseline"}


def test_train_detach(
    server: ServerProcess,
    client: kerve.Client,
    name: str,
    training_files: tuple[Path, Path],
) -> None:
    client.create_model(name, SPEC)
    x, y = training_files

    completed = run_kerve(
        server,
        "train",
        name,
        "--x",
        str(x),
        "--y",
        str(y),
        "--epochs",
        "10",
        "--detach",
        "--json",
    )
    wait_until(
        lambda: client.get_model(name).state is kerve.State.TRAINED, "the run to end"
    )

    assert completed.returncode == 0, completed.stderr
    progress, detached = json_lines(completed.stdout)
    assert (progress["event"], progress["epoch"]) == ("progress", 1)
    assert detached == {"event": "detached", "name": name}
    model = client.get_model(name)
    assert model.version == 2
    assert model.last_training is not None
    assert model.last_training.epochs_run == 10


@needs_sigint
def test_interrupted_train_cancels_run(
    server: ServerProcess,
    client: kerve.Client,
    name: str,
    training_files: tuple[Path, Path],
) -> None:
    client.create_model(name, SPEC)
    x, y = training_files
    arguments = ("--x", str(x), "--y", str(y), "--epochs", "100000", "--json")

    with running_kerve(server.address, "train", name, *arguments) as running:
        first = json.loads(running.next_line())
        running.process.send_signal(signal.SIGINT)
        running.remaining_lines()
        stderr = running.stderr()
    wait_until(
        lambda: client.get_model(name).state is not kerve.State.TRAINING, "cancel"
    )

    assert first["event"] == "progress"
    assert running.process.returncode == 130
    assert "interrupted: the training run" in stderr
    assert "Traceback" not in stderr
    model = client.get_model(name)
    assert model.state is kerve.State.UNTRAINED
    assert model.version == 1


def waiting_run_registered(client: kerve.Client, name: str) -> bool:
    """Return whether the server has a run of ``name`` waiting for a slot.

    Until the server has that run, a request is rejected for lack of a slot.
    Once it has it, the model is already training.
    """
    try:
        client.train(name, x=ROWS, y=ROWS[:, :1])
    except kerve.ResourceExhaustedError:
        return False
    except kerve.FailedPreconditionError:
        return True
    pytest.fail("a training run started although both slots were taken")


def test_train_wait_for_slot(
    server: ServerProcess,
    client: kerve.Client,
    name: str,
    training_files: tuple[Path, Path],
) -> None:
    # The module's server runs at most 2 training runs at once, its default.
    x, y = training_files
    data = ("--x", str(x), "--y", str(y), "--epochs", "2")
    busy = [f"{name}-first", f"{name}-second"]
    for model_name in [*busy, name]:
        client.create_model(model_name, SPEC)
    streams = [
        client.train_stream(model_name, **LONG_RUN, wait_for_slot=True)  # type: ignore[arg-type]
        for model_name in busy
    ]
    try:
        for stream in streams:
            next(stream)
        rejected = run_kerve(server, "train", name, *data)
        with running_kerve(
            server.address, "train", name, *data, "--wait-for-slot"
        ) as running:
            wait_until(
                lambda: waiting_run_registered(client, name),
                "the waiting run to reach the server",
            )
            client.cancel_training(busy[0])
            output = running.remaining_lines()
            returncode = running.process.returncode
    finally:
        for model_name, stream in zip(busy, streams, strict=True):
            with contextlib.suppress(kerve.FailedPreconditionError):
                client.cancel_training(model_name)
            with contextlib.suppress(kerve.RequestCancelledError):
                stream.close()

    assert rejected.returncode == 7
    # Before it, the progress bar may have left its line on standard error.
    assert rejected.stderr.splitlines()[-1].startswith("error: RESOURCE_EXHAUSTED: ")
    assert returncode == 0
    assert any(
        line.startswith(f"trained model {name}: version 2, state TRAINED")
        for line in output
    )


# Reset, cancel and watch


def test_reset(server: ServerProcess, client: kerve.Client, name: str) -> None:
    client.create_model(name, SPEC)
    client.train(name, x=ROWS, y=ROWS[:, :1], epochs=1)

    completed = run_kerve(server, "reset", name, "--seed", "4")

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == (
        f"reset model {name}: version 3 has initial weights, state UNTRAINED"
    )
    assert client.get_model(name).untrained is True


def test_cancel_without_run(
    server: ServerProcess, client: kerve.Client, name: str
) -> None:
    client.create_model(name, SPEC)

    completed = run_kerve(server, "cancel", name)

    assert completed.returncode == 6
    assert completed.stderr.strip() == (
        f"error: FAILED_PRECONDITION: model {name!r} has no training run to "
        "cancel; its state is UNTRAINED"
    )


def test_cancel_stops_run(
    server: ServerProcess, client: kerve.Client, name: str
) -> None:
    client.create_model(name, SPEC)
    events = client.train_stream(name, **LONG_RUN)  # type: ignore[arg-type]

    with contextlib.closing(events):
        next(events)
        completed = run_kerve(server, "cancel", name, "--json")
        with pytest.raises(kerve.RequestCancelledError):
            for _ in events:
                pass

    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["state"] == "TRAINING"
    assert client.get_model(name).state is kerve.State.UNTRAINED


@needs_sigint
def test_watch_until_interrupted(
    server: ServerProcess, client: kerve.Client, name: str
) -> None:
    client.create_model(name, SPEC)

    with running_kerve(server.address, "watch", name) as running:
        first = running.next_line()
        client.train(name, x=ROWS, y=ROWS[:, :1], epochs=2)
        lines = running.lines_until(lambda line: "state TRAINED" in line)
        running.process.send_signal(signal.SIGINT)
        running.remaining_lines()
        stderr = running.stderr()

    assert first == f"{name}: state UNTRAINED, version 1, untrained"
    assert lines[0] == f"{name}: state TRAINING, version 1, untrained"
    assert lines[1].startswith(f"{name}: epoch 1/2, loss ")
    assert lines[2].startswith(f"{name}: epoch 2/2, loss ")
    # Six rows are too few to hold any out, so the version is UNVALIDATED.
    assert lines[3] == f"{name}: state TRAINED, version 2, verdict UNVALIDATED"
    assert running.process.returncode == 0
    assert stderr == ""


def test_watch_json_ends_on_delete(
    server: ServerProcess, client: kerve.Client, name: str
) -> None:
    client.create_model(name, SPEC)

    with running_kerve(server.address, "watch", name, "--json") as running:
        first = json.loads(running.next_line())
        client.train(name, x=ROWS, y=ROWS[:, :1], epochs=1)
        running.lines_until(lambda line: '"state": "TRAINED"' in line)
        client.delete_model(name)
        rest = running.remaining_lines()

    assert first["event"] == "state"
    assert first["model"]["state"] == "UNTRAINED"
    assert running.process.returncode == 0
    assert [json.loads(line) for line in rest] == [{"event": "deleted", "name": name}]


def test_watch_unknown_model(server: ServerProcess) -> None:
    completed = run_kerve(server, "watch", "no-such-model")

    assert completed.returncode == 3
    assert completed.stderr.startswith(
        "error: NOT_FOUND: model 'no-such-model' not found"
    )


# Import and export


def test_export_and_import(
    server: ServerProcess, client: kerve.Client, name: str, tmp_path: Path
) -> None:
    client.create_model(name, SPEC)
    client.train(name, x=ROWS, y=ROWS[:, :1], epochs=2)
    path = tmp_path / "model.keras"

    exported = run_kerve(server, "export", name, str(path))
    imported = run_kerve(server, "import", f"{name}-copy", str(path), "--trained")

    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.startswith(
        f"exported model {name} version 2 to {path}: {path.stat().st_size:,} bytes"
    )
    assert exported.stderr == ""
    assert imported.returncode == 0, imported.stderr
    assert "TRAINED" in imported.stdout
    np.testing.assert_allclose(
        client.predict(f"{name}-copy", ROWS).outputs,
        client.predict(name, ROWS).outputs,
        rtol=0,
        atol=1e-6,
    )


def test_export_untrained_json(
    server: ServerProcess, client: kerve.Client, name: str, tmp_path: Path
) -> None:
    client.create_model(name, SPEC)
    path = tmp_path / "model.keras"

    completed = run_kerve(server, "export", name, str(path), "--version", "1", "--json")
    imported = run_kerve(server, "import", f"{name}-copy", str(path), "--json")

    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    assert document["version"] == 1
    assert document["untrained"] is True
    assert document["size_bytes"] == path.stat().st_size
    assert "UNTRAINED: this archive contains initial weights" in completed.stderr
    assert json.loads(imported.stdout)["untrained"] is True


def test_export_unknown_version(
    server: ServerProcess, client: kerve.Client, name: str, tmp_path: Path
) -> None:
    client.create_model(name, SPEC)
    path = tmp_path / "model.keras"

    completed = run_kerve(server, "export", name, str(path), "--version", "7")

    assert completed.returncode == 3
    assert completed.stderr.startswith(
        f"error: NOT_FOUND: model {name!r} has no version 7"
    )
    assert list(tmp_path.iterdir()) == []


def test_import_invalid_archive(
    server: ServerProcess, client: kerve.Client, name: str, tmp_path: Path
) -> None:
    path = tmp_path / "model.keras"
    path.write_bytes(b"not a zip file")

    completed = run_kerve(server, "import", name, str(path))

    assert completed.returncode == 5
    assert completed.stderr.startswith(
        f"error: INVALID_ARGUMENT: cannot import model {name!r}: not a .keras "
        "archive (a zip file)"
    )
    assert "Traceback" not in completed.stderr


# Errors


def test_unknown_model_exits_3(server: ServerProcess) -> None:
    completed = run_kerve(server, "get", "no-such-model")

    assert completed.returncode == 3
    assert completed.stderr.startswith(
        "error: NOT_FOUND: model 'no-such-model' not found"
    )
    assert completed.stderr.count("\n") == 1
    assert "Traceback" not in completed.stderr
    assert completed.stdout == ""


def test_unreachable_server_message() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"

    completed = subprocess.run(
        kerve_command(address, "list"),
        capture_output=True,
        text=True,
        env=environment(),
        timeout=COMMAND_TIMEOUT_SECONDS,
        check=False,
    )

    assert completed.returncode == 9
    assert completed.stderr.startswith("error: UNAVAILABLE: ")
    assert f"no Kerve server responded at {address}" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert completed.stdout == ""


# Exit codes of the error families


def test_error_families_exit_codes(
    server: ServerProcess,
    client: kerve.Client,
    name: str,
    tmp_path: Path,
    training_files: tuple[Path, Path],
) -> None:
    client.create_model(name, SPEC)
    x, y = training_files
    wrong_shape = tmp_path / "wrong.npy"
    np.save(wrong_shape, np.zeros((2, 3)))
    overflowing = tmp_path / "overflowing.npy"
    np.save(overflowing, np.full((8, 4), 1e30, np.float32))
    zeros = tmp_path / "zeros.npy"
    np.save(zeros, np.zeros((8, 1)))
    cases = {
        "NOT_FOUND": (["get", "no-such-model"], 3),
        "ALREADY_EXISTS": (["create", name, "--input-shape", "4", "--dense", "1"], 4),
        "INVALID_ARGUMENT": (["predict", name, "--input", str(wrong_shape)], 5),
        "FAILED_PRECONDITION": (["cancel", name], 6),
        "RESOURCE_EXHAUSTED": (
            ["--max-message-bytes", "100", "train", name, "--x", str(x), "--y", str(y)],
            7,
        ),
        "DEADLINE_EXCEEDED": (["--timeout", "0.000001", "list"], 10),
        "ABORTED": (
            ["train", name, "--x", str(overflowing), "--y", str(zeros)],
            11,
        ),
    }

    for status, (arguments, code) in cases.items():
        completed = run_kerve(server, *arguments)
        as_json = run_kerve(server, *arguments[:-1], arguments[-1], "--json")

        assert completed.returncode == code, (status, completed.stderr)
        assert f"error: {status}: " in completed.stderr, status
        assert "Traceback" not in completed.stderr
        error = json.loads(as_json.stderr.splitlines()[-1])["error"]
        assert as_json.returncode == code, (status, as_json.stderr)
        assert error["code"] == status
        assert error["exit_code"] == code


def test_cancelled_train_exits_12(
    server: ServerProcess,
    client: kerve.Client,
    name: str,
    training_files: tuple[Path, Path],
) -> None:
    client.create_model(name, SPEC)
    x, y = training_files
    arguments = ("--x", str(x), "--y", str(y), "--epochs", "100000", "--json")

    with running_kerve(server.address, "train", name, *arguments) as running:
        running.next_line()
        client.cancel_training(name)
        running.remaining_lines()
        stderr = running.stderr()

    error = json.loads(stderr)["error"]
    assert running.process.returncode == 12
    assert error["code"] == "CANCELLED"
    assert error["exit_code"] == 12


# JSON output of every command


def test_every_command_prints_json(
    server: ServerProcess,
    client: kerve.Client,
    name: str,
    tmp_path: Path,
    training_files: tuple[Path, Path],
    rows_files: dict[str, Path],
) -> None:
    x, y = training_files
    archive = tmp_path / "model.keras"
    copy = f"{name}-copy"
    commands = [
        ["create", name, "--input-shape", "4", "--dense", "1"],
        ["list"],
        ["get", name],
        ["predict", name, "--input", str(rows_files["npy"])],
        ["train", name, "--x", str(x), "--y", str(y), "--epochs", "2"],
        ["evaluate", name, "--x", str(x), "--y", str(y)],
        ["export", name, str(archive)],
        ["import", copy, str(archive), "--trained"],
        ["reset", copy],
        ["status"],
        ["delete", copy],
    ]

    documents = {}
    for arguments in commands:
        completed = run_kerve(server, *arguments, "--json")
        assert completed.returncode == 0, (arguments, completed.stderr)
        documents[arguments[0]] = json_lines(completed.stdout)

    assert documents["create"][0]["verdict"] == "UNTRAINED"
    assert {model["name"] for model in documents["list"][0]} >= {name}
    assert documents["get"][0]["assessment"]["verdict"] == "UNTRAINED"
    assert documents["predict"][0]["verdict"] == "UNTRAINED"
    assert documents["train"][-1]["event"] == "result"
    assert (
        documents["train"][-1]["verdict"] == documents["train"][-1]["model"]["verdict"]
    )
    assert documents["train"][-1]["reason"]
    assert documents["evaluate"][0]["baseline_kind"] == "training_mean"
    assert documents["export"][0]["version"] == 2
    assert documents["import"][0]["name"] == copy
    assert documents["reset"][0]["untrained"] is True
    assert documents["status"][0]["serving"] is True
    assert documents["delete"] == [{"name": copy, "deleted": True}]


def test_cancel_and_watch_print_json(
    server: ServerProcess, client: kerve.Client, name: str
) -> None:
    client.create_model(name, SPEC)
    events = client.train_stream(name, **LONG_RUN)  # type: ignore[arg-type]

    with running_kerve(server.address, "watch", name, "--json") as running:
        with contextlib.closing(events):
            next(events)
            cancelled = run_kerve(server, "cancel", name, "--json")
            with pytest.raises(kerve.RequestCancelledError):
                for _ in events:
                    pass
        running.lines_until(lambda line: '"state": "UNTRAINED"' in line)
        client.delete_model(name)
        rest = running.remaining_lines()

    assert cancelled.returncode == 0, cancelled.stderr
    assert json.loads(cancelled.stdout)["name"] == name
    assert running.process.returncode == 0
    assert json_lines("\n".join(rest))[-1] == {"event": "deleted", "name": name}


# Verdicts


@pytest.fixture
def extrapolating(client: kerve.Client, name: str, tmp_path: Path) -> Path:
    """A model trained on [-1, 1] and a file of rows, of which 1 and 3 are far."""
    client.create_model(name, SPEC)
    x = np.random.default_rng(2).uniform(-1.0, 1.0, size=(200, 4))
    client.train(name, x=x, y=x.sum(axis=1), epochs=2)
    rows = np.zeros((4, 4))
    rows[1, 3] = 50.0
    rows[3, 0] = -1.3
    path = tmp_path / "far.npy"
    np.save(path, rows)
    return path


def test_predict_shows_verdict_and_extrapolation(
    server: ServerProcess, client: kerve.Client, name: str, extrapolating: Path
) -> None:
    verdict = client.get_model(name).verdict

    table = run_kerve(server, "predict", name, "--input", str(extrapolating))
    as_json = run_kerve(
        server, "predict", name, "--input", str(extrapolating), "--json"
    )

    assert table.returncode == 0, table.stderr
    # A verdict below VALIDATED is in capitals: VERDICT NO_BETTER_THAN_BASELINE.
    assert f"verdict {verdict.name}: version 2".lower() in table.stdout.lower()
    assert "held-out: 40 rows (validation_split), loss " in table.stdout
    assert "EXTRAPOLATION: 2 of 4 rows (rows 1, 3)" in table.stdout
    marked = [
        line
        for line in table.stdout.splitlines()
        if line.startswith("│") and "extrapolation" in line
    ]
    assert [line.split()[1] for line in marked] == ["1", "3"]
    document = json.loads(as_json.stdout)
    assert document["verdict"] == verdict.name
    assert document["extrapolated_rows"] == [1, 3]
    assert document["non_finite_rows"] == []
    assert document["training_ranges_known"] is True
    assert document["validation"]["rows"] == 40
    assert document["validation"]["baseline_kind"] == "training_mean"
    if verdict < kerve.Verdict.VALIDATED:
        assert f"VERDICT {verdict.name}" in as_json.stderr
    else:
        assert as_json.stderr == ""


def test_predict_headline_names_inf_rows(
    server: ServerProcess, client: kerve.Client, name: str, tmp_path: Path
) -> None:
    client.create_model(name, SPEC)
    generator = np.random.default_rng(1)
    x = generator.normal(size=(300, 4))
    weights = np.array([3.0, -2.0, 1.0, 4.0])
    checks_x = generator.normal(size=(40, 4))
    client.train(
        name,
        x=x,
        y=x @ weights,
        validation_x=checks_x,
        validation_y=checks_x @ weights,
        epochs=40,
        learning_rate=0.05,
    )
    rows = np.zeros((3, 4))
    # Inputs near float32's maximum overflow the first layer.
    rows[2] = 3e38
    path = tmp_path / "overflow.npy"
    np.save(path, rows)

    table = run_kerve(server, "predict", name, "--input", str(path))

    assert table.returncode == 0, table.stderr
    assert client.get_model(name).verdict is kerve.Verdict.VALIDATED
    assert (
        "VERDICT NO_BETTER_THAN_BASELINE: version 2: this response is "
        "NO_BETTER_THAN_BASELINE because 1 row has NaN or Inf outputs (row 2); "
        "the version's own verdict is in the notice below"
    ) in table.stdout
    assert "did not clearly beat a constant prediction" not in table.stdout
    assert (
        "version 2 is VALIDATED, but this response is NO_BETTER_THAN_BASELINE "
        "because 1 of 3 rows has NaN or Inf outputs (row 2)"
    ) in table.stdout
    assert "NON-FINITE: 1 of 3 rows (row 2) has NaN or Inf outputs" in table.stdout


def test_min_verdict_rejection(
    server: ServerProcess, client: kerve.Client, name: str, rows_files: dict[str, Path]
) -> None:
    client.create_model(name, SPEC)

    completed = run_kerve(
        server,
        "predict",
        name,
        "--input",
        str(rows_files["npy"]),
        "--min-verdict",
        "unvalidated",
    )

    assert completed.returncode == 6
    assert completed.stderr.startswith(
        f"error: FAILED_PRECONDITION: model {name!r} version 1 is UNTRAINED, below "
        "the required UNVALIDATED"
    )
    assert completed.stdout == ""


def test_train_validation_options(
    server: ServerProcess,
    client: kerve.Client,
    name: str,
    tmp_path: Path,
) -> None:
    generator = np.random.default_rng(4)
    x = generator.uniform(-1.0, 1.0, size=(200, 4))
    checks = generator.uniform(-1.0, 1.0, size=(30, 4))
    paths = {}
    for key, values in {
        "x": x,
        "y": x.sum(axis=1),
        "vx": checks,
        "vy": checks.sum(axis=1),
    }.items():
        paths[key] = tmp_path / f"{key}.npy"
        np.save(paths[key], values)
    data = ("--x", str(paths["x"]), "--y", str(paths["y"]))
    client.create_model(name, SPEC)

    none_held_out = run_kerve(server, "train", name, *data, "--validation-split", "0")
    with_files = run_kerve(
        server,
        "train",
        name,
        *data,
        "--validation-x",
        str(paths["vx"]),
        "--validation-y",
        str(paths["vy"]),
        "--json",
    )

    assert none_held_out.returncode == 0, none_held_out.stderr
    assert "VERDICT UNVALIDATED: version 2" in none_held_out.stdout
    assert "validation_split to 0" in none_held_out.stdout
    assert with_files.returncode == 0, with_files.stderr
    result = json_lines(with_files.stdout)[-1]
    validation = result["model"]["assessment"]["validation"]
    assert validation["source"] == "validation_data"
    assert validation["rows"] == 30
    assert result["verdict"] in {"VALIDATED", "NO_BETTER_THAN_BASELINE"}
