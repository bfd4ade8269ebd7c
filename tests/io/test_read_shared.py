"""Every real structure in ../shared/data reads like gemmi and Biopython read it, and round-trips."""

from __future__ import annotations

import warnings

import gemmi
import numpy as np
import pytest
from Bio.PDB import MMCIFParser, PDBParser
from Bio.PDB.parse_pdb_header import parse_pdb_header

from tests.conftest import shared_files
from workbench import read_structure
from workbench.io import format_mmcif, format_pdb

STRUCTURES = shared_files("structures", "*.pdb", "*.cif") + shared_files("predicted", "*.pdb")
IDS = [p.name for p in STRUCTURES]

# File precision: PDB writes coordinates with 3 decimals, occupancy and B with 2.
COORD_TOL = 0.0005 + 1e-4  # half the last digit, plus float32 rounding of values up to ~1000 Å
PDB_BFACTOR_TOL = 0.005 + 1e-4


def gemmi_counts(path) -> tuple[int, int, int]:
    """Atoms, residues and distinct chain names of the first model, one conformer kept."""
    st = gemmi.read_structure(str(path))
    st.remove_alternative_conformations()
    model = st[0]
    atoms = sum(len(residue) for chain in model for residue in chain)
    residues = sum(len(chain) for chain in model)
    return atoms, residues, len({chain.name for chain in model})


def biopython_counts(path) -> tuple[int, int, int]:
    """The same counts from Biopython's parsers (disordered atoms count once)."""
    parser = MMCIFParser(QUIET=True) if path.suffix == ".cif" else PDBParser(QUIET=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = next(iter(parser.get_structure("x", str(path))))
    atoms = sum(1 for _ in model.get_atoms())
    residues = sum(1 for _ in model.get_residues())
    return atoms, residues, len({chain.id for chain in model})


@pytest.mark.parametrize("path", STRUCTURES, ids=IDS)
def test_counts_equal_gemmi(path):
    structure = read_structure(path)
    assert (structure.n_atoms, len(structure.residues), len(structure.chains)) == gemmi_counts(path)


@pytest.mark.parametrize("path", STRUCTURES, ids=IDS)
def test_counts_equal_biopython(path):
    structure = read_structure(path)
    assert (structure.n_atoms, len(structure.residues), len(structure.chains)) == biopython_counts(path)


@pytest.mark.parametrize("path", STRUCTURES, ids=IDS)
def test_models_match_file(path):
    """Every model of an ensemble is read, the last one with Biopython's coordinates for it."""
    structure = read_structure(path)
    assert structure.n_models == len(gemmi.read_structure(str(path)))
    if structure.n_models > 1:
        parser = MMCIFParser(QUIET=True) if path.suffix == ".cif" else PDBParser(QUIET=True)
        models = list(parser.get_structure("x", str(path)))
        assert len(models) == structure.n_models
        last = np.array([atom.coord for atom in models[-1].get_atoms()], dtype=np.float32)
        np.testing.assert_allclose(structure.ensemble[-1], last, atol=1e-5)


def assert_same_structure(a, b, *, coord_tol: float, b_tol: float) -> None:
    for name in ("atom_name", "element", "res_name", "res_id", "ins_code", "chain_id", "hetero"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    np.testing.assert_allclose(a.coords, b.coords, atol=coord_tol, rtol=0)
    np.testing.assert_allclose(a.b_factor, b.b_factor, atol=b_tol, rtol=0)
    np.testing.assert_allclose(a.occupancy, b.occupancy, atol=b_tol, rtol=0)
    assert a.n_models == b.n_models
    if a.ensemble is not None:
        np.testing.assert_allclose(a.ensemble, b.ensemble, atol=coord_tol, rtol=0)
    assert a.missing_residues == b.missing_residues
    assert a.sequences == b.sequences


@pytest.mark.parametrize("path", STRUCTURES, ids=IDS)
def test_pdb_round_trip(path):
    structure = read_structure(path)
    again = read_structure(format_pdb(structure), format="pdb")
    assert_same_structure(structure, again, coord_tol=COORD_TOL, b_tol=PDB_BFACTOR_TOL)


@pytest.mark.parametrize("path", STRUCTURES, ids=IDS)
def test_mmcif_round_trip(path):
    structure = read_structure(path)
    again = read_structure(format_mmcif(structure), format="mmcif")
    # gemmi writes mmCIF numbers with the float's shortest representation: no precision lost
    assert_same_structure(structure, again, coord_tol=1e-6, b_tol=1e-6)


def test_pdb_and_mmcif_of_one_entry_agree(shared_data):
    """1crn.pdb and 1crn.cif are the same deposition: same atoms, same annotations."""
    from_pdb = read_structure(shared_data / "structures" / "1crn.pdb")
    from_cif = read_structure(shared_data / "structures" / "1crn.cif")
    assert_same_structure(from_pdb, from_cif, coord_tol=1e-6, b_tol=1e-6)


def test_missing_residues_match_biopython_header(shared_data):
    for name in ("1o1z.pdb", "2xhe.pdb", "3o21.pdb", "7pbl.pdb"):
        path = shared_data / "structures" / name
        expected = parse_pdb_header(str(path))["missing_residues"]
        got = read_structure(path).missing_residues
        assert [(m.chain_id, m.res_name, m.res_id, m.ins_code) for m in got] == [
            (e["chain"], e["res_name"], e["ssseq"], e["insertion"] or "") for e in expected
        ], name


def test_selenomethionine_flagged_and_in_sequence(shared_data):
    structure = read_structure(shared_data / "structures" / "1a8o.pdb")
    modified = structure.modified_residues()
    assert [m[3] for m in modified] == ["MSE"] * 4
    hetatm_mse = {int(line[22:26]) for line in (shared_data / "structures" / "1a8o.pdb").read_text().splitlines()
                  if line.startswith("HETATM") and line[17:20] == "MSE"}
    assert {m[1] for m in modified} == hetatm_mse
    # SEQRES of 1A8O chain A, 70 residues, four of them MSE (M)
    seqres = [name for line in (shared_data / "structures" / "1a8o.pdb").read_text().splitlines()
              if line.startswith("SEQRES") for name in line[19:].split()]
    assert len(seqres) == 70
    expected = "".join("M" if r == "MSE" else gemmi.find_tabulated_residue(r).one_letter_code.upper()
                       for r in seqres)
    assert structure.sequences["A"] == expected


def test_altloc_highest_occupancy(shared_data):
    """1o1z has A/B altlocs; the kept atom of each pair is the one with the higher occupancy."""
    path = shared_data / "structures" / "1o1z.pdb"
    structure = read_structure(path)
    alternatives: dict[tuple, list[tuple[float, str, tuple[float, float, float]]]] = {}
    for line in path.read_text().splitlines():
        if line.startswith(("ATOM  ", "HETATM")) and line[16] != " ":
            key = (line[21], int(line[22:26]), line[26].strip(), line[12:16].strip())
            xyz = (float(line[30:38]), float(line[38:46]), float(line[46:54]))
            alternatives.setdefault(key, []).append((float(line[54:60]), line[16], xyz))
    assert alternatives, "1o1z should have alternate locations"
    checked = 0
    for (chain, res_id, icode, atom), options in alternatives.items():
        occupancies = [o for o, _, _ in options]
        if len(set(occupancies)) < 2:
            continue  # equal occupancy: the first is kept, checked in test_edge_cases
        best = max(options, key=lambda o: o[0])
        index = np.flatnonzero((structure.chain_id == chain) & (structure.res_id == res_id)
                               & (structure.ins_code == icode) & (structure.atom_name == atom))
        assert len(index) == 1
        np.testing.assert_allclose(structure.coords[index[0]], best[2], atol=1e-3)
        checked += 1
    assert checked > 0


def test_gzip_and_text_inputs_read_the_same(shared_data, tmp_path):
    import gzip

    path = shared_data / "structures" / "1crn.cif"
    gz = tmp_path / "crambin.cif.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    a, b, c = read_structure(path), read_structure(gz), read_structure(path.read_text())
    assert_same_structure(a, b, coord_tol=0, b_tol=0)
    assert_same_structure(a, c, coord_tol=0, b_tol=0)
    assert read_structure(path.read_bytes()).n_atoms == a.n_atoms
