"""Agreement with the reference tools on real structures: MDTraj, US-align, tmtools, biotite.

Needs ``../shared/data`` and the peer packages (test-only dependencies); each test
skips with the reason when one is missing. Tolerances are stated per test.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from workbench import Structure
from workbench import analysis as A
from workbench.analysis._residues import atom_table
from workbench.kernels import dssp as dssp_kernel


def _peer(name: str):
    return pytest.importorskip(name, reason=f"{name} (a test-only peer) is not installed")


def _mdtraj_load(path: Path):
    md = _peer("mdtraj")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return md.load(str(path))


# -- RMSD ---------------------------------------------------------------------------------------


def test_rmsd_many_matches_mdtraj_on_adk_trajectory(shared_data: Path) -> None:
    md = _peer("mdtraj")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traj = md.load(str(shared_data / "traj" / "adk_dims.dcd"), top=str(shared_data / "traj" / "adk_closed.pdb"))
    frames = traj.xyz * 10.0
    for reference in (0, 50):
        ours = A.rmsd_many(frames, frames[reference])
        theirs = md.rmsd(traj, traj, reference).astype(np.float64) * 10.0
        # MDTraj works in float32 nm: agreement to 1e-3 Å.
        np.testing.assert_allclose(ours, theirs, atol=1e-3)
    matrix = A.rmsd_matrix(frames[::10])
    np.testing.assert_allclose(matrix[1], md.rmsd(traj[::10], traj[::10], 1) * 10.0, atol=1e-3)


def _svd_rmsd(x: np.ndarray, y: np.ndarray) -> float:
    a = x.astype(np.float64) - x.astype(np.float64).mean(0)
    b = y.astype(np.float64) - y.astype(np.float64).mean(0)
    u, sigma, vt = np.linalg.svd(a.T @ b)
    sigma[-1] *= np.sign(np.linalg.det(u @ vt))
    return float(np.sqrt(max(0.0, ((a * a).sum() + (b * b).sum() - 2 * sigma.sum()) / len(x))))


def test_precentred_rmsd_matches_float64_and_mdtraj_on_adk(shared_data: Path) -> None:
    md = _peer("mdtraj")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traj = md.load(str(shared_data / "traj" / "adk_dims.dcd"), top=str(shared_data / "traj" / "adk_closed.pdb"))
    frames = traj.xyz * 10.0
    centred = A.centre_frames(frames)
    peer = traj[:]
    peer.center_coordinates()
    for reference in (0, 50):
        ours = A.rmsd_centred(centred, centred, reference)
        expected = [_svd_rmsd(f, frames[reference]) for f in frames]
        # Float32 coordinates, float64 sums: 1e-5 Å of float64 on the same coordinates.
        np.testing.assert_allclose(ours, expected, atol=1e-5)
        assert ours[reference] < 1e-5
        theirs = md.rmsd(peer, peer, reference, precentered=True).astype(np.float64) * 10.0
        np.testing.assert_allclose(ours, theirs, atol=2e-3)  # MDTraj's float32 sums: ~1e-3 Å
    # all against all, with near-duplicate frames (the float32 cancellation case)
    noisy = (frames[:20] + np.random.default_rng(0).normal(scale=0.01, size=frames[:20].shape)).astype(np.float32)
    stack = np.concatenate([frames[:20], noisy])
    matrix = A.rmsd_matrix(stack)
    pairs = [(i, i + 20) for i in range(20)] + [(i, j) for i in range(0, 40, 7) for j in range(3, 40, 5)]
    for i, j in pairs:
        assert matrix[i, j] == pytest.approx(_svd_rmsd(stack[i], stack[j]), abs=1e-5)


def test_structure_rmsd_matches_mdtraj_on_nmr_models(
    read_shared: Callable[[str], Structure], shared_data: Path
) -> None:
    md = _peer("mdtraj")
    ensemble = read_shared("structures/1l2y.pdb")
    traj = _mdtraj_load(shared_data / "structures" / "1l2y.pdb")
    ca = traj.topology.select("name CA")
    heavy = traj.topology.select("not element H")
    expected_ca = md.rmsd(traj, traj, 0, atom_indices=ca) * 10
    expected_heavy = md.rmsd(traj, traj, 0, atom_indices=heavy) * 10
    reference = ensemble.model(0)
    for k in range(1, ensemble.n_models):
        model = ensemble.model(k)
        assert A.rmsd(model, reference) == pytest.approx(expected_ca[k], abs=1e-3)
        assert A.rmsd(model, reference, atoms="heavy") == pytest.approx(expected_heavy[k], abs=1e-3)


# -- TM-score -----------------------------------------------------------------------------------


def test_tm_score_matches_usalign(read_shared: Callable[[str], Structure], shared_data: Path) -> None:
    expected = json.loads((shared_data / "pairs" / "usalign_tmscore_1l2y_models.json").read_text())["scores"]
    ensemble = read_shared("structures/1l2y.pdb")
    reference = ensemble.model(0)
    assert len(expected) == ensemble.n_models - 1
    for k in range(1, ensemble.n_models):
        values = expected[f"model{k + 1}_vs_model1"]
        result = A.tm_score(ensemble.model(k), reference)
        assert abs(result.tm_score - values["tm"]) <= 0.002  # the tolerance; observed < 1e-5
        assert abs(result.tm_score - values["tm"]) <= 1e-4  # US-align prints 5 decimals
        assert abs(result.rmsd - values["ca_rmsd"]) <= 0.006  # printed with 2 decimals
        assert result.reference_length == 20


def test_tm_score_matches_tmtools_and_biotite(read_shared: Callable[[str], Structure]) -> None:
    tmtools = _peer("tmtools")
    biotite_structure = _peer("biotite.structure")
    from workbench.residues import one_letter_code

    ensemble = read_shared("structures/1l2y.pdb")
    reference = ensemble.model(0)
    ca = A.select_atoms(reference, "CA")
    sequence = "".join(one_letter_code(str(name)) for name in reference.res_name[ca])
    atoms = biotite_structure.array(
        [biotite_structure.Atom(c, atom_name="CA", res_name=r, res_id=i, element="C")
         for c, r, i in zip(reference.coords[ca], reference.res_name[ca], reference.res_id[ca], strict=True)]
    )  # fmt: skip
    index = np.arange(len(ca))
    for k in range(1, ensemble.n_models, 3):
        model = ensemble.model(k)
        ours = A.tm_score(model, reference)
        # tmtools (TM-align) finds the identity alignment for identical sequences: same score.
        theirs = tmtools.tm_align(
            model.coords[ca].astype(float), reference.coords[ca].astype(float), sequence, sequence
        )
        assert ours.tm_score == pytest.approx(theirs.tm_norm_chain2, abs=1e-4)
        # biotite's TM-score of our superposition is our score (same formula, same d0 here).
        moved = atoms.copy()
        moved.coord = model.coords[ca] @ ours.rotation.T + ours.translation
        value = biotite_structure.tm_score(atoms, moved, index, index, reference_length="reference")
        assert value == pytest.approx(ours.tm_score, abs=1e-5)


# -- lDDT ---------------------------------------------------------------------------------------


def test_lddt_matches_biotite(read_shared: Callable[[str], Structure], shared_data: Path) -> None:
    _peer("biotite")
    import biotite.structure as bs
    import biotite.structure.io.pdb as bpdb

    stack = bpdb.PDBFile.read(str(shared_data / "structures" / "1l2y.pdb")).get_structure()
    stack = stack[:, stack.element != "H"]
    ensemble = read_shared("structures/1l2y.pdb")
    heavy = ensemble.select(~np.isin(ensemble.element, ["H", "D"]))
    reference = heavy.model(0)
    for k in (1, 7, 20):
        ours = A.lddt(heavy.model(k), reference, symmetric=False)
        # biotite counts |Δd| <= t, OpenStructure and we |Δd| < t: equal except on exact ties.
        assert ours.score == pytest.approx(float(bs.lddt(stack[0], stack[k])), abs=1e-9)
        np.testing.assert_allclose(ours.per_residue, bs.lddt(stack[0], stack[k], aggregation="residue"), atol=1e-9)
        ca = A.lddt(heavy.model(k), reference, atoms="CA")
        mask = stack[0].atom_name == "CA"
        assert ca.score == pytest.approx(float(bs.lddt(stack[0][mask], stack[k][mask])), abs=1e-9)
        # Resolving symmetric atoms can only help.
        assert A.lddt(heavy.model(k), reference).score >= ours.score


# -- SASA ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["1ubq", "1crn", "4hhb"])
def test_sasa_matches_mdtraj_shrake_rupley(
    read_shared: Callable[[str], Structure], shared_data: Path, name: str
) -> None:
    md = _peer("mdtraj")
    structure = read_shared(f"structures/{name}.pdb")
    ours = A.sasa(structure)
    traj = _mdtraj_load(shared_data / "structures" / f"{name}.pdb")
    traj = traj.atom_slice(traj.topology.select("not water"))
    theirs = md.shrake_rupley(traj, mode="atom")[0].astype(np.float64) * 100.0
    kept = ~np.isnan(ours.atom)
    assert kept.sum() == traj.n_atoms
    radii = np.array([A.VDW_RADII[a.element.symbol] + 1.4 for a in traj.topology.atoms])
    one_point = 4 * np.pi * radii**2 / 960
    # The same 960 points: atoms agree to one test point's area (float32 rounding at a
    # boundary), almost all exactly; totals to 1e-4.
    difference = np.abs(ours.atom[kept] - theirs)
    assert (difference <= one_point + 1e-3).all()
    assert (difference > 1e-3).mean() < 0.01
    assert ours.total == pytest.approx(theirs.sum(), rel=1e-4)


def test_sasa_matches_biotite_with_the_same_radii(read_shared: Callable[[str], Structure], shared_data: Path) -> None:
    _peer("biotite")
    import biotite.structure as bs
    import biotite.structure.io.pdb as bpdb

    atoms = bpdb.PDBFile.read(str(shared_data / "structures" / "1ubq.pdb")).get_structure(model=1)
    atoms = atoms[~bs.filter_solvent(atoms)]
    structure = read_shared("structures/1ubq.pdb")
    ours = A.sasa(structure, n_points=1000)
    radii = np.array([A.VDW_RADII[e.capitalize()] for e in atoms.element])
    theirs = bs.sasa(atoms, vdw_radii=radii, point_number=1000, ignore_ions=False)
    # Different point sets (biotite's Fibonacci lattice): totals within 0.5 %, atoms within 5 Å².
    assert ours.total == pytest.approx(np.nansum(theirs), rel=5e-3)
    assert np.nanmax(np.abs(ours.atom[~np.isnan(ours.atom)] - theirs)) < 5.0


# -- DSSP ---------------------------------------------------------------------------------------

GAP_FREE = ["1ubq", "1pga", "2lzm", "4hhb", "1hho", "1crn", "1aki"]
GAPPED = ["3o21", "2xhe", "1o1z", "7pbl"]


def _mdtraj_dssp(path: Path) -> np.ndarray:
    md = _peer("mdtraj")
    return md.compute_dssp(_mdtraj_load(path), simplified=False)[0]


@pytest.mark.parametrize("name", GAP_FREE + GAPPED)
def test_dssp_matches_mdtraj(read_shared: Callable[[str], Structure], shared_data: Path, name: str) -> None:
    structure = read_shared(f"structures/{name}.pdb")
    theirs = _mdtraj_dssp(shared_data / "structures" / f"{name}.pdb")
    protein = theirs != "NA"
    ours = A.dssp(structure)
    assert len(ours) == len(theirs)
    assert (ours[~protein] == "-").all()
    # MDTraj splits patterns only at chain boundaries; called the same way, the kernel agrees exactly.
    backbone = atom_table(structure, ("N", "CA", "C", "O"))
    chains = np.unique(structure.residues.chain_id, return_inverse=True)[1].astype(np.int64)
    codes, _, _ = dssp_kernel.assign(structure.coords, backbone, structure.residues.res_name == "PRO", chains)
    same_rule = np.array(list(dssp_kernel.CODES))[codes]
    np.testing.assert_array_equal(same_rule[protein], theirs[protein])
    agreement = (ours[protein] == theirs[protein]).mean()
    if name in GAP_FREE:
        assert agreement == 1.0
    else:
        # We also stop patterns at chain breaks (C-N > 2.5 Å), as DSSP itself does.
        assert agreement >= 0.98
    simplified = A.dssp(structure, simplified=True)
    assert set(simplified[protein]) <= {"H", "E", "C"}


# -- dihedrals ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["1ubq", "2lzm"])
def test_dihedrals_match_mdtraj(read_shared: Callable[[str], Structure], shared_data: Path, name: str) -> None:
    md = _peer("mdtraj")
    structure = read_shared(f"structures/{name}.pdb")
    traj = _mdtraj_load(shared_data / "structures" / f"{name}.pdb")
    ours = A.dihedrals(structure)
    residue_of = np.array([a.residue.index for a in traj.topology.atoms])
    for kind in ("phi", "psi", "omega", "chi1", "chi2", "chi3", "chi4"):
        indices, values = getattr(md, f"compute_{kind}")(traj)
        # MDTraj assigns phi to the residue of its N, the others to the residue of their
        # second atom: both are the residue the angle belongs to.
        owner = residue_of[indices[:, 1]] if kind != "omega" else residue_of[indices[:, 0]]
        expected = np.full(len(ours[kind]), np.nan)
        expected[owner] = np.degrees(values[0])
        defined = ~np.isnan(expected)
        assert (np.isnan(ours[kind]) == ~defined).all(), kind
        difference = (ours[kind][defined] - expected[defined] + 180.0) % 360.0 - 180.0
        np.testing.assert_allclose(difference, 0.0, atol=1e-3, err_msg=kind)


def test_nerf_rebuilds_a_real_backbone(read_shared: Callable[[str], Structure]) -> None:
    structure = read_shared("structures/1ubq.pdb")
    backbone = atom_table(structure, ("N", "CA", "C"))
    protein = (backbone >= 0).all(axis=1)
    chain = structure.coords[backbone[protein].reshape(-1)].astype(np.float64)
    from workbench.kernels import geometry

    references = np.array([[k, k + 1, k + 2] for k in range(len(chain) - 3)], dtype=np.int64)
    bonds, angles, torsions = geometry.internal_coordinates(chain, references, 3)
    rebuilt = A.place_atoms(chain[:3], references, bonds, np.degrees(angles), np.degrees(torsions))
    np.testing.assert_allclose(rebuilt, chain, atol=1e-6)


# -- invariants on real structures ----------------------------------------------------------------


def test_real_structure_invariants(read_shared: Callable[[str], Structure]) -> None:
    structure = read_shared("structures/1ubq.pdb")
    rng = np.random.default_rng(5)
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    rotation = q @ np.diag(np.sign(np.diag(r)))
    rotation *= np.sign(np.linalg.det(rotation))
    moved = structure.with_coords(structure.coords @ rotation.T + np.array([40.0, -25.0, 10.0]))
    assert A.rmsd(moved, structure, atoms="heavy") < 1e-3
    assert A.tm_score(moved, structure).tm_score == pytest.approx(1.0, abs=1e-6)
    assert A.lddt(moved, structure).score == pytest.approx(1.0)
    assert (A.dssp(moved) == A.dssp(structure)).all()
    np.testing.assert_allclose(A.dihedrals(moved)["phi"], A.dihedrals(structure)["phi"], atol=1e-3)
    # Sphere points are fixed in space, so SASA moves within the sampling error only.
    assert A.sasa(moved).total == pytest.approx(A.sasa(structure).total, rel=2e-3)
    assert len(A.clashes(structure)) == 0
    assert len(A.geometry_deviations(structure).outliers) <= 5
