"""Unit tests of held-out planning, p-values, row marks and stored assessments."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

import numpy as np
import pytest

from kerve_server.errors import InvalidDataError
from kerve_server.service import assessment, notices
from kerve_server.service.assessment import (
    UNTRAINED,
    Assessment,
    Validation,
    Verdict,
    assessment_document,
    assessment_from_document,
    mark_rows,
    plan_held_out,
    response_verdict,
)
from kerve_server.service.entries import Version
from kerve_server.specs import parse_spec

REGRESSION_SPEC = parse_spec(
    {"input_shape": [3], "layers": [{"type": "dense", "units": 1}]}, model="m"
)
CLASSIFIER_SPEC = parse_spec(
    {
        "input_shape": [3],
        "layers": [{"type": "dense", "units": 2, "activation": "softmax"}],
        "compile": {"loss": "sparse_categorical_crossentropy"},
    },
    model="m",
)
CLASSIFIER_3_SPEC = parse_spec(
    {
        "input_shape": [3],
        "layers": [{"type": "dense", "units": 3, "activation": "softmax"}],
        "compile": {"loss": "sparse_categorical_crossentropy"},
    },
    model="m",
)
CATEGORICAL_SPEC = parse_spec(
    {
        "input_shape": [3],
        "layers": [{"type": "dense", "units": 3, "activation": "softmax"}],
        "compile": {"loss": "categorical_crossentropy"},
    },
    model="m",
)
BINARY_SPEC = parse_spec(
    {
        "input_shape": [3],
        "layers": [{"type": "dense", "units": 1, "activation": "sigmoid"}],
        "compile": {"loss": "binary_crossentropy"},
    },
    model="m",
)


def _rows(count: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.arange(count * 3, dtype=np.float32).reshape(count, 3)
    return x, x[:, :1].copy()


def _plan(
    count: int,
    split: float | None,
    *,
    default: float = 0.2,
) -> assessment.HeldOutPlan:
    x, y = _rows(count)
    return plan_held_out(
        "m",
        REGRESSION_SPEC,
        x,
        y,
        validation_split=split,
        validation_data=None,
        default_fraction=default,
    )


def test_default_split_holds_out_fraction() -> None:
    plan = _plan(100, None)

    assert plan.source == "validation_split"
    assert plan.validation_x is not None
    assert plan.validation_x.shape == (20, 3)
    assert plan.x.shape == (80, 3)


def test_split_keeps_every_row_once() -> None:
    plan = _plan(50, 0.3)

    assert plan.validation_x is not None
    joined = np.concatenate([plan.x, plan.validation_x])
    np.testing.assert_array_equal(np.sort(joined[:, 0]), _rows(50)[0][:, 0])
    assert plan.validation_x.shape[0] == 15


def test_split_is_repeatable() -> None:
    first = _plan(40, 0.25)
    second = _plan(40, 0.25)

    assert first.validation_x is not None
    assert second.validation_x is not None
    np.testing.assert_array_equal(first.validation_x, second.validation_x)


def test_zero_split_holds_none_out() -> None:
    plan = _plan(100, 0.0)

    assert plan.source == "none"
    assert plan.validation_x is None
    assert plan.x.shape == (100, 3)
    assert "validation_split to 0" in plan.no_validation_reason


def test_default_skips_few_rows() -> None:
    plan = _plan(9, None)

    assert plan.validation_x is None
    assert "9 training rows are too few" in plan.no_validation_reason


def test_zero_default_holds_none_out() -> None:
    plan = _plan(100, None, default=0.0)

    assert plan.validation_x is None
    assert "default validation fraction is 0" in plan.no_validation_reason


def test_explicit_split_needs_fit_rows() -> None:
    with pytest.raises(InvalidDataError) as caught:
        _plan(3, 0.9)

    assert "validation_split 0.9 of 3 rows holds out 3" in caught.value.message
    assert caught.value.violations[0].field == "validation_split"


def test_explicit_split_of_two_rows() -> None:
    plan = _plan(2, 0.5)

    assert plan.x.shape[0] == 1
    assert plan.validation_x is not None
    assert plan.validation_x.shape[0] == 1


def test_validation_data_used_as_given() -> None:
    x, y = _rows(10)
    extra_x, extra_y = _rows(4)

    plan = plan_held_out(
        "m",
        REGRESSION_SPEC,
        x,
        y,
        validation_split=None,
        validation_data=(extra_x, extra_y),
        default_fraction=0.2,
    )

    assert plan.source == "validation_data"
    assert plan.x is x
    assert plan.validation_x is extra_x


def test_classes_split_stratified() -> None:
    x = np.zeros((100, 3), np.float32)
    labels = np.array([0] * 90 + [1] * 10, dtype=np.float32)

    plan = plan_held_out(
        "m",
        CLASSIFIER_SPEC,
        x,
        labels,
        validation_split=0.2,
        validation_data=None,
        default_fraction=0.2,
    )

    assert plan.validation_y is not None
    assert int((plan.validation_y == 1).sum()) == 2


def test_lonely_class_splits_unstratified() -> None:
    x = np.zeros((20, 3), np.float32)
    labels = np.array([0] * 19 + [1], dtype=np.float32)

    plan = plan_held_out(
        "m",
        CLASSIFIER_SPEC,
        x,
        labels,
        validation_split=0.2,
        validation_data=None,
        default_fraction=0.2,
    )

    assert plan.validation_y is not None
    assert plan.validation_y.shape[0] == 4


def test_p_value_small_for_clear_gain() -> None:
    differences = -np.linspace(1.0, 2.0, 30)

    assert assessment._p_value(differences) < 1e-6


def test_p_value_large_for_no_gain() -> None:
    differences = np.array([1.0, -1.0, 0.5, -0.5, 0.2, -0.2])

    assert assessment._p_value(differences) > 0.4


def test_p_value_of_equal_differences() -> None:
    # Equal differences have no spread, so they are no evidence either way.
    assert math.isnan(assessment._p_value(np.full(5, -0.1)))
    assert math.isnan(assessment._p_value(np.full(5, 0.0)))
    assert math.isnan(assessment._p_value(np.full(2, -3.0)))


def test_p_value_of_rounded_duplicates() -> None:
    # Duplicated rows at different places in a batch can differ by float32
    # rounding, which is no spread either.
    differences = np.array([-0.25, np.nextafter(np.float32(-0.25), 0)], np.float64)

    assert math.isnan(assessment._p_value(differences))


def test_p_value_undefined_for_one_row() -> None:
    assert math.isnan(assessment._p_value(np.array([-3.0])))
    assert math.isnan(assessment._p_value(np.array([-3.0, np.inf])))


def _validation(
    loss: float,
    baseline: float,
    p_value: float,
    *,
    rows: int = 20,
    score_name: str = "r_squared",
    score: float = 0.5,
    baseline_score: float = -0.01,
    constant_score: float = 0.0,
) -> Validation:
    return Validation(
        source="validation_split",
        rows=rows,
        loss=loss,
        metrics={},
        baseline_loss=baseline,
        baseline_metrics={},
        baseline_kind="training_mean"
        if score_name == "r_squared"
        else "majority_class",
        score_name=score_name,
        score=score,
        baseline_score=baseline_score,
        margin=0.1,
        p_value=p_value,
        significance=0.05,
        constant_score=constant_score,
    )


@pytest.mark.parametrize(
    ("loss", "p_value", "expected"),
    [
        (80.0, 0.01, Verdict.VALIDATED),
        (90.0, 0.01, Verdict.VALIDATED),
        (90.1, 0.01, Verdict.NO_BETTER_THAN_BASELINE),
        (50.0, 0.2, Verdict.NO_BETTER_THAN_BASELINE),
        (50.0, math.nan, Verdict.NO_BETTER_THAN_BASELINE),
        (math.nan, 0.01, Verdict.NO_BETTER_THAN_BASELINE),
    ],
)
def test_verdict_needs_margin_and_p(
    loss: float, p_value: float, expected: Verdict
) -> None:
    assert assessment._verdict(_validation(loss, 100.0, p_value)) is expected


def _reason(validation: Validation, loss: str = "mse") -> str:
    return assessment._reason(assessment._verdict(validation), validation, loss)


def _assert_plain(reason: str) -> None:
    """Check that a reason never shows a bare NaN as a number."""
    assert re.search(r"\bnan\b", reason) is None, reason
    assert re.search(r"\binf\b", reason) is None, reason


def test_validated_reason_names_conditions() -> None:
    validation = _validation(50.0, 100.0, 0.001, score=0.5)

    reason = _reason(validation)

    assert assessment._verdict(validation) is Verdict.VALIDATED
    assert reason.startswith("VALIDATED: on 20 held-out rows")
    assert "R-squared 0.5 against -0.01 for the baseline" in reason
    assert "beats the mean of the held-out targets" in reason
    _assert_plain(reason)


def test_negative_r_squared_not_validated() -> None:
    # Loss and p-value beat the training mean, but the model is worse than
    # the held-out mean: the held-out targets lie elsewhere.
    validation = _validation(50.0, 100.0, 0.001, score=-0.3984, baseline_score=-37.44)

    reason = _reason(validation)

    assert assessment._verdict(validation) is Verdict.NO_BETTER_THAN_BASELINE
    assert "This run fails this condition: R-squared -0.3984 is not above 0" in (reason)
    assert "no better than the mean of the held-out targets" in reason
    assert "the loss 50 is above" not in reason
    assert "train longer" in reason
    _assert_plain(reason)


def test_zero_r_squared_not_validated() -> None:
    validation = _validation(50.0, 100.0, 0.001, score=0.0)

    assert assessment._verdict(validation) is Verdict.NO_BETTER_THAN_BASELINE


def test_failed_conditions_listed_with_numbers() -> None:
    validation = _validation(95.0, 100.0, 0.2, score=-0.1)

    reason = _reason(validation)

    assert "This run fails 3 of these conditions:" in reason
    assert "the loss 95 is above 90, the most that VALIDATED allows" in reason
    assert "p = 0.2 is not below 0.05" in reason
    assert "R-squared -0.1 is not above 0" in reason


def test_constant_targets_not_validated() -> None:
    y = np.full((6, 1), 3.0, np.float32)
    predictions = y + 0.01

    scores = assessment._scores(REGRESSION_SPEC, y, predictions, y * 0.0)
    validation = _validation(
        1e-4,
        9.0,
        math.nan,
        score=scores.model,
        baseline_score=scores.baseline,
        constant_score=scores.best_constant,
    )
    reason = _reason(validation)

    assert math.isnan(scores.model)
    assert math.isnan(scores.baseline)
    assert math.isnan(scores.best_constant)
    assert assessment._verdict(validation) is Verdict.NO_BETTER_THAN_BASELINE
    assert "the held-out targets are constant, so no model can be shown" in reason
    assert "R-squared undefined" in reason
    assert "train longer" not in reason
    _assert_plain(reason)


def test_constant_targets_rounding_ignored() -> None:
    # The mean of three 0.1 values is not exactly 0.1 in floating point.
    y = np.full((3, 1), 0.1, np.float64)

    assert math.isnan(assessment._r_squared(y, y))


def test_one_held_out_row_not_validated() -> None:
    y = np.array([[2.0]], np.float32)
    scores = assessment._scores(REGRESSION_SPEC, y, y, y * 0.0)
    validation = _validation(
        0.0,
        4.0,
        assessment._p_value(np.array([-4.0])),
        rows=1,
        score=scores.model,
        baseline_score=scores.baseline,
        constant_score=scores.best_constant,
    )

    reason = _reason(validation)

    assert assessment._verdict(validation) is Verdict.NO_BETTER_THAN_BASELINE
    assert reason.startswith("NO_BETTER_THAN_BASELINE: on 1 held-out row,")
    assert "no p-value: a paired t-test needs at least 2 held-out rows" in reason
    assert "too few held-out rows" in reason
    assert "train longer" not in reason
    _assert_plain(reason)


def test_duplicated_rows_reason() -> None:
    differences = np.full(2, -0.17)
    validation = _validation(0.11, 0.29, assessment._p_value(differences))

    reason = _reason(validation)

    assert assessment._verdict(validation) is Verdict.NO_BETTER_THAN_BASELINE
    assert "no p-value: the per-row differences" in reason
    assert "have no spread (duplicated rows?)" in reason
    assert "train longer" not in reason
    _assert_plain(reason)


def test_non_finite_outputs_reason() -> None:
    y = np.arange(4, dtype=np.float32).reshape(4, 1)
    predictions = np.array([[0.0], [np.inf], [2.0], [3.0]], np.float32)
    scores = assessment._scores(REGRESSION_SPEC, y, predictions, y * 0.0 + 1.5)
    validation = _validation(
        math.inf,
        1.25,
        math.nan,
        rows=4,
        score=scores.model,
        baseline_score=scores.baseline,
        constant_score=scores.best_constant,
    )

    reason = _reason(validation)

    assert math.isnan(scores.model)
    assert scores.best_constant == 0.0
    assert "the loss is infinite, because the model's outputs" in reason
    assert "no p-value: some per-row losses are NaN or Inf" in reason
    assert "R-squared is undefined because the model's outputs" in reason
    assert "R-squared undefined against" in reason
    _assert_plain(reason)


def test_r_squared_matches_scikit_learn() -> None:
    generator = np.random.default_rng(0)
    y = generator.normal(size=(30, 1))
    predictions = y + generator.normal(scale=0.5, size=(30, 1))

    expected = 1.0 - np.sum((y - predictions) ** 2) / np.sum((y - y.mean()) ** 2)

    assert assessment._r_squared(y, predictions) == pytest.approx(expected)


def test_r_squared_of_held_out_mean_is_zero() -> None:
    y = np.array([[1.0], [2.0], [6.0]])

    assert assessment._r_squared(y, np.full_like(y, 3.0)) == pytest.approx(0.0)
    assert assessment._r_squared(y, np.full_like(y, 0.0)) < 0.0


def test_majority_accuracy_of_held_out_rows() -> None:
    labels = np.array([2, 2, 0, 2], np.int64)

    scores = assessment._scores(
        CLASSIFIER_3_SPEC, labels, np.eye(3)[[2, 2, 1, 0]], np.full((4, 3), 1 / 3)
    )

    assert scores.name == "accuracy"
    assert scores.model == 0.5
    # A uniform constant's argmax is class 0, right on one row of four.
    assert scores.baseline == 0.25
    assert scores.best_constant == 0.75


def test_accuracy_must_beat_majority() -> None:
    validation = _validation(
        0.5, 1.0, 0.001, score_name="accuracy", score=0.75, constant_score=0.75
    )

    reason = _reason(validation, "sparse_categorical_crossentropy")

    assert assessment._verdict(validation) is Verdict.NO_BETTER_THAN_BASELINE
    assert "accuracy 0.75 is not above 0.75, the accuracy of always answering" in (
        reason
    )


def test_unseen_class_not_validated() -> None:
    # Trained on classes 0 and 1, scored on rows of class 2 only.
    training = np.array([0, 1, 0, 1, 1, 0], np.int64)
    held_out = np.full(12, 2, np.int64)
    baseline = assessment.checks.target_mean(CLASSIFIER_3_SPEC, training)
    predictions = np.tile([0.3, 0.45, 0.25], (12, 1))

    scores = assessment._scores(
        CLASSIFIER_3_SPEC, held_out, predictions, np.tile(baseline, (12, 1))
    )
    validation = _validation(
        1.37,
        -math.log(float(baseline[2])),
        1e-19,
        rows=12,
        score_name="accuracy",
        score=scores.model,
        baseline_score=scores.baseline,
        constant_score=scores.best_constant,
    )
    reason = _reason(validation, "sparse_categorical_crossentropy")

    assert baseline[2] == pytest.approx(1 / 9)
    assert validation.baseline_loss == pytest.approx(math.log(9))
    assert scores.best_constant == 1.0
    assert assessment._verdict(validation) is Verdict.NO_BETTER_THAN_BASELINE
    assert "the held-out rows all have the same class" in reason
    assert "train longer" not in reason


def test_binary_unseen_class_not_validated() -> None:
    training = np.zeros((60, 1), np.float32)
    held_out = np.ones((12, 1), np.float32)
    baseline = assessment.checks.target_mean(BINARY_SPEC, training)

    scores = assessment._scores(
        BINARY_SPEC, held_out, np.full((12, 1), 0.7), np.tile(baseline, (12, 1))
    )

    assert baseline[0] == pytest.approx(1 / 62)
    assert scores.model == 1.0
    assert scores.baseline == 0.0
    assert scores.best_constant == 1.0


@pytest.mark.parametrize(
    ("spec", "targets", "expected"),
    [
        ("sparse", np.array([0, 0, 1]), [3 / 6, 2 / 6, 1 / 6]),
        ("sparse", np.array([1, 1, 1, 1]), [1 / 7, 5 / 7, 1 / 7]),
        ("categorical", np.eye(3)[[0, 0]], [3 / 5, 1 / 5, 1 / 5]),
        ("categorical", np.array([[0.5, 0.5, 0.0]]), [1.5 / 4, 1.5 / 4, 1 / 4]),
        ("binary", np.zeros((3, 1)), [1 / 5]),
        ("binary", np.array([[1.0], [1.0], [0.0]]), [3 / 5]),
        ("regression", np.array([[1.0], [2.0], [6.0]]), [3.0]),
    ],
)
def test_smoothed_baseline_numbers(
    spec: str, targets: np.ndarray, expected: list[float]
) -> None:
    specs = {
        "sparse": CLASSIFIER_3_SPEC,
        "categorical": CATEGORICAL_SPEC,
        "binary": BINARY_SPEC,
        "regression": REGRESSION_SPEC,
    }

    baseline = assessment.checks.target_mean(specs[spec], targets)

    np.testing.assert_allclose(baseline, expected, rtol=1e-6)
    assert baseline.dtype == np.float32


def test_smoothed_baseline_keeps_majority() -> None:
    targets = np.array([2, 2, 2, 0, 1, 2, 0], np.int64)

    baseline = assessment.checks.target_mean(CLASSIFIER_3_SPEC, targets)

    assert int(np.argmax(baseline)) == 2
    assert float(baseline.sum()) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("targets", "row", "fragment"),
    [
        (np.zeros((4, 3)), 0, "row 0 contains [0., 0., 0.], which sum to 0 (4 invalid"),
        (np.full((2, 3), 0.9), 0, "which sum to 2.7 (2 invalid rows in all)"),
        (
            np.array([[1.0, 0.0, 0.0], [1.5, -0.5, 0.0]]),
            1,
            "row 1 contains [ 1.5, -0.5,  0. ], which sum to 1 (1 invalid row",
        ),
        (
            np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.49, 0.0]]),
            2,
            "which sum to 0.99 (1 invalid row in all)",
        ),
    ],
)
def test_categorical_targets_checked(
    targets: np.ndarray, row: int, fragment: str
) -> None:
    with pytest.raises(InvalidDataError) as caught:
        assessment.checks.check_targets(
            "m", CATEGORICAL_SPEC, targets, targets.shape[0], field="validation_data.y"
        )

    message = caught.value.message
    assert "model 'm' uses loss 'categorical_crossentropy'" in message
    assert "class probabilities in [0, 1] that sum to 1" in message
    assert f"row {row} contains" in message
    assert fragment in message
    assert caught.value.violations[0].field == "validation_data.y"


def test_categorical_soft_targets_accepted() -> None:
    targets = np.array([[1.0, 0.0, 0.0], [0.3334, 0.3333, 0.3333], [0.2, 0.3, 0.5]])

    checked = assessment.checks.check_targets("m", CATEGORICAL_SPEC, targets, 3)

    assert checked.dtype == np.float32
    assert checked.shape == (3, 3)


def test_binary_targets_name_row() -> None:
    targets = np.array([0.0, 1.0, 2.0, 1.0])

    with pytest.raises(InvalidDataError) as caught:
        assessment.checks.check_targets("m", BINARY_SPEC, targets, 4)

    assert "so y must be in [0, 1], received values from 0.0 to 2.0" in (
        caught.value.message
    )
    assert "row 2 contains [2.] (1 invalid row in all)" in caught.value.message


@pytest.mark.parametrize(
    ("labels", "row"),
    [
        (np.array([0, 1, 3, 1]), 2),
        (np.array([0, -1, 1, 1]), 1),
        (np.array([0, 1, 1, 0.5]), 3),
    ],
)
def test_sparse_labels_checked(labels: np.ndarray, row: int) -> None:
    with pytest.raises(InvalidDataError) as caught:
        assessment.checks.check_targets("m", CLASSIFIER_3_SPEC, labels, 4)

    message = caught.value.message
    assert "integer class indices in [0, 2]" in message
    assert f"row {row} contains" in message
    assert "(1 invalid row in all)" in message


def test_verdicts_ordered_by_trust() -> None:
    assert Verdict.UNTRAINED < Verdict.NO_BETTER_THAN_BASELINE
    assert Verdict.NO_BETTER_THAN_BASELINE < Verdict.UNVALIDATED
    assert Verdict.UNVALIDATED < Verdict.VALIDATED


def _ranged(low: list[float], high: list[float]) -> Assessment:
    return Assessment(
        Verdict.VALIDATED,
        "VALIDATED",
        None,
        np.array(low, np.float32),
        np.array(high, np.float32),
    )


def test_rows_outside_widened_range_marked() -> None:
    ranged = _ranged([0.0, 0.0], [10.0, 1.0])
    inputs = np.array([[5.0, 0.5], [10.9, 0.5], [11.1, 0.5], [5.0, -0.2]])

    marks = mark_rows(ranged, inputs, np.zeros((4, 1)), margin=0.1)

    np.testing.assert_array_equal(marks.extrapolated, [2, 3])
    assert marks.non_finite.size == 0


def test_zero_margin_marks_any_excess() -> None:
    ranged = _ranged([0.0], [1.0])
    inputs = np.array([[1.0], [1.0001], [0.0]])

    marks = mark_rows(ranged, inputs, np.zeros((3, 1)), margin=0.0)

    np.testing.assert_array_equal(marks.extrapolated, [1])


def test_constant_feature_marks_other_values() -> None:
    ranged = _ranged([2.0], [2.0])
    inputs = np.array([[2.0], [2.5]])

    marks = mark_rows(ranged, inputs, np.zeros((2, 1)), margin=0.5)

    np.testing.assert_array_equal(marks.extrapolated, [1])


def test_unknown_ranges_mark_nothing() -> None:
    marks = mark_rows(UNTRAINED, np.full((2, 2), 1e9), np.zeros((2, 1)), margin=0.1)

    assert marks.extrapolated.size == 0


def test_multi_axis_rows_marked_by_row() -> None:
    low = np.zeros((2, 2), np.float32)
    ranged = Assessment(Verdict.VALIDATED, "", None, low, low + 1.0)
    inputs = np.zeros((3, 2, 2))
    inputs[2, 1, 0] = 5.0

    marks = mark_rows(ranged, inputs, np.zeros((3, 2, 1)), margin=0.0)

    np.testing.assert_array_equal(marks.extrapolated, [2])


def test_non_finite_rows_marked() -> None:
    outputs = np.array([[1.0, 2.0], [np.nan, 0.0], [0.0, np.inf]])

    marks = mark_rows(UNTRAINED, np.zeros((3, 1)), outputs, margin=0.1)

    np.testing.assert_array_equal(marks.non_finite, [1, 2])


def test_empty_batch_has_no_marks() -> None:
    ranged = _ranged([0.0], [1.0])

    marks = mark_rows(ranged, np.zeros((0, 1)), np.zeros((0, 1)), margin=0.1)

    assert marks.extrapolated.size == 0
    assert marks.non_finite.size == 0


def test_non_finite_lowers_response_verdict() -> None:
    outputs = np.array([[np.nan]])
    marks = mark_rows(UNTRAINED, np.zeros((1, 1)), outputs, margin=0.1)
    clean = mark_rows(UNTRAINED, np.zeros((1, 1)), np.zeros((1, 1)), margin=0.1)

    assert response_verdict(Verdict.VALIDATED, marks) is (
        Verdict.NO_BETTER_THAN_BASELINE
    )
    assert response_verdict(Verdict.UNVALIDATED, marks) is (
        Verdict.NO_BETTER_THAN_BASELINE
    )
    assert response_verdict(Verdict.UNTRAINED, marks) is Verdict.UNTRAINED
    assert response_verdict(Verdict.VALIDATED, clean) is Verdict.VALIDATED


def test_document_round_trip() -> None:
    original = Assessment(
        Verdict.NO_BETTER_THAN_BASELINE,
        "NO_BETTER_THAN_BASELINE: reasons",
        _validation(95.0, 100.0, math.nan),
        np.array([0.25, -1.5], np.float32),
        np.array([3.0, 1e-7], np.float32),
    )

    restored = assessment_from_document(assessment_document(original), True)

    assert restored.verdict is original.verdict
    assert restored.reason == original.reason
    assert restored.validation is not None
    assert restored.validation.loss == 95.0
    assert math.isnan(restored.validation.p_value)
    assert restored.input_min is not None
    assert restored.input_max is not None
    np.testing.assert_array_equal(restored.input_min, original.input_min)
    np.testing.assert_array_equal(restored.input_max, original.input_max)


def test_old_trained_document_unvalidated() -> None:
    restored = assessment_from_document(None, True)

    assert restored.verdict is Verdict.UNVALIDATED
    assert "stored without held-out scores" in restored.reason
    assert restored.ranges_known is False


def test_untrained_document_is_untrained() -> None:
    document = assessment_document(_ranged([0.0], [1.0]))

    assert assessment_from_document(document, False) is UNTRAINED


def test_malformed_document_raises() -> None:
    with pytest.raises(KeyError):
        assessment_from_document({"verdict": "GOOD", "reason": ""}, True)


def _version(verdict: Verdict) -> Version:
    assessed = Assessment(verdict, f"{verdict.name}: the numbers.")
    # The notices read only the number and the assessment of a version.
    return Version(
        number=2,
        trained=True,
        compiled=None,  # type: ignore[arg-type]
        create_time=datetime.now(UTC),
        assessment=assessed,
    )


def test_lowered_verdict_names_both() -> None:
    text = notices.lowered_verdict_text(
        "m", _version(Verdict.VALIDATED), np.array([3]), total=10
    )

    assert text == (
        "model 'm' version 2 is VALIDATED, but this response is "
        "NO_BETTER_THAN_BASELINE because 1 of 10 rows has NaN or Inf outputs (row 3)"
    )


def test_verdict_error_for_non_finite_rows() -> None:
    error = notices.verdict_error(
        "m",
        _version(Verdict.VALIDATED),
        Verdict.NO_BETTER_THAN_BASELINE,
        Verdict.VALIDATED,
        np.array([1, 4]),
    )

    assert error.message.startswith(
        "model 'm' version 2 is VALIDATED, but this response is "
        "NO_BETTER_THAN_BASELINE because 2 rows have NaN or Inf outputs "
        "(rows 1, 4), which is below the required VALIDATED."
    )
    assert "The version's own verdict: VALIDATED: the numbers." in error.message
    assert "Train the model until" not in error.message


def test_verdict_error_of_version_verdict() -> None:
    error = notices.verdict_error(
        "m",
        _version(Verdict.NO_BETTER_THAN_BASELINE),
        Verdict.NO_BETTER_THAN_BASELINE,
        Verdict.VALIDATED,
        assessment.NO_ROWS,
    )

    assert error.message.startswith(
        "model 'm' version 2 is NO_BETTER_THAN_BASELINE, below the required "
        "VALIDATED. NO_BETTER_THAN_BASELINE: the numbers. Train the model until"
    )
