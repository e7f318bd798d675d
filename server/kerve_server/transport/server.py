"""Building and running the gRPC server: Models, health and reflection."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import platform
import signal
from datetime import UTC, datetime

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from kerve.v1 import kerve_pb2
from kerve_server.about import kerve_version
from kerve_server.engine import library_versions
from kerve_server.metrics import serve_metrics
from kerve_server.service.assessment import TrustPolicy
from kerve_server.service.registry import Limits, ModelRegistry
from kerve_server.settings import Settings
from kerve_server.store import ModelStore
from kerve_server.transport.auth import (
    AsyncServerInterceptor,
    TokenInterceptor,
    Tokens,
)
from kerve_server.transport.handlers import models_handler
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
        self.health = health.aio.HealthServicer()  # type: ignore[attr-defined]
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
        """
        address = f"{self.settings.host}:{self.settings.port}"
        credentials = server_credentials(self.settings)
        if credentials is None:
            self.port = self._server.add_insecure_port(address)
        else:
            self.port = self._server.add_secure_port(address, credentials)
        if self.port == 0:
            raise OSError(f"could not listen on {address}; is the port in use?")
        warn_if_exposed(self.settings.host, authenticated=self.authenticated)
        for service in ("", SERVICE_NAME):
            await self.health.set(service, health_pb2.HealthCheckResponse.NOT_SERVING)
        await self._server.start()
        logger.info(
            "bound %s:%d; health NOT_SERVING while the store loads",
            self.settings.host,
            self.port,
        )
        await self.registry.load()
        self.metrics_port = serve_metrics(
            self.settings.host,
            self.settings.metrics_port,
            count_by_state=self.registry.count_by_state,
        )
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

    async def stop(self) -> None:
        """Stop: health NOT_SERVING, refuse new calls, let running ones finish.

        Unary calls get ``grace_period_seconds`` to finish; training runs are
        cancelled and leave their models in their previous state.
        """
        grace = self.settings.grace_period_seconds
        logger.info("stopping: health NOT_SERVING, %.1f s grace period", grace)
        await self.health.enter_graceful_shutdown()
        self.registry.cancel_all()
        await self._server.stop(grace)
        # NOTE: closing waits for each training run to reach the end of its
        # current batch, so a run with very large batches can make the stop
        # last longer than the grace period.
        await self.registry.close()
        logger.info("stopped")

    async def wait(self) -> None:
        """Wait until the gRPC server has stopped."""
        await self._server.wait_for_termination()


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """Return TLS credentials from the settings' files, or None for plaintext.

    Raises:
        OSError: a certificate or key file cannot be read.
    """
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return None
    chain = settings.tls_cert_file.read_bytes()
    key = settings.tls_key_file.read_bytes()
    client_ca = (
        settings.tls_client_ca_file.read_bytes()
        if settings.tls_client_ca_file is not None
        else None
    )
    return grpc.ssl_server_credentials(
        [(key, chain)],
        root_certificates=client_ca,
        require_client_auth=client_ca is not None,
    )


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
    await server.start()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()

    def request_stop(received: signal.Signals) -> None:
        logger.info("received %s", received.name)
        stopping.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, request_stop, sig)
    await stopping.wait()
    await server.stop()
