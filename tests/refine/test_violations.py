"""The violation check: each kind found where it was made, nothing on good structures, a brute-force reference.

AlphaFold2's constants used below as references are from ``alphafold/common/residue_constants.py``
(deepmind/alphafold): ``between_res_bond_length_c_n = [1.329, 1.341]``,
``between_res_bond_length_stddev_c_n = [0.014, 0.016]``, ``between_res_cos_angles_ca_c_n = [-0.4473, 0.0311]``
(of which ``all_atom.between_residue_bond_loss`` uses the mean, with the C-N σ 0.014), and the
``violation_tolerance_factor`` of 12 (``model/config.py``).
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from tests.refine.conftest import load
from workbench.refine import (
    GeometryModel,
    ViolationCriteria,
    create_system,
    find_violations,
    prepare_model,
)
from workbench.refine.violations import VDW_RADII, cis_trans_changes, peptide_states


@pytest.fixture(scope="module")
def crambin():
    prepared = prepare_model(load("1crn"))
    system = create_system(prepared.topology, solvent="vacuum", cutoff=None)
    return prepared, GeometryModel(prepared.topology, system, prepared.residue_labels)


def _atom(prepared, res_id: int, name: str) -> int:
    for atom in prepared.topology.atoms():
        if atom.residue.id == str(res_id) and atom.name == name:
            return atom.index
    raise KeyError((res_id, name))


def _within_three_bonds(topology, heavy) -> set[tuple[int, int]]:
    """Reference: breadth-first search from every heavy atom (an implementation independent of the module's)."""
    neighbours = {i: [] for i in range(topology.getNumAtoms())}
    for a, b in topology.bonds():
        if heavy[a.index] and heavy[b.index]:
            neighbours[a.index].append(b.index)
            neighbours[b.index].append(a.index)
    pairs = set()
    for start in np.flatnonzero(heavy):
        depth = {int(start): 0}
        queue = deque([int(start)])
        while queue:
            atom = queue.popleft()
            if depth[atom] < 3:
                for other in neighbours[atom]:
                    if other not in depth:
                        depth[other] = depth[atom] + 1
                        queue.append(other)
        pairs |= {(min(start, o), max(start, o)) for o in depth if o != start}
    return pairs


def _brute_force_clashes(prepared, coords, overlap=1.5) -> set[tuple[int, int]]:
    heavy = prepared.heavy
    index = np.flatnonzero(heavy)
    elements = [a.element.symbol for a in prepared.topology.atoms()]
    radius = np.array([VDW_RADII.get(e, 1.8) for e in elements])
    d = np.linalg.norm(coords[index][:, None] - coords[index][None], axis=-1)
    limit = radius[index][:, None] + radius[index][None] - overlap
    excluded = _within_three_bonds(prepared.topology, heavy)
    i, j = np.nonzero(np.triu(d < limit, k=1))
    return {(int(index[a]), int(index[b])) for a, b in zip(i, j, strict=True)} - excluded


def test_a_good_crystal_structure_has_no_violations(crambin):
    prepared, model = crambin
    violations = model.check(prepared.positions)
    assert len(violations) == 0 and violations.n_residues == 0 and not violations
    assert violations.counts == {"clash": 0, "bond": 0, "angle": 0, "peptide_bond": 0, "omega": 0, "chirality": 0}
    # Heavy-atom bonds: every one of the topology's bonds between heavy atoms has an ideal length.
    heavy = prepared.heavy
    n_heavy_bonds = sum(1 for a, b in prepared.topology.bonds() if heavy[a.index] and heavy[b.index])
    assert len(model.bonds) == n_heavy_bonds
    assert len(model.peptide) == prepared.topology.getNumResidues() - 1
    # Ideal values look like a protein's: C-N about 1.33 Å, N-CA-C about 110 degrees.
    assert 1.32 < model.peptide_ideal.mean() < 1.34


def test_stretched_bond_is_found_and_named(crambin):
    prepared, model = crambin
    coords = prepared.positions.copy()
    cb, cg = _atom(prepared, 10, "CB"), _atom(prepared, 10, "CG")
    direction = (coords[cg] - coords[cb]) / np.linalg.norm(coords[cg] - coords[cb])
    side = [a.index for a in list(prepared.topology.residues())[9].atoms()
            if a.name not in ("N", "CA", "C", "O", "CB", "H", "HA", "HB2", "HB3")]
    coords[side] += 0.5 * direction  # the whole side chain beyond CB moves out: only CB-CG stretches
    violations = model.check(coords)
    bonds = [v for v in violations.items if v.kind == "bond"]
    assert len(bonds) == 1
    assert set(bonds[0].atoms) == {"A:ARG 10 CB", "A:ARG 10 CG"}
    assert bonds[0].value == pytest.approx(np.linalg.norm(coords[cg] - coords[cb]), abs=1e-6)
    # Engh & Huber 2001, Arg CB-CG 1.521 ± 0.027 Å: the ideal is the table's, the stretch beyond 12 σ.
    assert bonds[0].ideal == pytest.approx(1.521)
    assert abs(bonds[0].value - bonds[0].ideal) > 12 * 0.027
    assert violations.residues == ("A:ARG 10",)


def test_clash_search_agrees_with_brute_force(crambin):
    prepared, model = crambin
    rng = np.random.default_rng(7)
    coords = prepared.positions.copy()
    coords[prepared.heavy] += rng.normal(0, 0.35, size=(int(prepared.heavy.sum()), 3))
    # And one forced clash: THR 21 OG1 onto CYS 26's N.
    og1, n26 = _atom(prepared, 21, "OG1"), _atom(prepared, 26, "N")
    coords[og1] = coords[n26] + [0.9, 0, 0]
    violations = model.check(coords)
    found = {tuple(sorted(model.atom_labels.index(label) for label in v.atoms)) for v in violations.items
             if v.kind == "clash"}
    expected = _brute_force_clashes(prepared, coords)
    assert found == expected
    assert (min(og1, n26), max(og1, n26)) in found
    clash = next(v for v in violations.items if v.kind == "clash" and "A:THR 21 OG1" in v.atoms)
    assert clash.ideal == pytest.approx(VDW_RADII["O"] + VDW_RADII["N"] - 1.5)
    assert {violations.residue_labels[r] for r in clash.residues} == {"A:THR 21", "A:CYS 26"}


def test_bent_angle_twisted_and_stretched_peptide(crambin):
    prepared, model = crambin
    residues = list(prepared.topology.residues())
    c, n = _atom(prepared, 30, "C"), _atom(prepared, 31, "N")
    after = np.array([a.index for r in residues[30:] for a in r.atoms()])
    axis = prepared.positions[n] - prepared.positions[c]
    axis /= np.linalg.norm(axis)

    # Stretch the peptide bond by 0.3 Å: a peptide_bond violation (tolerance 12 x 0.014 Å), nothing else.
    stretched = prepared.positions.copy()
    stretched[after] += 0.3 * axis
    kinds = {v.kind for v in model.check(stretched).items}
    assert kinds == {"peptide_bond"}

    # Rotate everything after the peptide bond by 90 degrees about it: omega is 90 degrees off.
    twisted = prepared.positions.copy()
    centre = twisted[n]
    angle = np.radians(90)
    k = axis
    v = twisted[after] - centre
    rotated = (v * np.cos(angle) + np.cross(k, v) * np.sin(angle) + np.outer(v @ k, k) * (1 - np.cos(angle)))
    twisted[after] = rotated + centre
    omega = [x for x in model.check(twisted).items if x.kind == "omega"]
    assert len(omega) == 1
    assert omega[0].atoms[1].endswith(" 30 C") and omega[0].atoms[2].endswith(" 31 N")
    assert min(abs(omega[0].value), 180 - abs(omega[0].value)) > 45

    # Bend N-CA-C of residue 12 by moving C (and what follows) 40 degrees about CA.
    bent = prepared.positions.copy()
    ca, cc = _atom(prepared, 12, "CA"), _atom(prepared, 12, "C")
    normal = np.cross(bent[_atom(prepared, 12, "N")] - bent[ca], bent[cc] - bent[ca])
    normal /= np.linalg.norm(normal)
    moved = np.array([cc, _atom(prepared, 12, "O")] + [a.index for r in residues[12:] for a in r.atoms()])
    v = bent[moved] - bent[ca]
    angle = np.radians(40)
    bent[moved] = (v * np.cos(angle) + np.cross(normal, v) * np.sin(angle)
                   + np.outer(v @ normal, normal) * (1 - np.cos(angle))) + bent[ca]
    angles = [x for x in model.check(bent).items if x.kind == "angle"]
    assert any(x.atoms == ("A:ASN 12 N", "A:ASN 12 CA", "A:ASN 12 C") or
               x.atoms == ("A:ASN 12 C", "A:ASN 12 CA", "A:ASN 12 N") for x in angles)


def test_criteria_change_what_counts(crambin):
    prepared, _ = crambin
    system = create_system(prepared.topology, cutoff=None)
    strict = GeometryModel(prepared.topology, system, prepared.residue_labels, ViolationCriteria(clash_overlap=0.0))
    # With no overlap allowed, hydrogen-bonded N...O pairs (about 2.9 Å < 1.55 + 1.52) count as clashes.
    assert strict.check(prepared.positions).counts["clash"] > 10
    tight = GeometryModel(prepared.topology, system, prepared.residue_labels, ViolationCriteria(n_sigma=0.5))
    assert tight.check(prepared.positions).counts["bond"] > 10
    # The fixed bond tolerance applies to the bonds Engh & Huber do not list: crambin's three disulfides and C-OXT.
    fallback = GeometryModel(prepared.topology, system, prepared.residue_labels,
                             ViolationCriteria(bond_tolerance=0.0))
    assert fallback.check(prepared.positions).counts["bond"] == 4
    assert (~fallback.bond_tabulated).sum() - len(fallback.peptide) == 4


def test_force_field_equilibria_lie_inside_the_windows(crambin):
    """ff14SB's equilibrium lengths and angles are within the Engh & Huber 2001 windows: a minimum can be clean."""
    from workbench.refine.violations import _force_field_terms

    for prepared, model in (crambin, _model("1ubq")):
        system = create_system(prepared.topology, solvent="vacuum", cutoff=None)
        bonds, lengths, angles, thetas = _force_field_terms(system, prepared.heavy)
        np.testing.assert_array_equal(bonds, model.bonds)
        inside = np.abs(lengths - model.bond_ideal) < model.bond_tolerance
        assert inside.all(), [model.atom_labels[i] for i in model.bonds[~inside].ravel()]
        theta = dict(zip(map(tuple, angles.tolist()), thetas, strict=True))
        ff = np.array([theta[tuple(t)] for t in model.angles.tolist()])
        assert (np.abs(ff - model.angle_ideal) < model.angle_tolerance).all()
        assert model.angle_tabulated.mean() > 0.95 and model.bond_tabulated.mean() > 0.5


def _model(name: str):
    prepared = prepare_model(load(name))
    return prepared, GeometryModel(prepared.topology, create_system(prepared.topology, solvent="vacuum", cutoff=None),
                                   prepared.residue_labels)


def test_legacy_criteria_load():
    old = {"clash_overlap": 1.5, "bond_tolerance": 0.24, "angle_tolerance": 24.0, "peptide_bond_tolerance": 0.17,
           "omega_tolerance": 45.0}
    assert ViolationCriteria.from_dict(old) == ViolationCriteria(omega_tolerance=45.0)
    assert ViolationCriteria.from_dict(ViolationCriteria().to_dict()) == ViolationCriteria()


def _rotate(x: np.ndarray, moved: np.ndarray, origin: np.ndarray, axis: np.ndarray, degrees: float) -> None:
    """Rotate ``x[moved]`` in place by ``degrees`` about ``axis`` through ``origin`` (Rodrigues)."""
    k = axis / np.linalg.norm(axis)
    v = x[moved] - origin
    t = np.radians(degrees)
    x[moved] = v * np.cos(t) + np.cross(k, v) * np.sin(t) + np.outer(v @ k, k) * (1 - np.cos(t)) + origin


def _omega(x, a, b, c, d) -> float:
    """Plain-numpy IUPAC dihedral, degrees."""
    b0, b1, b2 = x[a] - x[b], x[c] - x[b], x[d] - x[c]
    b1 = b1 / np.linalg.norm(b1)
    v, w = b0 - (b0 @ b1) * b1, b2 - (b2 @ b1) * b1
    return float(np.degrees(np.arctan2(np.cross(b1, v) @ w, v @ w)))


def _angle(x, a, b, c) -> float:
    u, v = x[a] - x[b], x[c] - x[b]
    return float(np.degrees(np.arccos(u @ v / np.linalg.norm(u) / np.linalg.norm(v))))


def test_a_twisted_peptide_is_flagged(crambin):
    """Issue 17's twisted peptide: omega -39 degrees, CA-C-N opened to 129 degrees (crambin, one peptide changed).

    AlphaFold2 flags its CA-C-N: |cos(129) - (-0.4473)| = 0.182 > 12 x 0.014 = 0.168. The check before issue 17
    (omega 45 degrees, angles 24 degrees from ff14SB's 116.6; commit ac21e03) found neither the twist nor the
    angle here, only the clash below. The rest of the chain turns as a rigid body about the peptide bond, so it
    may clash with the other side (here Thr 1 OG1 with Ile 34 CG2): that is the construction's, and not asserted
    either way.
    """
    prepared, model = crambin
    x = prepared.positions.copy()
    assert len(model.check(x)) == 0
    residues = list(prepared.topology.residues())
    ca, c, n, ca2 = _atom(prepared, 1, "CA"), _atom(prepared, 1, "C"), _atom(prepared, 2, "N"), _atom(prepared, 2, "CA")
    after = np.array([a.index for r in residues[1:] for a in r.atoms()])  # residue 2 onwards (disulfides inside)
    _rotate(x, after, x[n], x[n] - x[c], -39.0 - _omega(x, ca, c, n, ca2))
    _rotate(x, after, x[c], np.cross(x[ca] - x[c], x[n] - x[c]), 129.0 - _angle(x, ca, c, n))  # opens CA-C-N
    assert _omega(x, ca, c, n, ca2) == pytest.approx(-39.0, abs=0.01)
    assert _angle(x, ca, c, n) == pytest.approx(129.0, abs=0.01)
    assert abs(np.cos(np.radians(129.0)) + 0.4473) > 12 * 0.014  # what AlphaFold2 computes: a violation

    found = model.check(x)
    omega = [v for v in found.items if v.kind == "omega"]
    assert [v.atoms for v in omega] == [tuple(model.atom_labels[i] for i in (ca, c, n, ca2))]
    assert omega[0].value == pytest.approx(-39.0, abs=0.01) and omega[0].ideal == 0.0
    angle = [v for v in found.items if v.kind == "angle"]
    assert [set(v.atoms) for v in angle] == [{model.atom_labels[i] for i in (ca, c, n)}]
    assert angle[0].value == pytest.approx(129.0, abs=0.01)
    assert angle[0].ideal == pytest.approx(np.degrees(np.arccos(-0.4473)), abs=1e-6)  # 116.568
    assert {"A:THR 1", "A:THR 2"} <= set(found.residues)
    assert not [v for v in found.items if v.kind in ("bond", "peptide_bond", "chirality")]

    # Either distortion alone is caught by its own check.
    twisted = prepared.positions.copy()
    _rotate(twisted, after, twisted[n], twisted[n] - twisted[c], -39.0 - _omega(twisted, ca, c, n, ca2))
    assert {v.kind for v in model.check(twisted).items} - {"clash"} == {"omega"}
    opened = prepared.positions.copy()
    _rotate(opened, after, opened[c], np.cross(opened[ca] - opened[c], opened[n] - opened[c]),
            129.0 - _angle(opened, ca, c, n))
    assert {v.kind for v in model.check(opened).items} == {"angle"}
    # AlphaFold2's CA-C-N window is 106.2-128.0 degrees: 127.5 passes, 128.5 does not.
    for degrees, flagged in ((127.5, False), (128.5, True)):
        y = prepared.positions.copy()
        _rotate(y, after, y[c], np.cross(y[ca] - y[c], y[n] - y[c]), degrees - _angle(y, ca, c, n))
        assert bool(model.check(y).counts["angle"]) is flagged


def test_peptide_states_and_cis_trans_changes(crambin):
    prepared, model = crambin
    assert peptide_states(np.array([0.0, -29.9, 30.1, 149.9, 150.1, -180.0])).tolist() == [
        "cis", "cis", "twisted", "twisted", "trans", "trans"]
    x = prepared.positions.copy()
    assert cis_trans_changes(model, x, x) == ()
    residues = list(prepared.topology.residues())
    c, n = _atom(prepared, 30, "C"), _atom(prepared, 31, "N")
    after = np.array([a.index for r in residues[30:] for a in r.atoms()])
    cis = x.copy()
    _rotate(cis, after, cis[n], cis[n] - cis[c], 180.0)  # trans -> cis (and the chain beyond swings)
    label = f"{prepared.residue_labels[29]} - {prepared.residue_labels[30]}"
    assert cis_trans_changes(model, x, cis) == (f"{label} trans -> cis",)
    assert cis_trans_changes(model, cis, x) == (f"{label} cis -> trans",)
    # Twisted (omega about 90) to trans is a repair, not a change; twisted to cis is.
    twisted = x.copy()
    _rotate(twisted, after, twisted[n], twisted[n] - twisted[c], 90.0)
    assert cis_trans_changes(model, twisted, x) == ()
    assert cis_trans_changes(model, twisted, cis) == (f"{label} twisted -> cis",)


def test_find_violations_on_plain_structures():
    structure = load("1crn")
    assert len(find_violations(structure)) == 0  # heavy atoms only: hydrogens are added for the check
    coords = structure.coords.copy()
    i = np.flatnonzero((structure.res_id == 21) & (structure.atom_name == "OG1"))[0]
    j = np.flatnonzero((structure.res_id == 26) & (structure.atom_name == "N"))[0]
    coords[i] = coords[j] + [0.9, 0, 0]
    violations = find_violations(structure.with_coords(coords))
    assert violations.counts["clash"] >= 1
    assert "A:THR 21" in violations.residues and "A:CYS 26" in violations.residues
    incomplete = structure.select(~((structure.res_id == 10) & (structure.atom_name == "CZ")))
    with pytest.raises(ValueError, match="prepare it first"):
        find_violations(incomplete)


def test_violations_to_dict_is_json_ready(crambin):
    prepared, model = crambin
    coords = prepared.positions.copy()
    coords[_atom(prepared, 21, "OG1")] = coords[_atom(prepared, 26, "N")] + [0.9, 0, 0]
    data = model.check(coords).to_dict(limit=1)
    assert data["n_violations"] >= 1 and len(data["violations"]) == 1
    assert data["truncated"] == (data["n_violations"] > 1)
    assert "A:THR 21" in data["residues"]


def test_agrees_with_workbench_analysis_clashes_where_both_apply():
    """Cross-check with the geometry kernels of workbench.analysis (issue 3), when they are installed."""
    quality = pytest.importorskip("workbench.analysis.quality")
    structure = load("1crn")
    coords = structure.coords.copy()
    i = np.flatnonzero((structure.res_id == 21) & (structure.atom_name == "OG1"))[0]
    j = np.flatnonzero((structure.res_id == 26) & (structure.atom_name == "N"))[0]
    coords[i] = coords[j] + [0.9, 0, 0]
    moved = structure.with_coords(coords)
    theirs = quality.clashes(moved)
    their_pairs = {tuple(sorted((f"{structure.res_id[a]} {structure.atom_name[a]}",
                                 f"{structure.res_id[b]} {structure.atom_name[b]}"))) for a, b in theirs.atoms}
    ours = find_violations(moved)
    our_pairs = {tuple(sorted(" ".join(label.split()[1:]) for label in v.atoms)) for v in ours.items
                 if v.kind == "clash"}
    assert our_pairs == their_pairs and len(our_pairs) >= 1
