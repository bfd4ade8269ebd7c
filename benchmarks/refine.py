"""AlphaFold2's amber relax and workbench.refine on the same five structures, same machine, one run.

Structures: PDBFixer's 1BHL, 1UBQ and 1CRN from ../shared/data/structures, the
ColabFold model and the AlphaFold2 model (AlphaPulldown's ranked_0) from
../shared/data/predicted (``--large`` adds the 837-residue AlphaFold DB model).

Both tools get the same input: the protein heavy atoms as workbench.refine.prepare
makes them (waters and ligands removed, modified residues replaced, missing atoms
added) and without hydrogens, with each chain segment between backbone gaps as
its own chain, because AlphaFold2's relax would otherwise bond across a gap
(it was written for predictions, which have none) and it refuses non-standard
residues. AlphaFold2 runs with the settings of its own pipeline
(``AmberRelaxation(max_iterations=0, tolerance=2.39, stiffness=10.0,
exclude_residues=[], max_outer_iterations=3, use_gpu=...)``) in a subprocess
with the interpreter of a separate virtual environment (``--af2-python``, or
``$WORKBENCH_AF2_PYTHON``, default ``/work/af2venv/bin/python``; see
``../shared/PEERS.md``); it is skipped with a message when that is missing.

Each tool first relaxes 1CRN once untimed (imports, force-field files, JAX
compilation), then each structure once, timed around the call. Both outputs
are measured the same way: violations with workbench's checker
(:func:`workbench.refine.find_violations`), AlphaFold2's own per-residue
violation count, and CA / heavy-atom RMSD to the common input without
superposition. Ratio = AlphaFold2 time / workbench time (above 1: we are faster).

    python benchmarks/refine.py [--platform CPU|CUDA] [--threads N] [--af2-python PATH] [--large]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import workbench  # noqa: E402
from workbench.io import format_pdb  # noqa: E402
from workbench.io.openmm import from_openmm  # noqa: E402
from workbench.refine import RefineConfig, find_violations, prepare_model, refine, select_platform  # noqa: E402
from workbench.refine.platform import usable_cores  # noqa: E402

SHARED = {
    "1ubq": "structures/1ubq.pdb",
    "1crn": "structures/1crn.pdb",
    "colabfold": "predicted/colabfold_ERR550519_2213899_unrelaxed_model_1.pdb",
    "alphafold2": "predicted/alphapulldown_TEST_ranked_0.pdb",
    "afdb_Q5VSL9": "predicted/AF-Q5VSL9-F1-model_v4.pdb",
}
FIVE = ("1crn", "alphafold2", "1ubq", "colabfold", "1bhl")
CHAIN_IDS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

AF2_SCRIPT = r"""
import json, sys, time
from alphafold.common import protein
from alphafold.relax import relax
jobs = json.load(open(sys.argv[1]))
use_gpu = sys.argv[2] == "gpu"
relaxer = relax.AmberRelaxation(max_iterations=0, tolerance=2.39, stiffness=10.0, exclude_residues=[],
                                max_outer_iterations=3, use_gpu=use_gpu)
out = []
for job in jobs:
    prot = protein.from_pdb_string(job["pdb"])
    start = time.perf_counter()
    pdb, debug, violations = relaxer.process(prot=prot)
    seconds = time.perf_counter() - start
    if job["warmup"]:
        continue
    out.append({"name": job["name"], "seconds": seconds, "pdb": pdb, "violating_residues": int(sum(violations)),
                "initial_energy": float(debug["initial_energy"]), "final_energy": float(debug["final_energy"]),
                "attempts": int(debug["attempts"]), "rmsd": float(debug["rmsd"])})
json.dump(out, open(sys.argv[3], "w"))
"""


def structure_path(name: str, data: Path) -> Path:
    if name == "1bhl":
        import pdbfixer

        return Path(pdbfixer.__file__).parent / "tests" / "data" / "1BHL.pdb"
    return data / SHARED[name]


def common_input(structure: workbench.Structure) -> workbench.Structure:
    """Prepared heavy atoms, one chain id per backbone segment, the input's B-factors and numbering."""
    import openmm.app as app

    prepared = prepare_model(structure)
    heavy = prepared.heavy
    topology = app.Topology()
    for chain in prepared.topology.chains():
        new_chain = topology.addChain(chain.id)
        for residue in chain.residues():
            new_residue = topology.addResidue(residue.name, new_chain, residue.id, residue.insertionCode)
            for atom in residue.atoms():
                if atom.element.symbol != "H":
                    topology.addAtom(atom.name, atom.element, new_residue)
    model = from_openmm(topology, prepared.positions[heavy] / 10.0, name=structure.name)
    source = prepared.source_atom[heavy]
    segment = np.array([a.residue.chain.index for a in prepared.topology.atoms()])[heavy]
    b = np.where(source >= 0, prepared.input.b_factor[np.maximum(source, 0)], 50.0)
    return replace(model, chain_id=np.array([CHAIN_IDS[k] for k in segment]), b_factor=b,
                   occupancy=np.ones(model.n_atoms), hetero=np.zeros(model.n_atoms, bool))


def _atom_keys(structure: workbench.Structure) -> list[tuple[str, int, str]]:
    """(chain, residue ordinal within the chain, atom name): AlphaFold2's writer renumbers residues from 1."""
    ordinal = np.zeros(structure.n_atoms, dtype=np.int64)
    residues = structure.residues
    count: dict[str, int] = {}
    for r in range(len(residues)):
        chain = str(residues.chain_id[r])
        count[chain] = count.get(chain, -1) + 1
        ordinal[residues.start[r]:residues.start[r + 1]] = count[chain]
    return list(zip(structure.chain_id.tolist(), ordinal.tolist(), structure.atom_name.tolist(), strict=True))


def rmsd(reference: workbench.Structure, model: workbench.Structure) -> tuple[float, float]:
    """CA and heavy-atom RMSD (Å) over atoms matched by chain, residue position in the chain and name."""
    keys = {k: i for i, k in enumerate(_atom_keys(reference))}
    pairs = [(keys[k], j) for j, k in enumerate(_atom_keys(model)) if k in keys and model.element[j] != "H"]
    a, b = np.array(pairs).T
    if not np.array_equal(reference.res_name[a], model.res_name[b]):
        raise ValueError(f"{model.name}: residues do not pair up with the input's")
    delta = reference.coords[a].astype(np.float64) - model.coords[b]
    ca = reference.atom_name[a] == "CA"
    return float(np.sqrt((delta[ca] ** 2).sum(1).mean())), float(np.sqrt((delta**2).sum(1).mean()))


def run_af2(python: str, inputs: dict[str, workbench.Structure], warmup: workbench.Structure, gpu: bool,
            threads: int) -> dict[str, dict]:
    with tempfile.TemporaryDirectory() as folder:
        jobs = [{"name": "warmup", "pdb": format_pdb(warmup), "warmup": True}]
        jobs += [{"name": n, "pdb": format_pdb(s), "warmup": False} for n, s in inputs.items()]
        job_file, out_file = Path(folder) / "jobs.json", Path(folder) / "out.json"
        job_file.write_text(json.dumps(jobs))
        env = dict(os.environ, OPENMM_CPU_THREADS=str(threads), JAX_PLATFORMS="cpu", OMP_NUM_THREADS="1",
                   TF_CPP_MIN_LOG_LEVEL="3")
        done = subprocess.run([python, "-c", AF2_SCRIPT, str(job_file), "gpu" if gpu else "cpu", str(out_file)],
                              env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"AlphaFold2 relax failed:\n{done.stderr[-3000:]}")
        return {row["name"]: row for row in json.loads(out_file.read_text())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", default="CPU", help="OpenMM platform for both tools: CPU (default) or CUDA")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for both (default: usable cores)")
    parser.add_argument("--af2-python", default=os.environ.get("WORKBENCH_AF2_PYTHON", "/work/af2venv/bin/python"))
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--large", action="store_true", help="also the 837-residue AlphaFold DB model")
    parser.add_argument("--json", type=Path, help="write the measurements here too")
    args = parser.parse_args()
    threads = args.threads or usable_cores()
    choice = select_platform(args.platform, threads)
    names = [n for n in FIVE if n == "1bhl" or (args.data / SHARED[n]).exists()]
    if args.large and (args.data / SHARED["afdb_Q5VSL9"]).exists():
        names.append("afdb_Q5VSL9")
    if len(names) < len(FIVE):
        print(f"note: {args.data} is missing; running {names}")
    print(f"platform {choice.name} {choice.properties}; {usable_cores()} usable core(s); OpenMM "
          f"{__import__('openmm').__version__}")

    inputs = {n: common_input(workbench.read_structure(structure_path(n, args.data))) for n in names}
    warmup = common_input(workbench.read_structure(structure_path("1crn", args.data))) \
        if (args.data / SHARED["1crn"]).exists() else inputs[names[0]]
    config = RefineConfig(platform=choice.name, threads=threads)

    refine(warmup, config)
    ours = {}
    for name, structure in inputs.items():
        start = time.perf_counter()
        result = refine(structure, config)
        seconds = time.perf_counter() - start
        ours[name] = {"seconds": seconds, "structure": result.structure, "rounds": result.rounds,
                      "prepare": result.timings["prepare"]}

    af2: dict[str, dict] = {}
    if Path(args.af2_python).exists():
        af2 = run_af2(args.af2_python, inputs, warmup, gpu=choice.name == "CUDA", threads=threads)
    else:
        print(f"AlphaFold2 relax skipped: no interpreter at {args.af2_python} (see the module docstring)")

    rows = []
    header = (f"{'structure':<12} {'res':>4} {'atoms':>6} | {'AF2 s':>7} {'ours s':>7} {'ratio':>6} | "
              f"{'viol AF2':>8} {'ours':>5} {'AF2 own':>7} | {'CA RMSD AF2':>11} {'ours':>6} | "
              f"{'heavy RMSD AF2':>14} {'ours':>6}")
    print(header)
    print("-" * len(header))
    for name, structure in inputs.items():
        mine = ours[name]
        my_violations = len(find_violations(mine["structure"]))
        my_ca, my_heavy = rmsd(structure, mine["structure"])
        row = {"structure": name, "residues": len(structure.residues), "atoms": structure.n_atoms,
               "ours_s": mine["seconds"], "ours_prepare_s": mine["prepare"], "ours_rounds": mine["rounds"],
               "ours_violations": my_violations, "ours_rmsd_ca": my_ca, "ours_rmsd_heavy": my_heavy}
        if name in af2:
            theirs = af2[name]
            relaxed = workbench.read_structure(theirs["pdb"], "pdb")
            their_ca, their_heavy = rmsd(structure, relaxed)
            their_violations = find_violations(relaxed)
            row["af2_violation_kinds"] = {k: n for k, n in their_violations.counts.items() if n}
            row.update(af2_s=theirs["seconds"], af2_violations=len(their_violations),
                       af2_own_violations=theirs["violating_residues"], af2_rmsd_ca=their_ca,
                       af2_rmsd_heavy=their_heavy, ratio=theirs["seconds"] / mine["seconds"],
                       af2_attempts=theirs["attempts"])
            print(f"{name:<12} {row['residues']:>4} {row['atoms']:>6} | {row['af2_s']:7.2f} {mine['seconds']:7.2f} "
                  f"{row['ratio']:6.2f} | {row['af2_violations']:8d} {my_violations:5d} "
                  f"{row['af2_own_violations']:7d} | {their_ca:11.3f} {my_ca:6.3f} | {their_heavy:14.3f} "
                  f"{my_heavy:6.3f}")
        else:
            print(f"{name:<12} {row['residues']:>4} {row['atoms']:>6} | {'-':>7} {mine['seconds']:7.2f} {'-':>6} | "
                  f"{'-':>8} {my_violations:5d} {'-':>7} | {'-':>11} {my_ca:6.3f} | {'-':>14} {my_heavy:6.3f}")
        rows.append(row)
    if af2:
        total_af2 = sum(r["af2_s"] for r in rows)
        total_ours = sum(r["ours_s"] for r in rows)
        print(f"{'total':<12} {'':>4} {'':>6} | {total_af2:7.2f} {total_ours:7.2f} {total_af2 / total_ours:6.2f} |")
    print("violations: workbench's checker on each output (AF2 own: AlphaFold2's count of violating residues); "
          "RMSD to the common input, no superposition")
    for row in rows:
        if row.get("af2_violations"):
            kinds = ", ".join(f"{n} {k}" for k, n in row["af2_violation_kinds"].items())
            print(f"  AF2 output of {row['structure']}: {kinds}")
    if args.json:
        args.json.write_text(json.dumps({"platform": choice.name, "properties": choice.properties, "rows": rows},
                                        indent=2))


if __name__ == "__main__":
    main()
