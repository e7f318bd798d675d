"""Readiness of the Models service while the server loads its store.

The server binds its port before it loads the store, so that probes reach it
at once: health reports NOT_SERVING and Models calls fail with UNAVAILABLE
until every model is loaded. Health checking and reflection respond
throughout.
"""

from __future__ import annotations

NOT_READY_MESSAGE = (
    "the server is loading its model store and is not serving yet; retry "
    "when grpc.health.v1 reports SERVING"
)


class Readiness:
    """Whether the Models service serves calls; false until ``open``."""

    def __init__(self) -> None:
        self.ready = False

    def open(self) -> None:
        """Serve Models calls from now on."""
        self.ready = True
