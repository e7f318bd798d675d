"""The display of ``kerve watch``, on a terminal and in a pipe."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from kerve import Model, ModelEvent, State, TrainingProgress, Verdict
from kerve._cli_watch import WatchDisplay


def model(state: State, version: int) -> Model:
    return Model(
        name="m",
        state=state,
        version=version,
        untrained=version == 1,
        spec={},
        create_time=None,
        update_time=None,
        last_training=None,
        failure_reason="",
        parameter_count=5,
        verdict=Verdict.UNTRAINED if version == 1 else Verdict.VALIDATED,
    )


def run_events() -> list[ModelEvent]:
    training = model(State.TRAINING, 1)
    return [
        ModelEvent(model(State.UNTRAINED, 1), None),
        ModelEvent(training, None),
        ModelEvent(training, TrainingProgress(1, 2, 0.5, {})),
        ModelEvent(training, TrainingProgress(2, 2, 0.25, {})),
        ModelEvent(model(State.TRAINED, 2), None),
    ]


def test_terminal_shows_progress_bar() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100, color_system=None)

    with WatchDisplay(console) as display:
        for event in run_events():
            display.show(event)
    text = buffer.getvalue()

    assert "training m" in text
    assert "2/2 epochs, loss 0.25" in text
    assert "m: state TRAINING, version 1, untrained" in text
    # The bar of the finished run is replaced by the line of its last epoch.
    assert "m: epoch 2/2, loss 0.25" in text
    assert text.index("m: epoch 2/2, loss 0.25") < text.index(
        "m: state TRAINED, version 2, verdict VALIDATED"
    )


def test_pipe_prints_one_line_per_event(capsys: pytest.CaptureFixture[str]) -> None:
    console = Console(file=io.StringIO(), force_terminal=False)

    with WatchDisplay(console) as display:
        for event in run_events():
            display.show(event)

    assert capsys.readouterr().out.splitlines() == [
        "m: state UNTRAINED, version 1, untrained",
        "m: state TRAINING, version 1, untrained",
        "m: epoch 1/2, loss 0.5",
        "m: epoch 2/2, loss 0.25",
        "m: state TRAINED, version 2, verdict VALIDATED",
    ]
