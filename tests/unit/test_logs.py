"""Log formats: JSON records, and the relay of native stderr lines."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

from kerve_server.logs import json_formatter
from kerve_server.native_stderr import native_level


def _record(message: str, *, exc_info: bool = False) -> logging.LogRecord:
    try:
        raise ValueError("broken weights")
    except ValueError:
        info = sys.exc_info() if exc_info else None
    return logging.LogRecord(
        "kerve_server.test", logging.ERROR, __file__, 1, message, ("a",), info
    )


def test_json_record_keys() -> None:
    line = json_formatter().format(_record("model %s failed"))

    record = json.loads(line)

    assert set(record) == {"time", "level", "logger", "message"}
    assert record["level"] == "ERROR"
    assert record["logger"] == "kerve_server.test"
    assert record["message"] == "model a failed"
    assert record["time"].endswith("+00:00")


def test_json_record_exception() -> None:
    line = json_formatter().format(_record("model %s failed", exc_info=True))

    record = json.loads(line)

    assert "Traceback (most recent call last)" in record["exception"]
    assert "ValueError: broken weights" in record["exception"]
    assert "\n" not in line


@pytest.mark.parametrize(
    ("line", "level"),
    [
        ("I0000 00:00:1.0 1 port.cc:153] oneDNN custom operations", logging.INFO),
        ("W1204 10:00:00.1 1 x.cc:1] slow", logging.WARNING),
        ("E0000 00:00:1.0 1 cuda_platform.cc:52] failed call", logging.ERROR),
        ("F0000 00:00:1.0 1 x.cc:1] check failed", logging.CRITICAL),
        ("Segmentation fault", logging.WARNING),
        ("Info: a line without the prefix", logging.WARNING),
    ],
)
def test_native_level(line: str, level: int) -> None:
    assert native_level(line) == level


def test_relay_logs_each_line() -> None:
    written = (
        "I0000 00:00:1.0 1 a.cc:1] up\n\nplain text\nE0000 00:00:1.0 1 b.cc:2] bad\n"
    )

    relay = subprocess.run(
        [sys.executable, "-m", "kerve_server.native_stderr", "INFO"],
        input=written.encode(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    records = [json.loads(line) for line in relay.stderr.decode().splitlines()]

    assert relay.returncode == 0
    assert [r["message"] for r in records] == [
        "I0000 00:00:1.0 1 a.cc:1] up",
        "plain text",
        "E0000 00:00:1.0 1 b.cc:2] bad",
    ]
    assert [r["level"] for r in records] == ["INFO", "WARNING", "ERROR"]
    assert {r["logger"] for r in records} == {"kerve_server.native_stderr"}


def test_relay_honours_level() -> None:
    relay = subprocess.run(
        [sys.executable, "-m", "kerve_server.native_stderr", "WARNING"],
        input=b"I0000 00:00:1.0 1 a.cc:1] up\n",
        capture_output=True,
        timeout=60,
        check=False,
    )

    assert relay.returncode == 0
    assert relay.stderr == b""
