"""Unit tests of held-out planning, p-values, row marks and stored assessments."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kerve_server.errors import InvalidDataError
from kerve_server.service import assessment
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
    assert assessment._p_value(np.full(5, -0.1)) == 0.0
    assert assessment._p_value(np.full(5, 0.0)) == 1.0


def test_p_value_undefined_for_one_row() -> None:
    assert math.isnan(assessment._p_value(np.array([-3.0])))
    assert math.isnan(assessment._p_value(np.array([-3.0, np.inf])))


def _validation(loss: float, baseline: float, p_value: float) -> Validation:
    return Validation(
        source="validation_split",
        rows=20,
        loss=loss,
        metrics={},
        baseline_loss=baseline,
        baseline_metrics={},
        baseline_kind="training_mean",
        score_name="r_squared",
        score=0.0,
        baseline_score=0.0,
        margin=0.1,
        p_value=p_value,
        significance=0.05,
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
