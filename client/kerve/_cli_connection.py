"""The global options of the ``kerve`` command line, its connection and exit codes.

The options choose the server, the token and TLS. ``connect`` opens a
``Client`` with them and turns each failure into an ``error:`` line on
standard error, with hints on what to change, or into a JSON document with
``--json``, and exits with the code of the failure's gRPC status family.
"""

from __future__ import annotations

import contextlib
import enum
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, NoReturn

import grpc
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


class ExitCode(enum.IntEnum):
    """Exit codes of the ``kerve`` command line, one per family of failure."""

    OK = 0
    ERROR = 1
    """An error without a code of its own: a local file that cannot be read
    or written, INTERNAL, UNKNOWN or another status, or a bug."""
    USAGE = 2
    """An invalid option or argument, as typer and click report it."""
    NOT_FOUND = 3
    ALREADY_EXISTS = 4
    INVALID_ARGUMENT = 5
    """INVALID_ARGUMENT or OUT_OF_RANGE."""
    FAILED_PRECONDITION = 6
    """The model's state or verdict does not allow the request."""
    RESOURCE_EXHAUSTED = 7
    ACCESS_DENIED = 8
    """UNAUTHENTICATED or PERMISSION_DENIED."""
    UNAVAILABLE = 9
    """No server responded at the address."""
    DEADLINE_EXCEEDED = 10
    ABORTED = 11
    """A training run failed, or a split Predict saw new versions twice."""
    CANCELLED = 12
    """A training run was cancelled."""
    DATA_LOSS = 13
    STREAM_CLOSED = 14
    """The server closed a watch or training stream that had started: it shut
    down or the connection was lost."""
    NOT_SERVING = 15
    """``kerve status``: the server responded, but its health is not SERVING."""
    INTERRUPTED = 130
    """Ctrl-C ended ``kerve train``, which cancels the run."""


_EXIT_CODES_BY_STATUS = {
    grpc.StatusCode.NOT_FOUND: ExitCode.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS: ExitCode.ALREADY_EXISTS,
    grpc.StatusCode.INVALID_ARGUMENT: ExitCode.INVALID_ARGUMENT,
    grpc.StatusCode.OUT_OF_RANGE: ExitCode.INVALID_ARGUMENT,
    grpc.StatusCode.FAILED_PRECONDITION: ExitCode.FAILED_PRECONDITION,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ExitCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.UNAUTHENTICATED: ExitCode.ACCESS_DENIED,
    grpc.StatusCode.PERMISSION_DENIED: ExitCode.ACCESS_DENIED,
    grpc.StatusCode.UNAVAILABLE: ExitCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED: ExitCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.ABORTED: ExitCode.ABORTED,
    grpc.StatusCode.CANCELLED: ExitCode.CANCELLED,
    grpc.StatusCode.DATA_LOSS: ExitCode.DATA_LOSS,
}

EXIT_CODE_MEANINGS = (
    (ExitCode.OK, "success"),
    (ExitCode.ERROR, "error without its own code: unreadable file, INTERNAL, bug"),
    (ExitCode.USAGE, "usage error: an invalid option or argument"),
    (ExitCode.NOT_FOUND, "NOT_FOUND"),
    (ExitCode.ALREADY_EXISTS, "ALREADY_EXISTS"),
    (ExitCode.INVALID_ARGUMENT, "INVALID_ARGUMENT or OUT_OF_RANGE"),
    (
        ExitCode.FAILED_PRECONDITION,
        "FAILED_PRECONDITION: strict or --min-verdict predict rejected, model busy",
    ),
    (ExitCode.RESOURCE_EXHAUSTED, "RESOURCE_EXHAUSTED: a size, row or slot limit"),
    (ExitCode.ACCESS_DENIED, "UNAUTHENTICATED or PERMISSION_DENIED"),
    (ExitCode.UNAVAILABLE, "UNAVAILABLE: no server responded"),
    (ExitCode.DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED: no response within --timeout"),
    (ExitCode.ABORTED, "ABORTED: the training run failed"),
    (ExitCode.CANCELLED, "CANCELLED: the training run was cancelled"),
    (ExitCode.DATA_LOSS, "DATA_LOSS: an exported archive does not match"),
    (ExitCode.STREAM_CLOSED, "the server closed a watch or train stream: it went away"),
    (ExitCode.NOT_SERVING, "status: the server responded but is not SERVING"),
    (ExitCode.INTERRUPTED, "Ctrl-C during train, which cancels the run"),
)
"""Each exit code with its meaning, as ``--help`` lists them."""

# NOTE: typer 0.29 prints each line of the epilog as it is. Some older typer
# versions join single line breaks, and there the table is one paragraph.
EXIT_CODE_EPILOG = "Exit codes:\n" + "\n".join(
    f"{int(code):>3}  {meaning}" for code, meaning in EXIT_CODE_MEANINGS
)


def exit_code_for(status: grpc.StatusCode) -> ExitCode:
    """Return the exit code of a failure with ``status``."""
    return _EXIT_CODES_BY_STATUS.get(status, ExitCode.ERROR)


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
    json_output: bool = False
    """Whether the command prints JSON, so that errors are JSON as well."""

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
    """Keep one of ``--token`` and ``--token-file``; a flag beats a variable.

    Raises:
        typer.BadParameter: both come from the same source, or the token is
            empty, which would send no credentials at all.
    """
    if token is not None and not token.strip():
        raise typer.BadParameter(
            "is empty: pass the server's predict or admin token, or leave "
            "--token and KERVE_TOKEN unset to send none",
            param_hint="'--token'",
        )
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


def fail(
    message: str,
    *,
    code: ExitCode = ExitCode.ERROR,
    json_output: bool = False,
    status: grpc.StatusCode | None = None,
) -> NoReturn:
    """Print an error on standard error and exit with ``code``.

    The error is ``error: <message>``, or with ``json_output`` the document
    of ``error_to_json``.
    """
    if json_output:
        echo_error_json(message, code=code, status=status)
    else:
        typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def error_to_json(
    message: str,
    *,
    code: ExitCode,
    status: grpc.StatusCode | None = None,
    field_violations: list[tuple[str, str]] | None = None,
    hints: list[str] | None = None,
) -> dict[str, Any]:
    """Return the JSON document of an error.

    ``code`` is the gRPC status name, or null for a failure without one,
    such as an unreadable file.
    """
    error: dict[str, Any] = {
        "code": None if status is None else status.name,
        "message": message,
        "exit_code": int(code),
    }
    if field_violations:
        error["field_violations"] = [
            {"field": name, "description": description}
            for name, description in field_violations
        ]
    if hints:
        error["hints"] = hints
    return {"error": error}


def echo_error_json(
    message: str,
    *,
    code: ExitCode,
    status: grpc.StatusCode | None = None,
    field_violations: list[tuple[str, str]] | None = None,
    hints: list[str] | None = None,
) -> None:
    """Print the JSON document of an error as one line on standard error."""
    document = error_to_json(
        message,
        code=code,
        status=status,
        field_violations=field_violations,
        hints=hints,
    )
    typer.echo(json.dumps(document), err=True)


def fail_with_error(
    settings: Settings, error: KerveError, *, code: ExitCode | None = None
) -> NoReturn:
    """Report a ``KerveError`` with its hints and exit.

    The exit code is ``code``, or by default that of the error's status.
    """
    exit_code = exit_code_for(error.code) if code is None else code
    # The server's message often repeats its first violation.
    violations = [
        (violation, description)
        for violation, description in error.field_violations
        if description not in error.message
    ]
    advice = hints(settings, error)
    if settings.json_output:
        echo_error_json(
            error.message,
            code=exit_code,
            status=error.code,
            field_violations=violations,
            hints=[line.strip() for line in advice],
        )
    else:
        lines = [f"error: {error}"]
        lines.extend(f"  {name}: {description}" for name, description in violations)
        lines.extend(advice)
        typer.echo("\n".join(lines), err=True)
    raise typer.Exit(exit_code)


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
        fail(f"{error.strerror}: {error.filename}", json_output=settings.json_output)
    except ValueError as error:
        fail(str(error), json_output=settings.json_output)


@contextlib.contextmanager
def connect(settings: Settings) -> Iterator[Client]:
    """Open a client; report a ``KerveError`` and exit with its status's code."""
    try:
        with open_client(settings) as client:
            yield client
    except KerveError as error:
        fail_with_error(settings, error)


# Part of the UNAVAILABLE message of a server that is still loading its store:
# it responds, so "no server responded" would be wrong.
STARTING_SERVER = "loading its model store"


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
    if isinstance(error, UnavailableError) and STARTING_SERVER in error.message:
        return [
            "  the server is starting: run the command again once `kerve status` "
            "reports SERVING."
        ]
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
