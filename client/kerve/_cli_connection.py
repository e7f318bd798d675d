"""The global options of the ``kerve`` command line and its connection.

The options choose the server, the token and TLS. ``connect`` opens a
``Client`` with them and turns each failure into an ``error:`` line on
standard error, with hints on what to change, and exit code 1.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from kerve._client import DEFAULT_MAX_MESSAGE_BYTES, Client
from kerve._errors import (
    DeadlineExceededError,
    KerveError,
    PermissionDeniedError,
    UnauthenticatedError,
    UnavailableError,
)
from kerve._security import read_token_file


@dataclass(frozen=True)
class Settings:
    """Options shared by every command, set by the global options."""

    server: str
    timeout: float | None
    stdout: Console
    stderr: Console
    token: str | None = field(default=None, repr=False)
    token_file: Path | None = None
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    server_name: str | None = None
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES

    @property
    def uses_tls(self) -> bool:
        """Whether the client connects with TLS, as ``Client`` decides it."""
        files = (self.ca_file, self.cert_file, self.key_file, self.server_name)
        return self.tls or any(value is not None for value in files)

    @property
    def has_token(self) -> bool:
        """Whether a token or a token file was given."""
        return self.token is not None or self.token_file is not None


_SECURITY_PANEL = "Security"

MaxMessageBytesOption = Annotated[
    int,
    typer.Option(
        "--max-message-bytes",
        envvar="KERVE_MAX_MESSAGE_BYTES",
        min=1,
        help=(
            "Largest message the client sends or receives, in bytes. Predict "
            "splits larger batches into several requests. Default: 64 MiB, "
            "the same as the server's."
        ),
        show_default=False,
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="KERVE_TOKEN",
        rich_help_panel=_SECURITY_PANEL,
        help=(
            "Bearer token sent with every request: the server's predict or "
            "admin token. Prefer --token-file, because other users of the "
            "machine can see command-line arguments."
        ),
        show_default=False,
    ),
]
TokenFileOption = Annotated[
    Path | None,
    typer.Option(
        "--token-file",
        envvar="KERVE_TOKEN_FILE",
        rich_help_panel=_SECURITY_PANEL,
        help="File whose content is the token; surrounding whitespace is ignored.",
    ),
]
TlsFlag = Annotated[
    bool,
    typer.Option(
        "--tls",
        envvar="KERVE_TLS",
        rich_help_panel=_SECURITY_PANEL,
        help=(
            "Connect with TLS, verifying the server with the system's root "
            "certificates unless --tls-ca-file is given. Each --tls-* option "
            "turns TLS on as well."
        ),
    ),
]
TlsCaFileOption = Annotated[
    Path | None,
    typer.Option(
        "--tls-ca-file",
        envvar="KERVE_TLS_CA_FILE",
        rich_help_panel=_SECURITY_PANEL,
        help="PEM file of the CA certificates that verify the server.",
    ),
]
TlsCertFileOption = Annotated[
    Path | None,
    typer.Option(
        "--tls-cert-file",
        envvar="KERVE_CLIENT_CERT_FILE",
        rich_help_panel=_SECURITY_PANEL,
        help=(
            "PEM client certificate chain, for a server that requires client "
            "certificates (mutual TLS). Needs --tls-key-file."
        ),
    ),
]
TlsKeyFileOption = Annotated[
    Path | None,
    typer.Option(
        "--tls-key-file",
        envvar="KERVE_CLIENT_KEY_FILE",
        rich_help_panel=_SECURITY_PANEL,
        help="PEM private key of --tls-cert-file.",
    ),
]
TlsServerNameOption = Annotated[
    str | None,
    typer.Option(
        "--tls-server-name",
        envvar="KERVE_TLS_SERVER_NAME",
        rich_help_panel=_SECURITY_PANEL,
        help=(
            "Name to verify the server's certificate against instead of the "
            "host of --server."
        ),
    ),
]


def check_certificate_pair(cert_file: Path | None, key_file: Path | None) -> None:
    """Raise a usage error unless both or neither of the two files are given."""
    if (cert_file is None) == (key_file is None):
        return
    present, absent = (
        ("--tls-cert-file", "--tls-key-file")
        if key_file is None
        else ("--tls-key-file", "--tls-cert-file")
    )
    raise typer.BadParameter(
        f"needs {absent} as well: a client certificate needs its key",
        param_hint=f"'{present}'",
    )


def choose_token_source(
    ctx: typer.Context, token: str | None, token_file: Path | None
) -> tuple[str | None, Path | None]:
    """Keep one of ``--token`` and ``--token-file``; a flag beats a variable."""
    if token is None or token_file is None:
        return token, token_file
    # Compared by name, because typer 0.29 bundles its own copy of click's
    # ParameterSource where older versions use click's.
    from_command_line = {
        name: getattr(ctx.get_parameter_source(name), "name", None) == "COMMANDLINE"
        for name in ("token", "token_file")
    }
    if from_command_line["token"] and not from_command_line["token_file"]:
        return token, None
    if from_command_line["token_file"] and not from_command_line["token"]:
        return None, token_file
    raise typer.BadParameter(
        "cannot be combined with --token (or KERVE_TOKEN_FILE with KERVE_TOKEN): "
        "give one of them",
        param_hint="'--token-file'",
    )


def fail(message: str, *, code: int = 1) -> NoReturn:
    """Print ``error: <message>`` on standard error and exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def open_client(settings: Settings) -> Client:
    """Build the client; unreadable or invalid token and TLS files exit 1."""
    try:
        token = settings.token
        if settings.token_file is not None:
            token = read_token_file(settings.token_file)
        return Client(
            settings.server,
            token=token,
            tls=settings.tls,
            ca_file=settings.ca_file,
            cert_file=settings.cert_file,
            key_file=settings.key_file,
            server_name=settings.server_name,
            timeout=settings.timeout,
            warn_untrained=False,
            max_message_bytes=settings.max_message_bytes,
        )
    except OSError as error:
        fail(f"{error.strerror}: {error.filename}")
    except ValueError as error:
        fail(str(error))


@contextlib.contextmanager
def connect(settings: Settings) -> Iterator[Client]:
    """Open a client and turn a ``KerveError`` into a one-line error and exit 1."""
    try:
        with open_client(settings) as client:
            yield client
    except KerveError as error:
        lines = [f"error: {error}"]
        for violation, description in error.field_violations:
            # The server's message often repeats its first violation.
            if description not in error.message:
                lines.append(f"  {violation}: {description}")
        lines.extend(hints(settings, error))
        typer.echo("\n".join(lines), err=True)
        raise typer.Exit(1) from None


def hints(settings: Settings, error: KerveError) -> list[str]:
    """Return the lines that tell the user what to change after ``error``."""
    if isinstance(error, UnauthenticatedError):
        if settings.has_token:
            return [
                "  the server rejected the token: check --token, --token-file, "
                "KERVE_TOKEN or KERVE_TOKEN_FILE."
            ]
        return [
            "  the server requires a token: pass --token or --token-file, or set "
            "KERVE_TOKEN or KERVE_TOKEN_FILE."
        ]
    if isinstance(error, PermissionDeniedError):
        return ["  the token does not allow this command: use the admin token."]
    if isinstance(error, UnavailableError):
        lines = [
            f"  no Kerve server responded at {settings.server}. Check that it "
            "is running, or pass --server HOST:PORT or set KERVE_SERVER."
        ]
        if settings.uses_tls:
            lines.append(
                "  with TLS, also check that --tls-ca-file contains the CA of the "
                "server's certificate, and pass --tls-cert-file and --tls-key-file "
                "if the server requires client certificates."
            )
        else:
            lines.append("  if the server uses TLS, pass --tls.")
        return lines
    if isinstance(error, DeadlineExceededError) and settings.timeout is not None:
        return [
            f"  no response within the timeout of {settings.timeout} s; raise "
            "--timeout or KERVE_TIMEOUT."
        ]
    return []
