"""The display of ``kerve watch``: state lines and a live progress bar per run."""

from __future__ import annotations

from types import TracebackType
from typing import Self

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from kerve._cli_output import describe_event
from kerve._types import ModelEvent, State


class WatchDisplay:
    """Print a watched model's events for a person.

    On a terminal, state changes are lines and each training run is a live
    progress bar of its epochs and loss, replaced by one line when the run
    ends. Elsewhere, as in a pipe or a log file, every event is one line,
    flushed at once.
    """

    def __init__(self, console: Console) -> None:
        self._console = console
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._last_epoch = ""

    def __enter__(self) -> Self:
        if self._console.is_terminal:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("epochs, loss {task.fields[loss]}"),
                TimeElapsedColumn(),
                console=self._console,
            )
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._end_run()
        if self._progress is not None:
            self._progress.stop()

    def show(self, event: ModelEvent) -> None:
        """Print one event: a line, or an update of the run's progress bar."""
        line = describe_event(event)
        if self._progress is None:
            typer.echo(line)
            return
        if event.progress is None:
            if event.model.state is not State.TRAINING:
                self._end_run()
            self._progress.console.print(line, soft_wrap=True, highlight=False)
            return

        progress = event.progress
        loss = f"{progress.loss:.6g}"
        if self._task is None:
            self._task = self._progress.add_task(
                f"training {event.model.name}", total=progress.epochs, loss=loss
            )
        # Drawn at once, so that no epoch waits for the next periodic refresh.
        self._progress.update(
            self._task,
            completed=progress.epoch,
            total=progress.epochs,
            loss=loss,
            refresh=True,
        )
        self._last_epoch = line

    def _end_run(self) -> None:
        """Replace the bar of the run that ended by the line of its last epoch."""
        if self._progress is None or self._task is None:
            return
        self._progress.remove_task(self._task)
        self._task = None
        if self._last_epoch:
            self._progress.console.print(
                self._last_epoch, soft_wrap=True, highlight=False
            )
            self._last_epoch = ""
