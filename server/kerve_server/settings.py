"""Server settings, read from command-line flags and ``KERVE_*`` variables.

Every field is both a flag (``--max-batch-rows``) and an environment variable
(``KERVE_MAX_BATCH_ROWS``); a flag wins over the variable.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, CliApp, SettingsConfigDict

# The client library uses the same default, so that a message that the one
# accepts the other accepts too.
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
LogFormat = Literal["text", "json"]

# Settings whose values are never printed, in logs or in error messages: the
# tokens, the files that hold them, and the path of the TLS private key.
SECRET_FIELDS = frozenset(
    {
        "admin_token",
        "predict_token",
        "admin_token_file",
        "predict_token_file",
        "tls_key_file",
    }
)
# The text printed in place of a secret's value.
SECRET_MASK = "<set>"


class SettingError(Exception):
    """Raised at start when a valid setting cannot be used, such as a busy port.

    The message names the setting's flag and its value.
    """


def default_data_dir() -> Path:
    """Return the per-user store folder: ``$XDG_DATA_HOME/kerve``."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "kerve"


def default_tensorflow_threads() -> int:
    """Return half the CPU cores, at least 1."""
    return max(1, (os.cpu_count() or 1) // 2)


class Settings(BaseSettings):
    """Configuration of one Kerve server process."""

    model_config = SettingsConfigDict(
        env_prefix="KERVE_",
        cli_prog_name="kerve-server",
        cli_kebab_case=True,
        cli_implicit_flags=True,
        cli_enforce_required=False,
        # --help names each flag's environment variable, and its default.
        cli_show_env_vars=True,
        cli_hide_none_type=True,
        extra="ignore",
    )

    data_dir: Path = Field(
        default_factory=default_data_dir,
        description=(
            "Folder of the model store; models are saved there and loaded "
            "from it at start. Default: $XDG_DATA_HOME/kerve, else "
            "~/.local/share/kerve."
        ),
    )
    keep_versions: int = Field(
        default=3,
        ge=1,
        le=1000,
        description=(
            "Number of recent versions kept on disk per model, besides the "
            "current one and the initial weights."
        ),
    )
    max_import_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=1024,
        description="Largest .keras archive ImportModel accepts, in bytes.",
    )

    @field_validator("admin_token", "predict_token")
    @classmethod
    def _reject_empty_token(cls, value: SecretStr | None) -> SecretStr | None:
        # An empty token would leave authentication off while the setting
        # looks set. Unset the setting to run without authentication.
        if value is not None and not value.get_secret_value().strip():
            raise ValueError(
                "the token is empty or only whitespace; give a token, or leave "
                "the setting unset to run without authentication"
            )
        return value

    @model_validator(mode="after")
    def _check_security(self) -> Settings:
        admin, predict = self.resolved_tokens()
        if predict is not None and admin is None:
            raise ValueError("a predict token needs an admin token as well")
        if admin is not None and predict == admin:
            raise ValueError("the predict token must differ from the admin token")
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("TLS needs both --tls-cert-file and --tls-key-file")
        if self.tls_client_ca_file is not None and self.tls_cert_file is None:
            raise ValueError("--tls-client-ca-file needs --tls-cert-file as well")
        return self

    def resolved_tokens(self) -> tuple[str | None, str | None]:
        """Return the admin and predict tokens, read from files if given."""
        admin = read_secret(self.admin_token, self.admin_token_file, "admin token")
        predict = read_secret(
            self.predict_token, self.predict_token_file, "predict token"
        )
        return admin, predict

    admin_token: SecretStr | None = Field(
        default=None,
        description=(
            "Bearer token that allows every RPC. Setting it turns "
            "authentication on; health checks and reflection stay open. "
            "Prefer --admin-token-file, because other users of the machine "
            "can read command-line arguments."
        ),
    )
    predict_token: SecretStr | None = Field(
        default=None,
        description=(
            "Bearer token that allows Predict, Evaluate, GetModel, ListModels, "
            "WatchModel and GetServerInfo only. Needs an admin token."
        ),
    )
    admin_token_file: Path | None = Field(
        default=None,
        description="File whose content is the admin token; it wins over "
        "--admin-token.",
    )
    predict_token_file: Path | None = Field(
        default=None,
        description="File whose content is the predict token; it wins over "
        "--predict-token.",
    )
    tls_cert_file: Path | None = Field(
        default=None,
        description="PEM certificate chain of the server; turns TLS on.",
    )
    tls_key_file: Path | None = Field(
        default=None, description="PEM private key of the server certificate."
    )
    tls_client_ca_file: Path | None = Field(
        default=None,
        description=(
            "PEM certificates of the CAs that sign client certificates; "
            "setting it requires every client to present one (mutual TLS)."
        ),
    )
    max_concurrent_rpcs: int = Field(
        default=1000,
        ge=1,
        description=(
            "Maximum RPCs the server runs at once; past it, calls fail at "
            "once with RESOURCE_EXHAUSTED."
        ),
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
    log_level: LogLevel = Field(
        default="INFO",
        description="Lowest level of the log records written to stderr.",
    )
    log_format: LogFormat = Field(
        default="text",
        description=(
            "Format of the log on stderr: text (a line of time, level, logger "
            "and message) or json (one JSON object per line with the keys "
            "time, level, logger, message, and exception when there is one)."
        ),
    )
    max_message_bytes: int = Field(
        default=DEFAULT_MAX_MESSAGE_BYTES,
        ge=1024,
        description="Largest gRPC message received or sent, in bytes.",
    )
    max_concurrent_training: int = Field(
        default=2,
        ge=1,
        le=64,
        description="Maximum training runs at once, across all models.",
    )
    max_parameters: int = Field(
        default=50_000_000,
        ge=1,
        description="Maximum number of parameters (weights) in a model spec.",
    )
    max_batch_rows: int = Field(
        default=65_536,
        ge=1,
        description="Maximum rows in one Predict request.",
    )
    max_dataset_rows: int = Field(
        default=1_000_000,
        ge=1,
        description="Maximum rows that a synthetic dataset may generate.",
    )
    max_epochs: int = Field(
        default=100_000, ge=1, description="Maximum epochs of one training run."
    )
    grace_period_seconds: float = Field(
        default=5.0,
        ge=0,
        allow_inf_nan=False,
        description="Seconds that running calls get to finish after SIGTERM.",
    )
    metrics_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description=(
            "TCP port on --host of an HTTP endpoint that serves Prometheus "
            "metrics at /metrics; 0 turns it off. It serves RPC counts and "
            "durations in seconds per method, model and status code "
            "(kerve_rpc_requests_total, kerve_rpc_duration_seconds), Predict "
            "batch sizes in rows and queue waits in seconds, models per state "
            "(kerve_models_by_state), predictions and rows by untrained flag "
            "and verdict, and training runs and their durations in seconds by "
            "outcome."
        ),
    )
    max_merged_batch_rows: int = Field(
        default=4096,
        ge=1,
        description=(
            "Maximum rows in one batch merged from the queued Predict requests "
            "of a model; a single request with more rows runs alone."
        ),
    )
    max_queued_requests: int = Field(
        default=256,
        ge=1,
        description=(
            "Maximum Predict requests per model that wait while the model's "
            "batch runs; past it, Predict fails at once with RESOURCE_EXHAUSTED."
        ),
    )
    tensorflow_threads: int = Field(
        default_factory=default_tensorflow_threads,
        ge=1,
        le=1024,
        description=(
            "Threads in each of TensorFlow's thread pools (intra-op and "
            "inter-op), which bounds the cores a training run takes from "
            "Predict. The pools are per process, so the bound covers Evaluate "
            "and TensorFlow-path Predict batches too. Default: half the CPU "
            "cores, at least 1."
        ),
    )
    validation_fraction: float = Field(
        default=0.2,
        ge=0.0,
        lt=1.0,
        allow_inf_nan=False,
        description=(
            "Fraction of the training rows held out at random to score a run "
            "whose request leaves validation_split unset; 0 holds out none, "
            "which leaves trained versions UNVALIDATED."
        ),
    )
    validation_margin: float = Field(
        default=0.1,
        ge=0.0,
        lt=1.0,
        allow_inf_nan=False,
        description=(
            "Fraction by which a trained version's held-out loss must be "
            "below the constant baseline's loss to be VALIDATED; 0.1 means "
            "a loss at least 10 percent lower."
        ),
    )
    validation_significance: float = Field(
        default=0.05,
        gt=0.0,
        le=1.0,
        allow_inf_nan=False,
        description=(
            "Largest p-value of the one-sided paired t-test (per-row held-out "
            "losses against the baseline's) that counts as VALIDATED."
        ),
    )
    extrapolation_margin: float = Field(
        default=0.1,
        ge=0.0,
        allow_inf_nan=False,
        description=(
            "Fraction of each input's training range added on both sides of "
            "it; a Predict row with a value outside the widened range is "
            "marked as extrapolation."
        ),
    )


def read_secret(value: SecretStr | None, path: Path | None, name: str) -> str | None:
    """Return a token from its setting or its file; the file wins.

    Raises:
        ValueError: the file cannot be read or is empty.
    """
    if path is not None:
        try:
            text = path.read_text().strip()
        except OSError as exc:
            raise ValueError(f"cannot read the {name} file {path}: {exc}") from None
        if not text:
            raise ValueError(f"the {name} file {path} is empty")
        return text
    if value is not None:
        # Stripped like a file's content; the server strips presented tokens.
        return value.get_secret_value().strip()
    return None


def load_settings(argv: Sequence[str] | None = None) -> Settings:
    """Build settings from ``argv`` flags over ``KERVE_*`` variables.

    Raises:
        SystemExit: a flag is unknown or its value is invalid; argparse has
            printed the usage and the error.
    """
    return CliApp.run(Settings, cli_args=list(argv) if argv is not None else [])


def changed_settings(settings: Settings) -> dict[str, str]:
    """Return the settings that differ from their defaults, as printable text.

    A secret's value is replaced by ``SECRET_MASK``, so the result may be
    logged.
    """
    changed: dict[str, str] = {}
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        if value == field.get_default(call_default_factory=True):
            continue
        changed[name] = SECRET_MASK if name in SECRET_FIELDS else str(value)
    return changed


def describe_invalid(error: ValidationError) -> list[str]:
    """Return one line per invalid setting: its flag, variable and value.

    The value received is left out for a secret, and for a check across
    settings, whose input contains every setting, tokens included.
    """
    prefix = Settings.model_config.get("env_prefix", "")
    lines = []
    for item in error.errors():
        if not item["loc"]:
            lines.append(f"invalid settings: {item['msg']}")
            continue
        name = str(item["loc"][0])
        flag = "--" + name.replace("_", "-")
        variable = prefix + name.upper()
        received = (
            "a value that is not shown because it is secret"
            if name in SECRET_FIELDS
            else repr(item.get("input"))
        )
        lines.append(
            f"invalid setting {name} ({flag}, {variable}): {item['msg']}; "
            f"received {received}"
        )
    return lines
