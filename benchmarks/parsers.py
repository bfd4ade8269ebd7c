"""Structure parsers side by side: read the largest shared structures with each, one run.

Compares the workbench reader (gemmi underneath, plus number checks and the
conversion to our arrays) with gemmi's bare parse, Biopython's PDBParser /
MMCIFParser, and biotite's readers when installed. Prints median wall time of
several repeats and the ratio peer / workbench (above 1: the workbench is faster).

    python benchmarks/parsers.py [--repeats 7] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import gemmi
from Bio.PDB import MMCIFParser, PDBParser

import workbench

FILES = ("structures/7pbl.pdb", "structures/3o21.pdb", "structures/1l2y.cif")


def median_seconds(function: Callable[[], object], repeats: int) -> float:
    function()  # warm caches (file system, lazy imports)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def readers(path: Path) -> dict[str, Callable[[], object]]:
    is_cif = path.suffix == ".cif"
    biopython = MMCIFParser(QUIET=True) if is_cif else PDBParser(QUIET=True)
    found: dict[str, Callable[[], object]] = {
        "workbench.read_structure": lambda: workbench.read_structure(path),
        "gemmi.read_structure (parse only)": lambda: gemmi.read_structure(str(path)),
        f"Biopython {type(biopython).__name__}": lambda: biopython.get_structure("x", str(path)),
    }
    try:
        import biotite.structure.io as strucio
    except ImportError:
        pass
    else:
        found["biotite load_structure"] = lambda: strucio.load_structure(str(path))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(f"gemmi {gemmi.__version__}, workbench {workbench.__version__}, median of {args.repeats}, one thread")
    print(f"{'file':<10} {'atoms':>7} {'models':>6}  {'reader':<36} {'ms':>9} {'peer/ours':>9}")
    for name in FILES:
        path = args.data / name
        if not path.exists():
            print(f"{name}: not found under {args.data}, skipped")
            continue
        structure = workbench.read_structure(path)
        times = {label: median_seconds(fn, args.repeats) for label, fn in readers(path).items()}
        ours = times["workbench.read_structure"]
        for label, seconds in times.items():
            print(f"{path.name:<10} {structure.n_atoms:>7} {structure.n_models:>6}  {label:<36} "
                  f"{seconds * 1e3:>9.1f} {seconds / ours:>9.2f}")


if __name__ == "__main__":
    main()
