"""Python client and command line for the Kerve prediction service.

Kerve serves named Keras models over gRPC, flags every prediction that
comes from untrained weights, and gives each one a verdict: how far the
evidence from held-out rows says it can be trusted::

    import kerve

    spec = kerve.ModelSpec(5, [kerve.Dense(10, activation="relu"), kerve.Dense(1)])
    with kerve.Client("127.0.0.1:50051") as client:
        client.create_model("prices", spec)
        prediction = client.predict("prices", rows)
        if prediction.verdict < kerve.Verdict.VALIDATED:
            print(prediction.notice)

The protocol messages and the gRPC stub are in ``kerve.v1``.
"""

from kerve._client import DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_TARGET, Client
from kerve._datasets import Classification, Regression, Subset
from kerve._errors import (
    AbortedError,
    AlreadyExistsError,
    DataLossError,
    DeadlineExceededError,
    FailedPreconditionError,
    InternalError,
    InvalidArgumentError,
    KerveError,
    NotFoundError,
    PermissionDeniedError,
    RequestCancelledError,
    ResourceExhaustedError,
    UnauthenticatedError,
    UnavailableError,
    UnexpectedStatusError,
    UntrainedPredictionWarning,
    error_from_rpc,
)
from kerve._spec import Dense, Initializer, ModelSpec, spec_from_dict
from kerve._tensors import SUPPORTED_DTYPES, array_to_tensor, tensor_to_array
from kerve._trust import Assessment, Validation, Verdict
from kerve._types import (
    Evaluation,
    EvaluationReport,
    ExportedArchive,
    Model,
    ModelEvent,
    Prediction,
    ServerInfo,
    State,
    TrainingProgress,
    TrainingResult,
    TrainingSummary,
)

__all__ = [
    "DEFAULT_MAX_MESSAGE_BYTES",
    "DEFAULT_TARGET",
    "SUPPORTED_DTYPES",
    "AbortedError",
    "AlreadyExistsError",
    "Assessment",
    "Classification",
    "Client",
    "DataLossError",
    "DeadlineExceededError",
    "Dense",
    "Evaluation",
    "EvaluationReport",
    "ExportedArchive",
    "FailedPreconditionError",
    "Initializer",
    "InternalError",
    "InvalidArgumentError",
    "KerveError",
    "Model",
    "ModelEvent",
    "ModelSpec",
    "NotFoundError",
    "PermissionDeniedError",
    "Prediction",
    "Regression",
    "RequestCancelledError",
    "ResourceExhaustedError",
    "ServerInfo",
    "State",
    "Subset",
    "TrainingProgress",
    "TrainingResult",
    "TrainingSummary",
    "UnauthenticatedError",
    "UnavailableError",
    "UnexpectedStatusError",
    "UntrainedPredictionWarning",
    "Validation",
    "Verdict",
    "array_to_tensor",
    "error_from_rpc",
    "spec_from_dict",
    "tensor_to_array",
]
