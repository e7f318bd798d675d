"""The ``kerve`` command line: create, inspect, query, train and evaluate models.

Every command talks to the server named by ``--server`` or ``KERVE_SERVER``,
with the token and TLS settings of the global options. A failed request
prints ``error: <status>: <message>`` on standard error, sometimes with hints
on the next lines. With ``--json``, which every command accepts, the result
is JSON on standard output (one document, or one per line for ``train`` and
``watch``) and an error is one line of JSON on standard error::

    {"error": {"code": "NOT_FOUND", "message": "...", "exit_code": 3}}

``code`` is the gRPC status name, or null for a failure without one, such as
an unreadable file; ``field_violations`` and ``hints`` are added when there
are any. Usage errors (exit code 2) are reported by typer as text, with or
without ``--json``, because they happen before the command runs.

Exit codes:

===  ==========================================================================
0    success
1    an error without its own code: a file that cannot be read or written,
     INTERNAL, UNKNOWN or another status, or a bug
2    usage error: an invalid option or argument
3    NOT_FOUND: no model has the name, or the version is not kept
4    ALREADY_EXISTS
5    INVALID_ARGUMENT or OUT_OF_RANGE: invalid spec, shape, dtype or data
6    FAILED_PRECONDITION: a strict or ``--min-verdict`` predict rejected, a
     model already training, cancel without a training run
7    RESOURCE_EXHAUSTED: a limit reached: message size, batch rows, slots
8    UNAUTHENTICATED or PERMISSION_DENIED
9    UNAVAILABLE: no server responded at the address
10   DEADLINE_EXCEEDED: no response within ``--timeout``
11   ABORTED: the training run failed, for example with a NaN loss
12   CANCELLED: the training run was cancelled
13   DATA_LOSS: an exported archive does not match its header
14   the server closed a watch or training stream after it had started: it
     shut down or the connection was lost
15   ``kerve status``: the server responded but is not SERVING
130  Ctrl-C during ``kerve train``, which cancels the run
===  ==========================================================================

Ctrl-C ends ``kerve watch`` with code 0.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import grpc
import numpy as np
import numpy.typing as npt
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from kerve import _cli_output as output
from kerve import _cli_status
from kerve._cli_connection import (
    EXIT_CODE_EPILOG,
    ExitCode,
    MaxMessageBytesOption,
    TlsCaFileOption,
    TlsCertFileOption,
    TlsFlag,
    TlsKeyFileOption,
    TlsServerNameOption,
    TokenFileOption,
    TokenOption,
    check_certificate_pair,
    choose_token_source,
)
from kerve._cli_connection import Settings as _Settings
from kerve._cli_connection import connect as _connect
from kerve._cli_connection import fail as _fail
from kerve._cli_watch import WatchDisplay
from kerve._client import DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_TARGET, Client
from kerve._datasets import Classification, Regression, Subset
from kerve._errors import (
    InternalError,
    KerveError,
    RequestCancelledError,
    UnavailableError,
)
from kerve._input_files import InputFileError, read_array
from kerve._spec import Dense, ModelSpec, spec_from_dict
from kerve._trust import Verdict
from kerve._types import State, TrainingProgress, TrainingResult
from kerve.v1 import kerve_pb2

__all__ = ["InputFileError", "app", "main", "read_array"]

app = typer.Typer(
    name="kerve",
    help="Manage, query and train the models of a Kerve prediction server.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=EXIT_CODE_EPILOG,
    # Locals can contain input data, so tracebacks of bugs leave them out.
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _global_options(
    ctx: typer.Context,
    server: Annotated[
        str,
        typer.Option(
            "--server",
            envvar="KERVE_SERVER",
            metavar="HOST:PORT",
            help="Address of the Kerve server.",
        ),
    ] = DEFAULT_TARGET,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            envvar="KERVE_TIMEOUT",
            min=0.0,
            help=(
                "Deadline of each request in seconds. Training and watch are not "
                "bounded by it."
            ),
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log debug messages on stderr.")
    ] = False,
    max_message_bytes: MaxMessageBytesOption = DEFAULT_MAX_MESSAGE_BYTES,
    token: TokenOption = None,
    token_file: TokenFileOption = None,
    tls: TlsFlag = False,
    ca_file: TlsCaFileOption = None,
    cert_file: TlsCertFileOption = None,
    key_file: TlsKeyFileOption = None,
    server_name: TlsServerNameOption = None,
) -> None:
    """Manage, query and train the models of a Kerve prediction server."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    check_certificate_pair(cert_file, key_file)
    token, token_file = choose_token_source(ctx, token, token_file)
    ctx.obj = _Settings(
        server=server,
        timeout=timeout,
        stdout=Console(highlight=False),
        stderr=Console(stderr=True, highlight=False),
        token=token,
        token_file=token_file,
        tls=tls,
        ca_file=ca_file,
        cert_file=cert_file,
        key_file=key_file,
        server_name=server_name,
        max_message_bytes=max_message_bytes,
    )


def main() -> None:
    """Run the ``kerve`` command line."""
    app()


def _command_settings(ctx: typer.Context, json_output: bool) -> _Settings:
    """Return the global settings with the command's output format."""
    settings: _Settings = ctx.obj
    return dataclasses.replace(settings, json_output=json_output)


# Input files


def _read_data_file(
    source: str, option: str, *, json_output: bool = False
) -> npt.NDArray[np.generic]:
    try:
        return read_array(source)
    except InputFileError as error:
        _fail(f"{option}: {error}", json_output=json_output)


# Models


def _parse_input_shape(text: str) -> list[int]:
    try:
        shape = [int(part) for part in text.replace(" ", "").split(",")]
    except ValueError:
        raise typer.BadParameter(
            f"expected integers separated by commas, such as 5 or 28,28; got {text!r}",
            param_hint="'--input-shape'",
        ) from None
    return shape


def _parse_dense(text: str) -> Dense:
    """Parse ``UNITS[:ACTIVATION[:KERNEL_INITIALIZER[:BIAS_INITIALIZER]]]``."""
    parts = text.split(":")
    if len(parts) > 4:
        raise typer.BadParameter(
            f"expected at most 4 parts separated by ':', got {len(parts)} in {text!r}",
            param_hint="'--dense' / '--layer'",
        )
    try:
        units = int(parts[0])
    except ValueError:
        raise typer.BadParameter(
            f"expected the number of units first, such as 10:relu; got {text!r}",
            param_hint="'--dense' / '--layer'",
        ) from None

    # An empty part keeps the default, so 10::zeros sets only the kernel's.
    defaults = Dense(units)
    activation, kernel, bias = [*parts[1:], "", "", ""][:3]
    return Dense(
        units,
        activation=activation or defaults.activation,
        kernel_initializer=kernel or defaults.kernel_initializer,
        bias_initializer=bias or defaults.bias_initializer,
    )


def _read_spec_file(path: Path, *, json_output: bool) -> kerve_pb2.ModelSpec:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        _fail(f"cannot read {path}: {error.strerror or error}", json_output=json_output)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        _fail(f"cannot read {path}: invalid JSON: {error}", json_output=json_output)
    try:
        return spec_from_dict(document)
    except ValueError as error:
        _fail(f"{path}: {error}", json_output=json_output)


# Compile options shared by create and import.
OptimizerOption = Annotated[
    str | None,
    typer.Option(help="Optimizer name: adam, sgd or rmsprop. Default: adam."),
]
LearningRateOption = Annotated[
    float | None,
    typer.Option(help="Learning rate. Default: the optimizer's Keras default."),
]
LossOption = Annotated[
    str | None, typer.Option(help="Loss name, such as mse or mae. Default: mse.")
]
MetricOption = Annotated[
    list[str] | None,
    typer.Option(help="Add a metric, such as mae or accuracy. Repeatable."),
]

JsonFlag = Annotated[
    bool,
    typer.Option(
        "--json",
        help=("Print JSON on stdout instead of a table, and errors as JSON on stderr."),
    ),
]


@app.command()
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name of the new model.")],
    input_shape: Annotated[
        str | None,
        typer.Option(
            "--input-shape",
            metavar="DIMS",
            help="Shape of one input row without the batch axis, such as 5 or 28,28.",
        ),
    ] = None,
    dense: Annotated[
        list[str] | None,
        typer.Option(
            "--dense",
            "--layer",
            metavar="UNITS[:ACTIVATION[:KERNEL_INIT[:BIAS_INIT]]]",
            help=(
                "Add a Dense layer, such as 10:relu or 1:linear:zeros:ones. Repeat "
                "the option for each layer, first to last. An empty part keeps the "
                "default: linear activation, glorot_uniform kernel, zeros bias."
            ),
        ),
    ] = None,
    optimizer: OptimizerOption = None,
    learning_rate: LearningRateOption = None,
    loss: LossOption = None,
    metric: MetricOption = None,
    seed: Annotated[
        int | None,
        typer.Option(help="Seed of the initial weights. Default: a random seed."),
    ] = None,
    spec_file: Annotated[
        Path | None,
        typer.Option(
            help=(
                "Read the spec from a JSON file in the ModelSpec proto's JSON form "
                "instead of the options above."
            ),
        ),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Create an untrained model from options or from a spec file."""
    settings = _command_settings(ctx, json_output)
    spec_options = {
        "--input-shape": input_shape,
        "--dense": dense,
        "--optimizer": optimizer,
        "--learning-rate": learning_rate,
        "--loss": loss,
        "--metric": metric,
        "--seed": seed,
    }
    spec: ModelSpec | kerve_pb2.ModelSpec
    if spec_file is not None:
        conflicting = [
            flag for flag, value in spec_options.items() if value not in (None, [])
        ]
        if conflicting:
            raise typer.BadParameter(
                f"cannot be combined with {', '.join(conflicting)}",
                param_hint="'--spec-file'",
            )
        spec = _read_spec_file(spec_file, json_output=json_output)
    else:
        if input_shape is None:
            raise typer.BadParameter(
                "missing: give --input-shape and --dense, or --spec-file",
                param_hint="'--input-shape'",
            )
        if not dense:
            raise typer.BadParameter(
                "missing: give at least one layer, such as --dense 1",
                param_hint="'--dense' / '--layer'",
            )
        spec = ModelSpec(
            _parse_input_shape(input_shape),
            [_parse_dense(layer) for layer in dense],
            optimizer=optimizer or "adam",
            learning_rate=learning_rate,
            loss=loss or "mse",
            metrics=metric or (),
            seed=seed,
        )

    with _connect(settings) as client:
        model = client.create_model(name, spec)
    if json_output:
        output.echo_json(output.model_to_json(model))
    else:
        output.print_model(settings.stdout, model)


@app.command("list")
def list_models(ctx: typer.Context, json_output: JsonFlag = False) -> None:
    """List every model with its state, version and verdict."""
    settings = _command_settings(ctx, json_output)
    with _connect(settings) as client:
        models = client.list_models()
    if json_output:
        output.echo_json([output.model_to_json(model) for model in models])
    else:
        output.print_models(settings.stdout, models)


@app.command()
def get(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name of the model.")],
    json_output: JsonFlag = False,
) -> None:
    """Show one model: state, version, verdict, last training run and spec."""
    settings = _command_settings(ctx, json_output)
    with _connect(settings) as client:
        model = client.get_model(name)
    if json_output:
        output.echo_json(output.model_to_json(model))
    else:
        output.print_model(settings.stdout, model)


@app.command()
def delete(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name of the model.")],
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help='Print {"name": NAME, "deleted": true} on stdout, errors as JSON.',
        ),
    ] = False,
) -> None:
    """Delete a model."""
    settings = _command_settings(ctx, json_output)
    with _connect(settings) as client:
        client.delete_model(name)
    if json_output:
        output.echo_json({"name": name, "deleted": True})
        return
    settings.stdout.print(f"deleted model {name}")


@app.command()
def predict(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name of the model.")],
    input_file: Annotated[
        str,
        typer.Option(
            "--input",
            "-i",
            metavar="FILE",
            help=(
                "Input rows: a .npy, .csv or .json file (a JSON array of rows), or - "
                "for JSON on stdin. Shape (batch, *input_shape)."
            ),
        ),
    ],
    strict: Annotated[
        bool,
        typer.Option(
            help="Fail with FAILED_PRECONDITION instead of returning untrained output."
        ),
    ] = False,
    min_verdict: Annotated[
        str | None,
        typer.Option(
            "--min-verdict",
            metavar="VERDICT",
            help=(
                "Minimum verdict to accept: untrained, no_better_than_baseline, "
                "unvalidated or validated. Below it the server rejects the "
                "request with FAILED_PRECONDITION (exit code 6) and the numbers "
                "behind the verdict. Default: accept every verdict."
            ),
        ),
    ] = None,
    max_rows_per_request: Annotated[
        int | None,
        typer.Option(
            "--max-rows-per-request",
            min=1,
            help=(
                "Split the batch into requests of at most this many rows, such as "
                "the server's --max-batch-rows. Batches larger than "
                "--max-message-bytes are split in any case."
            ),
        ),
    ] = None,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help=(
                "Print JSON on stdout: outputs, untrained, meaningful, state, "
                "version, notice, verdict, validation, extrapolated_rows, "
                "non_finite_rows, training_ranges_known. Non-finite outputs become "
                "null. Warnings go to stderr, and errors as JSON."
            ),
        ),
    ] = False,
) -> None:
    """Run a model on a batch of input rows and show the outputs' verdict.

    A verdict below VALIDATED is printed in colour with its reason, the
    held-out numbers and the rows that are extrapolations or NaN or Inf.
    """
    settings = _command_settings(ctx, json_output)
    required = _parse_verdict(min_verdict)
    inputs = _read_data_file(input_file, "--input", json_output=json_output)
    with _connect(settings) as client:
        prediction = client.predict(
            name,
            inputs,
            strict=strict,
            min_verdict=required,
            warn=False,
            max_rows_per_request=max_rows_per_request,
        )

    if not json_output:
        output.print_prediction(settings.stdout, prediction)
        return
    # The warnings go to stderr, so that stdout contains only the JSON.
    if (
        output.prediction_banner(prediction) is not None
        or prediction.verdict < Verdict.VALIDATED
    ):
        output.print_warnings(settings.stderr, prediction)
    output.echo_json(output.prediction_to_json(prediction))


def _parse_verdict(text: str | None) -> Verdict | None:
    if text is None:
        return None
    try:
        return Verdict.parse(text)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="'--min-verdict'") from None


# Training and evaluation data

_DATA_PANEL = "Data"

XFile = Annotated[
    str | None,
    typer.Option(
        "--x",
        metavar="FILE",
        rich_help_panel=_DATA_PANEL,
        help="Inputs: a .npy, .csv or .json file, or - for JSON on stdin.",
    ),
]
YFile = Annotated[
    str | None,
    typer.Option(
        "--y",
        metavar="FILE",
        rich_help_panel=_DATA_PANEL,
        help="Targets, one row per input row, in the same formats as --x.",
    ),
]
RegressionFlag = Annotated[
    bool,
    typer.Option(
        "--regression",
        rich_help_panel=_DATA_PANEL,
        help="Use rows that the server generates with sklearn's make_regression.",
    ),
]
ClassificationFlag = Annotated[
    bool,
    typer.Option(
        "--classification",
        rich_help_panel=_DATA_PANEL,
        help="Use rows that the server generates with make_classification.",
    ),
]
SamplesOption = Annotated[
    int | None,
    typer.Option(
        "--samples", rich_help_panel=_DATA_PANEL, help="Rows of the generated dataset."
    ),
]
FeaturesOption = Annotated[
    int | None,
    typer.Option(
        "--features",
        rich_help_panel=_DATA_PANEL,
        help="Input features of the generated dataset.",
    ),
]
InformativeOption = Annotated[
    int | None,
    typer.Option(
        "--informative",
        rich_help_panel=_DATA_PANEL,
        help=(
            "Features that influence the targets. Default: scikit-learn's, which is "
            "min(10, features) for regression and 2 for classification."
        ),
    ),
]
NoiseOption = Annotated[
    float | None,
    typer.Option(
        "--noise",
        rich_help_panel=_DATA_PANEL,
        help="Standard deviation of the noise on regression targets. Default: 0.",
    ),
]
ClassesOption = Annotated[
    int | None,
    typer.Option(
        "--classes",
        rich_help_panel=_DATA_PANEL,
        help="Number of classes of a classification dataset. Default: 2.",
    ),
]
RedundantOption = Annotated[
    int | None,
    typer.Option(
        "--redundant",
        rich_help_panel=_DATA_PANEL,
        help=(
            "Features of a classification dataset that are linear combinations "
            "of the informative ones. Default: scikit-learn's, 2."
        ),
    ),
]
ClustersOption = Annotated[
    int | None,
    typer.Option(
        "--clusters-per-class",
        rich_help_panel=_DATA_PANEL,
        help=(
            "Clusters per class of a classification dataset. Default: "
            "scikit-learn's, 2. Classes times clusters must be at most "
            "2 ** informative."
        ),
    ),
]
FlipOption = Annotated[
    float | None,
    typer.Option(
        "--flip-y",
        rich_help_panel=_DATA_PANEL,
        help=(
            "Fraction of classification labels assigned at random. Default: "
            "scikit-learn's, 0.01."
        ),
    ),
]
ClassSepOption = Annotated[
    float | None,
    typer.Option(
        "--class-sep",
        rich_help_panel=_DATA_PANEL,
        help=(
            "Distance between the classes; larger is easier. Default: "
            "scikit-learn's, 1.0."
        ),
    ),
]
RandomStateOption = Annotated[
    int | None,
    typer.Option(
        "--random-state",
        rich_help_panel=_DATA_PANEL,
        help=(
            "Seed of the generated dataset and its train/test split. Give the same "
            "seed to train and evaluate on the same rows."
        ),
    ),
]
TestFractionOption = Annotated[
    float,
    typer.Option(
        "--test-fraction",
        rich_help_panel=_DATA_PANEL,
        help="Fraction of generated rows held out as the test subset, in [0, 1).",
    ),
]


@dataclass(frozen=True)
class _DataOptions:
    x: str | None
    y: str | None
    regression: bool
    classification: bool
    samples: int | None
    features: int | None
    informative: int | None
    noise: float | None
    classes: int | None
    random_state: int | None
    test_fraction: float
    json_output: bool = False
    redundant: int | None = None
    clusters_per_class: int | None = None
    flip_y: float | None = None
    class_sep: float | None = None

    def to_arguments(self) -> dict[str, Any]:
        """Return the ``x``, ``y`` and ``dataset`` arguments of a client call."""
        if self.regression and self.classification:
            raise typer.BadParameter(
                "cannot be combined with --classification", param_hint="'--regression'"
            )
        if self.regression or self.classification:
            return {"dataset": self._dataset()}

        if self.x is None or self.y is None:
            raise typer.BadParameter(
                "give --x FILE and --y FILE, or --regression or --classification",
                param_hint="'--x' / '--y'",
            )
        return {
            "x": _read_data_file(self.x, "--x", json_output=self.json_output),
            "y": _read_data_file(self.y, "--y", json_output=self.json_output),
        }

    def _dataset(self) -> Regression | Classification:
        kind = "--regression" if self.regression else "--classification"
        if self.x is not None or self.y is not None:
            raise typer.BadParameter(
                "cannot be combined with --x or --y", param_hint=f"'{kind}'"
            )
        if self.samples is None or self.features is None:
            raise typer.BadParameter(
                "needs --samples and --features", param_hint=f"'{kind}'"
            )
        if self.regression:
            classification_only = {
                "--classes": self.classes,
                "--redundant": self.redundant,
                "--clusters-per-class": self.clusters_per_class,
                "--flip-y": self.flip_y,
                "--class-sep": self.class_sep,
            }
            for option, value in classification_only.items():
                if value is not None:
                    raise typer.BadParameter(
                        "applies to --classification only", param_hint=f"'{option}'"
                    )
            return Regression(
                self.samples,
                self.features,
                n_informative=self.informative,
                noise=self.noise or 0.0,
                random_state=self.random_state,
                test_fraction=self.test_fraction,
            )
        if self.noise is not None:
            raise typer.BadParameter(
                "applies to --regression only", param_hint="'--noise'"
            )
        return Classification(
            self.samples,
            self.features,
            n_informative=self.informative,
            n_redundant=self.redundant,
            n_classes=self.classes,
            n_clusters_per_class=self.clusters_per_class,
            flip_y=self.flip_y,
            class_sep=self.class_sep,
            random_state=self.random_state,
            test_fraction=self.test_fraction,
        )


# Training


def _fail_stream_closed(
    settings: _Settings, stream: str, name: str, error: KerveError
) -> NoReturn:
    """Exit with STREAM_CLOSED after a stream that had started failed."""
    _fail(
        f"the server closed the {stream} stream of model {name} after it had "
        f"started, so the server shut down or the connection was lost ({error}). "
        "Check the server with: kerve status",
        code=ExitCode.STREAM_CLOSED,
        json_output=settings.json_output,
        status=error.code,
    )


def _run_training(
    settings: _Settings, client: Client, name: str, arguments: dict[str, Any]
) -> TrainingResult:
    """Train with a progress bar on stderr, or with one JSON line per epoch."""
    started = False
    progress = Progress(
        TextColumn("training {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("epochs, loss {task.fields[loss]}"),
        TimeElapsedColumn(),
        console=settings.stderr,
        disable=settings.json_output,
    )

    def show(event: TrainingProgress) -> None:
        nonlocal started
        started = True
        if settings.json_output:
            output.echo_json(output.progress_to_json(event))
            return
        progress.update(
            task, completed=event.epoch, total=event.epochs, loss=f"{event.loss:.6g}"
        )

    try:
        with progress:
            task = progress.add_task(name, total=arguments.get("epochs"), loss="-")
            return client.train(name, **arguments, on_progress=show)
    except UnavailableError as error:
        if not started:
            raise
        _fail_stream_closed(settings, "training", name, error)


def _start_detached(
    settings: _Settings,
    client: Client,
    name: str,
    arguments: dict[str, Any],
) -> None:
    """Follow a run that keeps going on disconnect until its first event arrives.

    The first event shows that the server accepted the request and started
    the run, so errors in the request are still reported.
    """
    stream = client.train_stream(name, **arguments)
    try:
        with contextlib.closing(stream):
            event = next(stream)
    except KeyboardInterrupt:
        typer.echo(
            "stopped waiting for the first epoch. If the server accepted the "
            f"request, the training run of model {name} goes on. Check it with: "
            f"kerve get {name}",
            err=True,
        )
        return
    except StopIteration:
        raise InternalError(
            f"the Train stream of model {name!r} ended without an event",
            code=grpc.StatusCode.INTERNAL,
        ) from None

    if isinstance(event, TrainingResult):
        if settings.json_output:
            output.echo_json(output.result_to_json(event))
        else:
            output.print_result(settings.stdout, event)
        return
    if settings.json_output:
        output.echo_json(output.progress_to_json(event))
        output.echo_json({"event": "detached", "name": name})
        return
    settings.stdout.print(
        f"model {name} is training on the server: epoch {event.epoch}/"
        f"{event.epochs}, loss {event.loss:.6g}. Follow it with: kerve watch {name}",
        soft_wrap=True,
    )


ValidationXFile = Annotated[
    str | None,
    typer.Option(
        "--validation-x",
        metavar="FILE",
        rich_help_panel=_DATA_PANEL,
        help=(
            "Inputs that score the trained weights and give the verdict, instead "
            "of rows held out of the training data. Needs --validation-y; not "
            "with --validation-split. Same formats as --x."
        ),
    ),
]
ValidationYFile = Annotated[
    str | None,
    typer.Option(
        "--validation-y",
        metavar="FILE",
        rich_help_panel=_DATA_PANEL,
        help="Targets of --validation-x, one row per input row.",
    ),
]


def _validation_arguments(
    split: float | None,
    x: str | None,
    y: str | None,
    *,
    json_output: bool,
) -> dict[str, Any]:
    """Return the ``validation_*`` arguments of ``Client.train``."""
    if x is None and y is None:
        return {"validation_split": split}
    if x is None or y is None:
        present, absent = (
            ("--validation-x", "--validation-y")
            if y is None
            else ("--validation-y", "--validation-x")
        )
        raise typer.BadParameter(f"needs {absent} as well", param_hint=f"'{present}'")
    if split is not None:
        raise typer.BadParameter(
            "cannot be combined with --validation-x and --validation-y, which "
            "replace the held-out rows",
            param_hint="'--validation-split'",
        )
    return {
        "validation_x": _read_data_file(x, "--validation-x", json_output=json_output),
        "validation_y": _read_data_file(y, "--validation-y", json_output=json_output),
    }


@app.command()
def train(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name of the model.")],
    x: XFile = None,
    y: YFile = None,
    regression: RegressionFlag = False,
    classification: ClassificationFlag = False,
    samples: SamplesOption = None,
    features: FeaturesOption = None,
    informative: InformativeOption = None,
    noise: NoiseOption = None,
    classes: ClassesOption = None,
    redundant: RedundantOption = None,
    clusters_per_class: ClustersOption = None,
    flip_y: FlipOption = None,
    class_sep: ClassSepOption = None,
    random_state: RandomStateOption = None,
    test_fraction: TestFractionOption = 0.0,
    validation_x: ValidationXFile = None,
    validation_y: ValidationYFile = None,
    epochs: Annotated[
        int | None, typer.Option(help="Number of epochs. Default: 1.")
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option(help="Rows per gradient step. Default: 32.")
    ] = None,
    validation_split: Annotated[
        float | None,
        typer.Option(
            help=(
                "Fraction of training rows held out at random to score the "
                "trained weights against a constant baseline, which gives the "
                "verdict, in [0, 1). Default: the server's --validation-fraction. "
                "0 holds out none, and the new version is UNVALIDATED."
            )
        ),
    ] = None,
    optimizer: Annotated[
        str | None,
        typer.Option(help="Optimizer for this run instead of the spec's."),
    ] = None,
    learning_rate: Annotated[
        float | None,
        typer.Option(help="Learning rate for this run instead of the spec's."),
    ] = None,
    detach: Annotated[
        bool,
        typer.Option(
            "--detach",
            help=(
                "Return after the first epoch and leave the run going on the "
                "server, which publishes the trained version when it ends. Follow "
                "it with kerve watch NAME. Without --detach, ending this command "
                "(Ctrl-C) cancels the run."
            ),
        ),
    ] = False,
    wait_for_slot: Annotated[
        bool,
        typer.Option(
            "--wait-for-slot",
            help=(
                "When the server already runs its maximum number of training runs, "
                "wait for one to end instead of failing with RESOURCE_EXHAUSTED."
            ),
        ),
    ] = False,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help=(
                "Print one JSON object per epoch, then one with the result, its "
                'verdict and reason, or with "event": "detached" after the first '
                "epoch with --detach. Errors go to stderr as JSON."
            ),
        ),
    ] = False,
) -> None:
    """Train a model, publish the trained weights as a new version, show its verdict.

    The server scores the trained weights on held-out rows against a constant
    baseline, and the new version's verdict and reason are printed at the end.
    """
    settings = _command_settings(ctx, json_output)
    data = _DataOptions(
        x=x,
        y=y,
        regression=regression,
        classification=classification,
        samples=samples,
        features=features,
        informative=informative,
        noise=noise,
        classes=classes,
        random_state=random_state,
        test_fraction=test_fraction,
        json_output=json_output,
        redundant=redundant,
        clusters_per_class=clusters_per_class,
        flip_y=flip_y,
        class_sep=class_sep,
    )
    validation = _validation_arguments(
        validation_split, validation_x, validation_y, json_output=json_output
    )
    arguments = {
        **data.to_arguments(),
        **validation,
        "epochs": epochs,
        "batch_size": batch_size,
        "optimizer": optimizer,
        "learning_rate": learning_rate,
        "keep_running_on_disconnect": detach,
        "wait_for_slot": wait_for_slot,
    }

    with _connect(settings) as client:
        if detach:
            _start_detached(settings, client, name, arguments)
            return
        try:
            result = _run_training(settings, client, name, arguments)
        except KeyboardInterrupt:
            # Closing the stream cancelled the call, and with it the run.
            _fail(
                f"interrupted: the training run of model {name} is cancelled, and "
                "the model keeps its previous state and version",
                code=ExitCode.INTERRUPTED,
                json_output=json_output,
            )

    if json_output:
        output.echo_json(output.result_to_json(result))
        return
    output.print_result(settings.stdout, result)


# Evaluation


class SubsetChoice(enum.StrEnum):
    """Values of ``kerve evaluate --subset``."""

    default = "default"
    train = "train"
    test = "test"
    all = "all"


_SUBSETS = {
    SubsetChoice.default: Subset.DEFAULT,
    SubsetChoice.train: Subset.TRAIN,
    SubsetChoice.test: Subset.TEST,
    SubsetChoice.all: Subset.ALL,
}


@app.command()
def evaluate(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name of the model.")],
    x: XFile = None,
    y: YFile = None,
    regression: RegressionFlag = False,
    classification: ClassificationFlag = False,
    samples: SamplesOption = None,
    features: FeaturesOption = None,
    informative: InformativeOption = None,
    noise: NoiseOption = None,
    classes: ClassesOption = None,
    redundant: RedundantOption = None,
    clusters_per_class: ClustersOption = None,
    flip_y: FlipOption = None,
    class_sep: ClassSepOption = None,
    random_state: RandomStateOption = None,
    test_fraction: TestFractionOption = 0.0,
    subset: Annotated[
        SubsetChoice,
        typer.Option(
            rich_help_panel=_DATA_PANEL,
            help=(
                "Rows of a generated dataset to score. Default: the test rows when "
                "--test-fraction is set, otherwise all rows."
            ),
        ),
    ] = SubsetChoice.default,
    json_output: JsonFlag = False,
) -> None:
    """Score the current weights, the initial weights and a constant baseline.

    The baseline's kind is training_mean for a regression loss and
    majority_class (the smoothed class frequencies) for a classification loss.
    """
    settings = _command_settings(ctx, json_output)
    data = _DataOptions(
        x=x,
        y=y,
        regression=regression,
        classification=classification,
        samples=samples,
        features=features,
        informative=informative,
        noise=noise,
        classes=classes,
        random_state=random_state,
        test_fraction=test_fraction,
        json_output=json_output,
        redundant=redundant,
        clusters_per_class=clusters_per_class,
        flip_y=flip_y,
        class_sep=class_sep,
    )
    arguments = data.to_arguments()

    with _connect(settings) as client:
        report = client.evaluate(name, **arguments, subset=_SUBSETS[subset])
    if json_output:
        output.echo_json(output.report_to_json(report))
    else:
        output.print_report(settings.stdout, report)


# Lifecycle


@app.command()
def reset(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name of the model.")],
    seed: Annotated[
        int | None,
        typer.Option(
            help=(
                "Seed of the new initial weights. Default: the spec's seed, or a "
                "random one if the spec has none."
            )
        ),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Re-initialize a model's weights as a new, untrained version."""
    settings = _command_settings(ctx, json_output)
    with _connect(settings) as client:
        model = client.reset_model(name, seed=seed)
    if json_output:
        output.echo_json(output.model_to_json(model))
        return
    settings.stdout.print(
        f"reset model {model.name}: version {model.version} has initial weights, "
        f"state {model.state.name}",
        soft_wrap=True,
    )


@app.command()
def cancel(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name of the model.")],
    json_output: JsonFlag = False,
) -> None:
    """Cancel a model's training run and keep its previous version."""
    settings = _command_settings(ctx, json_output)
    with _connect(settings) as client:
        model = client.cancel_training(name)
    if json_output:
        output.echo_json(output.model_to_json(model))
        return
    settings.stdout.print(
        f"cancelling the training run of model {model.name}: it stops after the "
        "batch that is running, and the model returns to its previous state and "
        f"version {model.version}",
        soft_wrap=True,
    )


@app.command()
def watch(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name of the model.")],
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help=(
                'Print one JSON object per event: "event": "state" with the model, '
                'or "event": "progress" with the epoch, loss and metrics. Errors '
                "go to stderr as JSON."
            ),
        ),
    ] = False,
) -> None:
    """Print a model's state changes and training epochs as they happen.

    The first line is the model as it is now. On a terminal, each training
    run shows as a progress bar of its epochs and loss. The command ends when
    the model is deleted, or on Ctrl-C, with exit code 0, and with exit code
    14 when the server shuts down or the connection is lost. It is not
    bounded by --timeout.
    """
    settings = _command_settings(ctx, json_output)
    started = False
    with _connect(settings) as client:
        events = client.watch_model(name)
        try:
            with contextlib.closing(events), WatchDisplay(settings.stdout) as display:
                for event in events:
                    started = True
                    if json_output:
                        output.echo_json(output.event_to_json(event))
                    else:
                        display.show(event)
        except KeyboardInterrupt:
            return
        except (UnavailableError, RequestCancelledError) as error:
            # Before the first event, UNAVAILABLE means that no server
            # responded. After it, the server ended the stream, which it
            # does only when it shuts down.
            if not started:
                raise
            _fail_stream_closed(settings, "watch", name, error)
    if json_output:
        output.echo_json({"event": "deleted", "name": name})
    else:
        typer.echo(f"{name}: deleted")


# Status

STATUS_TIMEOUT_SECONDS = 10.0
"""Deadline of the requests of ``kerve status`` without ``--timeout``."""


@app.command()
def status(
    ctx: typer.Context,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help=(
                "Print JSON on stdout: address, serving, health, client_version, "
                "server (versions and limits; null unless serving) and models "
                "with counts by state and by verdict. Errors go to stderr as JSON."
            ),
        ),
    ] = False,
) -> None:
    """Show the server's health, its versions and limits, and models by state.

    Exit code 0 when the server and its kerve.v1.Models service are SERVING,
    15 when the server responds but is not SERVING (the report is printed
    all the same), and 9 when no server responds. Without --timeout the
    requests have a deadline of 10 seconds.
    """
    settings = _command_settings(ctx, json_output)
    if settings.timeout is None:
        # A probe must end even when packets to the address are dropped.
        settings = dataclasses.replace(settings, timeout=STATUS_TIMEOUT_SECONDS)
    with _connect(settings) as client:
        report = _cli_status.fetch_status(client, settings.server)
    if json_output:
        output.echo_json(_cli_status.status_to_json(report))
    else:
        _cli_status.print_status(settings.stdout, report)
    if not report.serving:
        raise typer.Exit(ExitCode.NOT_SERVING)


# Archives


@app.command("import")
def import_archive(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name of the new model.")],
    archive: Annotated[
        Path,
        typer.Argument(
            metavar="FILE.keras",
            help=(
                "A .keras archive of a Sequential model of Dense layers, as "
                "keras.Model.save writes it."
            ),
        ),
    ],
    trained: Annotated[
        bool,
        typer.Option(
            "--trained",
            help=(
                "Declare the archive's weights trained, so predictions are not "
                "flagged. Default: untrained, and they become the initial weights."
            ),
        ),
    ] = False,
    seed: Annotated[
        int | None,
        typer.Option(
            help=(
                "Seed of the initial weights that evaluate and reset use. Default: "
                "a random seed."
            )
        ),
    ] = None,
    optimizer: OptimizerOption = None,
    learning_rate: LearningRateOption = None,
    loss: LossOption = None,
    metric: MetricOption = None,
    json_output: JsonFlag = False,
) -> None:
    """Create a model from a .keras archive.

    Without --optimizer, --learning-rate, --loss or --metric, the server
    chooses the compile settings.
    """
    settings = _command_settings(ctx, json_output)
    compile_settings: dict[str, Any] | None = None
    if optimizer or learning_rate is not None or loss or metric:
        compile_settings = {
            "optimizer": {"name": optimizer or "adam"},
            "loss": loss or "mse",
            "metrics": metric or [],
        }
        if learning_rate is not None:
            compile_settings["optimizer"]["learning_rate"] = learning_rate

    with _connect(settings) as client:
        try:
            model = client.import_model(
                name,
                archive,
                state=State.TRAINED if trained else State.UNTRAINED,
                compile=compile_settings,
                seed=seed,
            )
        except OSError as error:
            _fail(
                f"cannot read {archive}: {error.strerror or error}",
                json_output=json_output,
            )
    if json_output:
        output.echo_json(output.model_to_json(model))
    else:
        output.print_model(settings.stdout, model)


@app.command()
def export(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name of the model.")],
    destination: Annotated[
        Path,
        typer.Argument(
            metavar="FILE.keras", help="File to write, replacing any file there."
        ),
    ],
    version: Annotated[
        int | None,
        typer.Option(help="Version to export. Default: the current version."),
    ] = None,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help=(
                "Print JSON on stdout: name, version, untrained, path, size_bytes, "
                "sha256. Warnings go to stderr, and errors as JSON."
            ),
        ),
    ] = False,
) -> None:
    """Save a version of a model as a .keras archive."""
    settings = _command_settings(ctx, json_output)
    with _connect(settings) as client:
        try:
            exported = client.export_model(name, destination, version=version)
        except OSError as error:
            _fail(
                f"cannot write {destination}: {error.strerror or error}",
                json_output=json_output,
            )

    if exported.untrained:
        console = settings.stderr if json_output else settings.stdout
        console.print(
            Text(output.UNTRAINED_ARCHIVE_BANNER, style="bold red"), soft_wrap=True
        )
    if json_output:
        output.echo_json(output.archive_to_json(exported))
        return
    settings.stdout.print(
        f"exported model {name} version {exported.version} to {exported.path}: "
        f"{exported.size_bytes:,} bytes, SHA-256 {exported.sha256}",
        soft_wrap=True,
    )
