"""Conversion of verdicts, held-out scores and assessments to ``kerve.v1``."""

from __future__ import annotations

import functools

from kerve.v1 import kerve_pb2
from kerve_server.errors import FieldViolation, InvalidArgumentError
from kerve_server.service.assessment import Assessment, Validation, Verdict
from kerve_server.transport.tensors import encode_tensor

VERDICTS = {
    Verdict.UNTRAINED: kerve_pb2.VERDICT_UNTRAINED,
    Verdict.NO_BETTER_THAN_BASELINE: kerve_pb2.VERDICT_NO_BETTER_THAN_BASELINE,
    Verdict.UNVALIDATED: kerve_pb2.VERDICT_UNVALIDATED,
    Verdict.VALIDATED: kerve_pb2.VERDICT_VALIDATED,
}
_FROM_PROTO: dict[int, Verdict] = {
    int(value): verdict for verdict, value in VERDICTS.items()
}

# Versions whose converted messages stay cached; each is a few hundred bytes.
CACHED_VERSIONS = 1024


def verdict_from_proto(value: int, *, model: str) -> Verdict | None:
    """Return the min_verdict of a request; None when unspecified.

    Raises:
        InvalidArgumentError: the value is no known verdict.
    """
    if value == kerve_pb2.VERDICT_UNSPECIFIED:
        return None
    verdict = _FROM_PROTO.get(value)
    if verdict is None:
        known = ", ".join(f"{kerve_pb2.Verdict.Name(v)} ({v})" for v in _FROM_PROTO)
        message = (
            f"invalid min_verdict for model {model!r}: received {value}, "
            f"expected one of {known}, or 0 for none"
        )
        raise InvalidArgumentError(
            message, violations=[FieldViolation("min_verdict", message)]
        )
    return verdict


@functools.lru_cache(maxsize=CACHED_VERSIONS)
def validation_to_proto(validation: Validation) -> kerve_pb2.Validation:
    """Return the held-out scores message; callers must not change it."""
    return kerve_pb2.Validation(
        source=validation.source,
        rows=validation.rows,
        model=kerve_pb2.Evaluation(loss=validation.loss, metrics=validation.metrics),
        baseline=kerve_pb2.Evaluation(
            loss=validation.baseline_loss, metrics=validation.baseline_metrics
        ),
        baseline_kind=validation.baseline_kind,
        score_name=validation.score_name,
        score=validation.score,
        baseline_score=validation.baseline_score,
        margin=validation.margin,
        p_value=validation.p_value,
        significance=validation.significance,
    )


@functools.lru_cache(maxsize=CACHED_VERSIONS)
def assessment_to_proto(assessment: Assessment) -> kerve_pb2.Assessment:
    """Return the assessment message; callers must not change it."""
    proto = kerve_pb2.Assessment(
        verdict=VERDICTS[assessment.verdict], reason=assessment.reason
    )
    if assessment.validation is not None:
        proto.validation.CopyFrom(validation_to_proto(assessment.validation))
    if assessment.input_min is not None and assessment.input_max is not None:
        proto.input_min.CopyFrom(encode_tensor(assessment.input_min))
        proto.input_max.CopyFrom(encode_tensor(assessment.input_max))
    return proto
