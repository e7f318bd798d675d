"""Tests of the ``kerve`` command line through its real entry point.

These cover the failures that happen before or instead of a response: usage
errors, unreadable files and an unreachable server. Nothing listens at the
server address, so no request succeeds, except for ``kerve status`` against
a gRPC server that has only the standard health service.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc


@pytest.fixture
def closed_address() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


def run_kerve(
    *arguments: str, server: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "KERVE_SERVER": server, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "kerve", *arguments],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )


def test_help_lists_commands(closed_address: str) -> None:
    completed = run_kerve("--help", server=closed_address)

    assert completed.returncode == 0
    commands = (
        "create",
        "list",
        "get",
        "delete",
        "predict",
        "train",
        "evaluate",
        "reset",
        "cancel",
        "watch",
        "import",
        "export",
        "status",
    )
    for command in commands:
        assert command in completed.stdout


def test_console_script_runs(closed_address: str) -> None:
    script = Path(sys.executable).parent / "kerve"
    if not script.exists():
        pytest.skip(f"console script not installed at {script}")

    completed = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, timeout=60, check=False
    )

    assert completed.returncode == 0
    assert "predict" in completed.stdout


def test_unreachable_server_names_address_and_fix(closed_address: str) -> None:
    completed = run_kerve("list", server=closed_address)

    assert completed.returncode == 9
    assert completed.stderr.startswith("error: UNAVAILABLE: ")
    assert closed_address in completed.stderr
    assert "--server" in completed.stderr
    assert "KERVE_SERVER" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert completed.stdout == ""


def test_server_option_overrides_environment(closed_address: str) -> None:
    completed = run_kerve("--server", closed_address, "get", "m", server="127.0.0.1:1")

    assert completed.returncode == 9
    assert closed_address in completed.stderr


def test_predict_bad_file_is_one_line_error(
    tmp_path: Path, closed_address: str
) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("1,2\n3,oops\n")

    completed = run_kerve("predict", "m", "--input", str(path), server=closed_address)

    assert completed.returncode == 1
    assert completed.stderr.strip() == (
        f"error: --input: cannot read {path}: line 2, column 2: 'oops' is not a number"
    )


def test_predict_missing_file(tmp_path: Path, closed_address: str) -> None:
    path = tmp_path / "missing.npy"

    completed = run_kerve("predict", "m", "--input", str(path), server=closed_address)

    assert completed.returncode == 1
    assert "No such file" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_predict_bad_stdin(closed_address: str) -> None:
    completed = run_kerve(
        "predict", "m", "--input", "-", server=closed_address, stdin="{"
    )

    assert completed.returncode == 1
    assert "cannot read standard input: invalid JSON" in completed.stderr


def test_predict_good_file_reaches_server(tmp_path: Path, closed_address: str) -> None:
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([[1, 2, 3, 4, 5]]))

    completed = run_kerve("predict", "m", "--input", str(path), server=closed_address)

    assert completed.returncode == 9
    assert completed.stderr.startswith("error: UNAVAILABLE")


def test_predict_without_input_is_usage_error(closed_address: str) -> None:
    completed = run_kerve("predict", "m", server=closed_address)

    assert completed.returncode == 2
    assert "--input" in completed.stderr


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["create", "m", "--dense", "1"], "--input-shape"),
        (["create", "m", "--input-shape", "5"], "--dense"),
        (["create", "m", "--input-shape", "5,x", "--dense", "1"], "integers"),
        (["create", "m", "--input-shape", "5", "--dense", "ten:relu"], "units"),
        (["create", "m", "--input-shape", "5", "--dense", "1:a:b:c:d"], "at most 4"),
        (["create", "m", "--spec-file", "s.json", "--seed", "0"], "--seed"),
        (["train", "m"], "--regression"),
        (["train", "m", "--regression", "--classification"], "--classification"),
        (["train", "m", "--regression", "--samples", "10"], "--features"),
        (["train", "m", "--regression", "--x", "x.npy", "--samples", "1"], "--x"),
        (
            [
                "train",
                "m",
                "--regression",
                "--samples",
                "9",
                "--features",
                "2",
                "--classes",
                "3",
            ],
            "--classes",
        ),
        (
            [
                "train",
                "m",
                "--regression",
                "--samples",
                "9",
                "--features",
                "2",
                "--clusters-per-class",
                "1",
            ],
            "--clusters-per-class",
        ),
        (
            [
                "evaluate",
                "m",
                "--classification",
                "--samples",
                "9",
                "--features",
                "2",
                "--noise",
                "0.1",
            ],
            "--noise",
        ),
        (["evaluate", "m", "--x", "x.npy"], "--y"),
        (["evaluate", "m", "--regression", "--subset", "validation"], "--subset"),
        (["import", "m"], "FILE.keras"),
        (["export", "m"], "FILE.keras"),
        (["export", "m", "m.keras", "--version", "two"], "--version"),
        (["reset", "m", "--seed", "x"], "--seed"),
    ],
    ids=[
        "create-no-shape",
        "create-no-layer",
        "create-bad-shape",
        "create-bad-units",
        "create-too-many-parts",
        "create-spec-file-and-flags",
        "train-no-data",
        "train-two-datasets",
        "train-no-features",
        "train-dataset-and-file",
        "train-classes-for-regression",
        "train-clusters-for-regression",
        "evaluate-noise-for-classification",
        "evaluate-x-without-y",
        "evaluate-unknown-subset",
        "import-no-file",
        "export-no-file",
        "export-bad-version",
        "reset-bad-seed",
    ],
)
def test_usage_errors_exit_2(
    closed_address: str, arguments: list[str], expected: str
) -> None:
    completed = run_kerve(*arguments, server=closed_address)

    assert completed.returncode == 2, completed.stderr
    assert expected in completed.stderr
    assert "Traceback" not in completed.stderr


def test_spec_file_with_invalid_json(tmp_path: Path, closed_address: str) -> None:
    path = tmp_path / "spec.json"
    path.write_text("{")

    completed = run_kerve(
        "create", "m", "--spec-file", str(path), server=closed_address
    )

    assert completed.returncode == 1
    assert completed.stderr.startswith(f"error: cannot read {path}: invalid JSON")


def test_spec_file_with_unknown_field(tmp_path: Path, closed_address: str) -> None:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({"input_shape": [5], "layer": []}))

    completed = run_kerve(
        "create", "m", "--spec-file", str(path), server=closed_address
    )

    assert completed.returncode == 1
    assert "invalid model spec" in completed.stderr
    assert '"layer"' in completed.stderr


def test_import_missing_file_is_one_line_error(
    tmp_path: Path, closed_address: str
) -> None:
    path = tmp_path / "missing.keras"

    completed = run_kerve("import", "m", str(path), server=closed_address)

    assert completed.returncode == 1
    assert completed.stderr.strip() == (
        f"error: cannot read {path}: No such file or directory"
    )


def test_export_to_missing_folder_is_one_line_error(
    tmp_path: Path, closed_address: str
) -> None:
    path = tmp_path / "missing" / "m.keras"

    completed = run_kerve("export", "m", str(path), server=closed_address)

    assert completed.returncode == 1
    assert completed.stderr.strip() == (
        f"error: cannot write {path}: No such file or directory"
    )


@pytest.mark.parametrize(
    "arguments",
    [["watch", "m"], ["reset", "m"], ["cancel", "m"], ["export", "m", "m.keras"]],
    ids=["watch", "reset", "cancel", "export"],
)
def test_new_commands_report_unreachable_server(
    closed_address: str, tmp_path: Path, arguments: list[str]
) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "kerve", "--server", closed_address, *arguments],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 9
    assert completed.stderr.startswith("error: UNAVAILABLE: ")
    assert "Traceback" not in completed.stderr
    assert list(tmp_path.iterdir()) == []


SECRET = "cli-secret-token-0123456789"


def test_token_and_token_file_conflict(tmp_path: Path, closed_address: str) -> None:
    path = tmp_path / "token"
    path.write_text(SECRET)

    completed = run_kerve(
        "--token", SECRET, "--token-file", str(path), "list", server=closed_address
    )

    assert completed.returncode == 2
    assert "--token-file" in completed.stderr
    assert SECRET not in completed.stderr


def test_token_file_flag_beats_token_variable(
    tmp_path: Path, closed_address: str
) -> None:
    path = tmp_path / "missing-token"
    environment = {**os.environ, "KERVE_SERVER": closed_address, "KERVE_TOKEN": SECRET}

    completed = subprocess.run(
        [sys.executable, "-m", "kerve", "--token-file", str(path), "list"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 1
    assert completed.stderr.strip() == (
        f"error: cannot read the token file: No such file or directory: {path}"
    )


@pytest.mark.parametrize("token", ["", "   "], ids=["empty", "blank"])
def test_empty_token_is_usage_error(closed_address: str, token: str) -> None:
    completed = run_kerve("--token", token, "list", server=closed_address)

    assert completed.returncode == 2
    assert "--token" in completed.stderr
    assert "is empty" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_empty_token_file_is_one_line_error(
    tmp_path: Path, closed_address: str
) -> None:
    path = tmp_path / "token"
    path.write_text("\n")

    completed = run_kerve("--token-file", str(path), "list", server=closed_address)

    assert completed.returncode == 1
    assert completed.stderr.strip() == f"error: the token file {path} is empty"


def test_cert_without_key_is_usage_error(tmp_path: Path, closed_address: str) -> None:
    completed = run_kerve(
        "--tls-cert-file", str(tmp_path / "client.pem"), "list", server=closed_address
    )

    assert completed.returncode == 2
    assert "--tls-key-file" in completed.stderr


def test_missing_ca_file_names_file(tmp_path: Path, closed_address: str) -> None:
    path = tmp_path / "ca.pem"

    completed = run_kerve("--tls-ca-file", str(path), "list", server=closed_address)

    assert completed.returncode == 1
    assert completed.stderr.strip() == (
        f"error: cannot read the ca_file: No such file or directory: {path}"
    )


def test_unreachable_plaintext_suggests_tls(closed_address: str) -> None:
    completed = run_kerve("--token", SECRET, "list", server=closed_address)

    assert completed.returncode == 9
    assert "if the server uses TLS, pass --tls." in completed.stderr
    assert SECRET not in completed.stderr
    assert SECRET not in completed.stdout


def test_unreachable_tls_suggests_tls_files(closed_address: str) -> None:
    completed = run_kerve("--tls", "list", server=closed_address)

    assert completed.returncode == 9
    assert completed.stderr.startswith("error: UNAVAILABLE: ")
    assert "--tls-ca-file" in completed.stderr
    assert "--tls-cert-file and --tls-key-file" in completed.stderr


def test_help_hides_token_variable(closed_address: str) -> None:
    environment = {**os.environ, "KERVE_TOKEN": SECRET, "COLUMNS": "200"}

    completed = subprocess.run(
        [sys.executable, "-m", "kerve", "--help"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 0
    assert "--token-file" in completed.stdout
    assert SECRET not in completed.stdout


def test_predict_zero_rows_per_request_rejected(
    tmp_path: Path, closed_address: str
) -> None:
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([[1, 2]]))

    completed = run_kerve(
        "predict",
        "m",
        "--input",
        str(path),
        "--max-rows-per-request",
        "0",
        server=closed_address,
    )

    assert completed.returncode == 2
    assert "--max-rows-per-request" in completed.stderr


# Exit codes, JSON errors and the options of this week's commands


def test_help_lists_exit_codes(closed_address: str) -> None:
    completed = run_kerve("--help", server=closed_address)

    assert completed.returncode == 0
    assert "Exit codes:" in completed.stdout
    for line in ("3  NOT_FOUND", "9  UNAVAILABLE", "14  the server closed"):
        assert line in completed.stdout
    assert "status" in completed.stdout


def test_unreachable_json_error_on_stderr(closed_address: str) -> None:
    completed = run_kerve("get", "m", "--json", server=closed_address)

    document = json.loads(completed.stderr)
    assert completed.returncode == 9
    assert document["error"]["code"] == "UNAVAILABLE"
    assert document["error"]["exit_code"] == 9
    assert completed.stdout == ""


def test_bad_file_json_error_has_no_status(tmp_path: Path, closed_address: str) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("1,oops\n")

    completed = run_kerve(
        "predict", "m", "--input", str(path), "--json", server=closed_address
    )

    error = json.loads(completed.stderr)["error"]
    assert completed.returncode == 1
    assert error["code"] is None
    assert error["exit_code"] == 1
    assert "'oops' is not a number" in error["message"]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["predict", "m", "--input", "r.json", "--min-verdict", "good"], "good"),
        (["train", "m", "--x", "x.npy", "--y", "y.npy", "--validation-x", "v"], "-y"),
        (
            [
                "train",
                "m",
                "--x",
                "x.npy",
                "--y",
                "y.npy",
                "--validation-x",
                "vx.npy",
                "--validation-y",
                "vy.npy",
                "--validation-split",
                "0.2",
            ],
            "--validation-split",
        ),
    ],
    ids=["unknown-verdict", "validation-x-alone", "validation-files-and-split"],
)
def test_verdict_options_usage_errors(
    closed_address: str, arguments: list[str], expected: str
) -> None:
    completed = run_kerve(*arguments, server=closed_address)

    assert completed.returncode == 2, completed.stderr
    assert expected in completed.stderr


@pytest.fixture
def not_serving_address() -> Iterator[str]:
    """A gRPC server whose only service is health, reporting NOT_SERVING."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = health.HealthServicer()
    for service in ("", "kerve.v1.Models"):
        servicer.set(service, health_pb2.HealthCheckResponse.NOT_SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(None).wait()


@pytest.mark.parametrize("json_output", [False, True], ids=["table", "json"])
def test_status_not_serving_exits_15(
    not_serving_address: str, json_output: bool
) -> None:
    arguments = ["status", *(["--json"] if json_output else [])]

    completed = run_kerve(*arguments, server=not_serving_address)

    assert completed.returncode == 15, completed.stderr
    if json_output:
        document = json.loads(completed.stdout)
        assert document["serving"] is False
        assert document["health"]["overall"] == "NOT_SERVING"
        assert document["models"] is None
    else:
        assert "NOT_SERVING" in completed.stdout
        assert "not listed, because the server is not serving" in completed.stdout
