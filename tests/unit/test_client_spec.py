"""Tests of building model specs without writing protocol messages."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import json_format

import kerve
from kerve.v1 import kerve_pb2


def test_model_spec_to_proto_sets_every_field() -> None:
    spec = kerve.ModelSpec(
        5,
        [kerve.Dense(10, activation="relu"), kerve.Dense(1)],
        optimizer="sgd",
        learning_rate=0.01,
        loss="mae",
        metrics=["mse"],
        seed=7,
    )

    proto = spec.to_proto()

    assert list(proto.input_shape) == [5]
    assert len(proto.layers) == 2
    assert proto.layers[0].dense.units == 10
    assert proto.layers[0].dense.activation == "relu"
    assert proto.layers[1].dense.activation == "linear"
    assert proto.compile.optimizer.name == "sgd"
    assert proto.compile.optimizer.learning_rate == pytest.approx(0.01)
    assert proto.compile.loss == "mae"
    assert list(proto.compile.metrics) == ["mse"]
    assert proto.seed == 7


def test_model_spec_defaults_leave_optional_fields_unset() -> None:
    proto = kerve.ModelSpec([28, 28], [kerve.Dense(1)]).to_proto()

    assert list(proto.input_shape) == [28, 28]
    assert proto.compile.optimizer.name == "adam"
    assert not proto.compile.optimizer.HasField("learning_rate")
    assert proto.compile.loss == "mse"
    assert list(proto.compile.metrics) == []
    assert not proto.HasField("seed")


def test_seed_zero_is_sent() -> None:
    proto = kerve.ModelSpec(5, [kerve.Dense(1)], seed=0).to_proto()

    assert proto.HasField("seed")
    assert proto.seed == 0


def test_dense_defaults_match_keras() -> None:
    dense = kerve.Dense(3).to_proto().dense

    assert dense.activation == "linear"
    assert dense.kernel_initializer.name == "glorot_uniform"
    assert dense.bias_initializer.name == "zeros"
    assert dense.use_bias is True


def test_dense_initializers_by_name_and_with_params() -> None:
    layer = kerve.Dense(
        4,
        kernel_initializer=kerve.Initializer("random_normal", mean=0.0, stddev=0.5),
        bias_initializer="ones",
        use_bias=False,
    )

    dense = layer.to_proto().dense

    assert dense.kernel_initializer.name == "random_normal"
    assert dict(dense.kernel_initializer.params) == {"mean": 0.0, "stddev": 0.5}
    assert dense.bias_initializer.name == "ones"
    assert dense.HasField("use_bias")
    assert dense.use_bias is False


def test_dense_options_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        kerve.Dense(4, "relu")  # type: ignore[call-arg]


def test_spec_value_objects_are_frozen_and_readable() -> None:
    spec = kerve.ModelSpec(5, [kerve.Dense(1)])

    with pytest.raises(AttributeError):
        spec.loss = "mae"  # type: ignore[misc]
    assert "Dense(units=1" in repr(spec)
    assert repr(kerve.Initializer("constant", value=0.5)) == (
        "Initializer(name='constant', params={'value': 0.5})"
    )


def test_spec_from_dict_parses_proto_json_form() -> None:
    document = {
        "input_shape": [5],
        "layers": [{"dense": {"units": 10, "activation": "relu"}}],
        "compile": {"optimizer": {"name": "adam"}, "loss": "mse"},
        "seed": 0,
    }

    proto = kerve.spec_from_dict(document)

    assert list(proto.input_shape) == [5]
    assert proto.layers[0].dense.units == 10
    assert proto.layers[0].dense.activation == "relu"
    assert proto.compile.optimizer.name == "adam"
    assert proto.HasField("seed")


def test_spec_from_dict_accepts_json_names() -> None:
    proto = kerve.spec_from_dict({"inputShape": [3], "layers": []})

    assert list(proto.input_shape) == [3]


def test_spec_from_dict_matches_model_spec() -> None:
    spec = kerve.ModelSpec(5, [kerve.Dense(10, activation="relu")], seed=1)
    document = json_format.MessageToDict(
        spec.to_proto(), preserving_proto_field_name=True
    )

    assert kerve.spec_from_dict(document) == spec.to_proto()


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"bogus": 1}, 'no field named "bogus"'),
        ({"input_shape": "five"}, "input_shape"),
        ({"layers": [{"dense": {"units": "ten"}}]}, "units"),
        ({"input_shape": [1.5]}, "input_shape"),
        ({"layers": [{"conv": {}}]}, "conv"),
    ],
    ids=[
        "unknown-field",
        "shape-string",
        "units-string",
        "shape-float",
        "unknown-layer",
    ],
)
def test_spec_from_dict_bad_document_raises(
    document: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ValueError, match="invalid model spec") as raised:
        kerve.spec_from_dict(document)

    assert expected in str(raised.value)


def test_spec_from_dict_rejects_non_object() -> None:
    with pytest.raises(ValueError, match="expected a JSON object, got list"):
        kerve.spec_from_dict([1, 2])  # type: ignore[arg-type]


def test_spec_from_dict_returns_message_type() -> None:
    assert isinstance(kerve.spec_from_dict({}), kerve_pb2.ModelSpec)
