"""Synthetic datasets that the server generates with scikit-learn.

Sending a dataset's parameters instead of its rows keeps requests small and
lets Train and Evaluate work on the same rows: with the same ``random_state``
and ``test_fraction``, the server generates and splits the rows identically.
"""

from __future__ import annotations

import enum
from dataclasses import KW_ONLY, dataclass

from kerve.v1 import kerve_pb2


class Subset(enum.Enum):
    """Rows of a synthetic dataset that Evaluate uses, as in ``kerve.v1.Subset``."""

    DEFAULT = kerve_pb2.SUBSET_UNSPECIFIED
    """The test rows when the dataset has a test fraction, otherwise all rows."""
    TRAIN = kerve_pb2.SUBSET_TRAIN
    """The rows that Train uses."""
    TEST = kerve_pb2.SUBSET_TEST
    """The rows held out by ``test_fraction``."""
    ALL = kerve_pb2.SUBSET_ALL
    """Every generated row."""

    def __repr__(self) -> str:
        return f"Subset.{self.name}"


@dataclass(frozen=True)
class Regression:
    """Parameters of ``sklearn.datasets.make_regression``.

    A parameter left at None is not sent, so the server uses scikit-learn's
    default.

    Attributes:
        n_samples: Number of rows to generate.
        n_features: Number of input features.
        n_informative: Number of features that influence the targets.
        n_targets: Number of target columns.
        noise: Standard deviation of the Gaussian noise added to the targets.
        bias: Constant added to the targets.
        random_state: Seed of the generator and of the train/test split. None
            means a random seed, which the server rejects together with a
            non-zero ``test_fraction``.
        test_fraction: Fraction of rows held out as the test subset, in [0, 1).
    """

    n_samples: int
    n_features: int
    _: KW_ONLY
    n_informative: int | None = None
    n_targets: int | None = None
    noise: float = 0.0
    bias: float = 0.0
    random_state: int | None = None
    test_fraction: float = 0.0

    def to_proto(self) -> kerve_pb2.SyntheticDataset:
        """Build the ``kerve.v1.SyntheticDataset`` message."""
        regression = kerve_pb2.MakeRegression(
            n_samples=self.n_samples,
            n_features=self.n_features,
            n_informative=self.n_informative,
            n_targets=self.n_targets,
            noise=self.noise,
            bias=self.bias,
        )
        return kerve_pb2.SyntheticDataset(
            regression=regression,
            random_state=self.random_state,
            test_fraction=self.test_fraction,
        )


@dataclass(frozen=True)
class Classification:
    """Parameters of ``sklearn.datasets.make_classification``.

    A parameter left at None is not sent, so the server uses scikit-learn's
    default.
    The targets are integer class labels, so the model's loss is usually
    "sparse_categorical_crossentropy".

    Attributes:
        n_samples: Number of rows to generate.
        n_features: Number of input features.
        n_informative: Number of informative features.
        n_redundant: Number of features that are linear combinations of the
            informative ones.
        n_classes: Number of classes.
        n_clusters_per_class: Number of clusters per class.
        flip_y: Fraction of labels assigned at random.
        class_sep: Distance between the classes; larger is easier.
        random_state: Seed of the generator and of the train/test split. None
            means a random seed, which the server rejects together with a
            non-zero ``test_fraction``.
        test_fraction: Fraction of rows held out as the test subset, in [0, 1).
    """

    n_samples: int
    n_features: int
    _: KW_ONLY
    n_informative: int | None = None
    n_redundant: int | None = None
    n_classes: int | None = None
    n_clusters_per_class: int | None = None
    flip_y: float | None = None
    class_sep: float | None = None
    random_state: int | None = None
    test_fraction: float = 0.0

    def to_proto(self) -> kerve_pb2.SyntheticDataset:
        """Build the ``kerve.v1.SyntheticDataset`` message."""
        classification = kerve_pb2.MakeClassification(
            n_samples=self.n_samples,
            n_features=self.n_features,
            n_informative=self.n_informative,
            n_redundant=self.n_redundant,
            n_classes=self.n_classes,
            n_clusters_per_class=self.n_clusters_per_class,
            flip_y=self.flip_y,
            class_sep=self.class_sep,
        )
        return kerve_pb2.SyntheticDataset(
            classification=classification,
            random_state=self.random_state,
            test_fraction=self.test_fraction,
        )


Dataset = Regression | Classification
"""A synthetic dataset that Train and Evaluate accept."""
