"""The warning for a server reachable from other hosts without a token."""

from __future__ import annotations

import logging

import pytest

from kerve_server.transport.server import is_loopback, warn_if_exposed


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"]
)
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "example.com", ""])
def test_other_hosts(host: str) -> None:
    assert not is_loopback(host)


def test_public_bind_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        warned = warn_if_exposed("0.0.0.0", authenticated=False)

    assert warned
    assert "listening on 0.0.0.0 without authentication" in caplog.text


def test_authenticated_bind_quiet(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        warned = warn_if_exposed("0.0.0.0", authenticated=True)

    assert not warned
    assert caplog.text == ""
