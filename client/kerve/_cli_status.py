"""``kerve status``: the server's health and its models counted by state."""

from __future__ import annotations

import collections
import importlib.metadata
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from kerve._client import Client
from kerve._errors import NotFoundError
from kerve._plural import plural
from kerve._trust import Verdict
from kerve._types import ServerInfo, State

MODELS_SERVICE = "kerve.v1.Models"
"""The health service name of the Kerve API."""


@dataclass(frozen=True)
class ServerStatus:
    """Findings of ``kerve status``.

    Attributes:
        server: The address asked.
        health: Serving status by health service name: "" for the server as
            a whole and ``MODELS_SERVICE``. "SERVICE_UNKNOWN" means the
            server has no status for that name.
        client_version: Version of the installed ``kerve`` package.
        info: The server's versions and limits, or None when the server is
            not serving, because it serves Models calls only then.
        by_state: Number of models in each state, or None as for ``info``.
        by_verdict: Number of models with each verdict, or None as above.
    """

    server: str
    health: dict[str, str]
    client_version: str
    info: ServerInfo | None
    by_state: dict[str, int] | None
    by_verdict: dict[str, int] | None

    @property
    def serving(self) -> bool:
        """Whether every health service checked is SERVING."""
        return all(status == "SERVING" for status in self.health.values())


def client_version() -> str:
    """Return the installed version of the ``kerve`` package, or "unknown"."""
    try:
        return importlib.metadata.version("kerve")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _count(names: list[str], known: list[str]) -> dict[str, int]:
    """Count each name, listing every known name, even with a count of 0."""
    counts = collections.Counter(names)
    return {name: counts.get(name, 0) for name in known} | dict(counts)


def fetch_status(client: Client, server: str) -> ServerStatus:
    """Check both health services and, if the server serves, count its models.

    Raises:
        KerveError: If a call fails, for example ``UnavailableError`` when
            no server responds.
    """
    health: dict[str, str] = {}
    for service in ("", MODELS_SERVICE):
        try:
            health[service] = client.check_health(service)
        except NotFoundError:
            health[service] = "SERVICE_UNKNOWN"

    info = by_state = by_verdict = None
    if all(status == "SERVING" for status in health.values()):
        info = client.server_info()
        # NOTE: ListModels has no page token in kerve.v1 and returns every
        # model in one response, so there are no further pages to follow.
        models = client.list_models()
        states = [state.name for state in State if state is not State.UNSPECIFIED]
        verdicts = [v.name for v in Verdict if v is not Verdict.UNSPECIFIED]
        by_state = _count([model.state.name for model in models], states)
        by_verdict = _count([model.verdict.name for model in models], verdicts)
    return ServerStatus(server, health, client_version(), info, by_state, by_verdict)


def status_to_json(status: ServerStatus) -> dict[str, Any]:
    """Return a status as a JSON document."""
    models = None
    if status.by_state is not None:
        models = {
            "total": sum(status.by_state.values()),
            "by_state": status.by_state,
            "by_verdict": status.by_verdict,
        }
    return {
        "address": status.server,
        "serving": status.serving,
        "health": {
            "overall": status.health[""],
            MODELS_SERVICE: status.health[MODELS_SERVICE],
        },
        "client_version": status.client_version,
        "server": _info_to_json(status.info),
        "models": models,
    }


def _info_to_json(info: ServerInfo | None) -> dict[str, Any] | None:
    if info is None:
        return None
    return {
        "version": info.version,
        "python_version": info.python_version,
        "tensorflow_version": info.tensorflow_version,
        "keras_version": info.keras_version,
        "start_time": None if info.start_time is None else info.start_time.isoformat(),
        "max_message_bytes": info.max_message_bytes,
        "max_batch_rows": info.max_batch_rows,
    }


def _health_text(status: str) -> Text:
    return Text(status, style="bold green" if status == "SERVING" else "bold red")


def _describe_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{count} {name}" for name, count in counts.items())


def _add_server_rows(table: Table, info: ServerInfo | None) -> None:
    if info is None:
        table.add_row("server version", "unknown, because the server is not serving")
        return
    table.add_row("server version", info.version)
    table.add_row(
        "libraries",
        f"TensorFlow {info.tensorflow_version}, Keras {info.keras_version}, "
        f"Python {info.python_version}",
    )
    if info.start_time is not None:
        table.add_row("serving since", info.start_time.isoformat(timespec="seconds"))
    table.add_row(
        "limits",
        f"{plural(info.max_batch_rows, 'row')} per Predict, "
        f"{info.max_message_bytes:,} bytes per message",
    )


def print_status(console: Console, status: ServerStatus) -> None:
    """Print a status as a two-column table."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("server", status.server)
    table.add_row("health", _health_text(status.health[""]))
    table.add_row(
        f"health {MODELS_SERVICE}", _health_text(status.health[MODELS_SERVICE])
    )
    table.add_row("client version", status.client_version)
    _add_server_rows(table, status.info)

    if status.by_state is None or status.by_verdict is None:
        table.add_row("models", "not listed, because the server is not serving")
    else:
        table.add_row("models", str(sum(status.by_state.values())))
        table.add_row("by state", _describe_counts(status.by_state))
        table.add_row("by verdict", _describe_counts(status.by_verdict))
    console.print(table)
