"""The geometry kernels against the established tools, in one process, single-threaded.

Runs each measurement with our public API (``workbench.analysis`` on a
``Structure`` or coordinate arrays) and with the peers on their own in-memory
objects (an MDTraj ``Trajectory``, a biotite ``AtomArray``, numpy arrays for
tmtools), checks that the answers agree, and prints run times and the ratio
peer time / our time (above 1: we are faster).

- Threads: this machine's vCPUs behave as about one core (MDTraj's RMSD is 5.6x
  slower with 2 OpenMP threads than with 1), so every library runs with one thread:
  ``OMP_NUM_THREADS=1`` for MDTraj, ``NUMBA_NUM_THREADS=1`` for us. The usable cores
  (CPU affinity) are printed; ``--threads N`` gives both libraries N threads instead.
- Compile time: by default numba's cache goes to a fresh temporary folder, so the
  first call of each of our functions includes JIT compilation; it is reported
  separately (first call minus run time). ``--warm-cache`` uses the normal cache.
- Run time: the best of ``--repeats`` calls (at least 3, more for fast calls).
- Precentred RMSD (``--tasks rmsd``): ``rmsd_centred`` on frames centred once
  (``centre_frames``) against ``md.rmsd(..., precentered=True)`` after
  ``center_coordinates()``, at 100, 363 and 2,773 atoms (the first atoms of the AdK
  frames) and 1 and 10,000 frames; the centring is outside the timing for both. Each
  measurement alternates ours, MDTraj and a numpy copy of a 256 MiB array (the
  machine's memory bandwidth, read + write), ``--rounds`` times; times are medians
  over rounds, ratios medians of the ratios within a round (robust to the machine's
  load changing between rounds). The bandwidth floor is 12 bytes per atom per frame
  at the measured bandwidth.
  The all-against-all matrix is compared with one precentred ``md.rmsd`` call per
  frame, and both with a float64 SVD on the same float32 coordinates.

Usage::

    python benchmarks/kernels.py [--data ../shared/data] [--repeats 5] [--threads 1] [--warm-cache]
                                 [--tasks rmsd,sasa,dssp,tm,lddt] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: The measurements, selectable with ``--tasks``.
TASKS = ("rmsd", "sasa", "dssp", "tm", "lddt")


def _setup_threads(threads: int, warm_cache: bool) -> None:
    """Environment for numba and OpenMP; must run before numpy, numba or mdtraj are imported."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[name] = str(threads)
    if not warm_cache:
        os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="workbench-numba-")


@dataclass
class Row:
    task: str
    size: str
    ours: float
    compile: float
    peer: str
    theirs: float
    agreement: str


def best_time(function: Callable[[], object], repeats: int, budget: float = 2.0) -> float:
    """Best wall time of ``function`` over at least ``repeats`` calls (more while under ``budget`` s)."""
    times = []
    start = time.perf_counter()
    while len(times) < repeats or (time.perf_counter() - start < budget and len(times) < 50):
        t0 = time.perf_counter()
        function()
        times.append(time.perf_counter() - t0)
    return min(times)


def first_call(function: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    function()
    return time.perf_counter() - t0


def run(data: Path, repeats: int, tasks: set[str]) -> list[Row]:
    import biotite.structure as bs
    import biotite.structure.io.pdb as bpdb
    import mdtraj as md
    import numpy as np
    import tmtools

    import workbench
    from workbench import analysis as A
    from workbench.residues import one_letter_code

    rows: list[Row] = []

    def measure(task: str, size: str, ours: Callable[[], object], peers: dict[str, Callable[[], object]],
                agreement: Callable[[], dict[str, str]]) -> None:  # fmt: skip
        """Time ``ours`` (first call separately: JIT compile) and each peer; then check the answers."""
        first = first_call(ours)
        ours_time = best_time(ours, repeats)
        answers = agreement()
        for name, peer in peers.items():
            peer()  # warm-up (imports, caches)
            rows.append(Row(task, size, ours_time, max(first - ours_time, 0.0), name, best_time(peer, repeats),
                            answers[name]))  # fmt: skip

    def load_traj(path: Path, top: Path | None = None) -> md.Trajectory:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return md.load(str(path), top=str(top)) if top else md.load(str(path))

    def read(path: Path) -> workbench.Structure:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return workbench.read_structure(path)

    # -- RMSD of the AdK trajectory ----------------------------------------------------------------
    traj = load_traj(data / "traj" / "adk_dims.dcd", data / "traj" / "adk_closed.pdb")
    frames = np.ascontiguousarray(traj.xyz * 10.0)
    reps = -(-10_000 // traj.n_frames)
    big_frames = np.ascontiguousarray(np.tile(frames, (reps, 1, 1))[:10_000])
    big_traj = md.Trajectory(big_frames / 10.0, traj.topology)
    rmsd_sets = (("98 frames", frames, traj), ("10,000 frames", big_frames, big_traj)) if "rmsd" in tasks else ()
    for label, ours_frames, peer_traj in rmsd_sets:

        def rmsd_agreement(f: np.ndarray = ours_frames, t: md.Trajectory = peer_traj) -> dict[str, str]:
            delta = np.abs(A.rmsd_many(f, frames[0]) - md.rmsd(t, traj, 0) * 10.0).max()
            return {"mdtraj.rmsd": f"max |d| {delta:.1e} A"}

        measure(
            "RMSD to frame 0 (AdK)",
            f"{label} x {traj.n_atoms} atoms",
            lambda f=ours_frames: A.rmsd_many(f, frames[0]),
            {"mdtraj.rmsd": lambda t=peer_traj: md.rmsd(t, traj, 0)},
            rmsd_agreement,
        )

    # -- SASA ----------------------------------------------------------------------------------------
    for name in ("7pbl", "3o21") if "sasa" in tasks else ():
        path = data / "structures" / f"{name}.pdb"
        structure = read(path)
        peer_traj = load_traj(path)
        peer_traj = peer_traj.atom_slice(peer_traj.topology.select("not water"))
        atoms = bpdb.PDBFile.read(str(path)).get_structure(model=1)
        atoms = atoms[~bs.filter_solvent(atoms)]
        radii = np.array([A.VDW_RADII.get(e.capitalize(), 2.0) for e in atoms.element])

        def sasa_agreement(
            s: workbench.Structure = structure,
            t: md.Trajectory = peer_traj,
            a: bs.AtomArray = atoms,
            r: np.ndarray = radii,
        ) -> dict[str, str]:
            ours_total = A.sasa(s).total
            md_total = float(md.shrake_rupley(t).sum()) * 100.0
            bt_total = float(np.nansum(bs.sasa(a, vdw_radii=r, point_number=960, ignore_ions=False)))
            return {
                "mdtraj.shrake_rupley": f"total {abs(ours_total - md_total) / md_total:.1e} rel",
                "biotite sasa (same radii)": f"total {abs(ours_total - bt_total) / bt_total:.1e} rel",
            }

        measure(
            f"SASA, Shrake-Rupley 960 points ({name})",
            f"{peer_traj.n_atoms} atoms",
            lambda s=structure: A.sasa(s),
            {
                "mdtraj.shrake_rupley": lambda t=peer_traj: md.shrake_rupley(t),
                "biotite sasa (same radii)": lambda a=atoms, r=radii: bs.sasa(
                    a, vdw_radii=r, point_number=960, ignore_ions=False
                ),
            },
            sasa_agreement,
        )

    # -- DSSP ----------------------------------------------------------------------------------------
    for name in ("7pbl", "3o21", "1ubq") if "dssp" in tasks else ():
        path = data / "structures" / f"{name}.pdb"
        structure = read(path)
        peer_traj = load_traj(path)

        def dssp_agreement(s: workbench.Structure = structure, t: md.Trajectory = peer_traj) -> dict[str, str]:
            theirs_codes = md.compute_dssp(t, simplified=False)[0]
            protein = theirs_codes != "NA"
            same = (A.dssp(s)[protein] == theirs_codes[protein]).mean()
            return {"mdtraj.compute_dssp": f"{100 * same:.2f}% same codes"}

        measure(
            f"DSSP 8-state ({name})",
            f"{int((md.compute_dssp(peer_traj)[0] != 'NA').sum())} protein residues",
            lambda s=structure: A.dssp(s),
            {"mdtraj.compute_dssp": lambda t=peer_traj: md.compute_dssp(t, simplified=False)},
            dssp_agreement,
        )

    # -- TM-score ------------------------------------------------------------------------------------
    nmr = read(data / "structures" / "1l2y.pdb")
    adk_closed = read(data / "traj" / "adk_closed.pdb")
    adk_open = read(data / "traj" / "adk_open.pdb")
    aliases = {"HSD": "H", "HSE": "H", "HSP": "H"}
    tm_pairs = (("1L2Y model 2 vs 1", nmr.model(1), nmr.model(0)), ("AdK closed vs open", adk_closed, adk_open))
    for label, model, reference in tm_pairs if "tm" in tasks else ():
        ca = A.select_atoms(reference, "CA")
        x = model.coords[ca].astype(np.float64)
        y = reference.coords[ca].astype(np.float64)
        sequence = "".join(aliases.get(str(r)) or one_letter_code(str(r)) for r in reference.res_name[ca])
        fixed = bs.array(
            [bs.Atom(c, atom_name="CA", res_name="ALA", res_id=i + 1, element="C", chain_id="A")
             for i, c in enumerate(reference.coords[ca])]
        )  # fmt: skip
        mobile = fixed.copy()
        mobile.coord = model.coords[ca]

        def biotite_tm(fixed: bs.AtomArray = fixed, mobile: bs.AtomArray = mobile) -> float:
            moved, _, fixed_index, mobile_index = bs.superimpose_structural_homologs(fixed, mobile)
            return bs.tm_score(fixed, moved, fixed_index, mobile_index, reference_length="reference")

        def tm_agreement(
            m: workbench.Structure = model,
            r: workbench.Structure = reference,
            x: np.ndarray = x,
            y: np.ndarray = y,
            s: str = sequence,
            bt: Callable[[], float] = biotite_tm,
        ) -> dict[str, str]:
            ours_tm = A.tm_score(m, r).tm_score
            return {
                "tmtools.tm_align": f"|d TM| {abs(ours_tm - tmtools.tm_align(x, y, s, s).tm_norm_chain2):.1e}",
                "biotite superimpose_structural_homologs + tm_score": f"|d TM| {abs(ours_tm - bt()):.1e}",
            }

        measure(
            f"TM-score ({label})",
            f"{len(ca)} residues",
            lambda m=model, r=reference: A.tm_score(m, r),
            {
                "tmtools.tm_align": lambda x=x, y=y, s=sequence: tmtools.tm_align(x, y, s, s),
                "biotite superimpose_structural_homologs + tm_score": biotite_tm,
            },
            tm_agreement,
        )

    # -- lDDT ----------------------------------------------------------------------------------------
    stack = bpdb.PDBFile.read(str(data / "structures" / "1l2y.pdb")).get_structure()
    stack = stack[:, stack.element != "H"]
    heavy_nmr = nmr.select(A.select_atoms(nmr, "heavy"))
    adk_atoms = [
        bpdb.PDBFile.read(str(data / "traj" / f"adk_{s}.pdb")).get_structure(model=1) for s in ("open", "closed")
    ]
    adk_heavy = [a[~np.char.startswith(np.char.lstrip(a.atom_name.astype(str), "0123456789"), "H")] for a in adk_atoms]
    lddt_sets = (
        ("1L2Y model 2 vs 1, heavy atoms", heavy_nmr.model(1), heavy_nmr.model(0), stack[1], stack[0]),
        ("AdK closed vs open, heavy atoms", adk_closed, adk_open, adk_heavy[1], adk_heavy[0]),
    )
    for label, model, reference, peer_model, peer_reference in lddt_sets if "lddt" in tasks else ():

        def lddt_agreement(
            m: workbench.Structure = model,
            r: workbench.Structure = reference,
            pm: bs.AtomArray = peer_model,
            pr: bs.AtomArray = peer_reference,
        ) -> dict[str, str]:
            delta = abs(A.lddt(m, r, symmetric=False).score - float(bs.lddt(pr, pm)))
            return {"biotite lddt": f"|d lDDT| {delta:.1e}"}

        measure(
            f"lDDT ({label})",
            f"{peer_reference.array_length()} atoms",
            lambda m=model, r=reference: A.lddt(m, r, symmetric=False),
            {"biotite lddt": lambda m=peer_model, r=peer_reference: bs.lddt(r, m)},
            lddt_agreement,
        )
    return rows


def median_time(function: Callable[[], object], calls: int) -> float:
    """Median wall time of ``calls`` calls of ``function``."""
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        function()
        times.append(time.perf_counter() - t0)
    return float(sorted(times)[len(times) // 2])


def run_precentred(data: Path, rounds: int) -> None:
    """Precentred RMSD against MDTraj precentred and the memory-bandwidth floor; all-against-all."""
    import mdtraj as md
    import numpy as np

    from workbench import analysis as A

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traj = md.load(str(data / "traj" / "adk_dims.dcd"), top=str(data / "traj" / "adk_closed.pdb"))
    source = np.ascontiguousarray(traj.xyz * 10.0)
    big = np.ones(1 << 26, dtype=np.float32)  # 256 MiB: well beyond the caches
    copy = np.empty_like(big)

    def svd_rmsd(x: np.ndarray, y: np.ndarray) -> float:
        """Float64 Kabsch (SVD) on the given float32 coordinates: the accuracy reference."""
        a = x.astype(np.float64) - x.astype(np.float64).mean(0)
        b = y.astype(np.float64) - y.astype(np.float64).mean(0)
        u, sigma, vt = np.linalg.svd(a.T @ b)
        sigma[-1] *= np.sign(np.linalg.det(u @ vt))
        return float(np.sqrt(max(0.0, ((a * a).sum() + (b * b).sum() - 2 * sigma.sum()) / len(x))))

    header = ("atoms", "frames", "ours ms", "MDTraj ms", "MDTraj/ours", "from coords ms", "floor ms",
              "ours/floor", "GB/s", "ours max|d| A", "MDTraj max|d| A")  # fmt: skip
    lines: list[tuple[str, ...]] = []
    for n_atoms in (100, 363, 2773):
        topology = traj.topology.subset(range(n_atoms))
        for n_frames in (1, 10_000):
            frames = np.ascontiguousarray(np.tile(source[:, :n_atoms], (-(-n_frames // len(source)), 1, 1))[:n_frames])
            centred = A.centre_frames(frames)
            peer = md.Trajectory(frames / 10.0, topology)
            peer.center_coordinates()
            calls = 200 if n_frames == 1 else 3
            ours_fn = lambda c=centred: A.rmsd_centred(c, c, 0)  # noqa: E731
            peer_fn = lambda t=peer: md.rmsd(t, t, 0, precentered=True)  # noqa: E731
            plain_fn = lambda f=frames: A.rmsd_many(f, f[0])  # noqa: E731
            for function in (ours_fn, peer_fn, plain_fn):
                function()  # compile, warm up
            ours_t, peer_t, plain_t, bandwidth = [], [], [], []
            for _ in range(rounds):
                ours_t.append(median_time(ours_fn, calls))
                peer_t.append(median_time(peer_fn, calls))
                plain_t.append(median_time(plain_fn, calls))
                bandwidth.append(2 * big.nbytes / median_time(lambda: np.copyto(copy, big), 1))
            ours, theirs, plain, gbs = (float(np.median(v)) for v in (ours_t, peer_t, plain_t, bandwidth))
            # ratios within each round, then their median: robust to the load changing between rounds
            peer_ratio = float(np.median(np.array(peer_t) / np.array(ours_t)))
            floor_ratio = float(np.median(np.array(ours_t) * np.array(bandwidth))) / (12 * n_atoms * n_frames)
            floor = 12 * n_atoms * n_frames / gbs
            distinct = min(n_frames, len(source))
            expected = np.array([svd_rmsd(frames[f], frames[0]) for f in range(distinct)])
            ours_d = np.abs(ours_fn()[:distinct] - expected).max()
            peer_d = np.abs(peer_fn()[:distinct] * 10.0 - expected).max()
            lines.append((str(n_atoms), f"{n_frames:,}", f"{ours * 1e3:.3f}", f"{theirs * 1e3:.3f}",
                          f"{peer_ratio:.2f}x", f"{plain * 1e3:.3f}", f"{floor * 1e3:.3f}", f"{floor_ratio:.2f}x",
                          f"{gbs / 1e9:.1f}", f"{ours_d:.1e}", f"{peer_d:.1e}"))  # fmt: skip
    print("\nRMSD to frame 0, precentred (AdK, first n atoms; medians of alternating rounds)")
    print_columns(header, lines)

    # -- all against all -------------------------------------------------------------------------
    rng = np.random.default_rng(0)
    n_frames = 500
    frames = source[np.arange(n_frames) % len(source)] + rng.normal(scale=0.05, size=(n_frames, *source.shape[1:]))
    frames = frames[:, :2773].astype(np.float32)
    peer = md.Trajectory(frames / 10.0, traj.topology.subset(range(2773)))
    peer.center_coordinates()

    def peer_matrix(t: md.Trajectory = peer) -> np.ndarray:
        return np.stack([md.rmsd(t, t, i, precentered=True) for i in range(t.n_frames)]) * 10.0

    ours_matrix = A.rmsd_matrix(frames)
    ours_t, peer_t = [], []
    for _ in range(max(1, rounds // 2)):
        ours_t.append(median_time(lambda: A.rmsd_matrix(frames), 1))
        peer_t.append(median_time(peer_matrix, 1))
    # close pairs (the same AdK frame with different noise, ~0.07 A) and random pairs
    close = [(i, i + len(source)) for i in range(0, 300, 3)]
    far = [tuple(rng.choice(n_frames, 2, replace=False)) for _ in range(200)]
    pairs = close + far
    expected = np.array([svd_rmsd(frames[i], frames[j]) for i, j in pairs])
    index = tuple(np.array(pairs).T)
    ours_d = np.abs(ours_matrix[index] - expected).max()
    peer_d = np.abs(peer_matrix()[index] - expected).max()
    matrix_header = ("task", "ours ms", "MDTraj ms", "MDTraj/ours", "ours max|d| A", "MDTraj max|d| A")
    print("\nAll-against-all RMSD, 500 frames x 2,773 atoms (MDTraj: one precentred md.rmsd per frame);")
    print(f"|d| against float64 SVD on {len(close)} close pairs (~0.07 A apart) and {len(far)} random pairs")
    ours_ms, peer_ms = float(np.median(ours_t)) * 1e3, float(np.median(peer_t)) * 1e3
    ratio = float(np.median(np.array(peer_t) / np.array(ours_t)))  # within-round ratios, as above
    row = (
        "rmsd_matrix",
        f"{ours_ms:.1f}",
        f"{peer_ms:.1f}",
        f"{ratio:.2f}x",
        f"{ours_d:.1e}",
        f"{peer_d:.1e}",
    )
    print_columns(matrix_header, [row])


def print_columns(header: Sequence[str], lines: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *lines, strict=True)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for line in lines:
        print("  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)))


def print_table(rows: list[Row]) -> None:
    header = ("task", "size", "ours ms", "compile s", "peer", "peer ms", "peer/ours", "same answers")
    lines = [
        (r.task, r.size, f"{r.ours * 1e3:.2f}", f"{r.compile:.1f}", r.peer, f"{r.theirs * 1e3:.2f}",
         f"{r.theirs / r.ours:.1f}x", r.agreement)
        for r in rows
    ]  # fmt: skip
    print_columns(header, lines)
    worst = min(rows, key=lambda r: r.theirs / r.ours)
    print(f"\nlowest ratio: {worst.theirs / worst.ours:.1f}x ({worst.task}, against {worst.peer})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data", type=Path, default=Path(os.environ.get("WORKBENCH_SHARED_DATA", REPO.parent / "shared" / "data"))
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warm-cache", action="store_true", help="use numba's normal on-disk cache")
    parser.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated subset of {','.join(TASKS)}")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of the precentred RMSD table")
    args = parser.parse_args(argv)
    tasks = set(args.tasks.split(","))
    if tasks - set(TASKS):
        parser.error(f"unknown tasks: {', '.join(sorted(tasks - set(TASKS)))}")
    if not args.data.is_dir():
        print(f"no data folder at {args.data} (set --data or WORKBENCH_SHARED_DATA)", file=sys.stderr)
        return 2
    _setup_threads(args.threads, args.warm_cache)
    import mdtraj
    import numba
    import numpy

    import workbench

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"workbench {workbench.__version__}, numba {numba.__version__}, numpy {numpy.__version__}, "
        f"mdtraj {mdtraj.__version__}, python {sys.version.split()[0]}"
    )
    print(
        f"usable cores (affinity): {usable}; threads used: numba {numba.config.NUMBA_NUM_THREADS}, "
        f"OpenMP {os.environ['OMP_NUM_THREADS']}; numba cache: "
        f"{'warm (normal cache)' if args.warm_cache else 'cold (fresh folder): compile time included in first calls'}\n"
    )
    rows = run(args.data, args.repeats, tasks)
    if rows:
        print_table(rows)
    if "rmsd" in tasks:
        run_precentred(args.data, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
