"""Generate the Python code for protos/ into client/kerve/v1/.

Run from anywhere: ``python scripts/generate_protos.py``. With ``--check`` it
generates into a temporary folder and exits 1 if the committed files differ,
which is how CI catches stubs that drifted from the .proto files.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
OUTPUT_ROOT = ROOT / "client"
PACKAGE = Path("kerve") / "v1"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def generate(output_root: Path) -> list[Path]:
    """Run protoc on every .proto under protos/ and return the files written."""
    protos = sorted(PROTO_ROOT.rglob("*.proto"))
    if not protos:
        raise SystemExit(f"no .proto files found under {PROTO_ROOT}")
    well_known = Path(protoc.__file__).parent / "_proto"
    arguments = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={output_root}",
        f"--pyi_out={output_root}",
        f"--grpc_python_out={output_root}",
        *(str(proto) for proto in protos),
    ]
    if protoc.main(arguments) != 0:
        raise SystemExit("protoc failed; see its message above")
    return sorted(
        path
        for path in (output_root / PACKAGE).iterdir()
        if path.name.endswith(GENERATED_SUFFIXES)
    )


def check() -> int:
    """Return 0 if the committed generated files match a fresh generation."""
    with tempfile.TemporaryDirectory() as scratch:
        fresh = generate(Path(scratch))
        committed_dir = OUTPUT_ROOT / PACKAGE
        committed = sorted(
            path
            for path in committed_dir.iterdir()
            if path.name.endswith(GENERATED_SUFFIXES)
        )
        fresh_names = [path.name for path in fresh]
        committed_names = [path.name for path in committed]
        if fresh_names != committed_names:
            print(f"generated files differ: {committed_names} != {fresh_names}")
            return 1
        stale = [
            path.name
            for path in fresh
            if not filecmp.cmp(path, committed_dir / path.name, shallow=False)
        ]
    if stale:
        print(
            f"generated code is out of date: {', '.join(stale)}; "
            "run python scripts/generate_protos.py and commit the result"
        )
        return 1
    print("generated code matches protos/")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="compare with a fresh generation instead of writing",
    )
    if parser.parse_args().check:
        return check()
    with tempfile.TemporaryDirectory() as scratch:
        for path in generate(Path(scratch)):
            shutil.copyfile(path, OUTPUT_ROOT / PACKAGE / path.name)
            print(f"wrote {(OUTPUT_ROOT / PACKAGE / path.name).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
