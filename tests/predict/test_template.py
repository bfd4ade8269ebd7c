"""The template predictor on PDBFixer's 1BHL (HIV-1 integrase core domain), and its models completed and
relaxed by the pipeline's composition (real PDBFixer and OpenMM).

One batch is modelled once per module (three models and their relaxes, a few seconds):
two integrase-inhibitor resistance mutations present in 1BHL's residue range
(T66I, N155H; 1BHL has residues 57-137 and 154-207, so Q148 and G140 are not
in it), a two-residue deletion in the loop R166-H171, and records the template
must refuse (a deletion inside a helix, a random sequence, an ``X``, a dimer).
"""

from __future__ import annotations

import dataclasses
import json
import random

import numpy as np
import pytest

from tests.conftest import pdbfixer_1bhl
from workbench.io.fasta import SequenceRecord
from workbench.io.structure_reader import read_structure
from workbench.pipelines.tasks import compose_item
from workbench.predict.base import get_predictor
from workbench.predict.template import NEAR_CHANGE, RESIDUE_STATES, TemplatePredictor
from workbench.predict.template_build import HEAVY_ATOMS
from workbench.request import BatchRequest
from workbench.results import write_prediction


def _mutate(predictor: TemplatePredictor, label: str) -> str:
    """The template sequence with one substitution in template numbering (``"N155H"``)."""
    sequence = predictor.template_sequences[0]
    numbering = predictor._numbering["A"]
    i = numbering.index(label[1:-1])
    assert sequence[i] == label[0], f"1BHL has {sequence[i]} at {label[1:-1]}, not {label[0]}"
    return sequence[:i] + label[-1] + sequence[i + 1:]


def _delete(predictor: TemplatePredictor, first: str, n: int) -> str:
    sequence = predictor.template_sequences[0]
    i = predictor._numbering["A"].index(first)
    return sequence[:i] + sequence[i + n:]


@pytest.fixture(scope="module")
def predictor() -> TemplatePredictor:
    return TemplatePredictor(pdbfixer_1bhl(), chain="A")


@pytest.fixture(scope="module")
def batch(predictor):
    wt = predictor.template_sequences[0]
    rng = random.Random(0)
    records = {
        "T66I": _mutate(predictor, "T66I"),
        "bad_letter": wt[:10] + "X" + wt[11:],
        "N155H": _mutate(predictor, "N155H"),
        "helix_deletion": _delete(predictor, "97", 2),  # T97-A98, inside the helix 94-105
        "loop_deletion": _delete(predictor, "168", 2),  # Q168-A169, in the loop R166-H171
        "random": "".join(rng.choice("ACDEFGHIKLMNPQRSTVWY") for _ in wt),
        "dimer": (wt, wt),
    }
    recs = [SequenceRecord(k, k, v if isinstance(v, tuple) else (v,)) for k, v in records.items()]
    outcomes = predictor.predict(recs)
    return {o.record.id: o for o in outcomes}, recs, outcomes


@pytest.fixture(scope="module")
def composed(batch):
    """The pipeline's composition of each model: completed by one preparation, then relaxed."""
    request = BatchRequest.create("template", {"template": str(pdbfixer_1bhl()), "chain": "A"})
    return {name: compose_item(outcome.prediction, request) for name, outcome in batch[0].items() if outcome.ok}


def test_one_outcome_per_record_in_order(batch):
    by_id, records, outcomes = batch
    assert [o.record for o in outcomes] == records
    assert {k for k, o in by_id.items() if o.ok} == {"T66I", "N155H", "loop_deletion"}


@pytest.mark.parametrize("name", ["T66I", "N155H", "loop_deletion"])
def test_output_sequence_is_the_request(batch, name):
    outcome = batch[0][name]
    assert outcome.prediction.structure.sequences == {"A": outcome.record.chains[0]}
    assert outcome.prediction.name == name


@pytest.mark.parametrize("name", ["T66I", "N155H", "loop_deletion"])
def test_composed_models_relax_without_violations(composed, name):
    refinement = composed[name].refinement
    # Known limitation: PDBFixer's loop build is not repeatable, and some builds of the rebuilt loop keep
    # a few violations after the relax (seen: 3 of 5 runs clean). Point mutants must be clean every time.
    if name != "loop_deletion":
        assert len(refinement.violations_after) == 0
    else:
        assert len(refinement.violations_after) <= 5
    assert np.isfinite(refinement.energy_after) and refinement.energy_after < refinement.energy_before
    assert composed[name].model.sequences == {"A": composed[name].refinement.structure.sequences["A"]}


def test_reference_record_is_the_template_sequence(predictor):
    reference = predictor.reference_record()
    assert reference is not None and reference.id == "wild_type"
    assert reference.chains == predictor.template_sequences


@pytest.mark.parametrize(("name", "residue"), [("T66I", ("ILE", 66)), ("N155H", ("HIS", 155))])
def test_point_mutant(predictor, batch, composed, name, residue):
    prediction = batch[0][name].prediction
    p = prediction.provenance.parameters
    assert p["mutations"] == [name]
    assert p["indels"] == []
    assert p["changed_residues"] == [f"A:{residue[0]} {residue[1]}"]
    assert p["identity"] == pytest.approx(134 / 135, abs=1e-4)
    s = prediction.structure
    # the completed model has every heavy atom of the new residue; the relax moves the model little
    completed = composed[name].model
    atoms = completed.atom_name[(completed.res_id == residue[1]) & (completed.element != "H")]
    assert sorted(atoms) == sorted(HEAVY_ATOMS[residue[0]])
    assert composed[name].refinement.rmsd_ca < 0.3
    # the built model keeps the template's coordinates for unchanged residues
    deviation = np.array([d for d in p["ca_deviation_angstrom"] if d is not None])
    assert len(deviation) == 135
    assert p["rmsd_ca_unchanged_angstrom"] < 1e-3
    # no learned confidence: no pLDDT, and the residue states say how each residue was built
    assert prediction.plddt is None and prediction.confidence_kind == "none"
    assert prediction.ptm is None and prediction.pae is None
    states = dict(zip(s.residues.res_id.tolist(), p["residue_states"], strict=True))
    nearest = dict(zip(s.residues.res_id.tolist(), p["nearest_change_angstrom"], strict=True))
    assert states[residue[1]] == "substituted" and nearest[residue[1]] == 0.0
    assert set(states.values()) == {"identical", "near_change", "substituted"}
    ca = {int(r): s.coords[(s.atom_name == "CA") & (s.res_id == r)][0] for r in states}
    for number, state in states.items():  # near_change: identical residues with a CA within NEAR_CHANGE Å
        distance = float(np.linalg.norm(ca[number] - ca[residue[1]]))
        assert nearest[number] == pytest.approx(distance, abs=0.01)
        if state != "substituted":
            assert (state == "near_change") == (distance <= NEAR_CHANGE)
    assert (s.b_factor == 0).all()  # the B-factor column, which viewers read as pLDDT, holds none
    assert "no learned confidence" in p["confidence"]


def test_loop_deletion(batch):
    prediction = batch[0]["loop_deletion"].prediction
    p = prediction.provenance.parameters
    assert [i["label"] for i in p["indels"]] == ["Q168_A169del"]
    assert p["mutations"] == []
    assert p["rebuilt_loops"] and all(w["template_stop"] - w["template_start"] <= 6 for w in p["rebuilt_loops"])
    s = prediction.structure
    numbers = s.residues.res_id.tolist()
    assert 168 not in numbers and 169 not in numbers and len(numbers) == 133
    # the rebuilt loop is bonded: no chain break other than the template's own gap 137 | 154
    from workbench.refine import find_chain_breaks

    breaks = find_chain_breaks(s)
    assert [int(s.residues.res_id[b]) for b in breaks] == [154]
    assert "rebuilt" in p["residue_states"] and set(p["residue_states"]) <= set(RESIDUE_STATES)
    assert p["rmsd_ca_unchanged_angstrom"] < 0.3


@pytest.mark.parametrize(("name", "words"), [
    ("helix_deletion", ["T97_A98del", "inside a helix", "only in loops"]),
    ("random", ["identity", "below the minimum 50.0%"]),
    ("bad_letter", ["cannot build", "X at 11"]),
    ("dimer", ["2 chain(s) requested", "template has 1"]),
])
def test_refusals_name_the_reason(batch, name, words):
    outcome = batch[0][name]
    assert not outcome.ok and outcome.prediction is None
    assert outcome.error.startswith(f"record {name!r}: ")
    for word in words:
        assert word in outcome.error


def test_provenance_is_json_and_written(batch, tmp_path):
    prediction = batch[0]["N155H"].prediction
    json.dumps(dataclasses.asdict(prediction.provenance))
    paths = write_prediction(prediction, tmp_path / "N155H")
    model = read_structure(paths["pdb"])
    assert model.sequences == prediction.structure.sequences
    confidence = json.loads(paths["confidence"].read_text())
    assert confidence["ptm"] is None and confidence["plddt"] is None and confidence["kind"] == "none"
    provenance = json.loads(paths["provenance"].read_text())
    assert provenance["method"] == "template"
    assert provenance["parameters"]["aligner"]["substitution_matrix"] == "BLOSUM62"


def test_registry_and_a_model_completed_without_a_relax():
    predictor = get_predictor("template", template=pdbfixer_1bhl())
    assert isinstance(predictor, TemplatePredictor)
    record = SequenceRecord("E92Q", "E92Q", (_mutate(predictor, "E92Q"),))
    prediction = predictor.predict([record])[0].prediction
    p = prediction.provenance.parameters
    assert "energy_kj_mol" not in p and "refinement" not in p  # a predictor only predicts
    request = BatchRequest.create("template", {"template": str(pdbfixer_1bhl())}, refine=False)
    models = compose_item(prediction, request)
    assert models.refinement is None
    s = models.model
    assert sorted(s.atom_name[(s.res_id == 92) & (s.element != "H")]) == sorted(HEAVY_ATOMS["GLN"])
    assert s.sequences["A"] == record.chains[0]
    # without a relax, unchanged residues sit exactly on the template
    assert max(d for d in p["ca_deviation_angstrom"] if d is not None) < 1e-3
    template = read_structure(pdbfixer_1bhl())
    ca = template.coords[(template.atom_name == "CA") & (template.chain_id == "A") & (template.res_id == 91)]
    np.testing.assert_allclose(s.coords[(s.atom_name == "CA") & (s.res_id == 91)], ca, atol=1e-3)


def test_bad_arguments():
    with pytest.raises(ValueError, match="min_identity"):
        TemplatePredictor(pdbfixer_1bhl(), min_identity=1.5)
    with pytest.raises(ValueError, match="no amino-acid chain 'Z'"):
        TemplatePredictor(pdbfixer_1bhl(), chain="Z")


def test_point_variants_are_screened_without_the_templates_secondary_structure():
    """DSSP of the template (numba) is computed only for an insertion or deletion inside it."""
    predictor = TemplatePredictor(pdbfixer_1bhl())
    assert predictor.refusal(SequenceRecord("T66I", "T66I", (_mutate(predictor, "T66I"),))) is None
    assert "_chain_structure" not in vars(predictor)
    reason = predictor.refusal(SequenceRecord("del", "del", (_delete(predictor, "97", 2),)))
    assert reason is not None and "inside a helix" in reason
    assert "_chain_structure" in vars(predictor)


def test_the_reference_record_is_read_without_building_the_predictor():
    from workbench.predict.base import predictor_info
    from workbench.predict.template import TemplateOptions, TemplatePredictor

    options = TemplateOptions()
    assert predictor_info("template").reference is not None
    assert predictor_info("template").reference(options) == TemplatePredictor(**options.to_dict()).reference_record()
