"""Synthetic datasets from scikit-learn, described by their parameters."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sklearn.datasets import make_classification, make_regression
from sklearn.model_selection import train_test_split

from kerve_server.errors import FieldViolation, InvalidDataError

MAX_FEATURES = 100_000
MAX_TARGETS = 10_000
MAX_CLASSES = 1_000
# Upper bound of n_samples * n_features, so that one request cannot make the
# server allocate gigabytes (float64 in scikit-learn: 8 bytes per value).
MAX_DATASET_VALUES = 50_000_000
MAX_RANDOM_STATE = 2**32 - 1


class Subset(enum.Enum):
    """Rows of a synthetic dataset that a request uses."""

    DEFAULT = "default"
    TRAIN = "train"
    TEST = "test"
    ALL = "all"


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    n_samples: int = Field(ge=1)
    n_features: int = Field(ge=1, le=MAX_FEATURES)

    @model_validator(mode="after")
    def _check_size(self) -> _Params:
        values = self.n_samples * self.n_features
        if values > MAX_DATASET_VALUES:
            raise ValueError(
                f"n_samples * n_features must be at most {MAX_DATASET_VALUES:,}, "
                f"received {self.n_samples:,} * {self.n_features:,} = {values:,}"
            )
        return self


class RegressionParams(_Params):
    """Parameters of ``sklearn.datasets.make_regression``."""

    n_informative: int | None = Field(default=None, ge=0)
    n_targets: int = Field(default=1, ge=1, le=MAX_TARGETS)
    noise: float = Field(default=0.0, ge=0.0, allow_inf_nan=False)
    bias: float = Field(default=0.0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _check_informative(self) -> RegressionParams:
        if self.n_informative is not None and self.n_informative > self.n_features:
            raise ValueError(
                f"n_informative must be at most n_features={self.n_features}, "
                f"received {self.n_informative}"
            )
        return self


class ClassificationParams(_Params):
    """Parameters of ``sklearn.datasets.make_classification``."""

    n_informative: int = Field(default=2, ge=1)
    n_redundant: int = Field(default=2, ge=0)
    n_classes: int = Field(default=2, ge=2, le=MAX_CLASSES)
    n_clusters_per_class: int = Field(default=2, ge=1)
    flip_y: float = Field(default=0.01, ge=0.0, le=1.0)
    class_sep: float = Field(default=1.0, gt=0.0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _check_features(self) -> ClassificationParams:
        used = self.n_informative + self.n_redundant
        if used > self.n_features:
            raise ValueError(
                f"n_informative + n_redundant must be at most "
                f"n_features={self.n_features}, received "
                f"{self.n_informative} + {self.n_redundant} = {used}"
            )
        clusters = self.n_classes * self.n_clusters_per_class
        if self.n_informative < 63 and clusters > 2**self.n_informative:
            raise ValueError(
                "n_classes * n_clusters_per_class must be at most "
                f"2 ** n_informative = {2**self.n_informative}, received "
                f"{self.n_classes} * {self.n_clusters_per_class} = {clusters}"
            )
        if self.n_samples < self.n_classes:
            raise ValueError(
                f"n_samples must be at least n_classes={self.n_classes}, "
                f"received {self.n_samples}"
            )
        return self


@dataclass(frozen=True)
class SyntheticDataset:
    """A dataset that scikit-learn generates on the server."""

    params: RegressionParams | ClassificationParams
    random_state: int | None
    test_fraction: float

    @property
    def generator(self) -> str:
        """Name of the scikit-learn function that makes the rows."""
        if isinstance(self.params, RegressionParams):
            return "make_regression"
        return "make_classification"


@dataclass(frozen=True)
class InlineData:
    """Rows sent with the request: inputs and targets."""

    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class GeneratedRows:
    """Rows of a synthetic dataset after the split.

    ``train_y`` is the train subset's targets even when another subset is
    selected, because the evaluation baseline predicts their mean.
    """

    x: np.ndarray
    y: np.ndarray
    train_y: np.ndarray | None


def parse_dataset(
    kind: str,
    params: dict[str, Any],
    *,
    random_state: int | None,
    test_fraction: float,
    max_rows: int,
) -> SyntheticDataset:
    """Validate synthetic dataset parameters.

    Raises:
        InvalidDataError: a parameter is out of range; the message names it,
            the value received and the range expected.
    """
    field = f"synthetic.{kind}"
    model = RegressionParams if kind == "regression" else ClassificationParams
    try:
        parsed = model.model_validate(params)
    except ValidationError as exc:
        violations = [
            FieldViolation(
                ".".join([field, *(str(p) for p in error["loc"])]),
                _describe(error),
            )
            for error in exc.errors()
        ]
        raise _invalid(violations) from None
    violations = []
    if parsed.n_samples > max_rows:
        violations.append(
            FieldViolation(
                f"{field}.n_samples",
                f"must be at most {max_rows:,} (the server's max dataset rows), "
                f"received {parsed.n_samples:,}",
            )
        )
    if not (0.0 <= test_fraction < 1.0) or math.isnan(test_fraction):
        violations.append(
            FieldViolation(
                "synthetic.test_fraction",
                f"must be in [0, 1), received {test_fraction}",
            )
        )
    elif test_fraction > 0:
        test_rows = math.ceil(parsed.n_samples * test_fraction)
        if random_state is None:
            violations.append(
                FieldViolation(
                    "synthetic.random_state",
                    "must be set when test_fraction > 0, because a random "
                    "dataset gives different test rows on every call",
                )
            )
        if test_rows >= parsed.n_samples:
            violations.append(
                FieldViolation(
                    "synthetic.test_fraction",
                    f"leaves no training rows of n_samples={parsed.n_samples}, "
                    f"received {test_fraction}",
                )
            )
    if random_state is not None and not (0 <= random_state <= MAX_RANDOM_STATE):
        violations.append(
            FieldViolation(
                "synthetic.random_state",
                f"must be in [0, {MAX_RANDOM_STATE}], received {random_state}",
            )
        )
    if violations:
        raise _invalid(violations)
    return SyntheticDataset(parsed, random_state, test_fraction)


def generate(dataset: SyntheticDataset, subset: Subset) -> GeneratedRows:
    """Generate the rows of ``dataset`` and return the requested subset.

    ``Subset.DEFAULT`` means the train rows, which is what training uses.
    """
    x, y = _make(dataset)
    if dataset.test_fraction == 0:
        if subset is Subset.TEST:
            raise _invalid(
                [
                    FieldViolation(
                        "subset",
                        "the dataset has no test rows; set test_fraction > 0 "
                        "or request subset TRAIN or ALL",
                    )
                ]
            )
        return GeneratedRows(x, y, y)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=dataset.test_fraction, random_state=dataset.random_state
    )
    if subset is Subset.TEST:
        return GeneratedRows(x_test, y_test, y_train)
    if subset is Subset.ALL:
        return GeneratedRows(x, y, y_train)
    return GeneratedRows(x_train, y_train, y_train)


def _make(dataset: SyntheticDataset) -> tuple[np.ndarray, np.ndarray]:
    params = dataset.params
    if isinstance(params, RegressionParams):
        x, y = make_regression(
            n_samples=params.n_samples,
            n_features=params.n_features,
            n_informative=(
                min(10, params.n_features)
                if params.n_informative is None
                else params.n_informative
            ),
            n_targets=params.n_targets,
            noise=params.noise,
            bias=params.bias,
            random_state=dataset.random_state,
        )
        # scikit-learn squeezes y, so one sample gives a 0-d array.
        shape = (
            (params.n_samples,)
            if params.n_targets == 1
            else (params.n_samples, params.n_targets)
        )
        return x.astype(np.float32), np.reshape(y, shape).astype(np.float32)
    x, y = make_classification(
        n_samples=params.n_samples,
        n_features=params.n_features,
        n_informative=params.n_informative,
        n_redundant=params.n_redundant,
        n_classes=params.n_classes,
        n_clusters_per_class=params.n_clusters_per_class,
        flip_y=params.flip_y,
        class_sep=params.class_sep,
        random_state=dataset.random_state,
    )
    return x.astype(np.float32), y.astype(np.int64)


def _describe(error: Any) -> str:
    description = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] != "value_error":
        description += f" (received {error.get('input')!r})"
    return description


def _invalid(violations: list[FieldViolation]) -> InvalidDataError:
    listed = "; ".join(f"{v.field}: {v.description}" for v in violations)
    return InvalidDataError(
        f"invalid synthetic dataset: {listed}", violations=violations
    )
