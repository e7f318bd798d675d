"""Channel security of the client: TLS credentials and the bearer token.

The token travels as ``authorization: Bearer <token>`` metadata that the
client adds to every call. gRPC's call credentials would do the same, but
grpcio drops them without an error on a plaintext channel, and a server on
loopback may check tokens without TLS.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import grpc

logger = logging.getLogger(__name__)

FilePath = str | os.PathLike[str]
"""The path of a PEM or token file."""

Metadata = tuple[tuple[str, str], ...]
"""gRPC metadata as ``(key, value)`` pairs."""

# RFC 6750 allows letters, digits and -._~+/ followed by '=' padding. Other
# visible ASCII characters are accepted too, because grpcio sends them
# unchanged, but spaces and control characters would break the header.
_TOKEN_PATTERN = re.compile(r"[\x21-\x7e]+")
_PEM_BEGIN = b"-----BEGIN "


@dataclass(frozen=True)
class TlsFiles:
    """The PEM contents that the TLS channel credentials need."""

    root_certificates: bytes | None
    private_key: bytes | None
    certificate_chain: bytes | None


def check_token(token: str) -> str:
    """Return the token if a metadata value can carry it.

    Raises:
        ValueError: If the token is empty or has a character other than
            visible ASCII. The message never contains the token.
    """
    if not token:
        raise ValueError("the token is empty: pass a non-empty token or None")
    if _TOKEN_PATTERN.fullmatch(token) is None:
        raise ValueError(
            "the token contains a space, a control character or a non-ASCII "
            "character; a bearer token must be visible ASCII"
        )
    return token


def read_token_file(path: FilePath) -> str:
    """Read a token from a file, without the whitespace around it.

    Raises:
        OSError: If the file cannot be read. The message names the file.
        ValueError: If the file is empty or the token is invalid.
    """
    try:
        text = Path(path).read_text(encoding="ascii", errors="replace")
    except OSError as error:
        raise _read_error(error, "token file", path) from error
    token = text.strip()
    if not token:
        raise ValueError(f"the token file {os.fspath(path)} is empty")
    try:
        return check_token(token)
    except ValueError as error:
        raise ValueError(f"the token file {os.fspath(path)}: {error}") from None


def bearer_metadata(token: str | None) -> Metadata:
    """Return the metadata that carries the token, or none without a token."""
    if token is None:
        return ()
    return (("authorization", f"Bearer {token}"),)


def read_tls_files(
    ca_file: FilePath | None, cert_file: FilePath | None, key_file: FilePath | None
) -> TlsFiles:
    """Read and check the PEM files of a TLS channel.

    Raises:
        ValueError: If only one of ``cert_file`` and ``key_file`` is given,
            or a file contains no PEM block.
        OSError: If a file cannot be read. The message names the file.
    """
    if (cert_file is None) != (key_file is None):
        present, absent = (
            ("cert_file", "key_file") if key_file is None else ("key_file", "cert_file")
        )
        raise ValueError(
            f"{present} was given without {absent}: a client certificate for "
            "mutual TLS needs both, or neither"
        )
    return TlsFiles(
        root_certificates=_read_pem(ca_file, "ca_file"),
        private_key=_read_pem(key_file, "key_file"),
        certificate_chain=_read_pem(cert_file, "cert_file"),
    )


def channel_credentials(files: TlsFiles) -> grpc.ChannelCredentials:
    """Build TLS credentials; without a CA file, grpcio uses the system roots."""
    return grpc.ssl_channel_credentials(
        root_certificates=files.root_certificates,
        private_key=files.private_key,
        certificate_chain=files.certificate_chain,
    )


def is_loopback_target(target: str) -> bool:
    """Return True if the gRPC target names this machine only.

    Unix domain sockets count as local. A DNS name other than ``localhost``
    counts as remote, even if it resolves to a loopback address.
    """
    if target.startswith(("unix:", "unix-abstract:")):
        return True
    address = target
    for scheme in ("dns:", "ipv4:", "ipv6:"):
        address = address.removeprefix(scheme)
    address = address.lstrip("/")
    host = address.rsplit(":", 1)[0] if ":" in address else address
    if address.startswith("["):
        host = address[1 : address.find("]")]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _read_pem(path: FilePath | None, option: str) -> bytes | None:
    if path is None:
        return None
    try:
        content = Path(path).read_bytes()
    except OSError as error:
        raise _read_error(error, option, path) from error
    if _PEM_BEGIN not in content:
        raise ValueError(
            f"{option} {os.fspath(path)} is not in PEM format: it has no "
            "'-----BEGIN ...-----' line"
        )
    return content


def _read_error(error: OSError, role: str, path: FilePath) -> OSError:
    """Return an error of the same class that names the file and its role."""
    # OSError(errno, ...) builds the matching subclass, FileNotFoundError
    # for ENOENT for example.
    return OSError(
        error.errno, f"cannot read the {role}: {error.strerror}", os.fspath(path)
    )
