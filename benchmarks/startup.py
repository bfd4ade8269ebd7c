"""Start-up cost of the ``workbench`` command and of the first kernel call (issue 18).

Whole-process wall times, each command run ``--runs`` times in a new process;
the median (and the fastest) is printed beside the floor, ``python -c "import
gemmi"`` with the same interpreter. Every command runs against a temporary
``WORKBENCH_HOME`` (so ``jobs`` and ``submit`` use a fresh SQLite store) with a
one-record FASTA taken from ``examples/data`` and a small structure (1CRN).
``run (rerun, nothing to compute)`` is ``workbench run`` on a batch its untimed
first run finished (that record and the template's wild type): the goal is
under 1.5 s, with no cluster started and no predictor built.

For each command one extra run under ``python -X importtime`` says which heavy
packages the command imported (torch, transformers, openmm, numba, scipy,
Bio.SeqIO, dask, pandas, sqlalchemy).

``--kernels`` adds the kernels: a subprocess per measurement, so each is a
first call in a new process.

- warm cache: importing numba and the analysis modules, then the first call of
  each kernel family (dssp, sasa, superpose/rmsd, tm_score, lddt, contacts,
  clashes, dihedrals), in that order; the first of them pays numba's one-off
  target set-up (its typing and lowering registries, and the scipy import that
  numba's ``arraymath`` makes to detect BLAS), the rest load their own code
  only. A second pass times that set-up on its own, before the first call.
- cold cache (``--cold``, about a minute): ``workbench kernels compile`` into an
  empty cache folder, per module.

To compare with another checkout (before/after), give its console script:
``--workbench /tmp/startup-base/.venv/bin/workbench`` (its interpreter is read
from the script's first line). Timings on a shared machine are noisy: compare
medians of runs taken close together.

Usage::

    python benchmarks/startup.py [--runs 7] [--workbench PATH] [--structure FILE] [--kernels [--cold]] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
HEAVY = ("torch", "transformers", "openmm", "numba", "scipy", "Bio.SeqIO", "dask", "pandas", "sqlalchemy")

_KERNEL_PROBE = r"""
import json, sys, time
times = {}
t0 = time.perf_counter()
import numpy as np
from workbench import read_structure
s = read_structure(sys.argv[1])
times["import numpy, gemmi; read the structure"] = time.perf_counter() - t0
t0 = time.perf_counter()
import numba
times["import numba"] = time.perf_counter() - t0
t0 = time.perf_counter()
from workbench import analysis
for name in ("dssp", "sasa", "superpose", "tmscore", "lddt", "geometry", "quality", "comparison"):
    __import__("workbench.analysis." + name)
times["import the analysis modules (kernels defined)"] = time.perf_counter() - t0
if "--setup" in sys.argv:
    from numba.core.registry import cpu_target
    t0 = time.perf_counter()
    cpu_target.target_context.refresh()  # what the first kernel call in a process does first
    times["numba one-off set-up (registries, its scipy import)"] = time.perf_counter() - t0
frames = np.stack([s.coords, s.coords + np.float32(1.0)])
calls = [
    ("dssp", lambda: analysis.dssp(s)),
    ("sasa", lambda: analysis.sasa(s)),
    ("rmsd", lambda: analysis.rmsd(s, s)),
    ("rmsd_matrix", lambda: analysis.rmsd_matrix(frames)),
    ("tm_score", lambda: analysis.tm_score(s, s)),
    ("lddt", lambda: analysis.lddt(s, s)),
    ("contacts", lambda: analysis.contact_map(s)),
    ("clashes", lambda: analysis.clashes(s)),
    ("dihedrals", lambda: analysis.dihedrals(s)),
]
for name, call in calls:
    t = time.perf_counter(); call(); times[name] = time.perf_counter() - t
    t = time.perf_counter(); call(); times[name + " (second call)"] = time.perf_counter() - t
print(json.dumps(times))
"""


def interpreter_of(script: Path) -> str:
    """The interpreter named on a console script's first line (``#!...``)."""
    first = script.read_text().splitlines()[0]
    return first[2:].strip() if first.startswith("#!") else sys.executable


def wall(argv: list[str], env: dict[str, str]) -> float:
    """Wall time of one run of ``argv`` in a new process; raises when it fails."""
    t0 = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def heavy_imports(python: str, argv: list[str], env: dict[str, str]) -> list[str]:
    """The packages of :data:`HEAVY` that one run of ``argv`` (a console script and its arguments) imports."""
    done = subprocess.run([python, "-X", "importtime", *argv], env=env, check=True, capture_output=True, text=True)
    names = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    return [h for h in HEAVY if h in names]


def commands(workbench: str, structure: Path, fasta: Path, out: Path) -> dict[str, list[str]]:
    return {
        "--version": [workbench, "--version"],
        "info": [workbench, "info", str(structure)],
        "convert": [workbench, "convert", str(structure), str(out / "converted.cif")],
        "jobs list": [workbench, "jobs", "list"],
        "submit": [workbench, "submit", str(fasta), "--name", "bench", "--no-refine"],
        # the untimed first run computes the batch (one record and the wild type); the timed ones are reruns
        "run (rerun, nothing to compute)": [workbench, "run", str(fasta), "-o", str(out / "batch"), "--no-progress",
                                            "--no-shared-cache"],
    }


def measure_commands(workbench: str, structure: Path, runs: int) -> list[dict]:
    python = interpreter_of(Path(workbench))
    rows = []
    with tempfile.TemporaryDirectory(prefix="workbench-startup-") as tmp:
        home = Path(tmp) / "home"
        env = dict(os.environ, WORKBENCH_HOME=str(home))
        env.pop("WORKBENCH_STORE_URL", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # an install has its .pyc files: the untimed run writes them
        fasta = Path(tmp) / "one.fasta"
        lines = (REPO / "examples" / "data" / "integrase_variants.fasta").read_text().splitlines()
        fasta.write_text("\n".join(lines[:2]) + "\n")  # the first record
        # the floor, then one untimed run of each command (creates the store, fills caches)
        times = [wall([python, "-c", "import gemmi"], env) for _ in range(runs)]
        rows.append({"command": 'python -c "import gemmi"', "median_s": statistics.median(times),
                     "min_s": min(times), "heavy": []})
        for name, argv in commands(workbench, structure, fasta, Path(tmp)).items():
            wall(argv, env)
            times = [wall(argv, env) for _ in range(runs)]
            rows.append({"command": f"workbench {name}", "median_s": statistics.median(times), "min_s": min(times),
                         "heavy": heavy_imports(python, argv, env)})
    return rows


def measure_kernels(workbench: str, structure: Path, runs: int, cold: bool) -> dict:
    python = interpreter_of(Path(workbench))
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    result: dict = {}
    subprocess.run([python, "-c", _KERNEL_PROBE, str(structure)], env=env, check=True, capture_output=True)  # fills
    for setup in ("", "--setup"):  # the first call with numba's set-up in it, then with the set-up timed apart
        samples: dict[str, list[float]] = {}
        for _ in range(runs):
            done = subprocess.run([python, "-c", _KERNEL_PROBE, str(structure), setup], env=env, check=True,
                                  capture_output=True, text=True)
            for name, seconds in json.loads(done.stdout.splitlines()[-1]).items():
                samples.setdefault(name, []).append(seconds)
        key = "warm setup" if setup else "warm"
        result[key] = {name: statistics.median(values) for name, values in samples.items()}
    if cold:
        with tempfile.TemporaryDirectory(prefix="workbench-numba-") as cache:
            env["NUMBA_CACHE_DIR"] = cache
            t0 = time.perf_counter()
            done = subprocess.run([workbench, "kernels", "compile", "--json"], env=env, check=True,
                                  capture_output=True, text=True)
            result["cold_total_s"] = time.perf_counter() - t0
            result["cold"] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_script = Path(sys.executable).parent / "workbench"
    parser.add_argument("--workbench", default=str(default_script), help="the console script to measure")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--structure", type=Path, default=DATA / "structures" / "1crn.pdb")
    parser.add_argument("--kernels", action="store_true", help="also the first kernel calls (warm cache)")
    parser.add_argument("--cold", action="store_true", help="with --kernels: compile every kernel into an empty cache")
    parser.add_argument("--json", type=Path, help="write the numbers here too")
    args = parser.parse_args()
    if not args.structure.exists():
        sys.exit(f"no structure at {args.structure}: give one with --structure")
    workbench = shutil.which(args.workbench) or args.workbench

    print(f"{workbench} ({args.runs} runs each; wall time of the whole process)")
    rows = measure_commands(workbench, args.structure, args.runs)
    print(f"{'command':<28} {'median':>8} {'fastest':>8}  heavy imports")
    for row in rows:
        print(f"{row['command']:<28} {row['median_s']:8.3f} {row['min_s']:8.3f}  {', '.join(row['heavy']) or '-'}")
    report: dict = {"workbench": workbench, "runs": args.runs, "commands": rows}
    if args.kernels:
        kernels = measure_kernels(workbench, args.structure, max(3, args.runs // 2), args.cold)
        for key, title in (("warm", "first kernel calls in a new process, warm cache (median s)"),
                           ("warm setup", "the same, numba's one-off set-up timed apart (median s)")):
            print(f"\n{title}:")
            for name, seconds in kernels[key].items():
                print(f"  {name:<52} {seconds:8.4f}")
        if "cold" in kernels:
            print(f"\ncold cache: workbench kernels compile took {kernels['cold_total_s']:.1f} s "
                  f"({kernels['cold'].get('cpu_seconds', float('nan')):.1f} s of CPU); wall s per module:")
            for name, seconds in kernels["cold"].get("modules", {}).items():
                print(f"  {name:<32} {seconds:8.1f}")
        report["kernels"] = kernels
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
