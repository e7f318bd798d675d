"""Model specs built from small value classes instead of protocol messages.

The client only builds the ``kerve.v1.ModelSpec`` message. The server checks
every name (activations, initializers, optimizers, losses, metrics) against
its allow-lists and rejects an invalid spec with INVALID_ARGUMENT.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any

from google.protobuf import json_format

from kerve.v1 import kerve_pb2


@dataclass(frozen=True, init=False)
class Initializer:
    """A weight initializer with parameters, named as in ``keras.initializers``.

    Example: ``Initializer("random_normal", mean=0.0, stddev=0.05)``. An
    initializer without parameters can be given by its name alone.

    Attributes:
        name: The initializer's name, such as "zeros" or "constant".
        params: The initializer's parameters, such as ``value`` for "constant".
    """

    name: str
    params: Mapping[str, float]

    def __init__(self, name: str, **params: float) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "params", dict(params))

    def to_proto(self) -> kerve_pb2.Initializer:
        """Build the ``kerve.v1.Initializer`` message."""
        return kerve_pb2.Initializer(name=self.name, params=self.params)


def _initializer_to_proto(initializer: str | Initializer) -> kerve_pb2.Initializer:
    if isinstance(initializer, Initializer):
        return initializer.to_proto()
    return kerve_pb2.Initializer(name=initializer)


@dataclass(frozen=True)
class Dense:
    """A fully connected layer, as ``keras.layers.Dense``.

    Attributes:
        units: Number of output units.
        activation: Activation name, as in ``keras.activations``.
        kernel_initializer: Initializer of the kernel, by name or as an
            ``Initializer`` with parameters.
        bias_initializer: Initializer of the bias.
        use_bias: Whether the layer has a bias vector.
    """

    units: int
    _: KW_ONLY
    activation: str = "linear"
    kernel_initializer: str | Initializer = "glorot_uniform"
    bias_initializer: str | Initializer = "zeros"
    use_bias: bool = True

    def to_proto(self) -> kerve_pb2.Layer:
        """Build the ``kerve.v1.Layer`` message."""
        dense = kerve_pb2.DenseLayer(
            units=self.units,
            activation=self.activation,
            kernel_initializer=_initializer_to_proto(self.kernel_initializer),
            bias_initializer=_initializer_to_proto(self.bias_initializer),
            use_bias=self.use_bias,
        )
        return kerve_pb2.Layer(dense=dense)


@dataclass(frozen=True, init=False)
class ModelSpec:
    """Declarative description of a sequential Keras model.

    Example::

        ModelSpec(5, [Dense(10, activation="relu"), Dense(1)], seed=0)

    Attributes:
        input_shape: Shape of one input row, without the batch axis.
        layers: The layers, first to last.
        optimizer: Optimizer name, as in ``keras.optimizers``.
        learning_rate: Learning rate of the optimizer; None means the Keras
            default of the optimizer.
        loss: Loss name, such as "mse" or "sparse_categorical_crossentropy".
        metrics: Metric names, such as "mae" or "accuracy".
        seed: Seed of the weight initializers: the same spec and seed give the
            same initial weights. None means a random seed.
    """

    input_shape: tuple[int, ...]
    layers: tuple[Dense, ...]
    optimizer: str
    learning_rate: float | None
    loss: str
    metrics: tuple[str, ...]
    seed: int | None

    def __init__(
        self,
        input_shape: int | Sequence[int],
        layers: Sequence[Dense],
        *,
        optimizer: str = "adam",
        learning_rate: float | None = None,
        loss: str = "mse",
        metrics: Sequence[str] = (),
        seed: int | None = None,
    ) -> None:
        if isinstance(input_shape, int):
            input_shape = (input_shape,)
        object.__setattr__(self, "input_shape", tuple(input_shape))
        object.__setattr__(self, "layers", tuple(layers))
        object.__setattr__(self, "optimizer", optimizer)
        object.__setattr__(self, "learning_rate", learning_rate)
        object.__setattr__(self, "loss", loss)
        object.__setattr__(self, "metrics", tuple(metrics))
        object.__setattr__(self, "seed", seed)

    def to_proto(self) -> kerve_pb2.ModelSpec:
        """Build the ``kerve.v1.ModelSpec`` message."""
        optimizer = kerve_pb2.Optimizer(
            name=self.optimizer, learning_rate=self.learning_rate
        )
        compile_spec = kerve_pb2.CompileSpec(
            optimizer=optimizer, loss=self.loss, metrics=self.metrics
        )
        return kerve_pb2.ModelSpec(
            input_shape=self.input_shape,
            layers=[layer.to_proto() for layer in self.layers],
            compile=compile_spec,
            seed=self.seed,
        )


def spec_from_dict(document: Mapping[str, Any]) -> kerve_pb2.ModelSpec:
    """Build a ``kerve.v1.ModelSpec`` message from its JSON form.

    Field names may be the proto names (``input_shape``) or the JSON names
    (``inputShape``). Example::

        spec_from_dict({
            "input_shape": [5],
            "layers": [{"dense": {"units": 10, "activation": "relu"}}],
            "compile": {"optimizer": {"name": "adam"}, "loss": "mse"},
            "seed": 0,
        })

    Args:
        document: The spec as parsed JSON, for example from ``json.load``.

    Returns:
        The message. Its names are not validated: the server does that.

    Raises:
        ValueError: If the document is not a JSON object or does not match the
            message, for example an unknown field or a string where a number
            belongs. The message is the protobuf parser's.
    """
    if not isinstance(document, Mapping):
        raise ValueError(
            f"invalid model spec: expected a JSON object, got {type(document).__name__}"
        )
    try:
        return json_format.ParseDict(dict(document), kerve_pb2.ModelSpec())
    except json_format.ParseError as error:
        raise ValueError(f"invalid model spec: {error}") from error
