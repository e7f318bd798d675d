"""Streaming ``.keras`` archives to and from the server in chunks.

ImportModel takes a header and then the archive bytes. ExportModel sends a
header with the archive's size and SHA-256 and then the bytes. These helpers
build the first stream and check the second, so that ``Client`` only makes
the calls.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import secrets
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Self

import grpc

from kerve._errors import DataLossError, InternalError
from kerve.v1 import kerve_pb2

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_BYTES = 256 * 1024
"""Archive bytes per ImportModel message, small enough for a server whose
``--max-message-bytes`` is far below its default of 64 MiB, such as 1 MiB."""

CHUNK_ENVELOPE_BYTES = 16
"""Upper bound of the bytes that an ImportModel message adds to its chunk: a
tag byte and a length varint of at most 10 bytes."""

ArchiveSource = str | os.PathLike[str] | bytes | bytearray | memoryview
"""An archive as the path of a ``.keras`` file or as its bytes."""


class ImportRequests:
    """The messages of one ImportModel call: the header, then the chunks.

    gRPC reads the messages on a thread of its own, and the call can end
    before the last chunk is read, so reading and ``close`` share a lock.
    An ``OSError`` while reading the file ends the stream early and is kept
    in ``read_error`` for the caller to raise once the call returns.
    """

    def __init__(
        self, header: kerve_pb2.ImportHeader, source: ArchiveSource, chunk_bytes: int
    ) -> None:
        if chunk_bytes < 1:
            raise ValueError(f"chunk_bytes must be at least 1, got {chunk_bytes}")
        self._chunk_bytes = chunk_bytes
        self._file, size_bytes = _open_source(source)
        self._header: kerve_pb2.ImportHeader | None = header
        header.size_bytes = size_bytes
        self._lock = threading.Lock()
        self._closed = False
        self.read_error: OSError | None = None

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> kerve_pb2.ImportModelRequest:
        with self._lock:
            if self._closed:
                raise StopIteration
            if self._header is not None:
                header, self._header = self._header, None
                return kerve_pb2.ImportModelRequest(header=header)
            try:
                chunk = self._file.read(self._chunk_bytes)
            except OSError as error:
                self.read_error = error
                chunk = b""
            if not chunk:
                self._close_locked()
                raise StopIteration
            return kerve_pb2.ImportModelRequest(chunk=chunk)

    def close(self) -> None:
        """Close the file, so that the stream ends at the next message."""
        with self._lock:
            self._close_locked()

    def _close_locked(self) -> None:
        self._closed = True
        self._file.close()


def _open_source(source: ArchiveSource) -> tuple[BinaryIO, int]:
    """Open an archive for reading and return it with its size in bytes."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        return io.BytesIO(data), len(data)
    if isinstance(source, str | os.PathLike):
        file = Path(source).open("rb")  # noqa: SIM115 - ImportRequests closes it
        try:
            return file, os.fstat(file.fileno()).st_size
        except OSError:
            file.close()
            raise
    raise TypeError(
        "archive must be the path of a .keras file or its bytes, not "
        f"{type(source).__name__}"
    )


class ExportReceiver:
    """Reader of an ExportModel stream that checks it against its header.

    The header comes first, then the chunks. The bytes go to ``sink`` as they
    arrive, and the stream fails with ``DataLossError`` as soon as more bytes
    arrive than announced, or at the end if the size or the SHA-256 differs.
    """

    def __init__(self, name: str, sink: BinaryIO) -> None:
        self._name = name
        self._sink = sink
        self._digest = hashlib.sha256()
        self._received = 0
        self.header: kerve_pb2.ExportHeader | None = None

    def receive(self, responses: Iterable[kerve_pb2.ExportModelResponse]) -> None:
        """Write every chunk of the stream to the sink, then check the total.

        Raises:
            DataLossError: If the bytes do not match the header's size or SHA-256.
            InternalError: If the stream does not start with exactly one header.
        """
        for response in responses:
            part = response.WhichOneof("part")
            if part == "header":
                if self.header is not None:
                    raise self._protocol_error("sent a second header")
                self.header = response.header
            elif part == "chunk":
                self._write(response.chunk)
            else:
                logger.debug("ignored an ExportModel response with part %s", part)
        header = self._require_header()
        digest = self._digest.hexdigest()
        if self._received != header.size_bytes or digest != header.sha256:
            raise DataLossError(
                f"the export of model {self._name!r} version {header.version} is "
                f"damaged: received {self._received:,} bytes with SHA-256 "
                f"{digest}, but the header announced {header.size_bytes:,} bytes "
                f"with SHA-256 {header.sha256}; export it again",
                code=grpc.StatusCode.DATA_LOSS,
            )

    def _write(self, chunk: bytes) -> None:
        header = self._require_header()
        self._received += len(chunk)
        if self._received > header.size_bytes:
            raise DataLossError(
                f"the export of model {self._name!r} version {header.version} "
                f"sent at least {self._received:,} bytes, more than the "
                f"{header.size_bytes:,} its header announced; export it again",
                code=grpc.StatusCode.DATA_LOSS,
            )
        self._digest.update(chunk)
        self._sink.write(chunk)

    def _require_header(self) -> kerve_pb2.ExportHeader:
        if self.header is None:
            raise self._protocol_error("did not start with a header")
        return self.header

    def _protocol_error(self, problem: str) -> InternalError:
        return InternalError(
            f"the ExportModel stream of model {self._name!r} {problem}",
            code=grpc.StatusCode.INTERNAL,
        )


@contextlib.contextmanager
def replacing_file(destination: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Write to a temporary file beside ``destination``, then rename it into place.

    The rename happens only if the block succeeds, so a failed or damaged
    export never replaces or leaves behind a partial file at ``destination``.
    """
    target = Path(destination)
    # Opening with "xb" creates a new file with the usual permissions, where
    # tempfile.mkstemp would create it readable by its owner only.
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    try:
        with temporary.open("xb") as file:
            yield file
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
