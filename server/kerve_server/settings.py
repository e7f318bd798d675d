"""Server settings, read from command-line flags and ``KERVE_*`` variables.

Every field is both a flag (``--max-batch-rows``) and an environment variable
(``KERVE_MAX_BATCH_ROWS``); a flag wins over the variable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, CliApp, SettingsConfigDict

# The client library uses the same default, so that a message that the one
# accepts the other accepts too.
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class Settings(BaseSettings):
    """Configuration of one Kerve server process."""

    model_config = SettingsConfigDict(
        env_prefix="KERVE_",
        cli_prog_name="kerve-server",
        cli_kebab_case=True,
        cli_implicit_flags=True,
        cli_enforce_required=False,
        extra="ignore",
    )

    host: str = Field(
        default="127.0.0.1",
        description="Address to listen on; 0.0.0.0 listens on every interface.",
    )
    port: int = Field(
        default=50051,
        ge=0,
        le=65535,
        description="TCP port to listen on; 0 picks a free port and logs it.",
    )
    log_level: LogLevel = Field(default="INFO", description="Lowest level logged.")
    max_message_bytes: int = Field(
        default=DEFAULT_MAX_MESSAGE_BYTES,
        ge=1024,
        description="Largest gRPC message received or sent, in bytes.",
    )
    max_concurrent_training: int = Field(
        default=2,
        ge=1,
        le=64,
        description="Training runs that may run at once across all models.",
    )
    max_parameters: int = Field(
        default=50_000_000,
        ge=1,
        description="Largest parameter count a model spec may have.",
    )
    max_batch_rows: int = Field(
        default=65_536,
        ge=1,
        description="Most rows one Predict request may carry.",
    )
    max_dataset_rows: int = Field(
        default=1_000_000,
        ge=1,
        description="Most rows a synthetic dataset may generate.",
    )
    max_epochs: int = Field(
        default=100_000, ge=1, description="Most epochs one training run may take."
    )
    grace_period_seconds: float = Field(
        default=5.0,
        ge=0,
        description="Seconds that running calls get to finish after SIGTERM.",
    )
    metrics_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="Port of the Prometheus metrics endpoint; 0 turns it off.",
    )


def load_settings(argv: Sequence[str] | None = None) -> Settings:
    """Build settings from ``argv`` flags over ``KERVE_*`` variables.

    Raises:
        SystemExit: a flag is unknown or its value is invalid; argparse has
            printed the usage and the error.
    """
    return CliApp.run(Settings, cli_args=list(argv) if argv is not None else [])
