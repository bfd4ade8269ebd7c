"""Ligands, cofactors, ions and modified residues: typed records, warnings, a restrained pocket, --keep-ligands.

The structure is 1HHO (oxy-haemoglobin, X-ray), chain A: a haem (HEM 143, a cofactor), its bound oxygen
(OXY 150), a phosphate (PO4 142) and waters. 1A8O's four selenomethionines are the modified residues.
The pocket is checked against plain numpy distances on the input file, not against the code's own search.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import workbench
import workbench.refine.relax as relax
from tests.refine.conftest import load, structure_path
from workbench.cli import main
from workbench.refine import RefineConfig, prepare_model, refine
from workbench.refine.prepare import preparation_warnings

GROUPS = {"A:PO4 142": "ligand", "A:HEM 143": "cofactor", "A:OXY 150": "ligand"}


def _chain_a():
    structure = load("1hho")
    return structure.select(structure.chain_id == "A")


def _numpy_pocket(structure, radius: float = 5.0) -> set[str]:
    """Labels of amino-acid residues with a heavy atom within ``radius`` Å of a heavy atom of HEM, OXY or PO4."""
    heavy = structure.element != "H"
    ligand = heavy & np.isin(structure.res_name, ("HEM", "OXY", "PO4"))
    protein = heavy & structure.polymer
    d = np.linalg.norm(structure.coords[protein][:, None, :].astype(float)
                       - structure.coords[ligand][None, :, :].astype(float), axis=2)
    near = np.flatnonzero(protein)[(d <= radius).any(axis=1)]
    return {structure.residues.label(int(r)) for r in np.unique(structure.residue_index[near])}


def test_removed_groups_are_typed_records_and_one_warning_per_kind():
    prepared = prepare_model(_chain_a())
    report = prepared.report
    assert {h.label: h.kind for h in report.heterogens} == GROUPS
    assert all(h.replaced_by is None and h.chain == "A" for h in report.heterogens)
    assert report.removed_waters == int(np.sum(_chain_a().residues.res_name == "HOH"))  # waters: counted only
    warnings = preparation_warnings(report)
    assert len(warnings) == 2 and all("\n" not in w for w in warnings)
    assert warnings[0].startswith("removed 2 ligands (A:PO4 142, A:OXY 150)")
    assert warnings[1].startswith("removed 1 cofactor (A:HEM 143)") and "keep-ligands" in warnings[1]
    assert "pocket residue(s)" in warnings[0] and "pocket" not in warnings[1]  # said once
    assert report.to_dict()["heterogens"][1] == {"label": "A:HEM 143", "res_name": "HEM", "chain": "A",
                                                 "res_id": 143, "ins_code": "", "kind": "cofactor",
                                                 "replaced_by": None}


def test_modified_residues_are_records_with_their_parent_and_a_warning():
    report = prepare_model(load("1a8o")).report
    modified = [h for h in report.heterogens if h.kind == "modified residue"]
    assert len(modified) == 4 and {(h.res_name, h.replaced_by) for h in modified} == {("MSE", "MET")}
    (line,) = [w for w in preparation_warnings(report) if w.startswith("replaced")]
    assert line.startswith("replaced 4 modified residues by the standard parent: ")
    assert f"{modified[0].label} -> MET" in line


def test_the_pocket_is_the_plain_numpy_5_angstrom_neighbour_set():
    structure = _chain_a()
    prepared = prepare_model(structure)
    expected = _numpy_pocket(structure)
    assert 10 < len(expected) < 60  # the haem pocket, not the protein
    assert set(prepared.report.pocket_residues) == expected
    assert [prepared.residue_labels[r] for r in prepared.pocket] == list(prepared.report.pocket_residues)


def test_refine_warns_naming_the_ligand_and_removes_it(tmp_path, capsys):
    out = tmp_path / "relaxed.pdb"
    status = main(["refine", str(structure_path("1hho")), "-o", str(out), "--chains", "A", "--platform", "CPU",
                   "--threads", "1"])
    printed = capsys.readouterr()
    assert status == 0, printed.err
    warnings = [line for line in printed.err.splitlines() if line.startswith("workbench refine: warning: ")]
    assert len(warnings) == 2 and any("removed 1 cofactor (A:HEM 143)" in w for w in warnings)
    report = json.loads((tmp_path / "relaxed.json").read_text())
    assert report["warnings"] == [w.removeprefix("workbench refine: warning: ") for w in warnings]
    assert report["kept_ligands"] is False and len(report["preparation"]["pocket_residues"]) > 10
    assert "pocket residue(s)" in printed.out
    assert not np.isin(workbench.read_structure(out).res_name, list({k.split()[0][2:] for k in GROUPS})).any()


def test_keep_ligands_puts_them_in_the_output_at_their_input_coordinates(tmp_path, capsys):
    out = tmp_path / "relaxed.pdb"
    status = main(["refine", str(structure_path("1hho")), "-o", str(out), "--chains", "A", "--keep-ligands",
                   "--platform", "CPU", "--threads", "1"])
    printed = capsys.readouterr()
    assert status == 0, printed.err
    assert "kept 1 cofactor (A:HEM 143) at the input coordinates, not relaxed" in printed.err
    refined, given = workbench.read_structure(out), _chain_a()
    for name in ("HEM", "OXY", "PO4"):
        mine, theirs = refined.select(refined.res_name == name), given.select(given.res_name == name)
        assert mine.atom_name.tolist() == theirs.atom_name.tolist() and mine.hetero.all()
        np.testing.assert_allclose(mine.coords, theirs.coords, atol=1e-3)  # the PDB file's precision
    assert not np.isin(refined.res_name, ("HOH",)).any()
    assert json.loads((tmp_path / "relaxed.json").read_text())["kept_ligands"] is True


def test_the_pocket_moves_less_than_without_its_restraints(monkeypatch):
    """0.3 Å of noise on chain A, relaxed with the pocket restraints and with them switched off."""
    clean = _chain_a()
    noisy = clean.with_coords(clean.coords + np.random.default_rng(3).normal(0.0, 0.3, clean.coords.shape))
    prepared = prepare_model(noisy)
    pocket = np.isin(prepared.residue_of_atom, prepared.pocket) & prepared.heavy & (prepared.source_atom >= 0)
    source = prepared.source_atom[pocket]

    def moved(result) -> float:
        refined = result.structure.select(result.structure.element != "H")
        assert refined.n_atoms == int((prepared.heavy).sum())
        shift = refined.coords[pocket[prepared.heavy]] - noisy.coords[source]
        return float(np.sqrt((shift.astype(float) ** 2).sum(axis=1).mean()))

    config = RefineConfig(threads=1, hydrogens=False)
    restrained = moved(refine(noisy, config, prepared=prepared))
    monkeypatch.setattr(relax, "POCKET_FACTOR", 1.0)
    monkeypatch.setattr(relax, "POCKET_FLOOR", 0.0)
    free = moved(refine(noisy, config, prepared=prepared))
    assert restrained < 0.9 * free, (restrained, free)  # measured: 0.356 against 0.472 Å


def test_keep_ligands_is_a_config_field_in_the_result():
    result = refine(_chain_a(), dataclasses.replace(RefineConfig(threads=1), keep_ligands=True, max_rounds=1))
    assert result.kept_ligands and result.to_dict()["parameters"]["keep_ligands"] is True
    assert result.structure.hetero.sum() == int(np.isin(_chain_a().res_name, ("HEM", "OXY", "PO4")).sum())
    with pytest.raises(ValueError, match="max_rmsd_ca"):
        RefineConfig(max_rmsd_ca=0.0)
