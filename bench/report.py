"""Tables of the benchmark figures, for the terminal and for BENCHMARKS.md."""

from __future__ import annotations

import math
import os
import platform
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

BEGIN = "<!-- bench:begin (written by python -m bench; edits here are lost) -->"
END = "<!-- bench:end -->"


@dataclass(frozen=True)
class Target:
    """One goal: a measured ratio against the bound it must meet."""

    name: str
    value: float
    bound: float
    at_least: bool

    @property
    def met(self) -> bool:
        if math.isnan(self.value):
            return False
        return self.value >= self.bound if self.at_least else self.value <= self.bound

    def row(self) -> list[str]:
        sign = ">=" if self.at_least else "<="
        return [
            self.name,
            f"{self.value:.2f}",
            f"{sign} {self.bound:g}",
            "met" if self.met else "**missed**",
        ]


def machine() -> dict[str, str]:
    """Return the facts about this machine and its software versions."""
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cores (nproc)": str(os.cpu_count()),
        "CPU": cpu,
        "RAM": f"{memory_kb / 1024 / 1024:.1f} GiB",
        "Python": platform.python_version(),
        "TensorFlow": _version("tensorflow-cpu", "tensorflow"),
        "Keras": _version("keras"),
        "grpcio": _version("grpcio"),
        "numpy": _version("numpy"),
        "OpenBLAS": _openblas(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(not set)"),
    }


def load_average() -> str:
    """Return the 1, 5 and 15 minute load averages of the machine."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _version(*names: str) -> str:
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "not installed"


def _openblas() -> str:
    import numpy  # noqa: F401  (loads OpenBLAS, so that threadpoolctl sees it)
    from threadpoolctl import threadpool_info  # type: ignore[import-untyped]

    for pool in threadpool_info():
        if pool.get("internal_api") == "openblas":
            return f"{pool['version']}, kernel {pool['architecture']}"
    return "not found"


def table(header: list[str], rows: Iterable[list[str]]) -> str:
    """Return a GitHub Markdown table."""
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join(" --- " for _ in header) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def throughput_rows(points: list[dict[str, Any]]) -> list[list[str]]:
    """Return one table row per throughput point, grouped by server."""
    order = ["echo", "kerve-floor", "kerve", "naive", "echo-medium", "kerve-medium"]
    ordered = sorted(points, key=lambda p: (order.index(p["label"]), p["concurrency"]))
    return [
        [
            p["label"],
            str(p["concurrency"]),
            f"{p['requests_per_second']:,.0f}",
            f"{p['rows_per_second']:,.0f}",
            f"{p['p50_ms']:.2f}",
            f"{p['p99_ms']:.2f}",
            f"{p['server_cpu_us_per_request']:,.0f}",
            f"{p['requests']:,}" + (f" ({p['errors']} errors)" if p["errors"] else ""),
        ]
        for p in ordered
    ]


def find(points: list[dict[str, Any]], label: str, concurrency: int) -> dict[str, Any]:
    for point in points:
        if point["label"] == label and point["concurrency"] == concurrency:
            return point
    raise KeyError(f"no point {label} at {concurrency} in flight")


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("nan")


def targets(results: dict[str, Any]) -> list[Target]:
    """Return every goal with its measured ratio."""
    goals: list[Target] = []
    if "throughput" in results:
        points = results["throughput"]["points"]

        def rps(label: str, concurrency: int) -> float:
            value: float = find(points, label, concurrency)["requests_per_second"]
            return value

        goals += [
            Target(
                "seed model / echo, 64 in flight",
                ratio(rps("kerve", 64), rps("echo", 64)),
                0.85,
                True,
            ),
            Target(
                "seed model / echo, 1 in flight",
                ratio(rps("kerve", 1), rps("echo", 1)),
                0.6,
                True,
            ),
            Target(
                "seed model / naive server, 64 in flight",
                ratio(rps("kerve", 64), rps("naive", 64)),
                100,
                True,
            ),
        ]
        if "ceiling" in results:
            best = results["ceiling"]["best"]["rows_per_second"]
            medium = find(points, "kerve-medium", 64)["rows_per_second"]
            goals.append(
                Target(
                    "medium model / in-process ceiling (rows/s)",
                    medium / best,
                    0.7,
                    True,
                )
            )
    if "training" in results:
        points = results["training"]["points"]
        for kind in ("medium", "seed-size"):
            for concurrency in (1, 8, 64):
                idle = find(points, "idle", concurrency)["p99_ms"]
                busy = find(points, f"training {kind}", concurrency)["p99_ms"]
                goals.append(
                    Target(
                        f"p99 while the {kind} model trains / idle p99, "
                        f"{concurrency} in flight",
                        ratio(busy, idle),
                        3,
                        False,
                    )
                )
    if "train_rpc" in results:
        train = results["train_rpc"]
        goals.append(
            Target(
                "Train RPC, no rows held out / in-process fit (time)",
                ratio(
                    train["kerve_median_seconds"],
                    train["in_process_best_median_seconds"],
                ),
                1.1,
                False,
            )
        )
    if "memory" in results:
        growth = results["memory"]["rss_after_20000_mb"]
        growth -= results["memory"]["rss_after_2000_mb"]
        goals.append(
            Target("RSS growth, 2,000 to 20,000 calls (MiB)", growth, 50, False)
        )
    return goals


def render(results: dict[str, Any]) -> str:
    """Return the Markdown of every figure in ``results``."""
    sections = [
        "## Run",
        "",
        table(["fact", "value"], [[k, v] for k, v in results["machine"].items()])
        + "\n",
        f"Command: `{results['command']}`. Load average (1, 5, 15 min) "
        f"{results['load_before']} before and {results['load_after']} after; "
        f"the run took {results['seconds']:.0f} s.",
        "",
        "## Targets",
        "",
        table(["target", "measured", "goal", ""], [t.row() for t in targets(results)]),
        "",
    ]
    if "throughput" in results:
        sections += [
            "## Predict throughput (rows 1 to 4)",
            "",
            "Every point: the load generator keeps N calls in flight; "
            f"{results['options']['duration']:g} s measured per point in "
            f"{results['options']['rounds']} alternating rounds, each after "
            "0.5 s of warm-up. Server CPU is user plus system time of the "
            "server process (every thread) per request.",
            "",
            table(
                [
                    "server",
                    "in flight",
                    "requests/s",
                    "rows/s",
                    "p50 ms",
                    "p99 ms",
                    "server CPU µs/req",
                    "requests",
                ],
                throughput_rows(results["throughput"]["points"]),
            ),
            "",
            _ratio_table(results),
            "",
        ]
    if "ceiling" in results:
        sections += [_ceiling_section(results["ceiling"]), ""]
    if "training" in results:
        sections += [_training_section(results["training"]), ""]
    if "train_rpc" in results:
        sections += [_train_section(results["train_rpc"]), ""]
    if "memory" in results:
        sections += [_memory_section(results["memory"]), ""]
    if "crossover" in results:
        sections += [_crossover_section(results["crossover"]), ""]
    return "\n".join(sections).rstrip() + "\n"


def _ratio_table(results: dict[str, Any]) -> str:
    points = results["throughput"]["points"]
    rows = []
    for concurrency in (1, 8, 64):
        echo = find(points, "echo", concurrency)["requests_per_second"]
        kerve = find(points, "kerve", concurrency)["requests_per_second"]
        naive = find(points, "naive", concurrency)["requests_per_second"]
        echo_medium = find(points, "echo-medium", concurrency)["requests_per_second"]
        medium = find(points, "kerve-medium", concurrency)["requests_per_second"]
        rows.append(
            [
                str(concurrency),
                f"{ratio(kerve, echo):.2f}",
                f"{ratio(kerve, naive):,.0f}",
                f"{ratio(medium, echo_medium):.2f}",
            ]
        )
    return table(
        [
            "in flight",
            "Kerve seed / echo",
            "Kerve seed / naive",
            "Kerve medium / echo (same payload)",
        ],
        rows,
    )


def _ceiling_section(ceiling: dict[str, Any]) -> str:
    best = ceiling["best"]
    rows = [
        [f["method"], str(f["rows"]), f"{f['rows_per_second']:,.0f}"]
        for f in ceiling["figures"]
    ]
    return "\n".join(
        [
            "## Medium model compute ceiling (row 4)",
            "",
            "The medium model, Input(64) -> Dense(256, relu) -> Dense(256, relu) "
            "-> Dense(1), called in one process with no server, TensorFlow's "
            "default thread pools. The best is the ceiling: "
            f"{best['rows_per_second']:,.0f} rows/s ({best['method']}, "
            f"{best['rows']} rows per call).",
            "",
            table(["method", "rows per call", "rows/s"], rows),
        ]
    )


def _training_section(training: dict[str, Any]) -> str:
    rows = [
        [
            p["label"],
            str(p["concurrency"]),
            f"{p['requests_per_second']:,.0f}",
            f"{p['p50_ms']:.2f}",
            f"{p['p99_ms']:.2f}",
            str(p.get("epochs_during", "")),
        ]
        for p in training["points"]
    ]
    return "\n".join(
        [
            "## Predict while another model trains (row 5)",
            "",
            "Predict on the seed model, first idle, then while another model "
            "in the same server trains on make_regression (4,000 rows, batch "
            "32): the medium model (64 features), whose steps are mostly "
            "TensorFlow arithmetic, or a seed-size model (5 features), whose "
            "steps are mostly Keras's Python code. Each point measured once.",
            "",
            table(
                [
                    "seed model",
                    "in flight",
                    "requests/s",
                    "p50 ms",
                    "p99 ms",
                    "epochs run",
                ],
                rows,
            ),
        ]
    )


def _train_section(train: dict[str, Any]) -> str:
    def runs(label: str, seconds: list[float], median: float) -> list[str]:
        return [label, ", ".join(f"{s:.2f}" for s in seconds), f"{median:.2f}"]

    default = train["in_process_default_threads"]
    bounded = train["in_process_server_threads"]
    held_out_cost = ratio(
        train["kerve_held_out_median_seconds"], train["kerve_median_seconds"]
    )
    return "\n".join(
        [
            "## Train RPC against in-process fit (row 6)",
            "",
            f"The seed model, {train['samples']} rows x {train['epochs']} "
            "epochs, batch 32, Adam, MSE, three runs each. Kerve: wall time of "
            "the Train call at the client, which includes building the model, "
            "fitting and publishing the new version. Its runs alternate "
            "between `validation_split=0`, which fits the same rows as the "
            "in-process fit, and the server's default of 20% held out, which "
            "fits 80 rows, scores the 20 others after every epoch and gives "
            "the verdict. In-process: build, compile and `model.fit` in a "
            "process of its own, with TensorFlow's default thread pools and "
            "with the pools Kerve sets. The target compares Kerve's median "
            "without held-out rows with the faster in-process median. "
            f"Holding out rows by default makes a run take {held_out_cost:.2f} "
            "times as long as a run without them.",
            "",
            table(
                ["", "runs (s)", "median (s)"],
                [
                    runs(
                        "Kerve Train RPC, no rows held out",
                        train["kerve_seconds"],
                        train["kerve_median_seconds"],
                    ),
                    [
                        "of which model.fit in the server (its log)",
                        ", ".join(f"{s:.1f}" for s in train["kerve_fit_seconds"]),
                        "",
                    ],
                    runs(
                        "Kerve Train RPC, 20% held out (default)",
                        train["kerve_held_out_seconds"],
                        train["kerve_held_out_median_seconds"],
                    ),
                    [
                        "of which model.fit in the server (its log)",
                        ", ".join(
                            f"{s:.1f}" for s in train["kerve_held_out_fit_seconds"]
                        ),
                        "",
                    ],
                    runs(
                        "in-process fit, default threads",
                        default["seconds"],
                        default["median_seconds"],
                    ),
                    runs(
                        "in-process fit, Kerve's threads",
                        bounded["seconds"],
                        bounded["median_seconds"],
                    ),
                ],
            ),
        ]
    )


def _memory_section(memory: dict[str, Any]) -> str:
    rows = [
        ["after start, seed model created", f"{memory['rss_start_mb']:.0f}"],
        ["after 2,000 Predict calls", f"{memory['rss_after_2000_mb']:.0f}"],
        ["after 20,000 Predict calls", f"{memory['rss_after_20000_mb']:.0f}"],
        ["new server, no model", f"{memory['rss_empty_mb']:.0f}"],
        [
            f"after creating {memory['models']:,} models",
            f"{memory['rss_models_mb']:.0f}",
        ],
        [
            f"restarted, {memory['models_loaded']:,} models loaded from the store",
            f"{memory['rss_loaded_mb']:.0f}",
        ],
    ]
    per_model = (memory["rss_models_mb"] - memory["rss_empty_mb"]) / memory["models"]
    return "\n".join(
        [
            "## Memory (row 7)",
            "",
            table(["server", "RSS (MiB)"], rows),
            "",
            f"Creating {memory['models']:,} seed-size models (4 CreateModel calls in "
            f"flight) took {memory['create_seconds']:.1f} s "
            f"({1000 * memory['create_seconds'] / memory['models']:.0f} ms each) "
            f"and {per_model:.2f} MiB each; the restarted server loaded them and "
            f"listened after {memory['load_seconds']:.1f} s.",
        ]
    )


def _crossover_section(crossover: dict[str, Any]) -> str:
    rows = [
        [
            f["model"],
            str(f["rows"]),
            f"{f['macs']:,}",
            f"{f['numpy_us']:,.1f}",
            f"{f['tensorflow_us']:,.1f}",
            f"{f['numpy_us'] / f['tensorflow_us']:.2f}",
        ]
        for f in crossover["figures"]
    ]
    return "\n".join(
        [
            "## numpy against TensorFlow per batch (engine limits)",
            "",
            "One process, numpy's BLAS on 1 thread, TensorFlow pools of "
            f"{crossover['tensorflow_intra_op_threads']} thread(s) as Kerve "
            "sets them on this machine. A run_in_executor round trip to an idle "
            f"pool thread costs {crossover['pool_round_trip_us']:.0f} µs.",
            "",
            table(
                ["model", "rows", "multiply-adds", "numpy µs", "TF µs", "numpy / TF"],
                rows,
            ),
        ]
    )


def write(path: Path, markdown: str) -> None:
    """Replace the generated part of ``path``, keeping what surrounds it."""
    text = path.read_text() if path.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        text = text.rstrip() + f"\n\n{BEGIN}\n{END}\n"
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.DOTALL)
    replacement = f"{BEGIN}\n\n{markdown}\n{END}"
    path.write_text(pattern.sub(lambda _: replacement, text, count=1))
