"""The folding-stability estimate on six S2648 mutations of T4 lysozyme (2LZM), against the old energy change.

Each mutant is built by the template predictor on ../shared/data/structures/2lzm.pdb and relaxed by
:func:`workbench.pipelines.tasks.compose_item`, as ``workbench run`` does; skipped without the shared data.
These mutations are among the 121 the shipped weights were fitted to, so this checks sign and size, not
accuracy (``benchmarks/stability.py`` gives the held-out figures).

Criteria (experimental ΔΔG in brackets, kcal/mol, positive = destabilising):

- core changes, destabilising by more than 1 kcal/mol: L133A (4.19, a core Leu to Ala), V149A (2.87),
  A98V (4.98, a small-to-large change that over-packs the core);
- surface changes in a helix or loop, within ±1 kcal/mol: K16E (-0.15), E128A (-0.16), V131A (-0.30).
"""

from __future__ import annotations

import csv
import json

import pytest

from tests.conftest import shared_data_dir
from workbench.io.fasta import SequenceRecord
from workbench.stability import METHOD, StabilityEstimate, StabilityTerms, estimate_ddg, stability_terms

DESTABILISING = ("L133A", "V149A", "A98V")
MILD = ("K16E", "E128A", "V131A")
#: Destabilising means above this, kcal/mol.
THRESHOLD = 1.0
#: A mild change lies within ± this, kcal/mol.
MILD_RANGE = 1.0
KCAL = 4.184


def passes(ddg: dict[str, float]) -> dict[str, bool]:
    """Each mutation's verdict under the criteria of this module."""
    return {m: ddg[m] > THRESHOLD for m in DESTABILISING} | {m: abs(ddg[m]) <= MILD_RANGE for m in MILD}


@pytest.fixture(scope="module")
def relaxed() -> dict[str, tuple[StabilityTerms, float]]:
    """``{name: (stability terms, vacuum energy after the relax, kJ/mol)}`` for the wild type and six mutants."""
    root = shared_data_dir()
    if root is None or not (root / "stability" / "s2648_dev.tsv").is_file():
        pytest.skip("../shared/data/stability is not beside this checkout (set WORKBENCH_SHARED_DATA)")
    from workbench.pipelines.tasks import compose_item
    from workbench.predict.template import TemplatePredictor
    from workbench.request import BatchRequest

    path = root / "structures" / "2lzm.pdb"
    request = BatchRequest.create("template", {"template": str(path), "chain": "A"}, refine={"threads": 1})
    predictor = TemplatePredictor(str(path), chain="A")
    wild, numbering = predictor.template_sequences[0], predictor._numbering["A"]
    records = [predictor.reference_record()]
    for mutation in (*DESTABILISING, *MILD):
        i = numbering.index(mutation[1:-1])
        assert wild[i] == mutation[0]
        records.append(SequenceRecord(mutation, mutation, (wild[:i] + mutation[-1] + wild[i + 1:],)))
    out = {}
    for record in records:
        assert record is not None
        prediction = predictor.predict([record])[0].prediction
        assert prediction is not None
        refinement = compose_item(prediction, request).refinement
        assert refinement is not None
        out[record.id] = (stability_terms(refinement.structure), refinement.energy_after)
    return out


def test_experimental_signs_are_as_the_criteria_say(shared_data):
    with (shared_data / "stability" / "s2648_dev.tsv").open() as handle:
        rows = {r["mutation"]: float(r["ddg_exp_kcal_mol"]) for r in csv.DictReader(handle, delimiter="\t")
                if r["pdb_id"] == "2LZM"}
    assert all(passes({m: rows[m] for m in (*DESTABILISING, *MILD)}).values())


def test_estimate_has_the_right_sign_and_size(relaxed):
    reference = relaxed["wild_type"][0]
    estimates = {m: estimate_ddg(relaxed[m][0], reference, m) for m in (*DESTABILISING, *MILD)}
    assert all(e.method == METHOD and e.ddg is not None for e in estimates.values())
    verdicts = passes({m: float(e.ddg) for m, e in estimates.items() if e.ddg is not None})
    assert all(verdicts.values()), {m: round(float(e.ddg or 0), 2) for m, e in estimates.items()}


def test_old_vacuum_energy_change_fails_the_same_criteria(relaxed):
    reference_energy = relaxed["wild_type"][1]
    old = {m: (relaxed[m][1] - reference_energy) / KCAL for m in (*DESTABILISING, *MILD)}
    verdicts = passes(old)
    assert not all(verdicts.values()), old
    assert not any(verdicts[m] for m in MILD), old  # every surface change is off by several kcal/mol


def test_terms_round_trip_through_json(relaxed):
    terms = relaxed["wild_type"][0]
    again = StabilityTerms.from_dict(json.loads(json.dumps(terms.to_dict())))
    assert again.labels == terms.labels and again.sequence == terms.sequence and again.secondary == terms.secondary
    assert again.side_chain_lj == pytest.approx(terms.side_chain_lj, abs=1e-4)
    assert again.relative_sasa == pytest.approx(terms.relative_sasa, abs=1e-4, nan_ok=True)


def test_no_estimate_for_what_is_not_a_point_mutation(relaxed):
    terms = relaxed["wild_type"][0]
    assert estimate_ddg(terms, terms, None).ddg is None
    insertion = estimate_ddg(terms, terms, "ins45G")
    assert insertion.ddg is None and "not a point mutation" in (insertion.reason or "")
    wrong = estimate_ddg(terms, terms, "A133G")
    assert wrong.ddg is None and "is L in the reference" in (wrong.reason or "")
    missing = estimate_ddg(terms, terms, "L999A")
    assert isinstance(missing, StabilityEstimate) and missing.ddg is None and "A:999" in (missing.reason or "")
