"""The public analysis API on Structure objects: validation, pairing, invariants (no data files needed)."""

from __future__ import annotations

import dataclasses
import importlib

import numpy as np
import pytest

from workbench import Structure
from workbench import analysis as A


def _helix(n: int = 20, **kw: object) -> Structure:
    return A.build_backbone([-57.0] * n, [-47.0] * n, **kw)


def _rotation(seed: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    q = q @ np.diag(np.sign(np.diag(r)))
    return q if np.linalg.det(q) > 0 else -q


def _moved(s: Structure, seed: int = 0) -> Structure:
    return s.with_coords(s.coords @ _rotation(seed).T + np.array([30.0, -12.0, 4.0]))


def _noisy(s: Structure, sigma: float, seed: int = 1) -> Structure:
    return s.with_coords(s.coords + np.random.default_rng(seed).normal(size=s.coords.shape) * sigma)


def test_selections_use_amino_acids_only() -> None:
    helix = _helix(3)
    calcium = Structure(
        coords=[[50, 50, 50]],
        atom_name=["CA"],
        element=["Ca"],
        res_name=["CA"],
        res_id=[100],
        ins_code=[""],
        chain_id=["A"],
        b_factor=[0],
        occupancy=[1],
        hetero=[True],
    )
    both = _concatenate(helix, calcium)
    assert list(A.select_atoms(both, "CA")) == [1, 5, 9]
    assert len(A.select_atoms(both, "backbone")) == 12
    assert len(A.select_atoms(both, "heavy")) == 12
    with pytest.raises(ValueError, match="atoms must be one of"):
        A.select_atoms(both, "sidechain")  # type: ignore[arg-type]


def _concatenate(a: Structure, b: Structure) -> Structure:
    fields = {}
    for field in dataclasses.fields(Structure):
        value = getattr(a, field.name)
        if isinstance(value, np.ndarray) and field.name != "ensemble":
            fields[field.name] = np.concatenate([value, getattr(b, field.name)])
    return Structure(**fields)


def test_rmsd_pairs_by_chain_and_residue_number() -> None:
    reference = _helix(20)
    model = _noisy(_moved(reference), 0.5)
    expected = A.rmsd(model, reference)
    # Dropping residues from the model pairs the remaining ones.
    trimmed = model.select(model.res_id > 3)
    assert A.rmsd(trimmed, reference) == pytest.approx(A.rmsd(trimmed, reference.select(reference.res_id > 3)))
    # Reordering atoms does not matter: pairing is by key, not by position.
    shuffled = model.select(np.random.default_rng(3).permutation(model.n_atoms))
    assert A.rmsd(shuffled, reference) == pytest.approx(expected, abs=1e-6)
    # Renumbering breaks the pairing.
    renumbered = dataclasses.replace(model, res_id=model.res_id + 100)
    with pytest.raises(ValueError, match="share no CA atom"):
        A.rmsd(renumbered, reference)
    other_chain = dataclasses.replace(model, chain_id=np.full(model.n_atoms, "B"))
    with pytest.raises(ValueError, match="chains"):
        A.rmsd(other_chain, reference)


def test_rmsd_invariants() -> None:
    reference = _helix(15)
    assert A.rmsd(reference, reference) < 1e-5
    assert A.rmsd(_moved(reference), reference) < 1e-4
    assert A.rmsd(_moved(reference), reference, superpose=False) > 10
    noisy = _noisy(reference, 0.4)
    for atoms in ("CA", "backbone", "heavy", "all"):
        assert A.rmsd(_moved(noisy, 5), reference, atoms=atoms) == pytest.approx(
            A.rmsd(noisy, reference, atoms=atoms), abs=1e-4
        )


def test_duplicate_keys_are_refused() -> None:
    helix = _helix(4)
    doubled = _concatenate(helix, helix)
    with pytest.raises(ValueError, match="more than one atom"):
        A.rmsd(doubled, helix)


def test_superpose_returns_moved_structure() -> None:
    reference = _helix(12)
    model = _noisy(_moved(reference, 7), 0.2)
    moved, fit = A.superpose(model, reference, atoms="backbone")
    assert fit.n_atoms == 48
    assert fit.rmsd == pytest.approx(A.rmsd(model, reference, atoms="backbone"), abs=1e-6)
    assert A.rmsd(moved, reference, atoms="backbone", superpose=False) == pytest.approx(fit.rmsd, abs=1e-4)
    np.testing.assert_allclose(fit.apply(model.coords), moved.coords, atol=1e-5)


def test_rmsd_many_and_matrix_validate_and_agree() -> None:
    reference = _helix(10)
    frames = np.stack([_noisy(reference, s, seed=i).coords for i, s in enumerate([0, 0.3, 1.0])])
    values = A.rmsd_many(frames, reference.coords)
    assert values[0] < 1e-5
    assert values[1] == pytest.approx(A.rmsd(reference.with_coords(frames[1]), reference, atoms="all"), abs=1e-4)
    matrix = A.rmsd_matrix(frames)
    np.testing.assert_allclose(matrix[0], values, atol=1e-4)
    rotations, translations, fits = A.superpose_many(frames, reference.coords)
    np.testing.assert_allclose(fits, values, atol=1e-4)
    assert rotations.shape == (3, 3, 3) and translations.shape == (3, 3)
    bad = frames.copy()
    bad[2, 5, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN or infinite coordinate \(frame 2, atom 5\)"):
        A.rmsd_many(bad, reference.coords)
    with pytest.raises(ValueError, match="NaN"):
        A.rmsd_many(frames, np.where(np.arange(40)[:, None] == 3, np.inf, reference.coords))
    with pytest.raises(ValueError, match="atoms but the reference has"):
        A.rmsd_many(frames[:, :-1], reference.coords)
    with pytest.raises(ValueError, match="shape"):
        A.rmsd_many(frames[0], reference.coords)
    with pytest.raises(ValueError, match="no atoms"):
        A.rmsd_many(np.zeros((2, 0, 3)), np.zeros((0, 3)))


def test_precentred_rmsd_agrees_and_validates() -> None:
    reference = _helix(10)
    frames = np.stack([_noisy(_moved(reference, i), s, seed=i).coords for i, s in enumerate([0, 0.3, 1.0, 2.0])])
    centred = A.centre_frames(frames)
    assert centred.n_frames == 4 and centred.n_atoms == 40
    assert centred.xyz.shape == (4, 3, 40) and centred.xyz.dtype == np.float32
    assert centred.coords.shape == (4, 40, 3)
    np.testing.assert_allclose(centred.coords.mean(axis=1), 0.0, atol=1e-4)
    np.testing.assert_allclose(centred.centres, frames.astype(np.float64).mean(axis=1), rtol=1e-6)
    assert not centred.xyz.flags.writeable and not centred.traces.flags.writeable
    values = A.rmsd_centred(centred, A.centre_frames(reference.coords[None]))
    np.testing.assert_allclose(values, A.rmsd_many(frames, reference.coords), atol=1e-4)
    assert values[0] < 1e-5  # the moved reference itself
    np.testing.assert_array_equal(A.rmsd_centred(centred, centred, -4), A.rmsd_centred(centred, centred, 0))
    matrix = A.rmsd_matrix(centred)
    np.testing.assert_array_equal(matrix, A.rmsd_matrix(frames))
    np.testing.assert_allclose(matrix[2], A.rmsd_centred(centred, centred, 2), atol=1e-5)
    bad = frames.copy()
    bad[3, 7, 0] = np.inf
    with pytest.raises(ValueError, match=r"NaN or infinite coordinate \(frame 3, atom 7\)"):
        A.centre_frames(bad)
    with pytest.raises(ValueError, match=r"NaN or infinite coordinate \(frame 3, atom 7\)"):
        A.rmsd_matrix(bad)
    with pytest.raises(ValueError, match="atoms but the reference has"):
        A.rmsd_centred(centred, A.centre_frames(frames[:, :-1]))
    with pytest.raises(ValueError, match="reference frame 4 is out of range for 4 frames"):
        A.rmsd_centred(centred, centred, 4)
    with pytest.raises(TypeError, match="CentredFrames"):
        A.rmsd_centred(frames, centred)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no atoms"):
        A.centre_frames(np.zeros((2, 0, 3)))


def test_rmsd_matrix_in_blocks_equals_one_block(monkeypatch: pytest.MonkeyPatch) -> None:
    module = importlib.import_module("workbench.analysis.superpose")  # the name is also a function
    rng = np.random.default_rng(3)
    frames = (rng.normal(size=(1, 30, 3)) * 8 + rng.normal(size=(11, 30, 3))).astype(np.float32)
    whole = A.rmsd_matrix(frames)
    monkeypatch.setattr(module, "_MATRIX_BLOCK_FRAMES", 4)  # blocks of 4, 4 and 3 frames
    np.testing.assert_allclose(A.rmsd_matrix(frames), whole, atol=1e-12)


def test_tm_score_invariants() -> None:
    reference = _helix(30)
    self_score = A.tm_score(reference, reference)
    assert self_score.tm_score == pytest.approx(1.0, abs=1e-9)
    assert self_score.gdt_ts == 1.0 and self_score.gdt_ha == 1.0 and self_score.n_aligned == 30
    model = _noisy(reference, 1.0)
    a = A.tm_score(model, reference)
    b = A.tm_score(_moved(model, 3), reference)
    assert a.tm_score == pytest.approx(b.tm_score, abs=1e-6)
    assert 0 < a.tm_score < 1 and 0 < a.gdt_ha <= a.gdt_ts <= 1
    # Normalised by the reference: a model with half the residues scores about half.
    half = A.tm_score(reference.select(reference.res_id <= 15), reference)
    assert half.tm_score == pytest.approx(0.5, abs=1e-6)
    assert half.reference_length == 30 and half.n_aligned == 15


def test_lddt_invariants_and_missing_atoms() -> None:
    reference = _helix(20)
    assert A.lddt(reference, reference).score == 1.0
    assert A.lddt(_moved(reference), reference).score == pytest.approx(1.0)
    model = _noisy(reference, 0.6)
    full = A.lddt(model, reference)
    assert 0 < full.score < 1
    assert full.per_residue.shape == (20,) and list(full.res_id) == list(range(1, 21))
    # Residues missing from the model lose their contacts.
    partial = A.lddt(model.select(model.res_id != 10), reference)
    assert partial.score < full.score
    assert np.isnan(partial.per_residue[9]) is np.False_ and partial.per_residue[9] == 0.0
    ca = A.lddt(model, reference, atoms="CA")
    assert 0 < ca.score < 1
    with pytest.raises(ValueError, match="inclusion_radius"):
        A.lddt(model, reference, inclusion_radius=0)
    with pytest.raises(ValueError, match="thresholds"):
        A.lddt(model, reference, thresholds=())
    with pytest.raises(ValueError, match="atoms must be"):
        A.lddt(model, reference, atoms="backbone")  # type: ignore[arg-type]


def test_lddt_resolves_symmetric_side_chains() -> None:
    # An aspartate side chain on residue 5 of a helix, with OD1/OD2 named the other way in the model.
    reference = _helix(10)
    ca5 = reference.coords[(reference.res_id == 5) & (reference.atom_name == "CA")][0]
    extra = np.array([[1.5, 0, 0], [2.3, 1.2, 0], [2.0, 2.3, 0.5], [3.3, 1.0, -0.6]]) + ca5 + [0, 0, 1.5]
    names = ["CB", "CG", "OD1", "OD2"]
    side = Structure(
        coords=extra,
        atom_name=names,
        element=["C", "C", "O", "O"],
        res_name=["ASP"] * 4,
        res_id=[5] * 4,
        ins_code=[""] * 4,
        chain_id=["A"] * 4,
        b_factor=[0] * 4,
        occupancy=[1] * 4,
        hetero=[False] * 4,
    )
    merged = _concatenate(reference, side)
    order = np.lexsort((np.arange(merged.n_atoms), merged.res_id))
    merged = merged.select(order)
    merged = dataclasses.replace(merged, res_name=np.where(merged.res_id == 5, "ASP", merged.res_name))
    swapped_names = merged.atom_name.copy()
    od1, od2 = swapped_names == "OD1", swapped_names == "OD2"
    swapped_names[od1], swapped_names[od2] = "OD2", "OD1"
    model = dataclasses.replace(merged, atom_name=swapped_names)
    resolved = A.lddt(model, merged)
    assert resolved.score == 1.0 and resolved.n_swapped == 1
    plain = A.lddt(model, merged, symmetric=False)
    assert plain.score < 1.0 and plain.n_swapped == 0


def test_nerf_dihedral_round_trip_through_structures() -> None:
    rng = np.random.default_rng(11)
    phi = rng.uniform(-170, -40, 25)
    psi = rng.uniform(-60, 170, 25)
    omega = rng.uniform(170, 190, 25)
    backbone = A.build_backbone(phi, psi, omega, sequence="ACDEFGHIKLMNPQRSTVWYACDEF")
    angles = A.dihedrals(backbone, ["phi", "psi", "omega"])
    assert np.isnan(angles["phi"][0]) and np.isnan(angles["psi"][-1]) and np.isnan(angles["omega"][-1])
    wrap = lambda a: (a + 180.0) % 360.0 - 180.0  # noqa: E731
    np.testing.assert_allclose(wrap(angles["phi"][1:] - phi[1:]), 0, atol=1e-3)
    np.testing.assert_allclose(wrap(angles["psi"][:-1] - psi[:-1]), 0, atol=1e-3)
    np.testing.assert_allclose(wrap(angles["omega"][:-1] - omega[:-1]), 0, atol=1e-3)
    deviations = A.geometry_deviations(backbone)
    assert len(deviations.outliers) == 0  # ideal geometry is ideal
    peptide = deviations.value[deviations.kind == "C-N"]
    np.testing.assert_allclose(peptide, 1.329, atol=1e-5)


def test_chain_breaks_leave_dihedrals_undefined() -> None:
    helix = _helix(10)
    coords = helix.coords.copy()
    coords[helix.res_id > 5] += np.array([0.0, 0.0, 8.0], dtype=np.float32)  # break between 5 and 6
    broken = helix.with_coords(coords)
    angles = A.dihedrals(broken, ["phi", "psi"])
    assert np.isnan(angles["psi"][4]) and np.isnan(angles["phi"][5])
    assert not np.isnan(angles["psi"][3])
    codes = A.dssp(broken)
    assert codes.shape == (10,)


def test_place_atoms_validation() -> None:
    seed = np.eye(3)
    with pytest.raises(ValueError, match="before"):
        A.place_atoms(seed, [[0, 1, 3]], [1.5], [110], [60])
    with pytest.raises(ValueError, match="NaN"):
        A.place_atoms(seed, [[0, 1, 2]], [np.nan], [110], [60])
    with pytest.raises(ValueError, match="seed"):
        A.place_atoms(seed[:2], [[0, 1, 2]], [1.5], [110], [60])


def test_dssp_codes_and_hydrogen_bonds() -> None:
    helix = _helix(14)
    assert "".join(A.dssp(helix)) == " " + "H" * 12 + " "
    assert "".join(A.dssp(helix, simplified=True)) == "C" + "H" * 12 + "C"
    pairs, energies = A.hydrogen_bonds(helix)
    assert (pairs[:, 0] - pairs[:, 1] == 4).sum() >= 9 and (energies < -0.5).all()


def test_sasa_basic_properties() -> None:
    helix = _helix(8, sequence="GAGAGAGA")
    result = A.sasa(helix)
    assert result.atom.shape == (32,) and result.residue.shape == (8,)
    assert result.total == pytest.approx(np.nansum(result.atom))
    assert result.total == pytest.approx(result.residue.sum())
    np.testing.assert_allclose(result.relative, result.residue / np.tile([104.0, 129.0], 4))
    bigger_probe = A.sasa(helix, probe_radius=2.0)
    assert bigger_probe.total > result.total
    assert A.sasa(_moved(helix)).total == pytest.approx(result.total, rel=0.01)
    with pytest.raises(ValueError, match="probe_radius"):
        A.sasa(helix, probe_radius=-1)
    with pytest.raises(ValueError, match="n_points"):
        A.sasa(helix, n_points=0)


def test_clashes_and_outliers_are_found() -> None:
    helix = _helix(12)
    assert len(A.clashes(helix)) == 0  # peptide C-N bonds are not clashes
    coords = helix.coords.copy()
    o3 = np.flatnonzero((helix.res_id == 3) & (helix.atom_name == "O"))[0]
    n10 = np.flatnonzero((helix.res_id == 10) & (helix.atom_name == "N"))[0]
    coords[n10] = coords[o3] + np.array([0.8, 0, 0], np.float32)
    clashing = helix.with_coords(coords)
    found = A.clashes(clashing)
    assert len(found) >= 1
    assert (found.atoms == [o3, n10]).all(axis=1).any()
    deviations = A.geometry_deviations(clashing)
    assert deviations.bond_outliers >= 1 and deviations.angle_outliers >= 1
    assert set(np.unique(deviations.residue[deviations.outliers])) <= {8, 9, 10}


def test_geometry_helpers() -> None:
    helix = _helix(20)
    rg = A.radius_of_gyration(helix, atoms="CA")
    coords = helix.coords[A.select_atoms(helix, "CA")].astype(float)
    assert rg == pytest.approx(np.sqrt(((coords - coords.mean(0)) ** 2).sum(1).mean()))
    assert A.radius_of_gyration(helix, mass_weighted=True) > 0
    distances = A.distance_map(helix)
    assert distances.shape == (20, 20) and np.allclose(distances, distances.T)
    contact = A.contact_map(helix, cutoff=6.0)
    np.testing.assert_array_equal(contact, (distances < 6.0) | np.eye(20, dtype=bool))
    first, second, d = A.contacts(helix.coords, 4.0)
    assert (d < 4.0).all() and (first < second).all()


def test_insertion_codes_and_chains_are_part_of_the_key() -> None:
    a = _helix(6)
    # Residue 3 becomes 2A: same number as residue 2, told apart by the insertion code.
    ins = np.where(a.res_id == 3, "A", "")
    res_id = np.where(a.res_id == 3, 2, a.res_id)
    reference = dataclasses.replace(a, res_id=res_id, ins_code=ins)
    model = _noisy(_moved(reference), 0.3)
    model_index, reference_index = A.pair_atoms(model, reference, "CA")
    assert len(model_index) == 6
    np.testing.assert_array_equal(model.ins_code[model_index], reference.ins_code[reference_index])
    # Without the insertion code in the model, 2 and 2A collide: refused, not paired arbitrarily.
    plain = dataclasses.replace(model, ins_code=np.full(model.n_atoms, ""))
    with pytest.raises(ValueError, match="more than one atom"):
        A.pair_atoms(plain, reference, "CA")
    with pytest.raises(ValueError, match="no partner"):
        A.pair_atoms(model.select(model.res_id != 5), reference, "CA", require_all=True)
