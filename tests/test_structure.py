"""The Structure type: validation, immutability and the residue / chain views."""

from __future__ import annotations

import numpy as np
import pytest

from workbench import Structure, read_structure


def make(n_res: int = 3, chains: str = "A", **overrides) -> Structure:
    """Backbone-only residues (N, CA, C), ``n_res`` per chain, on a line 1.5 Å apart."""
    names, res_ids, chain_ids, res_names = [], [], [], []
    for chain in chains:
        for r in range(1, n_res + 1):
            names += ["N", "CA", "C"]
            res_ids += [r] * 3
            chain_ids += [chain] * 3
            res_names += ["ALA" if r % 2 else "MSE"] * 3
    n = len(names)
    fields = dict(
        coords=np.arange(n * 3, dtype=np.float64).reshape(n, 3) * 0.5,
        atom_name=names, element=[a[0] for a in names], res_name=res_names, res_id=res_ids,
        ins_code=[""] * n, chain_id=chain_ids, b_factor=np.linspace(0, 100, n), occupancy=np.ones(n),
        hetero=[name == "MSE" for name in res_names],
    )
    fields.update(overrides)
    return Structure(**fields)


def test_types_and_immutability():
    s = make()
    assert s.coords.dtype == np.float32 and s.coords.flags.c_contiguous
    assert s.res_id.dtype == np.int32 and s.hetero.dtype == bool
    with pytest.raises(ValueError):
        s.coords[0, 0] = 1.0
    with pytest.raises(AttributeError):
        s.coords = s.coords  # frozen dataclass


def test_input_arrays_are_copied():
    coords = np.zeros((3, 3))
    s = make(1, coords=coords)
    coords[0, 0] = 99
    assert s.coords[0, 0] == 0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"atom_name": ["N"]}, "atom_name has 1 entries for 9 atoms"),
        ({"coords": np.full((9, 3), np.nan)}, "atom 0 has a non-finite coordinate"),
        ({"ensemble": np.zeros((2, 8, 3))}, r"ensemble has shape \(2, 8, 3\)"),
    ],
)
def test_validation(overrides, message):
    with pytest.raises(ValueError, match=message):
        make(**overrides)


def test_residue_and_chain_views():
    s = make(3, "AB")
    assert s.chains == ("A", "B")
    assert len(s.residues) == 6
    assert s.residue_starts.tolist() == [0, 3, 6, 9, 12, 15, 18]
    assert s.residue_index.tolist() == [i // 3 for i in range(18)]
    assert s.residues.res_name.tolist() == ["ALA", "MSE", "ALA"] * 2
    assert s.sequences == {"A": "AMA", "B": "AMA"}
    assert s.modified_residues() == [("A", 2, "", "MSE"), ("B", 2, "", "MSE")]
    assert s.residues.label(1) == "A:MSE 2"


def test_same_number_new_chain_is_a_new_residue():
    """Residue 1 of chain A and residue 1 of chain B directly after it are two residues."""
    s = make(1, "AB")
    assert len(s.residues) == 2


def test_select_and_models():
    s = make(2)
    ensemble = np.stack([s.coords, s.coords + 1, s.coords + 2])
    multi = make(2, ensemble=ensemble)
    assert multi.n_models == 3
    assert np.array_equal(multi.model(2).coords, s.coords + 2)
    assert [m.n_models for m in multi.models()] == [1, 1, 1]
    ca = multi.select(multi.atom_name == "CA")
    assert ca.n_atoms == 2 and ca.ensemble.shape == (3, 2, 3)
    assert np.array_equal(ca.ensemble[1], s.coords[s.atom_name == "CA"] + 1)
    moved = s.with_coords(s.coords + 5)
    assert np.array_equal(moved.coords, s.coords + 5) and np.array_equal(s.coords, make(2).coords)
    with pytest.raises(IndexError):
        multi.model(3)


def test_hetero_groups_and_waters(shared_data):
    s = read_structure(shared_data / "structures" / "4hhb.pdb")
    text = (shared_data / "structures" / "4hhb.pdb").read_text().splitlines()
    het = [line for line in text if line.startswith("HET   ")]  # HET records: one per group instance
    expected: dict[str, int] = {}
    for line in het:
        expected[line[7:10].strip()] = expected.get(line[7:10].strip(), 0) + 1
    assert s.hetero_groups() == expected
    waters = {(line[21], line[22:27]) for line in text if line.startswith("HETATM") and line[17:20] == "HOH"}
    assert s.n_waters() == len(waters)


def test_frames_and_force_field_names():
    s = make(2)
    assert s.frames.shape == (1, s.n_atoms, 3)
    multi = make(2, ensemble=np.stack([s.coords, s.coords + 1]))
    assert multi.frames.shape == (2, s.n_atoms, 3)
    his = make(1, res_name=["HSD"] * 3, hetero=[False] * 3)
    assert his.sequences == {"A": "H"} and his.modified_residues() == []
