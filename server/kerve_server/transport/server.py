"""Building and running the gRPC server: Models, health and reflection."""

from __future__ import annotations

import asyncio
import logging
import signal

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from kerve.v1 import kerve_pb2, kerve_pb2_grpc
from kerve_server.service.registry import Limits, ModelRegistry
from kerve_server.settings import Settings
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
            )
        )
        self.health = health.aio.HealthServicer()  # type: ignore[attr-defined]
        options = [
            ("grpc.max_receive_message_length", settings.max_message_bytes),
            ("grpc.max_send_message_length", settings.max_message_bytes),
            ("grpc.so_reuseport", 0),
        ]
        self._server = grpc.aio.server(options=options)
        kerve_pb2_grpc.add_ModelsServicer_to_server(  # type: ignore[no-untyped-call]
            ModelsServicer(self.registry, max_dataset_rows=settings.max_dataset_rows),
            self._server,
        )
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self._server)
        reflection.enable_server_reflection(
            (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), self._server
        )
        self.port = 0

    async def start(self) -> int:
        """Bind the port, start serving and return the bound port."""
        address = f"{self.settings.host}:{self.settings.port}"
        self.port = self._server.add_insecure_port(address)
        if self.port == 0:
            raise OSError(f"could not listen on {address}; is the port in use?")
        await self._server.start()
        for service in ("", SERVICE_NAME):
            await self.health.set(service, health_pb2.HealthCheckResponse.SERVING)
        logger.info(
            "Kerve listening on %s:%d (max message %d bytes)",
            self.settings.host,
            self.port,
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
        await self.registry.close()
        await self._server.stop(grace)
        logger.info("stopped")

    async def wait(self) -> None:
        """Wait until the gRPC server has stopped."""
        await self._server.wait_for_termination()


async def serve(settings: Settings) -> None:
    """Run a server until SIGTERM or SIGINT, then stop it gracefully."""
    server = KerveServer(settings)
    await server.start()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await stopping.wait()
    await server.stop()
