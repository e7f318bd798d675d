"""Run every benchmark side by side, print the figures, update BENCHMARKS.md.

Usage: ``python -m bench [--duration S] [--rounds N] [--only SECTION ...]``.
The whole run takes about 8 minutes on 2 cores. Servers write their logs to
a temporary folder, which is kept only if a scenario fails.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import report, scenarios

SECTIONS = ("ceiling", "crossover", "throughput", "training", "train_rpc", "memory")
ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    """Run the selected sections; print and record the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument(
        "--duration", type=float, default=5.0, help="measured seconds per point"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="alternating rounds that split each point's duration",
    )
    parser.add_argument(
        "--models", type=int, default=1000, help="models to create for memory"
    )
    parser.add_argument(
        "--only", nargs="+", choices=SECTIONS, help="run these sections only"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=ROOT / "BENCHMARKS.md",
        help="Markdown file whose generated part is replaced",
    )
    parser.add_argument(
        "--json", type=Path, help="also write every figure to this JSON file"
    )
    options = parser.parse_args(argv)
    sections = options.only or list(SECTIONS)
    work = Path(tempfile.mkdtemp(prefix="kerve-bench-"))
    runs: dict[str, Callable[[], dict[str, Any]]] = {
        "ceiling": lambda: scenarios.compute("ceiling"),
        "crossover": lambda: scenarios.compute(
            "crossover", "--tensorflow-threads", scenarios.SERVER_THREADS
        ),
        "throughput": lambda: scenarios.throughput(
            work, duration=options.duration, rounds=options.rounds
        ),
        "training": lambda: scenarios.during_training(work, duration=options.duration),
        "train_rpc": lambda: scenarios.train_rpc(work, repeats=3),
        "memory": lambda: scenarios.memory(work, models=options.models),
    }
    results: dict[str, Any] = {
        "machine": report.machine(),
        "command": "python -m bench " + shlex.join(argv or sys.argv[1:]),
        "options": {"duration": options.duration, "rounds": options.rounds},
        "load_before": report.load_average(),
    }
    started = time.perf_counter()
    for section in sections:
        print(f"bench: {section} ...", file=sys.stderr, flush=True)
        section_started = time.perf_counter()
        try:
            results[section] = runs[section]()
        except Exception:
            print(
                f"bench: {section} failed; server logs kept in {work}", file=sys.stderr
            )
            raise
        elapsed = time.perf_counter() - section_started
        print(f"bench: {section} done in {elapsed:.0f} s", file=sys.stderr)
    results["seconds"] = time.perf_counter() - started
    results["load_after"] = report.load_average()
    shutil.rmtree(work, ignore_errors=True)

    markdown = report.render(results)
    print(markdown)
    report.write(options.output, markdown)
    if options.json:
        options.json.write_text(json.dumps(results, indent=2))
    print(f"bench: wrote {options.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
