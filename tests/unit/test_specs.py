"""Spec validation: allow-lists, limits and the messages they produce."""

from __future__ import annotations

from typing import Any

import pytest

from kerve_server.errors import InvalidSpecError
from kerve_server.specs import ModelSpec, parse_spec


def _spec(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "input_shape": [5],
        "layers": [
            {"type": "dense", "units": 10, "activation": "relu"},
            {"type": "dense", "units": 1},
        ],
    }
    document.update(changes)
    return document


def _fields(document: dict[str, Any]) -> list[str]:
    with pytest.raises(InvalidSpecError) as caught:
        parse_spec(document, model="m")
    return [violation.field for violation in caught.value.violations]


def test_valid_spec_defaults() -> None:
    spec = parse_spec(_spec(), model="m")

    assert spec.parameter_count == 5 * 10 + 10 + 10 * 1 + 1
    assert spec.output_shape == (1,)
    assert spec.compile.loss == "mse"
    assert spec.compile.optimizer.name == "adam"
    assert spec.layers[1].kernel_initializer.name == "glorot_uniform"
    assert spec.layers[1].bias_initializer.name == "zeros"


def test_unknown_layer_type_rejected() -> None:
    assert _fields(_spec(layers=[{"type": "lambda", "function": "print"}])) == [
        "layers[0]"
    ]


def test_unknown_activation_rejected() -> None:
    fields = _fields(
        _spec(layers=[{"type": "dense", "units": 1, "activation": "eval"}])
    )

    assert fields == ["layers[0].dense.activation"]


@pytest.mark.parametrize("units", [0, -1, 10**9])
def test_bad_units_rejected(units: int) -> None:
    assert _fields(_spec(layers=[{"type": "dense", "units": units}])) == [
        "layers[0].dense.units"
    ]


@pytest.mark.parametrize("shape", [[], [0], [-3], [10**9], [1, 1, 1, 1, 1]])
def test_bad_input_shape_rejected(shape: list[int]) -> None:
    assert _fields(_spec(input_shape=shape))[0].startswith("input_shape")


def test_initializer_parameters_checked() -> None:
    layer = {
        "type": "dense",
        "units": 2,
        "kernel_initializer": {
            "name": "random_uniform",
            "params": {"minval": 1, "maxval": 0},
        },
        "bias_initializer": {"name": "zeros", "params": {"value": 1}},
    }

    with pytest.raises(InvalidSpecError) as caught:
        parse_spec(_spec(layers=[layer]), model="m")

    message = caught.value.message
    assert "random_uniform needs minval < maxval" in message
    assert "initializer 'zeros' takes parameters none, received ['value']" in message


def test_accuracy_needs_classification_loss() -> None:
    with pytest.raises(InvalidSpecError) as caught:
        parse_spec(_spec(compile={"loss": "mse", "metrics": ["accuracy"]}), model="m")

    assert "metric 'accuracy' needs a classification loss" in caught.value.message


def test_unknown_field_rejected() -> None:
    assert _fields(_spec(code="import os")) == ["code"]


def test_multi_axis_output_shape() -> None:
    spec = ModelSpec.model_validate(
        {"input_shape": [3, 4], "layers": [{"type": "dense", "units": 2}]}
    )

    assert spec.output_shape == (3, 2)
    assert spec.parameter_count == 4 * 2 + 2
