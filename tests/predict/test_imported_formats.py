"""Importing small results that the tests write in each tool's layout.

Layouts follow the tools' own writers: ColabFold (``*_scores_rank_*.json``),
ESMFold (B-factor pLDDT, 0-1 in some versions), AlphaFold3 (local and server
names; ``atom_plddts``, token ``pae``, ``token_chain_ids``, ``token_res_ids``),
Boltz (``confidence_*.json``, ``plddt_*.npz`` on 0-1, ``pae_*.npz``), Chai-1
(``pred.model_idx_N.cif``, ``scores.model_idx_N.npz``) and Protenix
(``*_summary_confidence_sample_N.json``, ``*_full_data_sample_N.json``).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from workbench import StructureFormatError
from workbench.io import format_mmcif, format_pdb
from workbench.predict.imported import import_prediction, import_predictions
from workbench.structure import Structure

SEQUENCE = "MKTAYG"
RESIDUE = {"M": "MET", "K": "LYS", "T": "THR", "A": "ALA", "Y": "TYR", "G": "GLY"}
N_RES = len(SEQUENCE)
LIGAND_ATOMS = (("C1", "C"), ("O1", "O"), ("C2", "C"), ("O2", "O"))
N_TOKENS = N_RES + len(LIGAND_ATOMS)  # one token per standard residue, one per ligand atom


def model(ca: np.ndarray, *, ligand: bool = False, scale: float = 100.0, ligand_first: bool = False) -> Structure:
    """A small protein (chain A) with per-residue CA B-factors ``ca``; other atoms get different values.

    Non-CA atoms carry ``ca - 0.3 * scale`` (floored at 0) so that reading the
    first atom instead of the CA gives a different answer. An ethylene glycol
    in chain B adds four single-atom tokens when ``ligand`` (before the protein
    when ``ligand_first``, so that token order and residue order differ).
    """
    rows = []
    for i, letter in enumerate(SEQUENCE):
        names = ("N", "CA", "C", "O") if letter == "G" else ("N", "CA", "C", "O", "CB")
        for j, atom in enumerate(names):
            b = ca[i] if atom == "CA" else max(0.0, ca[i] - 0.3 * scale)
            rows.append(("A", i + 1, RESIDUE[letter], atom, atom[0], (3.8 * i + 0.4 * j, 0.6 * j, 0.2 * i), b, False))
    if ligand:
        het = [
            ("B", 1, "EDO", atom, element, (12.0 + 1.4 * j, 5.0, 5.0), 0.5 * scale, True)
            for j, (atom, element) in enumerate(LIGAND_ATOMS)
        ]
        rows = het + rows if ligand_first else rows + het
    return Structure(
        coords=[r[5] for r in rows],
        atom_name=[r[3] for r in rows],
        element=[r[4] for r in rows],
        res_name=[r[2] for r in rows],
        res_id=[r[1] for r in rows],
        ins_code=[""] * len(rows),
        chain_id=[r[0] for r in rows],
        b_factor=[r[6] for r in rows],
        occupancy=[1.0] * len(rows),
        hetero=[r[7] for r in rows],
    )


def plddt_values(seed: int, scale: float = 100.0) -> np.ndarray:
    """Per-residue pLDDT with two decimals (what PDB files keep) on 0-``scale``."""
    rng = np.random.default_rng(seed)
    return np.round(rng.uniform(40, 95, N_RES), 2) * scale / 100.0


def pae_matrix(n: int, seed: int) -> np.ndarray:
    return np.round(np.random.default_rng(seed).uniform(0.2, 31.0, (n, n)), 2)


def write_json(path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def write_cif(path, structure: Structure) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(format_mmcif(structure))


# -- ColabFold and ESMFold -----------------------------------------------------------------


def write_colabfold(folder, rank: int, seed: int) -> dict:
    plddt = plddt_values(seed)
    rest = f"rank_{rank:03d}_alphafold2_ptm_model_{rank + 2}_seed_000"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"job_unrelaxed_{rest}.pdb").write_text(format_pdb(model(plddt)))
    scores = {
        "plddt": plddt.tolist(),
        "pae": pae_matrix(N_RES, seed).tolist(),
        "max_pae": 31.75,
        "ptm": 0.5 + rank / 10,
    }
    write_json(folder / f"job_scores_{rest}.json", scores)
    return scores


def test_colabfold_folder_takes_rank_1_with_its_scores(tmp_path):
    folder = tmp_path / "colabfold"
    second = write_colabfold(folder, 2, seed=2)
    first = write_colabfold(folder, 1, seed=1)
    prediction = import_prediction(folder)
    assert prediction.provenance.method == "colabfold" and prediction.name == "job"
    assert prediction.provenance.parameters["model"] == "model_3"
    np.testing.assert_allclose(prediction.plddt, first["plddt"], atol=1e-4)
    np.testing.assert_allclose(prediction.pae, first["pae"], atol=1e-4)
    assert prediction.ptm == pytest.approx(first["ptm"]) and prediction.ptm != pytest.approx(second["ptm"])
    assert prediction.provenance.parameters["max_pae"] == 31.75
    assert len(prediction.provenance.sources) == 2


def test_esmfold_pdb_on_a_0_1_scale_is_rescaled(tmp_path):
    fractions = plddt_values(3, scale=1.0)
    path = tmp_path / "seq1.pdb"
    path.write_text(format_pdb(model(fractions, scale=1.0)))
    columns = np.array([float(line[60:66]) for line in path.read_text().splitlines() if line[12:16] == " CA "])
    prediction = import_prediction(path, format="esmfold")
    assert prediction.provenance.method == "esmfold"
    assert prediction.provenance.parameters["plddt_rescaled"] is True
    np.testing.assert_allclose(prediction.plddt, columns * 100, atol=1e-3)
    np.testing.assert_allclose(prediction.structure.b_factor[1], columns[0] * 100, atol=1e-3)
    auto = import_prediction(path)
    assert auto.provenance.method == "bfactor"
    np.testing.assert_allclose(auto.plddt, prediction.plddt)
    # esm-fold's PDB opens with OpenFold's PARENT header: recognised without format=
    path.write_text("PARENT N/A\n" + path.read_text())
    detected = import_prediction(path)
    assert detected.provenance.method == "esmfold" and detected.provenance.parameters["plddt_rescaled"] is True
    np.testing.assert_allclose(detected.plddt, columns * 100, atol=1e-3)


def test_percent_scale_is_kept(tmp_path):
    plddt = plddt_values(4)
    path = tmp_path / "seq2.pdb"
    path.write_text(format_pdb(model(plddt)))
    prediction = import_prediction(path)
    assert prediction.provenance.parameters["plddt_rescaled"] is False
    np.testing.assert_allclose(prediction.plddt, plddt, atol=1e-3)


@pytest.mark.parametrize(
    ("values", "message"),
    [(np.zeros(N_RES), "zero everywhere"), (np.full(N_RES, 120.0), "outside 0-100")],
    ids=["zero", "above-100"],
)
def test_bfactors_that_are_no_plddt(tmp_path, values, message):
    path = tmp_path / "bad.pdb"
    path.write_text(format_pdb(model(values)))
    with pytest.raises(StructureFormatError, match=message) as info:
        import_prediction(path)
    assert "bad.pdb" in str(info.value)


def test_alphafold2_multimer_folder_ranked_0_and_iptm(tmp_path):
    folder = tmp_path / "complex"
    folder.mkdir()
    order = ["model_3_multimer_v3_pred_0", "model_1_multimer_v3_pred_0"]
    plddt = {name: plddt_values(20 + k) for k, name in enumerate(order)}
    for k, name in enumerate(order):
        (folder / f"ranked_{k}.pdb").write_text(format_pdb(model(plddt[name])))
        (folder / f"unrelaxed_{name}.pdb").write_text(format_pdb(model(plddt[name])))
    ptm = {order[0]: 0.8, order[1]: 0.6}
    combined = {order[0]: 0.8 * 0.7 + 0.2 * 0.8, order[1]: 0.8 * 0.4 + 0.2 * 0.6}
    means = {name: float(plddt[name].mean()) for name in order}
    write_json(folder / "ranking_debug.json", {"iptm+ptm": combined, "ptm": ptm, "plddts": means, "order": order})
    prediction = import_prediction(folder)
    assert prediction.provenance.method == "alphafold2" and prediction.name == "complex"
    assert prediction.provenance.parameters["model"] == order[0]
    np.testing.assert_allclose(prediction.plddt, plddt[order[0]], atol=1e-3)
    assert prediction.ptm == pytest.approx(0.8) and prediction.iptm == pytest.approx(0.7)
    second = import_prediction(folder / "ranked_1.pdb")
    assert second.iptm == pytest.approx(0.4) and second.provenance.parameters["model"] == order[1]
    # ranking_debug.json that does not belong to these models
    write_json(folder / "ranking_debug.json", {"ptm": ptm, "plddts": {order[0]: 20.0}, "order": order})
    with pytest.raises(StructureFormatError, match=r"differs from ranking_debug\.json"):
        import_prediction(folder / "ranked_0.pdb")


# -- AlphaFold3 ------------------------------------------------------------------------------


def write_alphafold3(folder, *, server: bool, seed: int = 5, ligand_first: bool = False) -> dict:
    structure = model(plddt_values(seed), ligand=True, ligand_first=ligand_first)
    protein_tokens = (["A"] * N_RES, list(range(1, N_RES + 1)))
    ligand_tokens = (["B"] * len(LIGAND_ATOMS), [1] * len(LIGAND_ATOMS))
    first, second = (ligand_tokens, protein_tokens) if ligand_first else (protein_tokens, ligand_tokens)
    atom_plddts = structure.b_factor.astype(float).round(2).tolist()
    full = {
        "atom_chain_ids": structure.chain_id.tolist(),
        "atom_plddts": atom_plddts,
        "pae": pae_matrix(N_TOKENS, seed).tolist(),
        "token_chain_ids": first[0] + second[0],
        "token_res_ids": first[1] + second[1],
    }
    summary = {"ptm": 0.71, "iptm": 0.55, "ranking_score": 0.8, "fraction_disordered": 0.0, "has_clash": 0.0}
    if server:
        names = ("fold_job_model_0.cif", "fold_job_summary_confidences_0.json", "fold_job_full_data_0.json")
    else:
        names = ("job_model.cif", "job_summary_confidences.json", "job_confidences.json")
    write_cif(folder / names[0], structure)
    write_json(folder / names[1], summary)
    write_json(folder / names[2], full)
    return {"structure": structure, "full": full, "summary": summary, "names": names}


@pytest.mark.parametrize("server", [False, True], ids=["local", "server"])
def test_alphafold3_atom_plddt_and_token_pae(tmp_path, server):
    folder = tmp_path / "job"
    written = write_alphafold3(folder, server=server, ligand_first=server)
    if not server:  # a local run's sample folder, with other values, must not be taken over the top model
        sample = write_alphafold3(tmp_path / "sample", server=False, seed=9)
        targets = ("model.cif", "summary_confidences.json", "confidences.json")
        (folder / "seed-1_sample-0").mkdir()
        for name, target in zip(sample["names"], targets, strict=True):
            (tmp_path / "sample" / name).rename(folder / "seed-1_sample-0" / target)
    prediction = import_prediction(folder)
    structure = written["structure"]
    ca = np.array([structure.b_factor[i] for i in range(structure.n_atoms) if structure.atom_name[i] == "CA"])
    assert prediction.provenance.method == "alphafold3"
    np.testing.assert_allclose(prediction.plddt, ca, atol=0.01)
    protein = slice(len(LIGAND_ATOMS), None) if server else slice(0, N_RES)
    np.testing.assert_allclose(prediction.pae, np.array(written["full"]["pae"])[protein, protein], atol=1e-4)
    assert prediction.ptm == pytest.approx(0.71) and prediction.iptm == pytest.approx(0.55)
    assert prediction.provenance.parameters["ranking_score"] == pytest.approx(0.8)
    assert prediction.structure.n_atoms == structure.n_atoms

    samples = dict(import_predictions(folder, all_models=True))
    assert len(samples) == (1 if server else 2)
    assert all(not isinstance(p, Exception) for p in samples.values())


def test_alphafold3_atom_plddt_count_mismatch(tmp_path):
    written = write_alphafold3(tmp_path, server=False)
    full = dict(written["full"], atom_plddts=written["full"]["atom_plddts"][:-1])
    write_json(tmp_path / "job_confidences.json", full)
    n_atoms = written["structure"].n_atoms
    with pytest.raises(StructureFormatError, match=f"{n_atoms - 1} atom_plddts values for {n_atoms} atoms") as info:
        import_prediction(tmp_path / "job_model.cif")
    assert "job_confidences.json" in str(info.value)


def test_alphafold3_malformed_summary(tmp_path):
    write_alphafold3(tmp_path, server=False)
    (tmp_path / "job_summary_confidences.json").write_text('{"ptm": 0.7,')
    with pytest.raises(StructureFormatError, match=r"job_summary_confidences\.json.*malformed JSON"):
        import_prediction(tmp_path / "job_model.cif")


# -- Boltz -------------------------------------------------------------------------------------


def write_boltz(folder, seed: int = 6, ligand_first: bool = False) -> dict:
    fractions = np.round(np.random.default_rng(seed).uniform(0.4, 0.95, N_TOKENS), 4)
    protein = slice(len(LIGAND_ATOMS), None) if ligand_first else slice(0, N_RES)
    structure = model(fractions[protein] * 100, ligand=True, ligand_first=ligand_first)
    write_cif(folder / "job_model_0.cif", structure)
    confidence = {"confidence_score": 0.83, "ptm": 0.77, "iptm": 0.61, "complex_plddt": float(fractions.mean())}
    write_json(folder / "confidence_job_model_0.json", confidence)
    np.savez(folder / "plddt_job_model_0.npz", plddt=fractions.astype(np.float32))
    pae = pae_matrix(N_TOKENS, seed).astype(np.float32)
    np.savez(folder / "pae_job_model_0.npz", pae=pae)
    return {"plddt": fractions[protein], "pae": pae[protein, protein], "confidence": confidence}


@pytest.mark.parametrize("ligand_first", [False, True], ids=["ligand-last", "ligand-first"])
def test_boltz_npz_plddt_is_rescaled_and_tokens_mapped(tmp_path, ligand_first):
    folder = tmp_path / "boltz_results_job" / "predictions" / "job"
    written = write_boltz(folder, ligand_first=ligand_first)
    prediction = import_prediction(folder)
    assert prediction.provenance.method == "boltz" and prediction.name == "job"
    assert prediction.provenance.parameters["plddt_rescaled"] is True
    np.testing.assert_allclose(prediction.plddt, written["plddt"] * 100, atol=1e-3)
    np.testing.assert_allclose(prediction.pae, written["pae"], atol=1e-5)
    assert prediction.ptm == pytest.approx(0.77) and prediction.iptm == pytest.approx(0.61)
    assert prediction.provenance.parameters["confidence_score"] == pytest.approx(0.83)


def test_boltz_pae_of_the_wrong_size(tmp_path):
    write_boltz(tmp_path)
    np.savez(tmp_path / "pae_job_model_0.npz", pae=np.ones((N_TOKENS - 1, N_TOKENS - 1)))
    with pytest.raises(StructureFormatError, match=f"PAE has {N_TOKENS - 1} entries") as info:
        import_prediction(tmp_path / "job_model_0.cif")
    assert "pae_job_model_0.npz" in str(info.value)


def test_boltz_corrupt_npz(tmp_path):
    write_boltz(tmp_path)
    (tmp_path / "plddt_job_model_0.npz").write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(StructureFormatError, match=r"plddt_job_model_0\.npz.*not a readable numpy file"):
        import_prediction(tmp_path / "job_model_0.cif")


def test_boltz_plddt_disagreeing_with_bfactors(tmp_path):
    written = write_boltz(tmp_path)
    np.savez(tmp_path / "plddt_job_model_0.npz", plddt=(written["plddt"] * 0.5).astype(np.float32))
    with pytest.raises(StructureFormatError, match="disagree"):
        import_prediction(tmp_path / "job_model_0.cif")


# -- Chai-1 ----------------------------------------------------------------------------------


def test_chai1_best_aggregate_score_and_fraction_bfactors(tmp_path):
    folder = tmp_path / "chai_job"
    folder.mkdir()
    fractions = {}
    for k, aggregate in ((0, 0.31), (1, 0.64), (2, 0.12)):
        fractions[k] = plddt_values(10 + k, scale=1.0)
        write_cif(folder / f"pred.model_idx_{k}.cif", model(fractions[k], ligand=True, scale=1.0))
        np.savez(
            folder / f"scores.model_idx_{k}.npz",
            aggregate_score=np.array([aggregate]),
            ptm=np.array([0.5 + k / 10]),
            iptm=np.array([0.2 + k / 10]),
            per_chain_ptm=np.array([[0.5, 0.1]]),
            has_inter_chain_clashes=np.array([False]),
        )
    prediction = import_prediction(folder)
    assert prediction.provenance.method == "chai1" and prediction.name == "chai_job"
    assert prediction.provenance.parameters["model"] == "model_idx_1"
    assert prediction.ptm == pytest.approx(0.6) and prediction.iptm == pytest.approx(0.3)
    assert prediction.provenance.parameters["plddt_rescaled"] is True
    np.testing.assert_allclose(prediction.plddt, fractions[1] * 100, atol=1e-2)
    assert prediction.provenance.parameters["aggregate_score"] == pytest.approx(0.64)


# -- Protenix --------------------------------------------------------------------------------


def write_protenix(folder, *, full: bool, seed: int = 7) -> dict:
    structure = model(plddt_values(seed), ligand=True)
    write_cif(folder / "job_sample_0.cif", structure)
    summary = {"plddt": 71.2, "ptm": 0.66, "iptm": 0.42, "ranking_score": 0.48, "gpde": 1.9, "has_clash": 0.0}
    write_json(folder / "job_summary_confidence_sample_0.json", summary)
    data = {
        "atom_plddt": structure.b_factor.astype(float).round(2).tolist(),
        "token_pair_pae": pae_matrix(N_TOKENS, seed).tolist(),
    }
    if full:
        write_json(folder / "job_full_data_sample_0.json", data)
    return {"structure": structure, "summary": summary, "full": data}


@pytest.mark.parametrize("full", [False, True], ids=["summary", "full-data"])
def test_protenix_sample(tmp_path, full):
    written = write_protenix(tmp_path, full=full)
    prediction = import_prediction(tmp_path / "job_sample_0.cif")
    structure = written["structure"]
    ca = structure.b_factor[structure.atom_name == "CA"]
    assert prediction.provenance.method == "protenix" and prediction.name == "job"
    np.testing.assert_allclose(prediction.plddt, ca, atol=0.01)
    assert prediction.ptm == pytest.approx(0.66) and prediction.iptm == pytest.approx(0.42)
    assert prediction.provenance.parameters["ranking_score"] == pytest.approx(0.48)
    if full:
        np.testing.assert_allclose(prediction.pae, np.array(written["full"]["token_pair_pae"])[:N_RES, :N_RES])
    else:
        assert prediction.pae is None


def test_protenix_ptm_outside_0_1(tmp_path):
    written = write_protenix(tmp_path, full=False)
    write_json(tmp_path / "job_summary_confidence_sample_0.json", dict(written["summary"], ptm=1.5))
    with pytest.raises(StructureFormatError, match="ptm must lie in 0-1"):
        import_prediction(tmp_path / "job_sample_0.cif")


# -- many results at once ----------------------------------------------------------------------


def test_mixed_folder_detects_each_format_and_survives_a_bad_one(tmp_path):
    write_colabfold(tmp_path / "cf", 1, seed=1)
    (tmp_path / "cf" / "job_env" / "templates_101").mkdir(parents=True)  # downloaded templates: not results
    write_cif(tmp_path / "cf" / "job_env" / "templates_101" / "1abc.cif", model(plddt_values(8)))
    write_alphafold3(tmp_path / "af3", server=True)
    write_boltz(tmp_path / "boltz")
    write_protenix(tmp_path / "protenix_bad", full=False)
    (tmp_path / "protenix_bad" / "job_summary_confidence_sample_0.json").write_text("[")
    (tmp_path / "esm").mkdir()
    (tmp_path / "esm" / "seqX.pdb").write_text(format_pdb(model(plddt_values(3))))
    results = dict(import_predictions(tmp_path))
    methods = {name: r.provenance.method for name, r in results.items() if not isinstance(r, Exception)}
    errors = {name: str(r) for name, r in results.items() if isinstance(r, Exception)}
    assert sorted(methods.values()) == ["alphafold3", "bfactor", "boltz", "colabfold"]
    assert methods["seqX"] == "bfactor" and methods["fold_job"] == "alphafold3"
    assert len(errors) == 1 and "malformed JSON" in next(iter(errors.values()))
    assert len(set(results)) == 5  # three jobs called "job" get unique names


@pytest.mark.parametrize("fmt", ["alphafold3", "boltz", "chai1", "protenix", "colabfold", "alphafold2", "afdb"])
def test_forced_format_on_a_bare_model_reads_bfactors(tmp_path, fmt):
    plddt = plddt_values(30)
    path = tmp_path / "anything.cif"
    write_cif(path, model(plddt))
    prediction = import_prediction(path, format=fmt)
    assert prediction.provenance.method == fmt and prediction.provenance.parameters["plddt_source"] == "b_factor"
    np.testing.assert_allclose(prediction.plddt, plddt, atol=1e-3)


def test_unknown_format_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown format 'rosettafold'"):
        import_predictions(tmp_path, format="rosettafold")
