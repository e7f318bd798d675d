"""Errors that the model service raises, one class per condition.

The transport layer maps each class to a gRPC status in one table
(``kerve_server.transport.status``). Nothing below the transport layer
imports gRPC. The tree::

    KerveError
    +-- ModelNotFoundError            unknown model name
    +-- ModelExistsError              name already taken
    +-- InvalidArgumentError          bad request content
    |   +-- InvalidNameError
    |   +-- InvalidSpecError
    |   +-- InvalidTensorError
    |   +-- InvalidDataError
    +-- FailedPreconditionError       request not allowed in the model's state
    |   +-- TrainingInProgressError
    |   +-- UntrainedModelError       strict Predict on initial weights
    +-- ResourceExhaustedError        a configured limit was reached
    +-- TrainingFailedError           a run stopped on NaN loss or a Keras error
    +-- TrainingCancelledError        a run was cancelled before it published
    +-- ServerStoppingError           the server is shutting down
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    """One invalid field of a request, sent as google.rpc.BadRequest detail."""

    field: str
    description: str


class KerveError(Exception):
    """Base of every error that the service reports to a caller.

    The message is shown to the caller as it is, so it must name the model,
    the value received and the value expected, and never contain a secret.
    """

    def __init__(
        self, message: str, *, violations: Sequence[FieldViolation] = ()
    ) -> None:
        super().__init__(message)
        self.message = message
        self.violations = tuple(violations)


class ModelNotFoundError(KerveError):
    """Raised when a request names a model that the registry does not hold."""


class ModelExistsError(KerveError):
    """Raised when CreateModel names a model that already exists."""


class InvalidArgumentError(KerveError):
    """Raised when the content of a request is invalid, whatever the state."""


class InvalidNameError(InvalidArgumentError):
    """Raised when a model name does not match the allowed pattern."""


class InvalidSpecError(InvalidArgumentError):
    """Raised when a model spec is outside the allow-lists or limits."""


class InvalidTensorError(InvalidArgumentError):
    """Raised when a tensor's shape, dtype, bytes or values are invalid."""


class InvalidDataError(InvalidArgumentError):
    """Raised when training or evaluation data do not fit the model."""


class FailedPreconditionError(KerveError):
    """Raised when a request is valid but the model's state forbids it now."""


class TrainingInProgressError(FailedPreconditionError):
    """Raised when Train names a model that already has a training run."""


class UntrainedModelError(FailedPreconditionError):
    """Raised by a strict Predict when the output came from initial weights."""


class VerdictTooLowError(FailedPreconditionError):
    """Raised by a Predict whose verdict is below the one the request requires."""


class ResourceExhaustedError(KerveError):
    """Raised when a configured limit (queue, size, concurrency) is reached."""


class TrainingFailedError(KerveError):
    """Raised to the caller of Train when the run failed and the model is FAILED."""


class TrainingCancelledError(KerveError):
    """Raised to the caller of Train when the run was cancelled."""


class ServerStoppingError(KerveError):
    """Raised to a WatchModel stream when the server shuts down."""
