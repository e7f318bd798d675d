"""Fixtures: one real server process per test module, and its client."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

import kerve
from tests.servers import ServerProcess, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A Kerve server for the whole module; its log is shown if it fails."""
    process = start_server(tmp_path_factory.mktemp("server"))
    yield process
    code = process.stop()
    assert code == 0, f"server exited with {code}; its log:\n{process.log()}"


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> Iterator[kerve.Client]:
    """A client connected to the module's server."""
    with kerve.Client(server.address, timeout=300) as connected:
        yield connected


@pytest.fixture
def name(request: pytest.FixtureRequest) -> str:
    """A model name unique to the test, derived from its id."""
    text = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")
    return text[:63].rstrip("-") or "model"
