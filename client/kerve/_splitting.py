"""Request size checks, and Predict batches split into requests under the limit.

gRPC rejects a message larger than the channel's max message size only after
the client has encoded it. These helpers measure a request before it is
sent: Train and Evaluate requests over the limit raise at once, and a Predict
batch is split along its batch axis into consecutive requests that fit.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
import numpy as np
import numpy.typing as npt
from google.protobuf.message import Message

from kerve._errors import ResourceExhaustedError
from kerve._plural import plural
from kerve._tensors import array_to_tensor
from kerve._types import Prediction
from kerve.v1 import kerve_pb2

# Upper bound of the bytes that length prefixes add to a request as its data
# grows. The data field adds a tag byte and a varint of at most 10 bytes, and
# the varint of the tensor's length grows by at most 9 more.
_LENGTH_PREFIX_BYTES = 20


def check_request_size(
    method: str, name: str, request: Message, max_message_bytes: int
) -> None:
    """Raise if ``request`` is larger than the client's max message size.

    Raises:
        ResourceExhaustedError: If the encoded request is too large. gRPC
            would reject it with the same status after encoding it.
    """
    size = request.ByteSize()
    if size <= max_message_bytes:
        return
    raise ResourceExhaustedError(
        f"the {method} request of model {name!r} is {size} bytes, larger than the "
        f"client's max message size of {max_message_bytes} bytes. Send fewer "
        "rows, or raise Client(max_message_bytes=...) or kerve "
        "--max-message-bytes, and --max-message-bytes (KERVE_MAX_MESSAGE_BYTES) "
        f"on the server, to at least {size}",
        code=grpc.StatusCode.RESOURCE_EXHAUSTED,
    )


def rows_per_request(
    name: str,
    inputs: npt.NDArray[np.generic],
    *,
    strict: bool,
    max_message_bytes: int,
    max_rows_per_request: int | None,
) -> int | None:
    """Return how many rows each Predict request may carry.

    Returns:
        None when the whole batch fits in one request within both limits,
        otherwise the number of rows per request, at least 1.

    Raises:
        TypeError: If the dtype cannot be encoded.
        ResourceExhaustedError: If one row alone is larger than the limit.
    """
    if inputs.ndim == 0 or inputs.shape[0] == 0:
        # The server rejects an input without a batch axis and returns an
        # empty output for an empty batch, so either goes as one request.
        return None
    rows = int(inputs.shape[0])
    # Encoding the empty slice checks the dtype without copying the data.
    tensor = array_to_tensor(inputs[:0])
    tensor.shape[0] = rows
    envelope = kerve_pb2.PredictRequest(name=name, inputs=tensor, strict=strict)
    overhead = int(envelope.ByteSize()) + _LENGTH_PREFIX_BYTES

    fits = overhead + inputs.nbytes <= max_message_bytes
    if fits and (max_rows_per_request is None or rows <= max_rows_per_request):
        return None

    # NOTE: parts are sized by their inputs only. A model with more outputs
    # than inputs per row can still return a response over a limit, which
    # fails with RESOURCE_EXHAUSTED until max_rows_per_request is lowered.
    row_bytes = inputs.nbytes // rows
    rows_that_fit = (max_message_bytes - overhead) // row_bytes if row_bytes else rows
    if rows_that_fit < 1:
        raise ResourceExhaustedError(
            f"one input row of model {name!r} is {row_bytes} bytes, so no Predict "
            f"request with it fits the client's max message size of "
            f"{max_message_bytes} bytes. Raise Client(max_message_bytes=...) or "
            "kerve --max-message-bytes, and --max-message-bytes "
            f"(KERVE_MAX_MESSAGE_BYTES) on the server, to at least "
            f"{overhead + row_bytes}",
            code=grpc.StatusCode.RESOURCE_EXHAUSTED,
        )
    if max_rows_per_request is None:
        return rows_that_fit
    return min(rows_that_fit, max_rows_per_request)


def join_predictions(parts: Sequence[Prediction]) -> Prediction:
    """Join the predictions of consecutive parts of one batch, in order.

    Every part must come from the same version. The joined prediction is
    untrained if that version is, meaningful only if every part is, and has
    the lowest verdict of the parts. Row marks count from the batch's row 0.
    """
    first, last = parts[0], parts[-1]
    outputs = np.concatenate([part.outputs for part in parts], axis=0)
    untrained = any(part.untrained for part in parts)
    meaningful = all(part.meaningful for part in parts)
    offsets = np.cumsum([0] + [part.outputs.shape[0] for part in parts[:-1]])
    pairs = list(zip(parts, offsets, strict=True))
    extrapolated = np.concatenate(
        [part.extrapolated_rows + offset for part, offset in pairs]
    ).astype(np.int64)
    non_finite = np.concatenate(
        [part.non_finite_rows + offset for part, offset in pairs]
    ).astype(np.int64)
    notice = last.notice
    if extrapolated.size or non_finite.size:
        # Each part's notice counts only its own rows, from its own row 0.
        extrapolations = "are extrapolations"
        if extrapolated.size == 1:
            extrapolations = "is an extrapolation"
        have = "has" if non_finite.size == 1 else "have"
        notice = (
            f"{_verdict_name(parts)}: model {first.name!r} version "
            f"{first.version}, in a batch of {plural(outputs.shape[0], 'row')} "
            f"sent as {len(parts)} requests: {plural(extrapolated.size, 'row')} "
            f"{extrapolations}, outside the ranges of the training inputs, and "
            f"{plural(non_finite.size, 'row')} {have} NaN or Inf outputs. See "
            "extrapolated_rows and non_finite_rows."
        )
    return Prediction(
        outputs=outputs,
        untrained=untrained,
        meaningful=meaningful,
        state=last.state,
        version=first.version,
        notice=notice,
        name=first.name,
        verdict=min(part.verdict for part in parts),
        validation=first.validation,
        extrapolated_rows=extrapolated,
        non_finite_rows=non_finite,
        training_ranges_known=all(part.training_ranges_known for part in parts),
    )


def _verdict_name(parts: Sequence[Prediction]) -> str:
    return min(part.verdict for part in parts).name
