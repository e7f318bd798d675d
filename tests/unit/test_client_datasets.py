"""Tests of the synthetic dataset messages."""

from __future__ import annotations

import pytest

import kerve
from kerve.v1 import kerve_pb2


def test_regression_to_proto_sets_every_field() -> None:
    dataset = kerve.Regression(
        100,
        5,
        n_informative=3,
        n_targets=2,
        noise=0.1,
        bias=1.5,
        random_state=0,
        test_fraction=0.2,
    )

    proto = dataset.to_proto()

    assert proto.WhichOneof("generator") == "regression"
    assert proto.regression.n_samples == 100
    assert proto.regression.n_features == 5
    assert proto.regression.n_informative == 3
    assert proto.regression.n_targets == 2
    assert proto.regression.noise == pytest.approx(0.1)
    assert proto.regression.bias == pytest.approx(1.5)
    assert proto.HasField("random_state")
    assert proto.random_state == 0
    assert proto.test_fraction == pytest.approx(0.2)


def test_regression_defaults_leave_optional_fields_unset() -> None:
    proto = kerve.Regression(10, 2).to_proto()

    assert not proto.regression.HasField("n_informative")
    assert not proto.regression.HasField("n_targets")
    assert not proto.HasField("random_state")
    assert proto.test_fraction == 0.0


def test_classification_to_proto_sets_every_field() -> None:
    dataset = kerve.Classification(
        200,
        4,
        n_informative=2,
        n_redundant=1,
        n_classes=3,
        n_clusters_per_class=1,
        flip_y=0.0,
        class_sep=2.0,
        random_state=5,
        test_fraction=0.25,
    )

    proto = dataset.to_proto()

    assert proto.WhichOneof("generator") == "classification"
    message = proto.classification
    assert message.n_samples == 200
    assert message.n_features == 4
    assert message.n_informative == 2
    assert message.n_redundant == 1
    assert message.n_classes == 3
    assert message.n_clusters_per_class == 1
    assert message.HasField("flip_y")
    assert message.flip_y == 0.0
    assert message.class_sep == pytest.approx(2.0)
    assert proto.random_state == 5
    assert proto.test_fraction == pytest.approx(0.25)


def test_classification_defaults_leave_optional_fields_unset() -> None:
    message = kerve.Classification(10, 2).to_proto().classification

    for field in (
        "n_informative",
        "n_redundant",
        "n_classes",
        "n_clusters_per_class",
        "flip_y",
        "class_sep",
    ):
        assert not message.HasField(field), field


def test_dataset_options_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        kerve.Regression(10, 2, 1)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("subset", "value"),
    [
        (kerve.Subset.DEFAULT, kerve_pb2.SUBSET_UNSPECIFIED),
        (kerve.Subset.TRAIN, kerve_pb2.SUBSET_TRAIN),
        (kerve.Subset.TEST, kerve_pb2.SUBSET_TEST),
        (kerve.Subset.ALL, kerve_pb2.SUBSET_ALL),
    ],
    ids=lambda item: getattr(item, "name", ""),
)
def test_subset_values_match_protocol(subset: kerve.Subset, value: int) -> None:
    assert subset.value == value
