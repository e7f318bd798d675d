"""Declarative model specs and the allow-lists they are checked against.

A spec describes a sequential Keras model as data: an input shape, layers
from a fixed allow-list and compile settings from allow-lists. Nothing in a
spec is executed, so a caller cannot send code to the server.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    ValidationError,
    model_validator,
)

from kerve_server.errors import FieldViolation, InvalidSpecError

Activation = Literal[
    "linear",
    "relu",
    "sigmoid",
    "tanh",
    "softmax",
    "elu",
    "selu",
    "softplus",
    "softsign",
    "gelu",
    "swish",
    "leaky_relu",
]
InitializerName = Literal[
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "lecun_uniform",
    "lecun_normal",
    "random_uniform",
    "random_normal",
    "truncated_normal",
    "zeros",
    "ones",
    "constant",
]
OptimizerName = Literal["adam", "sgd", "rmsprop"]
LossName = Literal[
    "mse",
    "mae",
    "huber",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
]
MetricName = Literal[
    "mse",
    "mae",
    "rmse",
    "mape",
    "accuracy",
    "binary_accuracy",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
]

CLASSIFICATION_LOSSES = frozenset(
    {
        "binary_crossentropy",
        "categorical_crossentropy",
        "sparse_categorical_crossentropy",
    }
)

# Parameters each initializer accepts, with the Keras default of each.
INITIALIZER_PARAMETERS: dict[str, dict[str, float]] = {
    "random_uniform": {"minval": -0.05, "maxval": 0.05},
    "random_normal": {"mean": 0.0, "stddev": 0.05},
    "truncated_normal": {"mean": 0.0, "stddev": 0.05},
    "constant": {"value": 0.0},
}

MAX_INPUT_RANK = 4
MAX_DIMENSION = 1_000_000
MAX_LAYERS = 64
MAX_UNITS = 65_536
MAX_SEED = 2**31 - 1
MAX_LEARNING_RATE = 10.0
# Floats in one input row and in the widest activation of one row: 16 Mi
# floats is 64 MiB, the default message limit, so a larger row could never
# be sent, and building the model would allocate gigabytes.
MAX_ROW_VALUES = 16 * 1024 * 1024
# Initializer parameters beyond this magnitude overflow float32 arithmetic.
MAX_INITIALIZER_MAGNITUDE = 1e6


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InitializerSpec(_Spec):
    """A weight initializer from keras.initializers, with its parameters."""

    name: InitializerName
    params: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_params(self) -> InitializerSpec:
        allowed = INITIALIZER_PARAMETERS.get(self.name, {})
        unknown = sorted(set(self.params) - set(allowed))
        if unknown:
            expected = ", ".join(sorted(allowed)) if allowed else "none"
            raise ValueError(
                f"initializer {self.name!r} takes parameters {expected}, "
                f"received {unknown}"
            )
        for key, value in self.params.items():
            if not math.isfinite(value) or abs(value) > MAX_INITIALIZER_MAGNITUDE:
                raise ValueError(
                    f"initializer parameter {key} must be finite and at most "
                    f"{MAX_INITIALIZER_MAGNITUDE:g} in magnitude, received {value}"
                )
        resolved = self.resolved_params()
        if self.name == "random_uniform" and resolved["minval"] >= resolved["maxval"]:
            raise ValueError(
                "random_uniform needs minval < maxval, received "
                f"minval={resolved['minval']} and maxval={resolved['maxval']}"
            )
        if "stddev" in resolved and resolved["stddev"] <= 0:
            raise ValueError(
                f"{self.name} needs stddev > 0, received {resolved['stddev']}"
            )
        return self

    def resolved_params(self) -> dict[str, float]:
        """Return every parameter of the initializer, defaults filled in."""
        return {**INITIALIZER_PARAMETERS.get(self.name, {}), **self.params}


class DenseSpec(_Spec):
    """A keras.layers.Dense layer."""

    type: Literal["dense"] = "dense"
    units: int = Field(ge=1, le=MAX_UNITS)
    activation: Activation = "linear"
    kernel_initializer: InitializerSpec = InitializerSpec(name="glorot_uniform")
    bias_initializer: InitializerSpec = InitializerSpec(name="zeros")
    use_bias: bool = True


LayerSpec = Annotated[DenseSpec, Discriminator("type")]


class OptimizerSpec(_Spec):
    """An optimizer from keras.optimizers."""

    name: OptimizerName = "adam"
    learning_rate: float | None = Field(default=None, gt=0, le=MAX_LEARNING_RATE)


class CompileSpec(_Spec):
    """Settings for keras.Model.compile."""

    optimizer: OptimizerSpec = OptimizerSpec()
    loss: LossName = "mse"
    metrics: tuple[MetricName, ...] = ()

    @model_validator(mode="after")
    def _check_metrics(self) -> CompileSpec:
        duplicates = sorted({m for m in self.metrics if self.metrics.count(m) > 1})
        if duplicates:
            raise ValueError(f"metrics must be unique, received {duplicates} twice")
        if "accuracy" in self.metrics and self.loss not in CLASSIFICATION_LOSSES:
            raise ValueError(
                "metric 'accuracy' needs a classification loss "
                f"({', '.join(sorted(CLASSIFICATION_LOSSES))}), "
                f"received loss {self.loss!r}"
            )
        return self


class ModelSpec(_Spec):
    """A sequential Keras model described as data."""

    input_shape: list[Annotated[int, Field(ge=1, le=MAX_DIMENSION)]] = Field(
        min_length=1, max_length=MAX_INPUT_RANK
    )
    layers: list[LayerSpec] = Field(min_length=1, max_length=MAX_LAYERS)
    compile: CompileSpec = CompileSpec()
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)

    @model_validator(mode="after")
    def _check_sizes(self) -> ModelSpec:
        row_values = math.prod(self.input_shape)
        if row_values > MAX_ROW_VALUES:
            raise ValueError(
                f"input_shape {list(self.input_shape)} has {row_values:,} values "
                f"per row, more than the limit of {MAX_ROW_VALUES:,}"
            )
        if self.largest_activation > MAX_ROW_VALUES:
            raise ValueError(
                f"a layer output has {self.largest_activation:,} values per row, "
                f"more than the limit of {MAX_ROW_VALUES:,}; use fewer units"
            )
        units = self.layers[-1].units
        loss = self.compile.loss
        if units < 2 and loss in {
            "categorical_crossentropy",
            "sparse_categorical_crossentropy",
        }:
            raise ValueError(
                f"loss {loss!r} needs a last layer with at least 2 units, one "
                f"per class, received {units} unit; use binary_crossentropy "
                "with 1 sigmoid unit for two classes"
            )
        return self

    @property
    def output_shape(self) -> tuple[int, ...]:
        """Shape of one output row: Dense layers act on the last axis."""
        return (*self.input_shape[:-1], self.layers[-1].units)

    @property
    def parameter_count(self) -> int:
        """Number of weights, computed from the spec without building it."""
        count = 0
        features = self.input_shape[-1]
        for layer in self.layers:
            count += features * layer.units + (layer.units if layer.use_bias else 0)
            features = layer.units
        return count

    @property
    def largest_activation(self) -> int:
        """Number of floats in the largest activation of one input row."""
        rows = math.prod(self.input_shape[:-1])
        widths = [self.input_shape[-1], *(layer.units for layer in self.layers)]
        return rows * max(widths)


def allowed_values(literal: Any) -> str:
    """Return the members of a ``Literal`` allow-list as a readable list."""
    return ", ".join(get_args(literal))


def parse_spec(document: dict[str, Any], *, model: str) -> ModelSpec:
    """Validate a spec document and return the spec.

    Raises:
        InvalidSpecError: the document breaks an allow-list or a limit; the
            message and the field violations name each field, the value
            received and what is expected.
    """
    try:
        return ModelSpec.model_validate(document)
    except ValidationError as exc:
        violations = [_violation(error) for error in exc.errors()]
    listed = "; ".join(f"{v.field}: {v.description}" for v in violations)
    raise InvalidSpecError(
        f"invalid spec for model {model!r}: {listed}", violations=violations
    )


def _violation(error: Any) -> FieldViolation:
    field = "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]
    ).lstrip(".")
    description = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] not in {"value_error", "missing"}:
        description += f" (received {_shorten(error.get('input'))})"
    return FieldViolation(field or "spec", description)


def _shorten(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
