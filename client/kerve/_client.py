"""The synchronous client of the Kerve service."""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Callable, Generator, Mapping, Sequence
from types import TracebackType
from typing import Any, Self

import grpc
import numpy as np
import numpy.typing as npt
from google.protobuf.message import Message

from kerve._datasets import Classification, Regression, Subset
from kerve._errors import InternalError, UntrainedPredictionWarning, error_from_rpc
from kerve._spec import ModelSpec, spec_from_dict
from kerve._tensors import array_to_tensor
from kerve._types import (
    EvaluationReport,
    Model,
    Prediction,
    TrainingProgress,
    TrainingResult,
)
from kerve.v1 import kerve_pb2, kerve_pb2_grpc

logger = logging.getLogger(__name__)

DEFAULT_TARGET = "127.0.0.1:50051"
"""Address that the client and the command line use when none is given."""

SpecLike = ModelSpec | Mapping[str, Any] | kerve_pb2.ModelSpec
"""A model spec as a ``ModelSpec``, its JSON form or the protocol message."""

DatasetLike = Regression | Classification | kerve_pb2.SyntheticDataset
"""A synthetic dataset as a value object or the protocol message."""

TrainingEvents = Generator[TrainingProgress | TrainingResult, None, None]
"""The events of a training run: one progress per epoch, then the result."""


class Client:
    """A connection to a Kerve server.

    Use it as a context manager, or call ``close`` when done::

        with kerve.Client("127.0.0.1:50051") as client:
            prediction = client.predict("house-prices", rows)

    Every method raises a ``KerveError`` subclass when the server rejects or
    fails the call, for example ``NotFoundError`` for an unknown model and
    ``UnavailableError`` when no server listens at the target.

    Args:
        target: Address of the server, as ``host:port``.
        timeout: Deadline in seconds of each unary call; None means no
            deadline. Training streams are not bounded by it, because a
            training run can take hours.
        warn_untrained: Whether ``predict`` emits ``UntrainedPredictionWarning``
            for outputs that are not meaningful. A call can override it.
        max_message_bytes: Maximum size of a message sent or received, which
            limits the size of a batch.
        options: Further gRPC channel options, as ``(name, value)`` pairs.
    """

    # NOTE: the channel is always plaintext. There is no TLS or credentials
    # option yet.
    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        timeout: float | None = None,
        warn_untrained: bool = True,
        max_message_bytes: int = 64 * 1024 * 1024,
        options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        self._target = target
        self.timeout = timeout
        self.warn_untrained = warn_untrained
        channel_options = [
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.max_receive_message_length", max_message_bytes),
            *options,
        ]
        self._channel = grpc.insecure_channel(target, options=channel_options)
        self._stub = kerve_pb2_grpc.ModelsStub(self._channel)  # type: ignore[no-untyped-call]

    @property
    def target(self) -> str:
        """The server address that the client connects to."""
        return self._target

    def __repr__(self) -> str:
        return f"Client(target={self._target!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the channel, cancelling any call still running."""
        self._channel.close()

    def create_model(self, name: str, spec: SpecLike) -> Model:
        """Create an untrained model.

        The server publishes version 1 with initial weights, in state
        UNTRAINED.

        Args:
            name: Lowercase ASCII letters, digits, '-' and '_', starting with a
                letter or digit, at most 63 characters.
            spec: A ``ModelSpec``, the spec's JSON form as a dict, or a
                ``kerve.v1.ModelSpec`` message.

        Returns:
            The new model.

        Raises:
            AlreadyExistsError: If a model has this name.
            InvalidArgumentError: If the name or the spec is invalid.
            ValueError: If a dict spec does not match the message.
        """
        request = kerve_pb2.CreateModelRequest(name=name, spec=_spec_to_proto(spec))
        response: kerve_pb2.Model = self._call("CreateModel", request)
        return Model.from_proto(response)

    def get_model(self, name: str) -> Model:
        """Fetch one model.

        Raises:
            NotFoundError: If no model has this name.
        """
        request = kerve_pb2.GetModelRequest(name=name)
        response: kerve_pb2.Model = self._call("GetModel", request)
        return Model.from_proto(response)

    def list_models(self) -> list[Model]:
        """Fetch every model, ordered by name."""
        request = kerve_pb2.ListModelsRequest()
        response: kerve_pb2.ListModelsResponse = self._call("ListModels", request)
        return [Model.from_proto(model) for model in response.models]

    def delete_model(self, name: str) -> None:
        """Delete a model.

        Predictions already running finish on the weights they started with.

        Raises:
            NotFoundError: If no model has this name.
        """
        self._call("DeleteModel", kerve_pb2.DeleteModelRequest(name=name))

    def predict(
        self,
        name: str,
        inputs: npt.ArrayLike,
        *,
        strict: bool = False,
        warn: bool | None = None,
    ) -> Prediction:
        """Run the model's current version on a batch of inputs.

        Outputs of untrained weights come back flagged, and by default the
        call also emits ``UntrainedPredictionWarning``. Check
        ``Prediction.meaningful`` before using the outputs.

        Args:
            name: The model's name.
            inputs: The batch, shape (batch, *input_shape), as a numpy array
                or anything ``np.asarray`` accepts. It is sent as given: a
                single row needs its batch axis, for example ``rows[:1]``.
            strict: If true, the server raises FailedPreconditionError
                instead of returning outputs of untrained weights.
            warn: Whether to emit ``UntrainedPredictionWarning`` when the
                outputs are not meaningful; None uses the client's
                ``warn_untrained``.

        Returns:
            The outputs, with the flag, state, version and notice.

        Raises:
            NotFoundError: If no model has this name.
            InvalidArgumentError: If the shape or values of the inputs are
                invalid, for example a missing batch axis or a NaN.
            FailedPreconditionError: If ``strict`` is true and the current
                weights are untrained.
            TypeError: If the inputs' dtype is not float32, float64, int32
                or int64.
        """
        request = kerve_pb2.PredictRequest(
            name=name, inputs=array_to_tensor(np.asarray(inputs)), strict=strict
        )
        response: kerve_pb2.PredictResponse = self._call("Predict", request)
        prediction = Prediction.from_proto(response)

        should_warn = self.warn_untrained if warn is None else warn
        if should_warn and not prediction.meaningful:
            notice = prediction.notice or (
                f"outputs of model {name!r} version {prediction.version} are not "
                "meaningful"
            )
            # stacklevel=2 attributes the warning to the caller's line.
            warnings.warn(notice, UntrainedPredictionWarning, stacklevel=2)
        return prediction

    def train(
        self,
        name: str,
        *,
        x: npt.ArrayLike | None = None,
        y: npt.ArrayLike | None = None,
        dataset: DatasetLike | None = None,
        epochs: int | None = None,
        batch_size: int | None = None,
        validation_split: float = 0.0,
        optimizer: str | None = None,
        learning_rate: float | None = None,
        shuffle: bool | None = None,
        on_progress: Callable[[TrainingProgress], object] | None = None,
    ) -> TrainingResult:
        """Train a copy of the model and publish it as a new version.

        The call returns when the run ends. Predictions keep using the
        previous version until then.

        Args:
            name: The model's name.
            x: Training inputs, shape (rows, *input_shape). Requires ``y``.
            y: Training targets, shape (rows, units of the last layer), or
                (rows,) for a one-unit output or sparse labels.
            dataset: A synthetic dataset that the server generates, instead
                of ``x`` and ``y``. Training uses its train subset.
            epochs: Number of epochs; None means the server's default, 1.
            batch_size: Rows per gradient step; None means the server's
                default, 32.
            validation_split: Fraction of the training rows that Keras holds
                out for validation, in [0, 1).
            optimizer: Optimizer name that overrides the spec's for this run.
            learning_rate: Learning rate that overrides the spec's for this
                run. Without ``optimizer``, the spec's optimizer is kept.
            shuffle: Whether Keras shuffles the rows before each epoch; None
                means the server's default, true.
            on_progress: Called with a ``TrainingProgress`` after each epoch.

        Returns:
            The model after publishing and a summary of the run.

        Raises:
            ValueError: Unless exactly one of ``x`` and ``y`` together, or
                ``dataset``, is given.
            NotFoundError: If no model has this name.
            InvalidArgumentError: If the data or the settings are invalid.
            FailedPreconditionError: If the model is already training.
        """
        stream = self.train_stream(
            name,
            x=x,
            y=y,
            dataset=dataset,
            epochs=epochs,
            batch_size=batch_size,
            validation_split=validation_split,
            optimizer=optimizer,
            learning_rate=learning_rate,
            shuffle=shuffle,
        )
        result: TrainingResult | None = None
        # closing() cancels the call at once if on_progress raises.
        with contextlib.closing(stream):
            for event in stream:
                if isinstance(event, TrainingResult):
                    result = event
                elif on_progress is not None:
                    on_progress(event)
        if result is None:
            raise InternalError(
                f"the Train stream of model {name!r} ended without a result",
                code=grpc.StatusCode.INTERNAL,
            )
        return result

    def train_stream(
        self,
        name: str,
        *,
        x: npt.ArrayLike | None = None,
        y: npt.ArrayLike | None = None,
        dataset: DatasetLike | None = None,
        epochs: int | None = None,
        batch_size: int | None = None,
        validation_split: float = 0.0,
        optimizer: str | None = None,
        learning_rate: float | None = None,
        shuffle: bool | None = None,
    ) -> TrainingEvents:
        """Train like ``train``, yielding each event of the run as it arrives.

        The iterator yields one ``TrainingProgress`` per epoch, then one
        ``TrainingResult``. Closing it early, or dropping it, cancels the
        call::

            with contextlib.closing(client.train_stream(...)) as events:
                for event in events:
                    ...

        The arguments and errors are those of ``train``. Invalid arguments
        raise ``ValueError`` here, before the first item.
        """
        request = kerve_pb2.TrainRequest(
            name=name,
            epochs=epochs,
            batch_size=batch_size,
            validation_split=validation_split,
            shuffle=shuffle,
        )
        _set_data(request, x, y, dataset)
        if optimizer is not None or learning_rate is not None:
            # An empty name keeps the spec's optimizer on the server.
            request.optimizer.CopyFrom(
                kerve_pb2.Optimizer(name=optimizer or "", learning_rate=learning_rate)
            )
        return self._stream_training(request)

    def evaluate(
        self,
        name: str,
        *,
        x: npt.ArrayLike | None = None,
        y: npt.ArrayLike | None = None,
        dataset: DatasetLike | None = None,
        subset: Subset = Subset.DEFAULT,
    ) -> EvaluationReport:
        """Score the current weights, the initial weights and a mean predictor.

        All three are scored on the same rows, which shows what training
        bought compared with no training and with a constant guess.

        Args:
            name: The model's name.
            x: Inputs, shape (rows, *input_shape). Requires ``y``.
            y: Targets, as for ``train``.
            dataset: A synthetic dataset, instead of ``x`` and ``y``.
            subset: Rows of the dataset to evaluate on; ignored for ``x`` and
                ``y``. The default is the test rows when the dataset has a
                test fraction, otherwise all rows.

        Returns:
            The three sets of scores with the model's version and state.

        Raises:
            ValueError: Unless exactly one of ``x`` and ``y`` together, or
                ``dataset``, is given.
            NotFoundError: If no model has this name.
            InvalidArgumentError: If the data is invalid.
        """
        request = kerve_pb2.EvaluateRequest(name=name, subset=subset.value)
        _set_data(request, x, y, dataset)
        response: kerve_pb2.EvaluateResponse = self._call("Evaluate", request)
        return EvaluationReport.from_proto(response)

    def _call(self, method_name: str, request: Message) -> Any:
        """Make a unary call and convert its failure into a ``KerveError``."""
        method = getattr(self._stub, method_name)
        logger.debug("calling %s on %s", method_name, self._target)
        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as error:
            raise error_from_rpc(error) from error

    def _stream_training(self, request: kerve_pb2.TrainRequest) -> TrainingEvents:
        logger.debug("calling Train for model %s on %s", request.name, self._target)
        call = self._stub.Train(request)
        try:
            for response in call:
                event = response.WhichOneof("event")
                if event == "progress":
                    yield TrainingProgress.from_proto(response.progress)
                elif event == "result":
                    yield TrainingResult.from_proto(response.result)
                else:
                    logger.debug("ignored a Train response with event %s", event)
        except grpc.RpcError as error:
            raise error_from_rpc(error) from error
        finally:
            # Cancelling a finished call does nothing. On an early close, it
            # tells the server that the caller stopped reading the stream.
            call.cancel()


def _spec_to_proto(spec: SpecLike) -> kerve_pb2.ModelSpec:
    if isinstance(spec, ModelSpec):
        return spec.to_proto()
    if isinstance(spec, kerve_pb2.ModelSpec):
        return spec
    if isinstance(spec, Mapping):
        return spec_from_dict(spec)
    raise TypeError(
        "spec must be a kerve.ModelSpec, a dict in the spec's JSON form or a "
        f"kerve.v1.ModelSpec message, not {type(spec).__name__}"
    )


def _set_data(
    request: kerve_pb2.TrainRequest | kerve_pb2.EvaluateRequest,
    x: npt.ArrayLike | None,
    y: npt.ArrayLike | None,
    dataset: DatasetLike | None,
) -> None:
    """Fill the ``data`` oneof of a Train or Evaluate request."""
    if dataset is not None:
        if x is not None or y is not None:
            raise ValueError("pass either x and y or dataset, not both")
        request.synthetic.CopyFrom(_dataset_to_proto(dataset))
        return

    if x is None and y is None:
        raise ValueError("no data given: pass x and y, or dataset")
    if x is None:
        raise ValueError("y was given without x: pass both, or dataset")
    if y is None:
        raise ValueError("x was given without y: pass both, or dataset")

    request.inline.x.CopyFrom(array_to_tensor(np.asarray(x)))
    request.inline.y.CopyFrom(array_to_tensor(np.asarray(y)))


def _dataset_to_proto(dataset: DatasetLike) -> kerve_pb2.SyntheticDataset:
    if isinstance(dataset, Regression | Classification):
        return dataset.to_proto()
    if isinstance(dataset, kerve_pb2.SyntheticDataset):
        return dataset
    raise TypeError(
        "dataset must be a kerve.Regression, kerve.Classification or "
        f"kerve.v1.SyntheticDataset, not {type(dataset).__name__}"
    )
