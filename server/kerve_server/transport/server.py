"""Building and running the gRPC server: Models, health and reflection."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import platform
import signal
from datetime import UTC, datetime
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from kerve.v1 import kerve_pb2
from kerve_server.about import kerve_version
from kerve_server.engine import library_versions
from kerve_server.metrics import serve_metrics
from kerve_server.service.assessment import TrustPolicy
from kerve_server.service.registry import Limits, ModelRegistry
from kerve_server.settings import SECRET_FIELDS, SettingError, Settings
from kerve_server.store import ModelStore
from kerve_server.transport.auth import (
    AsyncServerInterceptor,
    TokenInterceptor,
    Tokens,
)
from kerve_server.transport.handlers import models_handler
from kerve_server.transport.health_checking import HealthServicer
from kerve_server.transport.readiness import Readiness
from kerve_server.transport.rpc_metrics import RpcMetricsInterceptor
from kerve_server.transport.servicer import ModelsServicer

logger = logging.getLogger(__name__)

SERVICE_NAME = kerve_pb2.DESCRIPTOR.services_by_name["Models"].full_name


class KerveServer:
    """One gRPC server with its registry, started and stopped as a unit."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.registry = ModelRegistry(
            Limits(
                max_parameters=settings.max_parameters,
                max_batch_rows=settings.max_batch_rows,
                max_dataset_rows=settings.max_dataset_rows,
                max_epochs=settings.max_epochs,
                max_concurrent_training=settings.max_concurrent_training,
                keep_versions=settings.keep_versions,
                max_import_bytes=settings.max_import_bytes,
                max_message_bytes=settings.max_message_bytes,
                max_merged_batch_rows=settings.max_merged_batch_rows,
                max_queued_requests=settings.max_queued_requests,
                tensorflow_threads=settings.tensorflow_threads,
            ),
            store=ModelStore(settings.data_dir),
            policy=TrustPolicy(
                validation_fraction=settings.validation_fraction,
                validation_margin=settings.validation_margin,
                validation_significance=settings.validation_significance,
                extrapolation_margin=settings.extrapolation_margin,
            ),
        )
        self.health = HealthServicer()
        options = [
            ("grpc.max_receive_message_length", settings.max_message_bytes),
            ("grpc.max_send_message_length", settings.max_message_bytes),
            ("grpc.so_reuseport", 0),
        ]
        admin, predict = settings.resolved_tokens()
        self.authenticated = admin is not None
        self.readiness = Readiness()
        interceptors: list[AsyncServerInterceptor] = []
        if settings.metrics_port:
            interceptors.append(RpcMetricsInterceptor(self.registry.has_model))
        if admin:
            interceptors.append(TokenInterceptor(Tokens(admin, predict)))
        self._server = grpc.aio.server(
            options=options,
            interceptors=interceptors,
            maximum_concurrent_rpcs=settings.max_concurrent_rpcs,
        )
        versions = library_versions()
        self.info = kerve_pb2.ServerInfo(
            version=kerve_version(),
            python_version=platform.python_version(),
            tensorflow_version=versions["tensorflow"],
            keras_version=versions["keras"],
            max_message_bytes=settings.max_message_bytes,
            max_batch_rows=settings.max_batch_rows,
        )
        servicer = ModelsServicer(
            self.registry,
            max_dataset_rows=settings.max_dataset_rows,
            max_import_bytes=settings.max_import_bytes,
            max_message_bytes=settings.max_message_bytes,
            info=self.info,
        )
        self._server.add_generic_rpc_handlers(
            (models_handler(servicer, self.readiness),)
        )
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self._server)
        reflection.enable_server_reflection(
            (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), self._server
        )
        self.port = 0
        self.metrics_port = 0

    async def start(self) -> int:
        """Bind the port, load the store, then serve; return the port.

        Health reports NOT_SERVING, and Models calls fail with UNAVAILABLE,
        from the moment the port is bound until the store has loaded.

        Raises:
            SettingError: a port cannot be bound, the store cannot be read or
                a TLS file cannot be read. Call ``stop_after_failed_start``
                then.
        """
        credentials = server_credentials(self.settings)
        self.port = self._bind(credentials)
        warn_if_exposed(self.settings.host, authenticated=self.authenticated)
        for service in ("", SERVICE_NAME):
            await self.health.set(service, health_pb2.HealthCheckResponse.NOT_SERVING)
        await self._server.start()
        logger.info(
            "bound %s:%d; health NOT_SERVING while the store loads",
            self.settings.host,
            self.port,
        )
        await self._load_store()
        self.metrics_port = self._serve_metrics()
        self.info.start_time.FromDatetime(datetime.now(UTC))
        self.readiness.open()
        for service in ("", SERVICE_NAME):
            await self.health.set(service, health_pb2.HealthCheckResponse.SERVING)
        logger.info(
            "Kerve listening on %s:%d (%s, %s, max message %d bytes)",
            self.settings.host,
            self.port,
            "TLS" if credentials is not None else "plaintext",
            "token authentication" if self.authenticated else "no authentication",
            self.settings.max_message_bytes,
        )
        return self.port

    def _bind(self, credentials: grpc.ServerCredentials | None) -> int:
        address = f"{self.settings.host}:{self.settings.port}"
        try:
            if credentials is None:
                return self._server.add_insecure_port(address)
            return self._server.add_secure_port(address, credentials)
        except RuntimeError as exc:
            # grpcio 1.85 raises RuntimeError("Failed to bind to address ...")
            # without the reason; its C++ core writes the reason to stderr.
            raise SettingError(
                f"cannot listen on {address} (--host, --port): the address is "
                "in use or not available"
            ) from exc

    async def _load_store(self) -> None:
        try:
            await self.registry.load()
        except OSError as exc:
            raise SettingError(
                f"cannot read the model store in {self.settings.data_dir} "
                f"(--data-dir): {exc}"
            ) from exc

    def _serve_metrics(self) -> int:
        try:
            return serve_metrics(
                self.settings.host,
                self.settings.metrics_port,
                count_by_state=self.registry.count_by_state,
            )
        except OSError as exc:
            raise SettingError(
                f"cannot serve metrics on {self.settings.host}:"
                f"{self.settings.metrics_port} (--host, --metrics-port): "
                f"{exc.strerror or exc}"
            ) from exc

    async def stop(self) -> None:
        """Stop: health NOT_SERVING, refuse new calls, let running ones finish.

        Unary calls get ``grace_period_seconds`` to finish. Health Watch and
        WatchModel streams end at once with UNAVAILABLE, after health has
        sent NOT_SERVING. Training runs are cancelled and leave their models
        in their previous state.
        """
        grace = self.settings.grace_period_seconds
        logger.info("stopping: health NOT_SERVING, %.1f s grace period", grace)
        await self.health.enter_graceful_shutdown()
        await self.health.end_watches()
        self.registry.end_watches()
        self.registry.cancel_all()
        await self._server.stop(grace)
        # NOTE: closing waits for each training run to reach the end of its
        # current batch, so a run with very large batches can make the stop
        # last longer than the grace period.
        await self.registry.close()
        logger.info("stopped")

    async def stop_after_failed_start(self) -> None:
        """Stop what ``start`` had started before it raised."""
        await self._server.stop(None)
        await self.registry.close()

    async def wait(self) -> None:
        """Wait until the gRPC server has stopped."""
        await self._server.wait_for_termination()


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """Return TLS credentials from the settings' files, or None for plaintext.

    Raises:
        SettingError: a certificate or key file cannot be read.
    """
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return None
    chain = _read_tls_file(settings, "tls_cert_file")
    key = _read_tls_file(settings, "tls_key_file")
    client_ca = (
        _read_tls_file(settings, "tls_client_ca_file")
        if settings.tls_client_ca_file is not None
        else None
    )
    return grpc.ssl_server_credentials(
        [(key, chain)],
        root_certificates=client_ca,
        require_client_auth=client_ca is not None,
    )


def _read_tls_file(settings: Settings, name: str) -> bytes:
    path: Path = getattr(settings, name)
    flag = "--" + name.replace("_", "-")
    try:
        return path.read_bytes()
    except OSError as exc:
        path_text = "its path is not shown" if name in SECRET_FIELDS else str(path)
        raise SettingError(
            f"cannot read the file of {flag} ({path_text}): {exc.strerror or exc}"
        ) from exc


def warn_if_exposed(host: str, *, authenticated: bool) -> bool:
    """Log a warning and return True if ``host`` is reachable without a token."""
    if authenticated or is_loopback(host):
        return False
    logger.warning(
        "listening on %s without authentication: anyone who can reach it can "
        "create, train and delete models; set --admin-token (and "
        "--tls-cert-file) before exposing the server",
        host,
    )
    return True


def is_loopback(host: str) -> bool:
    """Return True if ``host`` names only this machine."""
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


async def serve(settings: Settings) -> None:
    """Run a server until SIGTERM or SIGINT, then stop it gracefully."""
    server = KerveServer(settings)
    try:
        await server.start()
    except Exception:
        # Stopped here, on the running loop, or grpcio tries again when the
        # server is garbage-collected, after the loop has closed.
        await server.stop_after_failed_start()
        raise
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()

    def request_stop(received: signal.Signals) -> None:
        logger.info("received %s", received.name)
        stopping.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, request_stop, sig)
    await stopping.wait()
    await server.stop()
