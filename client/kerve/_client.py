"""The synchronous client of the Kerve service."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from collections.abc import Callable, Generator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self, overload

import grpc
import numpy as np
import numpy.typing as npt
from google.protobuf import json_format
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc

from kerve._archives import (
    CHUNK_ENVELOPE_BYTES,
    DEFAULT_CHUNK_BYTES,
    ArchiveSource,
    ExportReceiver,
    ImportRequests,
    replacing_file,
)
from kerve._datasets import Classification, Regression, Subset
from kerve._errors import (
    AbortedError,
    InternalError,
    UntrainedPredictionWarning,
    error_from_rpc,
)
from kerve._plural import plural
from kerve._security import (
    FilePath,
    bearer_metadata,
    channel_credentials,
    check_token,
    is_loopback_target,
    read_tls_files,
)
from kerve._spec import ModelSpec, spec_from_dict
from kerve._splitting import check_request_size, join_predictions, rows_per_request
from kerve._tensors import array_to_tensor
from kerve._trust import Verdict, verdict_argument
from kerve._types import (
    EvaluationReport,
    ExportedArchive,
    Model,
    ModelEvent,
    Prediction,
    ServerInfo,
    State,
    TrainingProgress,
    TrainingResult,
)
from kerve.v1 import kerve_pb2, kerve_pb2_grpc

logger = logging.getLogger(__name__)

DEFAULT_TARGET = "127.0.0.1:50051"
"""Address that the client and the command line use when none is given."""

DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
"""Default max message size of the client, the same as the server's default."""

SpecLike = ModelSpec | Mapping[str, Any] | kerve_pb2.ModelSpec
"""A model spec as a ``ModelSpec``, its JSON form or the protocol message."""

DatasetLike = Regression | Classification | kerve_pb2.SyntheticDataset
"""A synthetic dataset as a value object or the protocol message."""

CompileLike = Mapping[str, Any] | kerve_pb2.CompileSpec
"""Compile settings as the JSON form of ``kerve.v1.CompileSpec`` or the message."""

TrainingEvents = Generator[TrainingProgress | TrainingResult, None, None]
"""The events of a training run: one progress per epoch, then the result."""

ModelEvents = Generator[ModelEvent, None, None]
"""The events of a watched model: the model now, then each change."""


class Client:
    """A connection to a Kerve server.

    Use it as a context manager, or call ``close`` when done::

        with kerve.Client("127.0.0.1:50051") as client:
            prediction = client.predict("house-prices", rows)

    Every method raises a ``KerveError`` subclass when the server rejects or
    fails the call, for example ``NotFoundError`` for an unknown model,
    ``UnauthenticatedError`` without a valid token, and ``UnavailableError``
    when no server listens at the target or the TLS handshake fails.

    A server with TLS and tokens::

        client = kerve.Client(
            "models.example.com:50051", tls=True, token=os.environ["KERVE_TOKEN"]
        )

    Args:
        target: Address of the server, as ``host:port``.
        token: Bearer token sent as ``authorization: Bearer <token>``
            metadata on every call: the server's predict token or its admin
            token. It is sent over plaintext channels too, because a server
            on loopback may check tokens without TLS, and the client logs a
            warning when the target is not a loopback address. ``repr``,
            logs and error messages never contain it.
        tls: Whether to connect with TLS. Giving ``ca_file``, ``cert_file``,
            ``key_file`` or ``server_name`` turns TLS on as well.
        ca_file: PEM file of the CA certificates that verify the server's
            certificate. Without it, TLS uses the system's root certificates.
        cert_file: PEM certificate chain of the client, for a server that
            requires client certificates (mutual TLS). Requires ``key_file``.
        key_file: PEM private key of ``cert_file``. Requires ``cert_file``.
        server_name: Name to verify the server's certificate against, instead
            of the host in ``target``: the gRPC channel option
            ``grpc.ssl_target_name_override``.
        timeout: Deadline in seconds of each call, imports and exports
            included, or None for no deadline. A split ``predict`` applies it
            to each request. Training and watch streams are not bounded by
            it, because they can last for hours.
        warn_untrained: Whether ``predict`` emits ``UntrainedPredictionWarning``
            for outputs that are not meaningful. A call can override it.
        max_message_bytes: Maximum size of a message sent or received, in
            bytes. ``predict`` splits a larger batch into several requests,
            and ``train`` and ``evaluate`` raise ``ResourceExhaustedError``
            before sending a larger request. The server has its own limit,
            ``--max-message-bytes``, with the same default of 64 MiB.
        options: Further gRPC channel options, as ``(name, value)`` pairs.

    Raises:
        ValueError: If only one of ``cert_file`` and ``key_file`` is given, a
            file is not in PEM format, the token is empty or contains
            characters other than visible ASCII, or ``max_message_bytes`` is
            below 1.
        OSError: If a TLS file cannot be read. The message names the file.
    """

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        token: str | None = None,
        tls: bool = False,
        ca_file: FilePath | None = None,
        cert_file: FilePath | None = None,
        key_file: FilePath | None = None,
        server_name: str | None = None,
        timeout: float | None = None,
        warn_untrained: bool = True,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        if max_message_bytes < 1:
            raise ValueError(
                f"max_message_bytes must be at least 1, got {max_message_bytes}"
            )
        self._target = target
        self._metadata = bearer_metadata(None if token is None else check_token(token))
        self._tls = tls or any(
            value is not None for value in (ca_file, cert_file, key_file, server_name)
        )
        self.timeout = timeout
        self.warn_untrained = warn_untrained
        self.max_message_bytes = max_message_bytes
        channel_options: list[tuple[str, Any]] = [
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.max_receive_message_length", max_message_bytes),
        ]
        if server_name is not None:
            channel_options.append(("grpc.ssl_target_name_override", server_name))
        channel_options.extend(options)

        if self._tls:
            credentials = channel_credentials(
                read_tls_files(ca_file, cert_file, key_file)
            )
            self._channel = grpc.secure_channel(
                target, credentials, options=channel_options
            )
        else:
            if token is not None and not is_loopback_target(target):
                logger.warning(
                    "sending the token to %s over plaintext, where anyone on the "
                    "network path can read it. Connect with tls=True to protect it",
                    target,
                )
            self._channel = grpc.insecure_channel(target, options=channel_options)
        self._stub = kerve_pb2_grpc.ModelsStub(self._channel)  # type: ignore[no-untyped-call]
        self._health = health_pb2_grpc.HealthStub(self._channel)

    @property
    def target(self) -> str:
        """The server address that the client connects to."""
        return self._target

    @property
    def tls(self) -> bool:
        """Whether the channel uses TLS."""
        return self._tls

    def __repr__(self) -> str:
        # The token itself never appears, only whether there is one.
        token = ", token=<hidden>" if self._metadata else ""
        return f"Client(target={self._target!r}, tls={self._tls}{token})"

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

    def check_health(self, service: str = "") -> str:
        """Call the ``grpc.health.v1`` Check method of the server.

        Args:
            service: The service to check, such as ``"kerve.v1.Models"``; the
                empty string, the default, is the server as a whole.

        Returns:
            The name of the serving status: "SERVING", "NOT_SERVING" or
            "UNKNOWN".

        Raises:
            NotFoundError: If the server has no health status for
                ``service``.
            UnavailableError: If no server responds at the target.
        """
        request = health_pb2.HealthCheckRequest(service=service)
        logger.debug("calling Health.Check(%r) on %s", service, self._target)
        try:
            response = self._health.Check(
                request, timeout=self.timeout, metadata=self._metadata
            )
        except grpc.RpcError as error:
            raise error_from_rpc(error) from error
        name: str = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
        return name

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

    def server_info(self) -> ServerInfo:
        """Fetch the server's version, library versions and request limits."""
        request = kerve_pb2.GetServerInfoRequest()
        response: kerve_pb2.ServerInfo = self._call("GetServerInfo", request)
        return ServerInfo.from_proto(response)

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
        min_verdict: Verdict | str | None = None,
        warn: bool | None = None,
        max_rows_per_request: int | None = None,
    ) -> Prediction:
        """Run the model's current version on a batch of inputs.

        Outputs of untrained weights come back flagged, and by default the
        call also emits ``UntrainedPredictionWarning``, as it does for
        outputs whose verdict is NO_BETTER_THAN_BASELINE. Check
        ``Prediction.meaningful`` and ``Prediction.verdict`` before using the
        outputs, and ``Prediction.extrapolated_rows`` for rows outside the
        ranges the model was trained on.

        A batch larger than the client's ``max_message_bytes``, or with more
        rows than ``max_rows_per_request``, is split into consecutive
        requests, and their outputs are joined in order into one
        ``Prediction``. Every part must come from the same version: if a new
        version is published while the parts run, the whole batch is sent
        again once. The joined prediction is untrained if that version is,
        and meaningful only if every part is.

        Args:
            name: The model's name.
            inputs: The batch, shape (batch, *input_shape), as a numpy array
                or anything ``np.asarray`` accepts. It is sent as given: a
                single row needs its batch axis, for example ``rows[:1]``.
            strict: If true, the server raises FailedPreconditionError
                instead of returning outputs of untrained weights, or
                outputs with NaN or Inf values.
            min_verdict: The minimum verdict to accept, as a ``Verdict`` or its
                name, for example ``"VALIDATED"``; below it the server raises
                FailedPreconditionError naming the verdict and its numbers.
                None accepts every verdict.
            warn: Whether to emit ``UntrainedPredictionWarning`` when the
                outputs are not meaningful or no better than the baseline;
                None uses the client's ``warn_untrained``.
            max_rows_per_request: Maximum rows per request, for example the
                server's ``--max-batch-rows``; None splits by size only.

        Returns:
            The outputs, with the flag, state, version and notice. After a
            split, the state is that of the last request.

        Raises:
            NotFoundError: If no model has this name.
            InvalidArgumentError: If the shape or values of the inputs are
                invalid, for example a missing batch axis or a NaN.
            FailedPreconditionError: If ``strict`` is true and the current
                weights are untrained, or the verdict is below
                ``min_verdict``.
            ResourceExhaustedError: If the batch has more rows than the
                server's ``--max-batch-rows``, a request is larger than the
                server's ``--max-message-bytes``, or one row alone is larger
                than the client's ``max_message_bytes``.
            AbortedError: If a split batch got outputs of different versions
                on both tries.
            TypeError: If the inputs' dtype is not float32, float64, int32
                or int64.
            ValueError: If ``max_rows_per_request`` is below 1, or
                ``min_verdict`` names no verdict.
        """
        required = verdict_argument(min_verdict)
        if max_rows_per_request is not None and max_rows_per_request < 1:
            raise ValueError(
                f"max_rows_per_request must be at least 1, got {max_rows_per_request}"
            )
        values = np.asarray(inputs)
        rows = rows_per_request(
            name,
            values,
            strict=strict,
            max_message_bytes=self.max_message_bytes,
            max_rows_per_request=max_rows_per_request,
        )
        if rows is None:
            prediction = self._predict_part(name, values, strict, required)
        else:
            prediction = self._predict_split(name, values, strict, required, rows)

        should_warn = self.warn_untrained if warn is None else warn
        untrusted = prediction.verdict is Verdict.NO_BETTER_THAN_BASELINE
        if should_warn and (untrusted or not prediction.meaningful):
            notice = prediction.notice or (
                f"outputs of model {name!r} version {prediction.version} are not "
                "meaningful"
            )
            # stacklevel=2 attributes the warning to the caller's line.
            warnings.warn(notice, UntrainedPredictionWarning, stacklevel=2)
        return prediction

    def _predict_part(
        self,
        name: str,
        inputs: npt.NDArray[np.generic],
        strict: bool,
        min_verdict: kerve_pb2.Verdict,
    ) -> Prediction:
        request = kerve_pb2.PredictRequest(
            name=name,
            inputs=array_to_tensor(inputs),
            strict=strict,
            min_verdict=min_verdict,
        )
        response: kerve_pb2.PredictResponse = self._call("Predict", request)
        return Prediction.from_proto(response)

    def _predict_split(
        self,
        name: str,
        inputs: npt.NDArray[np.generic],
        strict: bool,
        min_verdict: kerve_pb2.Verdict,
        rows: int,
    ) -> Prediction:
        """Predict a batch ``rows`` rows per request; retry once on a new version."""
        starts = range(0, inputs.shape[0], rows)
        versions: list[tuple[int, int]] = []
        for attempt in (1, 2):
            logger.debug(
                "splitting the batch of model %s into %d requests of at most %d "
                "rows, attempt %d",
                name,
                len(starts),
                rows,
                attempt,
            )
            parts: list[Prediction] = []
            for start in starts:
                part = self._predict_part(
                    name, inputs[start : start + rows], strict, min_verdict
                )
                if parts and part.version != parts[0].version:
                    versions.append((parts[0].version, part.version))
                    break
                parts.append(part)
            else:
                return join_predictions(parts)
            logger.info(
                "model %s published version %d while a split batch was predicted "
                "with version %d",
                name,
                versions[-1][1],
                versions[-1][0],
            )
        changes = " and ".join(f"{old} to {new}" for old, new in versions)
        raise AbortedError(
            f"the batch of model {name!r} was split into {len(starts)} requests of "
            f"at most {plural(rows, 'row')}, and on both tries new versions were "
            "published "
            f"between requests (versions {changes}), so the outputs would mix "
            "versions. Predict again once training ends, or send the batch in one "
            "request by raising the client's max_message_bytes and the server's "
            "--max-message-bytes",
            code=grpc.StatusCode.ABORTED,
        )

    def train(
        self,
        name: str,
        *,
        x: npt.ArrayLike | None = None,
        y: npt.ArrayLike | None = None,
        dataset: DatasetLike | None = None,
        epochs: int | None = None,
        batch_size: int | None = None,
        validation_split: float | None = None,
        validation_x: npt.ArrayLike | None = None,
        validation_y: npt.ArrayLike | None = None,
        optimizer: str | None = None,
        learning_rate: float | None = None,
        shuffle: bool | None = None,
        keep_running_on_disconnect: bool = False,
        wait_for_slot: bool = False,
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
            validation_split: Fraction of the training rows held out at
                random to score the trained weights against a constant
                baseline, which gives the new version its verdict, in
                [0, 1). None means the server's default
                (--validation-fraction, 0.2 unless set); 0 holds out none,
                and the version is then UNVALIDATED.
            validation_x: Inputs to score the trained weights on instead of
                held-out rows. Requires ``validation_y`` and an unset
                ``validation_split``.
            validation_y: Targets of ``validation_x``.
            optimizer: Optimizer name that overrides the spec's for this run.
            learning_rate: Learning rate that overrides the spec's for this
                run. Without ``optimizer``, the spec's optimizer is kept.
            shuffle: Whether Keras shuffles the rows before each epoch; None
                means the server's default, true.
            keep_running_on_disconnect: If false, the server cancels the run
                when this call ends early: ``on_progress`` raises, the
                client is closed or the process exits. If true, the run goes
                on and publishes its version anyway.
            wait_for_slot: If the server already runs its maximum number of
                training runs, true waits for one to end, and false raises
                ``ResourceExhaustedError``.
            on_progress: Called with a ``TrainingProgress`` after each epoch.

        Returns:
            The model after publishing and a summary of the run.

        Raises:
            ValueError: Unless exactly one of ``x`` and ``y`` together, or
                ``dataset``, is given.
            NotFoundError: If no model has this name.
            InvalidArgumentError: If the data or the settings are invalid.
            FailedPreconditionError: If the model is already training.
            ResourceExhaustedError: If the server runs its maximum number of
                training runs and ``wait_for_slot`` is false. Also if the
                request is larger than the client's ``max_message_bytes``
                (checked before sending) or the server's.
            RequestCancelledError: If the run was cancelled, by
                ``cancel_training`` or by the server shutting down. The model
                keeps its previous state and version.
            AbortedError: If the run failed, for example with a NaN loss. The
                model is now FAILED and keeps its previous version.
        """
        stream = self.train_stream(
            name,
            x=x,
            y=y,
            dataset=dataset,
            epochs=epochs,
            batch_size=batch_size,
            validation_split=validation_split,
            validation_x=validation_x,
            validation_y=validation_y,
            optimizer=optimizer,
            learning_rate=learning_rate,
            shuffle=shuffle,
            keep_running_on_disconnect=keep_running_on_disconnect,
            wait_for_slot=wait_for_slot,
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
        validation_split: float | None = None,
        validation_x: npt.ArrayLike | None = None,
        validation_y: npt.ArrayLike | None = None,
        optimizer: str | None = None,
        learning_rate: float | None = None,
        shuffle: bool | None = None,
        keep_running_on_disconnect: bool = False,
        wait_for_slot: bool = False,
    ) -> TrainingEvents:
        """Train like ``train``, yielding each event of the run as it arrives.

        The iterator yields one ``TrainingProgress`` per epoch, then one
        ``TrainingResult``. The request is sent when the first item is
        requested. Closing the iterator early, or dropping it, cancels the
        call, and with it the run unless ``keep_running_on_disconnect`` is
        true::

            with contextlib.closing(client.train_stream(...)) as events:
                for event in events:
                    ...

        The arguments and errors are those of ``train``. Invalid arguments
        raise ``ValueError``, and a request larger than the client's
        ``max_message_bytes`` raises ``ResourceExhaustedError``, here, before
        the first item.
        """
        request = kerve_pb2.TrainRequest(
            name=name,
            epochs=epochs,
            batch_size=batch_size,
            validation_split=validation_split,
            shuffle=shuffle,
            keep_running_on_disconnect=keep_running_on_disconnect,
            wait_for_slot=wait_for_slot,
        )
        _set_data(request, x, y, dataset)
        if (validation_x is None) != (validation_y is None):
            raise ValueError("validation_x and validation_y must be given together")
        if validation_x is not None and validation_y is not None:
            if validation_split is not None:
                raise ValueError(
                    "validation_split must be None when validation_x and "
                    f"validation_y are given, got {validation_split}"
                )
            request.validation_data.x.CopyFrom(
                array_to_tensor(np.asarray(validation_x))
            )
            request.validation_data.y.CopyFrom(
                array_to_tensor(np.asarray(validation_y))
            )
        if optimizer is not None or learning_rate is not None:
            # An empty name keeps the spec's optimizer on the server.
            request.optimizer.CopyFrom(
                kerve_pb2.Optimizer(name=optimizer or "", learning_rate=learning_rate)
            )
        check_request_size("Train", name, request, self.max_message_bytes)
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
            ResourceExhaustedError: If the request is larger than the
                client's ``max_message_bytes`` (checked before sending) or the
                server's.
        """
        request = kerve_pb2.EvaluateRequest(name=name, subset=subset.value)
        _set_data(request, x, y, dataset)
        check_request_size("Evaluate", name, request, self.max_message_bytes)
        response: kerve_pb2.EvaluateResponse = self._call("Evaluate", request)
        return EvaluationReport.from_proto(response)

    def reset_model(self, name: str, *, seed: int | None = None) -> Model:
        """Re-initialize the weights and publish them as a new, untrained version.

        Args:
            name: The model's name.
            seed: Seed of the new initial weights; None means the spec's seed,
                or a random one if the spec has none. The same spec and seed
                give the same weights as a new model created with them.

        Returns:
            The model in state UNTRAINED, with the next version number.

        Raises:
            NotFoundError: If no model has this name.
            FailedPreconditionError: If the model is training.
            InvalidArgumentError: If the seed is out of range.
        """
        request = kerve_pb2.ResetModelRequest(name=name, seed=seed)
        response: kerve_pb2.Model = self._call("ResetModel", request)
        return Model.from_proto(response)

    def cancel_training(self, name: str) -> Model:
        """Ask the model's training run to stop after the batch that is running.

        The run's own ``train`` call then raises ``RequestCancelledError``,
        and the model returns to the state and version it had before the run.

        Returns:
            The model when the server received the request, usually still in
            state TRAINING.

        Raises:
            NotFoundError: If no model has this name.
            FailedPreconditionError: If the model has no training run.
        """
        request = kerve_pb2.CancelTrainingRequest(name=name)
        response: kerve_pb2.Model = self._call("CancelTraining", request)
        return Model.from_proto(response)

    def watch_model(self, name: str) -> ModelEvents:
        """Follow a model's state changes and training epochs as they happen.

        The iterator yields the model as it is now, then one ``ModelEvent``
        per state change and per epoch of each training run, and ends when
        the model is deleted. It is not bounded by the client's ``timeout``.
        The request is sent when the first event is requested. Closing the
        iterator cancels the call::

            with contextlib.closing(client.watch_model("prices")) as events:
                for event in events:
                    if event.model.state is kerve.State.TRAINED:
                        break

        A watcher that falls far behind loses the oldest events that the
        server has queued for it.

        Raises:
            NotFoundError: If no model has this name, at the first event.
            UnavailableError: If the server shuts down or the connection is
                lost while the watch is open.
        """
        return self._stream_events(kerve_pb2.WatchModelRequest(name=name))

    def import_model(
        self,
        name: str,
        archive: ArchiveSource,
        *,
        state: State = State.UNTRAINED,
        compile: CompileLike | None = None,
        seed: int | None = None,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    ) -> Model:
        """Create a model from a ``.keras`` archive.

        The archive must contain a Sequential model of Dense layers that a
        ``ModelSpec`` can express. The server checks the archive's config
        before it loads the archive with Keras's safe mode on, and rejects
        other layers, such as Lambda, and custom classes.

        Args:
            name: The new model's name, as for ``create_model``.
            archive: The path of a ``.keras`` file, or the archive's bytes.
            state: What the archive's weights are. ``State.UNTRAINED``, the
                default, makes them the model's initial weights, so its
                predictions are flagged. ``State.TRAINED`` serves them as
                trained version 2, and version 1 gets initial weights drawn
                from ``seed`` for ``evaluate`` to compare against.
            compile: Compile settings in the JSON form of
                ``kerve.v1.CompileSpec``, such as ``{"optimizer": {"name":
                "sgd"}, "loss": "mae"}``, or the message. None leaves the
                choice to the server.
            seed: Seed of the initial weights that ``evaluate`` and
                ``reset_model`` use; None means a random seed.
            chunk_bytes: Archive bytes per message. Values that would make a
                message larger than the client's ``max_message_bytes`` are
                lowered to fit.

        Returns:
            The new model.

        Raises:
            ValueError: If ``state`` is neither UNTRAINED nor TRAINED,
                ``chunk_bytes`` is below 1, or ``compile`` does not match
                the message.
            OSError: If the file cannot be read.
            AlreadyExistsError: If a model has this name.
            InvalidArgumentError: If the name is invalid or the archive is not
                a model that Kerve can serve. The message gives the reason.
            ResourceExhaustedError: If the archive is larger than the server
                accepts.
        """
        if state not in (State.UNTRAINED, State.TRAINED):
            raise ValueError(
                f"state must be State.UNTRAINED or State.TRAINED, not {state!r}"
            )
        header = kerve_pb2.ImportHeader(name=name, state=state.value, seed=seed)
        if compile is not None:
            header.compile.CopyFrom(_compile_to_proto(compile))

        # A larger chunk would fail with RESOURCE_EXHAUSTED once encoded.
        fitting_chunk = max(1, self.max_message_bytes - CHUNK_ENVELOPE_BYTES)
        requests = ImportRequests(header, archive, min(chunk_bytes, fitting_chunk))
        logger.debug("calling ImportModel on %s", self._target)
        with contextlib.closing(requests):
            try:
                response: kerve_pb2.Model = self._stub.ImportModel(
                    requests, timeout=self.timeout, metadata=self._metadata
                )
            except grpc.RpcError as error:
                if requests.read_error is not None:
                    raise requests.read_error from error
                raise error_from_rpc(error) from error
        if requests.read_error is not None:
            raise requests.read_error
        return Model.from_proto(response)

    @overload
    def export_model(
        self, name: str, destination: None = None, *, version: int | None = None
    ) -> bytes: ...

    @overload
    def export_model(
        self,
        name: str,
        destination: str | os.PathLike[str],
        *,
        version: int | None = None,
    ) -> ExportedArchive: ...

    def export_model(
        self,
        name: str,
        destination: str | os.PathLike[str] | None = None,
        *,
        version: int | None = None,
    ) -> bytes | ExportedArchive:
        """Download a version of a model as a ``.keras`` archive.

        The archive's size and SHA-256 are checked against the header that
        the server sends first. A file is written beside ``destination`` and
        renamed into place only when both match, so a failed export leaves
        no partial file.

        Args:
            name: The model's name.
            destination: The file to write, replacing any file there; None
                returns the archive's bytes instead.
            version: The version to export; None means the current version.

        Returns:
            The archive's bytes when ``destination`` is None, otherwise an
            ``ExportedArchive`` with the version written and whether its
            weights are untrained.

        Raises:
            NotFoundError: If no model has this name or the version is not
                kept.
            DataLossError: If the bytes received do not match the header.
            OSError: If the file cannot be written.
        """
        request = kerve_pb2.ExportModelRequest(name=name, version=version)
        if destination is None:
            buffer = io.BytesIO()
            self._receive_export(request, ExportReceiver(name, buffer))
            return buffer.getvalue()

        with replacing_file(destination) as file:
            receiver = ExportReceiver(name, file)
            self._receive_export(request, receiver)
        header = receiver.header
        assert header is not None  # receive() raises when it has none
        return ExportedArchive(
            path=Path(destination),
            model=Model.from_proto(header.model),
            version=header.version,
            untrained=header.untrained,
            size_bytes=header.size_bytes,
            sha256=header.sha256,
        )

    def _receive_export(
        self, request: kerve_pb2.ExportModelRequest, receiver: ExportReceiver
    ) -> None:
        logger.debug(
            "calling ExportModel for model %s on %s", request.name, self._target
        )
        call = self._stub.ExportModel(
            request, timeout=self.timeout, metadata=self._metadata
        )
        try:
            receiver.receive(call)
        except grpc.RpcError as error:
            raise error_from_rpc(error) from error
        finally:
            # Stops the stream when the receiver rejects it before its end.
            call.cancel()

    def _call(self, method_name: str, request: Message) -> Any:
        """Make a unary call and convert its failure into a ``KerveError``."""
        method = getattr(self._stub, method_name)
        logger.debug("calling %s on %s", method_name, self._target)
        try:
            return method(request, timeout=self.timeout, metadata=self._metadata)
        except grpc.RpcError as error:
            raise error_from_rpc(error) from error

    def _stream_training(self, request: kerve_pb2.TrainRequest) -> TrainingEvents:
        logger.debug("calling Train for model %s on %s", request.name, self._target)
        call = self._stub.Train(request, metadata=self._metadata)
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
            # notifies the server that the caller stopped reading the stream.
            call.cancel()

    def _stream_events(self, request: kerve_pb2.WatchModelRequest) -> ModelEvents:
        logger.debug(
            "calling WatchModel for model %s on %s", request.name, self._target
        )
        call = self._stub.WatchModel(request, metadata=self._metadata)
        try:
            for response in call:
                yield ModelEvent.from_proto(response)
        except grpc.RpcError as error:
            raise error_from_rpc(error) from error
        finally:
            call.cancel()


def _compile_to_proto(settings: CompileLike) -> kerve_pb2.CompileSpec:
    if isinstance(settings, kerve_pb2.CompileSpec):
        return settings
    if isinstance(settings, Mapping):
        try:
            return json_format.ParseDict(dict(settings), kerve_pb2.CompileSpec())
        except json_format.ParseError as error:
            raise ValueError(f"invalid compile settings: {error}") from error
    raise TypeError(
        "compile must be a dict in the JSON form of kerve.v1.CompileSpec or the "
        f"message, not {type(settings).__name__}"
    )


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
