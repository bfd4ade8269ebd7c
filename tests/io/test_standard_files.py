"""The workbench's mmCIF, PDB and PAE files, read by the programs people open them with.

Readers: gemmi (its structure reader and its DDL2 validator with the wwPDB's
mmcif_pdbx.dic and ModelCIF's mmcif_ma.dic, as Debian's libcifpp-data ships them
beside mkdssp), Debian's mkdssp 4, and Mol* in node (its CIF parser, model loader
and ModelCIF quality-assessment property). Each reader's test skips, saying why,
when the reader is absent; .ci/run installs them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import gemmi
import numpy as np
import pytest

from tests.conftest import REPO, renumber_from_one, shared_files
from workbench import read_structure
from workbench.io import format_mmcif, format_pdb
from workbench.io.modelcif import ModelConfidence, format_pae_json

CRYSTALS = [p for p in shared_files("structures", "*.pdb", "*.cif")
            if p.name in ("1hho.pdb", "1o1z.pdb", "4hhb.pdb", "1a8o.pdb", "2xhe.pdb", "6lu7.pdb", "1ake.cif",
                          "5dfr_openmm_minimized.pdb", "1l2y.pdb")]
PREDICTED = shared_files("predicted", "*.pdb")
AFDB_MODEL = "AF-Q5VSL9-F1-model_v4.pdb"
AP_MODEL, AP_PAE = "alphapulldown_TEST_ranked_0.pdb", "alphapulldown_TEST_pae_model_2_ptm_pred_0.json"
DICTIONARIES = Path(os.environ.get("WORKBENCH_CIF_DICTIONARIES", "/usr/share/libcifpp"))
MOLSTAR_PREFIX = REPO / ".ci" / "node"  # npm install --prefix .ci/node molstar (ignored by git)
PLDDT_TOL = 0.005 + 1e-4  # pLDDT is written with 2 decimals


def polymer_plddt(structure) -> np.ndarray:
    """Per polymer residue pLDDT from the B-factor of its first atom (AlphaFold writes one per residue)."""
    first = structure.residue_starts[:-1]
    return structure.b_factor[first][structure.polymer[first]].astype(np.float64)


def atom_site(block: gemmi.cif.Block) -> dict[str, list[str]]:
    return block.get_mmcif_category("_atom_site.", raw=True)


# -- gemmi -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", CRYSTALS + PREDICTED, ids=[p.name for p in CRYSTALS + PREDICTED])
def test_labels_and_sequences_read_by_gemmi(path, tmp_path):
    structure = read_structure(path)
    text = format_mmcif(structure)
    block = gemmi.cif.read_string(text).sole_block()
    entity_type = dict(zip(block.find_values("_entity.id"), block.find_values("_entity.type"), strict=True))
    rows = atom_site(block)
    polymer_row = np.array([entity_type[e] == "polymer" for e in rows["label_entity_id"]])
    seq = np.array(rows["label_seq_id"])
    assert polymer_row.any()
    assert (seq[polymer_row] != ".").all(), "a polymer atom without label_seq_id"
    assert (seq[~polymer_row] == ".").all()
    # _entity_poly_seq: every polymer atom's (entity, label_seq_id, residue) is a row of it
    poly_seq = block.get_mmcif_category("_entity_poly_seq.", raw=True)
    known = set(zip(poly_seq["entity_id"], poly_seq["num"], poly_seq["mon_id"], strict=True))
    assert set(zip(np.array(rows["label_entity_id"])[polymer_row], seq[polymer_row],
                   np.array(rows["label_comp_id"])[polymer_row], strict=True)) <= known
    for category in ("_entity_poly.", "_struct_asym.", "_pdbx_poly_seq_scheme."):
        assert block.get_mmcif_category(category), category

    path_out = tmp_path / "model.cif"
    path_out.write_text(text)
    st = gemmi.read_structure(str(path_out))
    # gemmi's view: each polymer entity's full sequence is the chain's observed residues with the
    # unobserved ones (REMARK 465) in their place, in author-number order
    for subchain in st[0].subchains():
        entity = st.get_entity_of(subchain)
        if entity is None or entity.entity_type != gemmi.EntityType.Polymer:
            continue
        observed = [(r.label_seq, r.name) for r in subchain]
        assert all(entity.full_sequence[k - 1] == name for k, name in observed)
        assert [k for k, _ in observed] == sorted(k for k, _ in observed)
    # the canonical one-letter sequence of each complete chain equals the structure's (where the
    # two agree on what is polymer: gemmi counts 6lu7's peptide-like inhibitor 02J-AVL-PJE-010 whole)
    can = block.get_mmcif_category("_entity_poly.", raw=True)
    sequences = {e: gemmi.cif.as_string(s) for e, s in zip(can["entity_id"], can["pdbx_seq_one_letter_code_can"],
                                                             strict=True)}
    missing_chains = {m.chain_id for m in structure.missing_residues}
    compared = 0
    for chain, sequence in structure.sequences.items():
        entity_ids = {e for e, c, p in zip(rows["label_entity_id"], rows["auth_asym_id"], polymer_row, strict=True)
                      if p and gemmi.cif.as_string(c) == chain}
        if chain not in missing_chains and len(entity_ids) == 1:
            entity_sequence = sequences[entity_ids.pop()]
            if len(entity_sequence) == len(sequence):
                assert entity_sequence == sequence
                compared += 1
    assert compared or missing_chains


WITH_SEQRES = [p for p in shared_files("structures", "*.pdb", "*.cif")
               if ("\nSEQRES" if p.suffix == ".pdb" else "_entity_poly_seq.") in p.read_text()]


@pytest.mark.parametrize("path", WITH_SEQRES, ids=[p.name for p in WITH_SEQRES])
def test_full_sequences_equal_the_deposited_seqres(path):
    """Observed residues and REMARK 465 / _pdbx_unobs residues merged by author number give SEQRES back."""
    deposited = gemmi.read_structure(str(path))
    deposited.setup_entities()
    written = gemmi.make_structure_from_block(
        gemmi.cif.read_string(format_mmcif(read_structure(path))).sole_block())
    compared = 0
    for chain in deposited[0]:
        entity = deposited.get_entity_of(chain.get_polymer())
        if not chain.get_polymer() or entity is None or not entity.full_sequence:
            continue
        ours = written.get_entity_of(written[0][chain.name].get_polymer())
        assert ours.full_sequence == entity.full_sequence, chain.name
        compared += 1
    assert compared


def test_unobserved_residues_take_their_place_in_the_sequence(shared_data):
    """1o1z: REMARK 465 lists residues before and inside the chain; label_seq_id counts them."""
    structure = read_structure(shared_data / "structures" / "1o1z.pdb")
    block = gemmi.cif.read_string(format_mmcif(structure)).sole_block()
    scheme = block.get_mmcif_category("_pdbx_poly_seq_scheme.", raw=True)
    by_author = {(int(n), "" if i in (".", "?") else i): (int(s), a)
                 for n, i, s, a in zip(scheme["pdb_seq_num"], scheme["pdb_ins_code"], scheme["seq_id"],
                                       scheme["auth_seq_num"], strict=True)}
    missing = [m for m in structure.missing_residues if m.chain_id == "A"]
    assert missing
    for m in missing:  # unobserved: in the scheme with auth_seq_num "?"
        assert by_author[(m.res_id, m.ins_code)][1] == "?"
    residues = structure.residues
    observed = [(int(n), str(i)) for n, i, pol in zip(residues.res_id, residues.ins_code,
                                                      structure.polymer[residues.start[:-1]], strict=True) if pol]
    numbers = [by_author[key][0] for key in observed]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert len(scheme["seq_id"]) == len(observed) + len(missing)
    first_observed = min(observed)
    assert by_author[first_observed][0] == 1 + sum(1 for m in missing if (m.res_id, m.ins_code) < first_observed)


def test_round_trip_keeps_author_numbering_with_insertion_codes(shared_data):
    structure = read_structure(shared_data / "edge" / "pdbtools_dummy_insertions.pdb")
    assert (structure.ins_code != "").any()
    again = read_structure(format_mmcif(structure), format="mmcif")
    for name in ("res_id", "ins_code", "chain_id", "res_name", "hetero", "atom_name"):
        np.testing.assert_array_equal(getattr(again, name), getattr(structure, name), err_msg=name)


def _ddl(*names: str) -> tuple[gemmi.cif.Ddl, list[str]]:
    paths = [DICTIONARIES / name for name in names]
    absent = [str(p) for p in paths if not p.is_file()]
    if absent:
        pytest.skip(f"no mmCIF dictionary {absent} (Debian's libcifpp-data, installed with dssp by .ci/run)")
    messages: list[str] = []
    ddl = gemmi.cif.Ddl(logger=messages.append)
    for p in paths:
        ddl.read_ddl(gemmi.cif.read_file(str(p)))
    messages.clear()  # notes about the dictionaries themselves
    return ddl, messages


def _unexpected(messages: list[str]) -> list[str]:
    """Validator messages, less those the wwPDB's own entry files get too.

    Entry files carry no ``_chem_comp_atom`` (the parent of ``label_atom_id``), and gemmi's
    validator reports non-polymer atoms (``label_seq_id`` ``.``) as missing from
    ``_entity_poly_seq`` and ``_pdbx_poly_seq_scheme`` (RCSB's 1ake.cif gets the same).
    ModelCIF's categories are 'contributed' ones: a note, not a problem.
    """
    kept = []
    for message in messages:
        if "_chem_comp_atom.atom_id" in message or "indicated as CONTRIBUTED: ma_" in message:
            continue
        if "missing parent(s) in item-linked-group atom_site" in message:
            first_miss = message.rsplit("1st miss: ", 1)[-1].split("+")
            if "." in first_miss:  # label_seq_id of a non-polymer atom
                continue
        kept.append(message)
    return kept


@pytest.mark.parametrize("name", ["1hho.pdb", "1o1z.pdb", "1a8o.pdb"])
def test_valid_against_the_pdbx_dictionary(shared_data, name):
    ddl, messages = _ddl("mmcif_pdbx.dic")
    doc = gemmi.cif.read_string(format_mmcif(read_structure(shared_data / "structures" / name)))
    assert ddl.validate_cif(doc)
    assert _unexpected(messages) == []


def test_polymer_only_model_has_no_dangling_links(shared_data):
    """A prediction is all polymer: not even the non-polymer allowance of _unexpected is used."""
    ddl, messages = _ddl("mmcif_pdbx.dic")
    doc = gemmi.cif.read_string(format_mmcif(read_structure(shared_data / "predicted" / AP_MODEL)))
    assert ddl.validate_cif(doc)
    assert [m for m in messages if "_chem_comp_atom.atom_id" not in m] == []


def test_modelcif_records_valid_against_the_modelcif_dictionary(shared_data):
    ddl, messages = _ddl("mmcif_pdbx.dic", "mmcif_ma.dic")
    structure = read_structure(shared_data / "predicted" / AP_MODEL)
    pae = np.array(json.loads((shared_data / "predicted" / AP_PAE).read_text())[0]["predicted_aligned_error"])
    confidence = ModelConfidence(method="AlphaFold2", software_name="AlphaFold", software_version="2.3",
                                 plddt=polymer_plddt(structure), ptm=0.167, pae=pae)
    doc = gemmi.cif.read_string(format_mmcif(structure, confidence=confidence))
    assert ddl.validate_cif(doc)
    assert _unexpected(messages) == []


def test_quality_records_read_by_gemmi(shared_data):
    structure = read_structure(shared_data / "predicted" / AP_MODEL)
    plddt = polymer_plddt(structure)
    confidence = ModelConfidence(method="AlphaFold2", software_name="AlphaFold", plddt=plddt, ptm=0.167, iptm=0.5)
    block = gemmi.cif.read_string(format_mmcif(structure, confidence=confidence)).sole_block()
    metric = block.get_mmcif_category("_ma_qa_metric.")
    assert list(zip(metric["name"], metric["type"], metric["mode"], strict=True)) == [
        ("pLDDT", "pLDDT", "global"), ("pLDDT", "pLDDT", "local"), ("pTM", "pTM", "global"),
        ("ipTM", "ipTM", "global")]
    values = block.get_mmcif_category("_ma_qa_metric_global.")
    np.testing.assert_allclose([float(v) for v in values["metric_value"]], [plddt.mean(), 0.167, 0.5], atol=0.005)
    local = block.get_mmcif_category("_ma_qa_metric_local.")
    np.testing.assert_allclose(np.array(local["metric_value"], dtype=float), plddt, atol=PLDDT_TOL)
    assert [int(s) for s in local["label_seq_id"]] == list(range(1, len(plddt) + 1))


def test_no_plddt_metric_without_plddt(shared_data):
    structure = read_structure(shared_data / "predicted" / AP_MODEL)
    confidence = ModelConfidence(method="template variant modelling", software_name="protein-workbench",
                                 model_type="Homology model")
    block = gemmi.cif.read_string(format_mmcif(structure, confidence=confidence)).sole_block()
    assert not block.find_values("_ma_qa_metric.name")
    assert not block.find_values("_ma_qa_metric_local.metric_value")
    assert block.find_value("_ma_model_list.model_type") == "'Homology model'"


def test_confidence_must_fit_the_polymer_residues(shared_data):
    structure = read_structure(shared_data / "predicted" / AP_MODEL)
    with pytest.raises(ValueError, match="63 rows for 64 polymer residues"):
        format_mmcif(structure, confidence=ModelConfidence(method="m", software_name="s", plddt=np.ones(63)))
    with pytest.raises(ValueError, match="0-100"):
        ModelConfidence(method="m", software_name="s", plddt=np.full(3, 101.0))
    with pytest.raises(ValueError, match="square"):
        ModelConfidence(method="m", software_name="s", pae=np.ones((2, 3)))
    with pytest.raises(ValueError, match="ptm"):
        ModelConfidence(method="m", software_name="s", ptm=1.5)


# -- mkdssp ------------------------------------------------------------------------------------------


def dssp_residues(path: Path, tmp_path: Path) -> int:
    """Residues in mkdssp's classic output for ``path`` (chain-break lines left out)."""
    out = tmp_path / (path.name + ".dssp")
    run = subprocess.run(["mkdssp", "--output-format", "dssp", str(path), str(out)],
                         capture_output=True, text=True, timeout=120)
    if run.returncode != 0 or not out.exists():
        return 0
    lines = out.read_text().splitlines()
    start = next(k for k, line in enumerate(lines) if line.startswith("  #  RESIDUE"))
    return sum(1 for line in lines[start + 1:] if len(line) > 13 and line[13] != "!")


needs_mkdssp = pytest.mark.skipif(shutil.which("mkdssp") is None,
                                  reason="mkdssp is not installed (Debian package dssp; .ci/run installs it)")


@needs_mkdssp
@pytest.mark.parametrize("name", ["1hho.pdb", "1o1z.pdb", "4hhb.pdb", AFDB_MODEL])
def test_mkdssp_reads_every_residue_of_both_files(shared_data, tmp_path, name):
    """Crystal structures (ligands, waters, unobserved residues, four chains) and a model the workbench wrote."""
    folder = "predicted" if name == AFDB_MODEL else "structures"
    structure = read_structure(shared_data / folder / name)
    if name == AFDB_MODEL:
        structure = renumber_from_one(structure)
    cif, pdb = tmp_path / "model.cif", tmp_path / "model.pdb"
    cif.write_text(format_mmcif(structure))
    pdb.write_text(format_pdb(structure))
    n_polymer = int(structure.polymer[structure.residue_starts[:-1]].sum())
    from_cif, from_pdb = dssp_residues(cif, tmp_path), dssp_residues(pdb, tmp_path)
    assert from_cif == from_pdb == n_polymer


@needs_mkdssp
def test_mkdssp_reads_selenomethionine_from_the_mmcif(shared_data, tmp_path):
    """1a8o: the mmCIF's sequence scheme names the four HETATM MSE as polymer; mkdssp reads all 70.

    From the PDB text, mkdssp without the Chemical Component Dictionary drops them (66):
    the mmCIF is the file to give it.
    """
    structure = read_structure(shared_data / "structures" / "1a8o.pdb")
    cif = tmp_path / "1a8o.cif"
    cif.write_text(format_mmcif(structure))
    assert dssp_residues(cif, tmp_path) == len(structure.sequences["A"]) == 70


# -- Mol* ----------------------------------------------------------------------------------------------


def molstar(*paths: Path) -> list[dict]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    if not (MOLSTAR_PREFIX / "node_modules" / "molstar" / "package.json").is_file():
        pytest.skip(f"molstar is not installed in {MOLSTAR_PREFIX} (npm install --prefix .ci/node molstar; "
                    ".ci/run does it)")
    run = subprocess.run([node, str(Path(__file__).with_name("molstar_quality.mjs")), str(MOLSTAR_PREFIX),
                          *map(str, paths)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_molstar_finds_plddt_and_pae_of_the_workbench_model(shared_data, tmp_path):
    structure = read_structure(shared_data / "predicted" / AP_MODEL)
    plddt = polymer_plddt(structure)
    pae = np.array(json.loads((shared_data / "predicted" / AP_PAE).read_text())[0]["predicted_aligned_error"])
    with_plddt, without, plain = tmp_path / "plddt.cif", tmp_path / "heuristic.cif", tmp_path / "plain.cif"
    with_plddt.write_text(format_mmcif(structure, confidence=ModelConfidence(
        method="AlphaFold2", software_name="AlphaFold", plddt=plddt, ptm=0.167, pae=pae)))
    without.write_text(format_mmcif(structure, confidence=ModelConfidence(
        method="template variant modelling", software_name="protein-workbench", model_type="Homology model")))
    plain.write_text(format_mmcif(structure))
    found, none, nothing = molstar(with_plddt, without, plain)
    assert found["plddt_applicable"] and found["plddt_residues"] == len(plddt) == found["residues"]
    np.testing.assert_allclose(found["plddt_range"], [plddt.min(), plddt.max()], atol=PLDDT_TOL)
    assert found["pae_metrics"] == ["PAE"] and found["pae_pairs"] == len(plddt) ** 2
    for result in (none, nothing):
        assert not result["plddt_applicable"] and result["plddt_residues"] == 0 and result["pae_pairs"] == 0
        assert result["residues"] == len(plddt)


def test_molstar_finds_plddt_of_a_rewritten_afdb_model(shared_data, tmp_path):
    """AlphaFold DB's Q5VSL9 (837 residues), read by the workbench and written with its B-factors as pLDDT."""
    structure = read_structure(shared_data / "predicted" / AFDB_MODEL)
    plddt = polymer_plddt(structure)
    path = tmp_path / "afdb.cif"
    path.write_text(format_mmcif(structure, confidence=ModelConfidence(
        method="AlphaFold Monomer v2.0 pipeline", software_name="AlphaFold", software_version="2.0", plddt=plddt)))
    (result,) = molstar(path)
    assert result["plddt_applicable"] and result["plddt_residues"] == len(plddt) == 837
    np.testing.assert_allclose(result["plddt_range"], [plddt.min(), plddt.max()], atol=PLDDT_TOL)


# -- PAE JSON ------------------------------------------------------------------------------------------


def test_pae_json_round_trip():
    rng = np.random.default_rng(7)
    pae = rng.uniform(0, 31.75, size=(37, 37))
    data = json.loads(format_pae_json(pae))
    assert isinstance(data, list) and len(data) == 1
    matrix = np.array(data[0]["predicted_aligned_error"])
    assert matrix.shape == (37, 37)
    np.testing.assert_allclose(matrix, pae, atol=0.05 + 1e-9)  # 0.1 Å rounding
    assert data[0]["max_predicted_aligned_error"] == pytest.approx(pae.max(), abs=0.005)


def test_pae_json_matches_alphafold_file(shared_data):
    """AlphaFold 2.3's pae JSON (AlphaPulldown's test data): same keys, shape, and the same text."""
    text = (shared_data / "predicted" / AP_PAE).read_text()
    reference = json.loads(text)
    matrix = np.array(reference[0]["predicted_aligned_error"])
    ours = format_pae_json(matrix, max_pae=reference[0]["max_predicted_aligned_error"])
    assert json.loads(ours)[0].keys() == reference[0].keys()
    assert np.array(json.loads(ours)[0]["predicted_aligned_error"]).shape == matrix.shape == (64, 64)
    assert ours == text.strip()
