"""The Python client against a real server: warnings, training, lifecycle, watch.

A run that must last until the test stops it trains on a few rows for the
server's maximum number of epochs. Every test that starts one cancels it.
"""

from __future__ import annotations

import contextlib
import datetime
import importlib.metadata
import platform
import queue
import threading
import time
import warnings
from collections.abc import Callable, Iterator

import numpy as np
import pytest

import kerve
from tests.servers import ServerProcess

SPEC = kerve.ModelSpec(
    input_shape=(4,),
    layers=[kerve.Dense(8, activation="relu"), kerve.Dense(1)],
    seed=3,
)
ROWS = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
TARGETS = ROWS.sum(axis=1, keepdims=True)
REGRESSION = kerve.Regression(200, 4, noise=0.1, random_state=0, test_fraction=0.25)
# Training on these rows for this many epochs lasts minutes, so a run started
# with them is still going when the test cancels it.
LONG_RUN = {"x": ROWS[:8], "y": TARGETS[:8], "batch_size": 8, "epochs": 100_000}
WAIT_SECONDS = 60.0


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` every 50 ms; fail after ``WAIT_SECONDS``."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {WAIT_SECONDS} s waiting for {what}")
        time.sleep(0.05)


def state_of(client: kerve.Client, name: str) -> kerve.State:
    return client.get_model(name).state


@contextlib.contextmanager
def long_run(client: kerve.Client, name: str) -> Iterator[kerve.TrainingProgress]:
    """Start a run that lasts until the block ends, and yield its first epoch."""
    events = client.train_stream(name, **LONG_RUN, wait_for_slot=True)  # type: ignore[arg-type]
    with contextlib.closing(events):
        first = next(events)
        assert isinstance(first, kerve.TrainingProgress)
        try:
            yield first
        finally:
            with contextlib.suppress(kerve.FailedPreconditionError):
                client.cancel_training(name)
            with contextlib.suppress(kerve.RequestCancelledError):
                for _ in events:
                    pass


def trained_model(client: kerve.Client, name: str) -> kerve.Model:
    client.create_model(name, SPEC)
    # Two epochs on 16 rows learn little, and held-out rows would make the
    # version NO_BETTER_THAN_BASELINE, which warns. Without them it is
    # UNVALIDATED, which does not.
    return client.train(name, x=ROWS, y=TARGETS, epochs=2, validation_split=0).model


# Server information


def test_server_info_versions_and_limits(client: kerve.Client) -> None:
    info = client.server_info()

    assert info.version == importlib.metadata.version("kerve")
    assert info.python_version == platform.python_version()
    assert info.tensorflow_version.count(".") >= 2
    assert info.keras_version.startswith("3.")
    assert info.start_time is not None
    assert info.start_time <= datetime.datetime.now(datetime.UTC)
    assert info.max_batch_rows == 65_536
    assert info.max_message_bytes == kerve.DEFAULT_MAX_MESSAGE_BYTES
    assert repr(info).startswith(f"ServerInfo(version='{info.version}'")


# Untrained-prediction warnings and strict mode


def test_untrained_prediction_warns_at_caller(client: kerve.Client, name: str) -> None:
    client.create_model(name, SPEC)

    with pytest.warns(kerve.UntrainedPredictionWarning, match="UNTRAINED") as caught:
        client.predict(name, ROWS)

    assert len(caught) == 1
    assert caught[0].filename == __file__
    assert f"model {name!r} version 1" in str(caught[0].message)


def test_warning_repeats_on_every_call(client: kerve.Client, name: str) -> None:
    client.create_model(name, SPEC)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client.predict(name, ROWS)
        client.predict(name, ROWS)

    assert [warning.category for warning in caught] == [
        kerve.UntrainedPredictionWarning,
        kerve.UntrainedPredictionWarning,
    ]
    assert all(warning.filename == __file__ for warning in caught)


def test_warn_switches(server: ServerProcess, client: kerve.Client, name: str) -> None:
    client.create_model(name, SPEC)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        per_call_off = client.predict(name, ROWS, warn=False)
        with kerve.Client(server.address, warn_untrained=False) as quiet:
            client_off = quiet.predict(name, ROWS)
            with pytest.warns(kerve.UntrainedPredictionWarning):
                quiet.predict(name, ROWS, warn=True)

    assert caught == []
    assert per_call_off.untrained is True
    assert client_off.untrained is True


def test_trained_prediction_does_not_warn(client: kerve.Client, name: str) -> None:
    trained_model(client, name)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prediction = client.predict(name, ROWS)

    assert caught == []
    assert prediction.meaningful is True
    assert prediction.untrained is False
    assert prediction.version == 2


def test_strict_rejects_untrained(client: kerve.Client, name: str) -> None:
    client.create_model(name, SPEC)

    with pytest.raises(kerve.FailedPreconditionError) as raised:
        client.predict(name, ROWS, strict=True)

    assert (
        f"model {name!r} version 1 has untrained initial weights"
        in raised.value.message
    )
    assert "strict=false" in raised.value.message


def test_strict_accepts_trained(client: kerve.Client, name: str) -> None:
    trained_model(client, name)

    prediction = client.predict(name, ROWS, strict=True)

    assert prediction.meaningful is True
    assert prediction.outputs.shape == (16, 1)


# Training


def test_on_progress_called_per_epoch(client: kerve.Client, name: str) -> None:
    client.create_model(name, SPEC)
    seen: list[kerve.TrainingProgress] = []

    result = client.train(name, dataset=REGRESSION, epochs=3, on_progress=seen.append)

    assert [progress.epoch for progress in seen] == [1, 2, 3]
    assert all(progress.epochs == 3 for progress in seen)
    assert all(np.isfinite(progress.loss) for progress in seen)
    assert result.summary.epochs_run == 3
    # The server holds out 20% of the 150 rows by default to give the verdict.
    assert result.summary.samples == 120
    assert result.model.state is kerve.State.TRAINED
    assert result.model.version == 2


def test_train_stream_close_cancels_run(client: kerve.Client, name: str) -> None:
    client.create_model(name, SPEC)

    events = client.train_stream(name, **LONG_RUN)  # type: ignore[arg-type]
    first = next(events)
    events.close()
    wait_until(lambda: state_of(client, name) is not kerve.State.TRAINING, "cancel")

    model = client.get_model(name)
    assert isinstance(first, kerve.TrainingProgress)
    assert model.state is kerve.State.UNTRAINED
    assert model.version == 1
    assert model.untrained is True
    assert model.last_training is None
    assert client.predict(name, ROWS, warn=False).version == 1


def test_keep_running_on_disconnect(client: kerve.Client, name: str) -> None:
    client.create_model(name, SPEC)

    events = client.train_stream(
        name, x=ROWS, y=TARGETS, epochs=15, keep_running_on_disconnect=True
    )
    next(events)
    events.close()
    wait_until(lambda: state_of(client, name) is kerve.State.TRAINED, "the run")

    model = client.get_model(name)
    assert model.version == 2
    assert model.untrained is False
    assert model.last_training is not None
    assert model.last_training.epochs_run == 15


def test_binary_classification(client: kerve.Client, name: str) -> None:
    spec = kerve.ModelSpec(
        4,
        [kerve.Dense(8, activation="relu"), kerve.Dense(1, activation="sigmoid")],
        learning_rate=0.05,
        loss="binary_crossentropy",
        metrics=["accuracy"],
        seed=0,
    )
    data = kerve.Classification(
        400, 4, class_sep=2.0, random_state=0, test_fraction=0.25
    )
    client.create_model(name, spec)

    result = client.train(name, dataset=data, epochs=20)
    report = client.evaluate(name, dataset=data)

    assert "accuracy" in result.summary.final_metrics
    assert report.samples == 100
    assert report.current.metrics["accuracy"] > 0.9
    assert report.current.metrics["accuracy"] > report.initial.metrics["accuracy"]
    assert report.current.loss < report.initial.loss


def test_multiclass_sparse_labels(client: kerve.Client, name: str) -> None:
    spec = kerve.ModelSpec(
        6,
        [kerve.Dense(16, activation="relu"), kerve.Dense(3, activation="softmax")],
        learning_rate=0.05,
        loss="sparse_categorical_crossentropy",
        metrics=["sparse_categorical_accuracy"],
        seed=0,
    )
    data = kerve.Classification(
        600,
        6,
        n_informative=4,
        n_classes=3,
        class_sep=2.0,
        random_state=0,
        test_fraction=0.25,
    )
    client.create_model(name, spec)

    client.train(name, dataset=data, epochs=20)
    report = client.evaluate(name, dataset=data)
    rows = np.random.default_rng(2).normal(size=(16, 6)).astype(np.float32)
    probabilities = client.predict(name, rows)

    assert report.current.metrics["sparse_categorical_accuracy"] > 0.9
    assert report.current.loss < report.initial.loss
    assert probabilities.outputs.shape == (16, 3)
    np.testing.assert_allclose(probabilities.outputs.sum(axis=1), 1.0, rtol=1e-5)


def test_categorical_one_hot_targets(client: kerve.Client, name: str) -> None:
    spec = kerve.ModelSpec(
        2,
        [kerve.Dense(3, activation="softmax")],
        learning_rate=0.1,
        loss="categorical_crossentropy",
        metrics=["categorical_accuracy"],
        seed=0,
    )
    rng = np.random.default_rng(1)
    centers = np.array([[4.0, 0.0], [-4.0, 0.0], [0.0, 4.0]])
    labels = rng.integers(0, 3, size=300)
    x = (centers[labels] + rng.normal(size=(300, 2))).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[labels]
    client.create_model(name, spec)

    client.train(name, x=x, y=y, epochs=30)
    report = client.evaluate(name, x=x, y=y)

    assert report.current.metrics["categorical_accuracy"] > 0.9
    assert report.current.loss < report.initial.loss


def test_categorical_with_generated_labels(client: kerve.Client, name: str) -> None:
    # The server one-hot encodes make_classification's labels for this loss.
    spec = kerve.ModelSpec(
        4,
        [kerve.Dense(3, activation="softmax")],
        loss="categorical_crossentropy",
        metrics=["categorical_accuracy"],
        seed=0,
    )
    data = kerve.Classification(
        120, 4, n_informative=3, n_redundant=0, n_classes=3, random_state=0
    )
    client.create_model(name, spec)

    result = client.train(name, dataset=data, epochs=2)
    report = client.evaluate(name, dataset=data)

    # 20% of the 120 rows are held out by default to give the verdict.
    assert result.summary.samples == 96
    assert "categorical_accuracy" in report.current.metrics


# Evaluation


@pytest.mark.parametrize(
    ("subset", "samples"),
    [
        (kerve.Subset.DEFAULT, 50),
        (kerve.Subset.TRAIN, 150),
        (kerve.Subset.TEST, 50),
        (kerve.Subset.ALL, 200),
    ],
    ids=lambda value: getattr(value, "name", str(value)),
)
def test_evaluate_subsets(
    client: kerve.Client, name: str, subset: kerve.Subset, samples: int
) -> None:
    client.create_model(name, SPEC)

    report = client.evaluate(name, dataset=REGRESSION, subset=subset)

    assert report.samples == samples
    assert report.baseline_source == "train_subset"
    assert report.untrained is True
    assert report.current == report.initial


def test_evaluate_without_test_fraction_uses_all_rows(
    client: kerve.Client, name: str
) -> None:
    client.create_model(name, SPEC)

    report = client.evaluate(name, dataset=kerve.Regression(120, 4, random_state=0))

    assert report.samples == 120


def test_baseline_source_of_inline_rows(client: kerve.Client, name: str) -> None:
    client.create_model(name, SPEC)

    before = client.evaluate(name, x=ROWS, y=TARGETS)
    client.train(name, x=ROWS, y=TARGETS, epochs=2)
    after = client.evaluate(name, x=ROWS, y=TARGETS)

    assert before.baseline_source == "evaluated_rows"
    assert after.baseline_source == "last_training_run"
    assert after.version == 2
    assert after.untrained is False
    assert after.initial == before.initial


# Reset and cancel


def test_reset_publishes_untrained_version(client: kerve.Client, name: str) -> None:
    trained_model(client, name)
    client.create_model(f"{name}-fresh", SPEC)

    model = client.reset_model(name)
    reset_outputs = client.predict(name, ROWS, warn=False)
    fresh_outputs = client.predict(f"{name}-fresh", ROWS, warn=False)

    assert model.state is kerve.State.UNTRAINED
    assert model.version == 3
    assert model.untrained is True
    assert reset_outputs.version == 3
    assert reset_outputs.untrained is True
    np.testing.assert_array_equal(reset_outputs.outputs, fresh_outputs.outputs)


def test_reset_with_seed_matches_fresh_model(client: kerve.Client, name: str) -> None:
    client.create_model(name, SPEC)
    seeded = kerve.ModelSpec(SPEC.input_shape, SPEC.layers, seed=11)
    client.create_model(f"{name}-fresh", seeded)

    client.reset_model(name, seed=11)

    np.testing.assert_array_equal(
        client.predict(name, ROWS, warn=False).outputs,
        client.predict(f"{name}-fresh", ROWS, warn=False).outputs,
    )


def test_reset_unknown_model(client: kerve.Client) -> None:
    with pytest.raises(kerve.NotFoundError, match="'no-such-model' not found"):
        client.reset_model("no-such-model")


def test_cancel_without_run_fails(client: kerve.Client, name: str) -> None:
    client.create_model(name, SPEC)

    with pytest.raises(kerve.FailedPreconditionError) as raised:
        client.cancel_training(name)

    assert raised.value.message == (
        f"model {name!r} has no training run to cancel; its state is UNTRAINED"
    )


def test_cancel_stops_run(client: kerve.Client, name: str) -> None:
    client.create_model(name, SPEC)

    events = client.train_stream(name, **LONG_RUN)  # type: ignore[arg-type]
    with contextlib.closing(events):
        next(events)
        with pytest.raises(kerve.FailedPreconditionError, match="already training"):
            client.train(name, x=ROWS, y=TARGETS)
        with pytest.raises(kerve.FailedPreconditionError, match="is training"):
            client.reset_model(name)
        requested = client.cancel_training(name)
        with pytest.raises(kerve.RequestCancelledError) as raised:
            for _ in events:
                pass

    assert requested.state is kerve.State.TRAINING
    assert "was cancelled" in raised.value.message
    model = client.get_model(name)
    assert model.state is kerve.State.UNTRAINED
    assert model.version == 1


def test_cancel_keeps_trained_version(client: kerve.Client, name: str) -> None:
    trained_model(client, name)

    with long_run(client, name):
        assert state_of(client, name) is kerve.State.TRAINING
    wait_until(lambda: state_of(client, name) is not kerve.State.TRAINING, "cancel")

    model = client.get_model(name)
    assert model.state is kerve.State.TRAINED
    assert model.version == 2


# Watch


def collect_events(
    client: kerve.Client, name: str, until: Callable[[kerve.ModelEvent], bool]
) -> tuple[threading.Thread, queue.Queue[kerve.ModelEvent | Exception | None]]:
    """Watch ``name`` in a thread; put each event on the queue, then None."""
    received: queue.Queue[kerve.ModelEvent | Exception | None] = queue.Queue()

    def watch() -> None:
        events = client.watch_model(name)
        try:
            with contextlib.closing(events):
                for event in events:
                    received.put(event)
                    if until(event):
                        break
        except kerve.KerveError as error:
            received.put(error)
        received.put(None)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread, received


def drain(
    received: queue.Queue[kerve.ModelEvent | Exception | None],
) -> list[kerve.ModelEvent]:
    """Return the events until the None that ends them, failing on an error."""
    events: list[kerve.ModelEvent] = []
    while (item := received.get(timeout=WAIT_SECONDS)) is not None:
        assert not isinstance(item, Exception), item
        events.append(item)
    return events


def test_watch_follows_training(
    server: ServerProcess, client: kerve.Client, name: str
) -> None:
    client.create_model(name, SPEC)
    with kerve.Client(server.address) as watcher:
        thread, received = collect_events(
            watcher, name, lambda event: event.model.state is kerve.State.TRAINED
        )
        first = received.get(timeout=WAIT_SECONDS)
        client.train(name, x=ROWS, y=TARGETS, epochs=3)
        events = drain(received)
        thread.join(WAIT_SECONDS)

    assert isinstance(first, kerve.ModelEvent)
    assert first.progress is None
    assert (first.model.state, first.model.version) == (kerve.State.UNTRAINED, 1)
    states = [(event.model.state, event.progress is not None) for event in events]
    assert states == [
        (kerve.State.TRAINING, False),
        (kerve.State.TRAINING, True),
        (kerve.State.TRAINING, True),
        (kerve.State.TRAINING, True),
        (kerve.State.TRAINED, False),
    ]
    progress = [event.progress for event in events if event.progress is not None]
    assert [(item.epoch, item.epochs) for item in progress] == [(1, 3), (2, 3), (3, 3)]
    assert events[-1].model.version == 2
    assert events[-1].model.untrained is False


def test_watch_ends_on_delete(client: kerve.Client, name: str) -> None:
    client.create_model(name, SPEC)
    thread, received = collect_events(client, name, lambda event: False)
    first = received.get(timeout=WAIT_SECONDS)

    client.delete_model(name)
    rest = drain(received)
    thread.join(WAIT_SECONDS)

    assert isinstance(first, kerve.ModelEvent)
    assert first.model.name == name
    assert rest == []
    assert not thread.is_alive()


def test_watch_sees_reset(client: kerve.Client, name: str) -> None:
    trained_model(client, name)
    thread, received = collect_events(
        client, name, lambda event: event.model.version == 3
    )
    first = received.get(timeout=WAIT_SECONDS)

    client.reset_model(name)
    events = drain(received)
    thread.join(WAIT_SECONDS)

    assert isinstance(first, kerve.ModelEvent)
    assert (first.model.state, first.model.version) == (kerve.State.TRAINED, 2)
    assert [(event.model.state, event.model.version) for event in events] == [
        (kerve.State.UNTRAINED, 3)
    ]


def test_watch_unknown_model(client: kerve.Client) -> None:
    events = client.watch_model("no-such-model")

    with pytest.raises(kerve.NotFoundError, match="'no-such-model' not found"):
        next(events)


# Training slots


def test_wait_for_slot(client: kerve.Client, name: str) -> None:
    # The module's server runs at most 2 training runs at once, its default.
    for suffix in ("first", "second", "waiting"):
        client.create_model(f"{name}-{suffix}", SPEC)
    waiting = f"{name}-waiting"
    results: queue.Queue[kerve.TrainingResult | Exception] = queue.Queue()

    def train_when_free() -> None:
        try:
            results.put(
                client.train(waiting, x=ROWS, y=TARGETS, epochs=2, wait_for_slot=True)
            )
        except kerve.KerveError as error:
            results.put(error)

    def waiting_run_registered() -> bool:
        # Until the server has the waiting run, this request is rejected for
        # lack of a slot. Once it has it, the model is already training.
        try:
            client.train(waiting, x=ROWS, y=TARGETS)
        except kerve.ResourceExhaustedError:
            return False
        except kerve.FailedPreconditionError:
            return True
        pytest.fail("a training run started although both slots were taken")

    with long_run(client, f"{name}-first"), long_run(client, f"{name}-second"):
        with pytest.raises(kerve.ResourceExhaustedError) as raised:
            client.train(waiting, x=ROWS, y=TARGETS)
        thread = threading.Thread(target=train_when_free, daemon=True)
        thread.start()
        wait_until(waiting_run_registered, "the waiting run to reach the server")
        assert state_of(client, waiting) is kerve.State.UNTRAINED
        client.cancel_training(f"{name}-first")
        result = results.get(timeout=WAIT_SECONDS)
        thread.join(WAIT_SECONDS)

    assert "wait_for_slot=true" in raised.value.message
    assert isinstance(result, kerve.TrainingResult), result
    assert result.model.state is kerve.State.TRAINED
    assert result.model.version == 2


def test_cancel_while_waiting_for_slot(client: kerve.Client, name: str) -> None:
    for suffix in ("first", "second", "waiting"):
        client.create_model(f"{name}-{suffix}", SPEC)
    waiting = f"{name}-waiting"
    failures: queue.Queue[Exception | None] = queue.Queue()

    def train_when_free() -> None:
        try:
            client.train(waiting, x=ROWS, y=TARGETS, wait_for_slot=True)
        except kerve.KerveError as error:
            failures.put(error)
        failures.put(None)

    def cancel_waiting_run() -> bool:
        try:
            client.cancel_training(waiting)
        except kerve.FailedPreconditionError:
            return False
        return True

    with long_run(client, f"{name}-first"), long_run(client, f"{name}-second"):
        thread = threading.Thread(target=train_when_free, daemon=True)
        thread.start()
        wait_until(cancel_waiting_run, "the waiting run to reach the server")
        failure = failures.get(timeout=WAIT_SECONDS)
        thread.join(WAIT_SECONDS)

    assert isinstance(failure, kerve.RequestCancelledError), failure
    model = client.get_model(waiting)
    assert model.state is kerve.State.UNTRAINED
    assert model.version == 1
