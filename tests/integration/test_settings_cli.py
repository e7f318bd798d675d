"""The kerve-server command line: --help and invalid settings, as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kerve_server.settings import Settings

EXECUTABLE = Path(sys.executable).parent / "kerve-server"
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
