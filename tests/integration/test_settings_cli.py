"""The kerve-server command line: --help and invalid settings, as a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kerve_server.settings import Settings

EXECUTABLE = Path(sys.executable).parent / "kerve-server"
# What Python prints when a failed start leaves the gRPC server to the
# garbage collector after the event loop has closed.
UNCLEAN_STOP = ("Traceback", "Exception ignored", "was never awaited")
# Words that a setting's help must contain, by the end of its name.
UNITS = {"_bytes": "bytes", "_seconds": "Seconds", "_rows": "rows"}


def _run(
    *arguments: str, environment: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KERVE_")}
    return subprocess.run(
        [str(EXECUTABLE), *arguments],
        # Wide enough that argparse wraps no help text.
        env={**clean, "COLUMNS": "1000", **(environment or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _default_text(name: str) -> str:
    field = Settings.model_fields[name]
    if field.default_factory is not None:
        return f"(default factory: {field.default_factory.__name__})"
    if field.default is None:
        return "(default: null)"
    return f"(default: {field.default})"


@pytest.fixture(scope="module")
def help_lines() -> dict[str, str]:
    """The help text of each option, by its flag, joined into one line.

    argparse puts the help of a long option on the line after the option.
    """
    result = _run("--help")
    assert result.returncode == 0, result.stderr
    lines: dict[str, str] = {}
    flag = ""
    for line in result.stdout.splitlines():
        words = line.split()
        if words and words[0].startswith("--"):
            flag = words[0]
            lines[flag] = line.strip()
        elif flag and words:
            lines[flag] += " " + line.strip()
    return lines


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_help_shows_setting(help_lines: dict[str, str], name: str) -> None:
    flag = "--" + name.replace("_", "-")
    description = Settings.model_fields[name].description or ""

    line = help_lines.get(flag, "")

    assert line, f"{flag} is not in kerve-server --help"
    assert description.strip()
    assert description in line
    assert _default_text(name) in line
    assert f"[env: KERVE_{name.upper()}]" in line
    for ending, unit in UNITS.items():
        if name.endswith(ending):
            assert unit in description


def test_help_has_no_other_options(help_lines: dict[str, str]) -> None:
    flags = {"--" + name.replace("_", "-") for name in Settings.model_fields}

    assert set(help_lines) - {"--help"} == flags


@pytest.mark.parametrize(
    ("arguments", "environment", "expected"),
    [
        ((), {"KERVE_PORT": "70000"}, "invalid setting port (--port, KERVE_PORT)"),
        (
            ("--log-format", "xml"),
            {},
            "invalid setting log_format (--log-format, KERVE_LOG_FORMAT)",
        ),
        (
            ("--max-epochs", "0"),
            {},
            "invalid setting max_epochs (--max-epochs, KERVE_MAX_EPOCHS)",
        ),
    ],
    ids=["port-variable", "log-format-flag", "max-epochs-flag"],
)
def test_invalid_value_exits_2(
    arguments: tuple[str, ...], environment: dict[str, str], expected: str
) -> None:
    received = arguments[-1] if arguments else next(iter(environment.values()))

    result = _run(*arguments, environment=environment)

    assert result.returncode == 2
    assert expected in result.stderr
    assert f"received {received!r}" in result.stderr
    assert "Traceback" not in result.stderr


def test_flag_beats_variable_at_exit() -> None:
    result = _run("--port", "70001", environment={"KERVE_PORT": "70000"})

    assert result.returncode == 2
    assert "received '70001'" in result.stderr
    assert "70000" not in result.stderr


def test_invalid_tokens_not_echoed() -> None:
    token = "same-token-for-both-roles-4b1f"

    result = _run("--admin-token", token, "--predict-token", token)

    assert result.returncode == 2
    assert "the predict token must differ from the admin token" in result.stderr
    assert token not in result.stderr


@pytest.mark.parametrize("value", ["", "   "])
@pytest.mark.parametrize("source", ["flag", "variable"])
@pytest.mark.parametrize("name", ["admin_token", "predict_token"])
def test_empty_token_exits_2(name: str, source: str, value: str) -> None:
    admin = "admin-token-for-cli-tests-97c1"
    flag = "--" + name.replace("_", "-")
    variable = "KERVE_" + name.upper()
    arguments = ["--admin-token", admin] if name == "predict_token" else []
    environment = {}
    if source == "flag":
        arguments += [f"{flag}={value}"]
    else:
        environment[variable] = value

    result = _run(*arguments, environment=environment)

    assert result.returncode == 2
    assert f"invalid setting {name} ({flag}, {variable})" in result.stderr
    assert "empty or only whitespace" in result.stderr
    assert admin not in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("value", ["inf", "nan"])
@pytest.mark.parametrize(
    "name",
    sorted(
        n for n, field in Settings.model_fields.items() if field.annotation is float
    ),
)
def test_non_finite_float_exits_2(name: str, value: str) -> None:
    flag = "--" + name.replace("_", "-")

    result = _run(flag, value)

    assert result.returncode == 2
    assert f"invalid setting {name} ({flag}, KERVE_{name.upper()})" in result.stderr
    assert f"received {value!r}" in result.stderr


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port on 127.0.0.1 that a listening socket holds."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield held.getsockname()[1]


def test_busy_port_exits_1(busy_port: int, tmp_path: Path) -> None:
    result = _run(
        "--host", "127.0.0.1",
        "--port", str(busy_port),
        "--data-dir", str(tmp_path),
    )  # fmt: skip
    errors = [line for line in result.stderr.splitlines() if " ERROR " in line]

    assert result.returncode == 1
    assert errors == [errors[0]]
    assert errors[0].endswith(
        f"ERROR kerve_server: cannot listen on 127.0.0.1:{busy_port} (--host, "
        "--port): the address is in use or not available"
    )
    for text in UNCLEAN_STOP:
        assert text not in result.stderr


def test_busy_metrics_port_exits_1(busy_port: int, tmp_path: Path) -> None:
    result = _run(
        "--host", "127.0.0.1",
        "--port", "0",
        "--metrics-port", str(busy_port),
        "--data-dir", str(tmp_path),
    )  # fmt: skip
    errors = [line for line in result.stderr.splitlines() if " ERROR " in line]

    assert result.returncode == 1
    assert errors == [errors[0]]
    assert errors[0].endswith(
        f"ERROR kerve_server: cannot serve metrics on 127.0.0.1:{busy_port} "
        "(--host, --metrics-port): Address already in use"
    )
    for text in UNCLEAN_STOP:
        assert text not in result.stderr


@pytest.mark.parametrize("layout", ["file", "under-a-file", "models-is-a-file"])
def test_unusable_data_dir_exits_2(layout: str, tmp_path: Path) -> None:
    plain_file = tmp_path / "plain-file"
    plain_file.write_text("not a folder")
    data_dir = {
        "file": plain_file,
        "under-a-file": plain_file / "store",
        "models-is-a-file": tmp_path,
    }[layout]
    if layout == "models-is-a-file":
        (tmp_path / "models").write_text("not a folder")

    result = _run("--port", "0", "--data-dir", str(data_dir))
    errors = [line for line in result.stderr.splitlines() if " ERROR " in line]

    assert result.returncode == 2
    assert len(errors) == 1
    assert f"cannot use {data_dir} as the model store (--data-dir, " in errors[0]
    # Checked before TensorFlow is imported, so the engine never logs.
    assert "kerve_server.engine" not in result.stderr
    for text in UNCLEAN_STOP:
        assert text not in result.stderr


@pytest.mark.skipif(
    os.geteuid() == 0, reason="root writes to folders without write permission"
)
def test_read_only_data_dir_exits_2(tmp_path: Path) -> None:
    data_dir = tmp_path / "read-only"
    data_dir.mkdir()
    data_dir.chmod(0o500)
    try:
        result = _run("--port", "0", "--data-dir", str(data_dir))
    finally:
        data_dir.chmod(0o700)

    assert result.returncode == 2
    assert f"cannot use {data_dir} as the model store" in result.stderr
    assert "Permission denied" in result.stderr


def test_unreadable_tls_key_exits_1(tmp_path: Path) -> None:
    certificate = tmp_path / "server.pem"
    certificate.write_text("any text: the key is read before it is parsed")
    key = tmp_path / "missing-key-4e0b.key"

    result = _run(
        "--port", "0",
        "--data-dir", str(tmp_path / "data"),
        "--tls-cert-file", str(certificate),
        "--tls-key-file", str(key),
    )  # fmt: skip

    assert result.returncode == 1
    assert (
        "ERROR kerve_server: cannot read the file of --tls-key-file (its path is "
        "not shown): No such file or directory"
    ) in result.stderr
    assert key.name not in result.stderr
    for text in UNCLEAN_STOP:
        assert text not in result.stderr
