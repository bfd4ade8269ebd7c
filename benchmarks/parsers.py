"""Structure parsers side by side: read the largest shared structures with each, one process, one thread.

Compares the workbench reader (gemmi underneath, plus number checks and the
conversion to our arrays) with gemmi's bare parse, Biopython's PDBParser /
MMCIFParser, and biotite's readers when installed. Besides the shared files,
it reads a 156,980-atom structure it writes itself as PDB and mmCIF (7pbl
copied five times side by side, 45 chains, hybrid-36 serials), the size where
the per-atom costs show.

The readers take turns: each round calls every reader once, in order, and
the table gives the median of the rounds, so a load change on the machine
hits all of them alike. ``--baseline DIR`` adds the reader of another
checkout (``git worktree add /tmp/reader-base main``), loaded in this process
beside the current one, so before and after are measured in the same rounds.

    python benchmarks/parsers.py [--repeats 7] [--data ../shared/data] [--baseline /tmp/reader-base]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import statistics
import string
import sys
import tempfile
import time
import types
import warnings
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import gemmi
from Bio.PDB import MMCIFParser, PDBParser

import workbench

FILES = ("structures/7pbl.pdb", "structures/3o21.pdb", "structures/1l2y.cif")
COPIES = 5  # 7pbl x 5: 156,980 atoms


def large_files(data: Path, folder: Path) -> list[Path]:
    """Write 7pbl copied ``COPIES`` times (chains renamed, shifted by 150 Å) as PDB and mmCIF."""
    st = gemmi.read_structure(str(data / "structures" / "7pbl.pdb"))
    model = st[0]
    names = {chain.name for chain in model}
    spare = iter(c for c in string.ascii_uppercase + string.ascii_lowercase + string.digits if c not in names)
    big = gemmi.Model(1)
    for copy in range(COPIES):
        for chain in model:
            clone = chain.clone()
            if copy:
                clone.name = next(spare)
                for residue in clone:
                    for atom in residue:
                        atom.pos = gemmi.Position(atom.pos.x + 150.0 * copy, atom.pos.y, atom.pos.z)
            big.add_chain(clone)
    st.add_model(big)
    del st[0]
    st.setup_entities()
    pdb, cif = folder / f"7pbl_x{COPIES}.pdb", folder / f"7pbl_x{COPIES}.cif"
    st.write_pdb(str(pdb))
    st.make_mmcif_document().write_file(str(cif))
    return [pdb, cif]


def baseline_reader(checkout: Path) -> Callable[..., object]:
    """``read_structure`` of another checkout's ``workbench/io``, beside this one.

    Its ``structure_reader`` and the ``workbench.io`` modules it imports are
    loaded under other names (``baseline_io.*``); everything else they import
    (errors, config, the Structure class) is this checkout's.
    """
    io = checkout / "workbench" / "io"
    package = types.ModuleType("baseline_io")
    package.__path__ = []
    sys.modules["baseline_io"] = package

    def load(name: str) -> None:
        if f"baseline_io.{name}" in sys.modules:
            return
        path = io / f"{name}.py"
        source = path.read_text()
        for used in sorted(set(re.findall(r"from workbench\.io\.(\w+) import", source))):
            load(used)
        source = re.sub(r"from workbench\.io\.(\w+) import", r"from baseline_io.\1 import", source)
        spec = importlib.util.spec_from_loader(f"baseline_io.{name}", loader=None)
        assert spec is not None
        module = importlib.util.module_from_spec(spec)
        module.__file__ = str(path)
        sys.modules[spec.name] = module
        exec(compile(source, str(path), "exec"), module.__dict__)  # a local checkout's own code

    load("structure_reader")
    reader: Callable[..., object] = sys.modules["baseline_io.structure_reader"].read_structure
    return reader


def readers(path: Path, baseline: Callable[..., object] | None) -> dict[str, Callable[[], object]]:
    is_cif = path.suffix == ".cif"
    biopython = MMCIFParser(QUIET=True) if is_cif else PDBParser(QUIET=True)
    found: dict[str, Callable[[], object]] = {"workbench.read_structure": lambda: workbench.read_structure(path)}
    if baseline is not None:
        found["baseline read_structure"] = lambda: baseline(path)
    found["gemmi.read_structure (parse only)"] = lambda: gemmi.read_structure(str(path))
    if path.stat().st_size < 5_000_000:  # Biopython takes seconds per large file
        found[f"Biopython {type(biopython).__name__}"] = lambda: biopython.get_structure("x", str(path))
    try:
        import biotite.structure.io as strucio
    except ImportError:
        pass
    else:
        found["biotite load_structure"] = lambda: strucio.load_structure(str(path))
    return found


def alternating_medians(functions: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds of each function, the functions called in turn, ``repeats`` rounds after a warm-up."""
    for function in functions.values():
        function()  # warm caches (file system, lazy imports)
    times: dict[str, list[float]] = {label: [] for label in functions}
    for _ in range(repeats):
        for label, function in functions.items():
            start = time.perf_counter()
            function()
            times[label].append(time.perf_counter() - start)
    return {label: statistics.median(values) for label, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    parser.add_argument("--baseline", type=Path, help="another checkout whose reader runs in the same rounds")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    baseline = baseline_reader(args.baseline) if args.baseline else None
    versions = f"gemmi {getattr(gemmi, '__version__', '?')}, workbench {getattr(workbench, '__version__', '?')}"
    print(f"{versions}, median of {args.repeats} "
          "alternating rounds, one thread")
    print(f"{'file':<13} {'atoms':>7} {'models':>6}  {'reader':<36} {'ms':>9} {'x gemmi':>8}")
    with tempfile.TemporaryDirectory(prefix="workbench-parsers-") as folder:
        paths = [args.data / name for name in FILES]
        if (args.data / "structures" / "7pbl.pdb").exists():
            paths += large_files(args.data, Path(folder))
        for path in paths:
            if not path.exists():
                print(f"{path.name}: not found under {args.data}, skipped")
                continue
            structure = workbench.read_structure(path)
            times = alternating_medians(readers(path, baseline), args.repeats)
            bare = times["gemmi.read_structure (parse only)"]
            for label, seconds in times.items():
                print(f"{path.name:<13} {structure.n_atoms:>7} {structure.n_models:>6}  {label:<36} "
                      f"{seconds * 1e3:>9.1f} {seconds / bare:>8.2f}")


if __name__ == "__main__":
    main()
