"""Folding-stability estimate against experiment: the 121 S2648 mutations of 2LZM, 1PGA and 1UBQ.

Every mutation goes through the composition of ``workbench run`` with the
template predictor: :class:`~workbench.predict.template.TemplatePredictor` on
the wild-type structure (chain A) builds the variant, and
:func:`workbench.pipelines.tasks.compose_item` prepares and relaxes it with the
default refinement (one thread); the template's own sequence, built and relaxed
the same way, is the reference. Then :func:`workbench.stability.stability_terms`
on each relaxed model and :func:`workbench.stability.estimate_ddg` per mutation.

The estimate's weights are fitted, so every figure printed for it is held out by
protein: for each protein the weights are fitted (:func:`workbench.stability.fit_weights`)
on the mutations of the other two and the protein's mutations are predicted with
them; "all" pools those held-out predictions. Beside it: the published PremPS
prediction (``premps_cv4_kcal_mol``, also leave-one-protein-out) and the old
vacuum ``energy_change`` (relaxed mutant minus wild-type Amber energy, kJ/mol / 4.184).
``--fit`` prints the weights fitted on all 121 (:data:`workbench.stability.WEIGHTS`).

Usage::

    python benchmarks/stability.py [--data ../shared/data] [--fit]

``--data`` defaults to ``$WORKBENCH_SHARED_DATA`` or ``../shared/data``. Exits with a message when
the data folder is absent.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import pearsonr, spearmanr

from workbench.io.fasta import SequenceRecord
from workbench.pipelines.tasks import compose_item
from workbench.predict.template import TemplatePredictor
from workbench.request import BatchRequest
from workbench.stability import FEATURES, METHOD, StabilityTerms, fit_weights, mutation_features, stability_terms

DEFAULT_DATA = Path(os.environ.get("WORKBENCH_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
PROTEINS = ("1PGA", "1UBQ", "2LZM")
KCAL = 4.184


def relaxed_terms(structure: Path, labels: dict[str, str]) -> tuple[dict[str, tuple[StabilityTerms, float]],
                                                                    dict[str, float]]:
    """Build, relax and describe the wild type and each mutant of one template, as ``workbench run`` does.

    Returns ``{name: (terms, energy_after_kj_mol)}`` (``"wild_type"`` included) and CPU seconds per stage.
    """
    request = BatchRequest.create("template", {"template": str(structure), "chain": "A"}, refine={"threads": 1})
    predictor = TemplatePredictor(str(structure), chain="A")
    wild = predictor.template_sequences[0]
    numbering = predictor._numbering["A"]
    records = [predictor.reference_record()]
    for mutation in labels:
        i = numbering.index(mutation[1:-1])
        if wild[i] != mutation[0]:
            raise ValueError(f"{structure.name}: residue {mutation[1:-1]} is {wild[i]}, not {mutation[0]}")
        records.append(SequenceRecord(mutation, mutation, (wild[:i] + mutation[-1] + wild[i + 1:],)))
    results: dict[str, tuple[StabilityTerms, float]] = {}
    seconds = {"build_relax": 0.0, "terms": 0.0}
    for record in records:
        if record is None:
            raise ValueError(f"{structure.name}: no reference record")
        started = time.process_time()
        outcome = predictor.predict([record])[0]
        if outcome.prediction is None:
            raise ValueError(outcome.error)
        models = compose_item(outcome.prediction, request)
        assert models.refinement is not None
        middle = time.process_time()
        terms = stability_terms(models.refinement.structure)
        seconds["build_relax"] += middle - started
        seconds["terms"] += time.process_time() - middle
        results[record.id] = (terms, models.refinement.energy_after)
    return results, seconds


def scores(predicted: np.ndarray, observed: np.ndarray) -> tuple[float, float, float, float]:
    """Pearson r, Spearman rho, sign agreement and mean absolute error (kcal/mol)."""
    return (float(pearsonr(predicted, observed)[0]), float(spearmanr(predicted, observed)[0]),
            float(np.mean(np.sign(predicted) == np.sign(observed))), float(np.mean(np.abs(predicted - observed))))


def held_out(features: np.ndarray, observed: np.ndarray, protein: np.ndarray) -> np.ndarray:
    """Leave-one-protein-out predictions: weights fitted without the protein, applied to it."""
    predicted = np.empty(len(observed))
    for name in np.unique(protein):
        train = protein != name
        weights = fit_weights(features[train], observed[train])
        predicted[~train] = features[~train] @ np.array([weights[f] for f in FEATURES]) + weights["constant"]
    return predicted


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--fit", action="store_true", help="print the weights fitted on all mutations")
    args = parser.parse_args(argv)
    table = args.data / "stability" / "s2648_dev.tsv"
    if not table.is_file():
        sys.exit(f"skipped: {table} not found (the benchmark needs the shared data folder; --data PATH)")
    with table.open() as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))

    features, observed, premps, vacuum, protein = [], [], [], [], []
    cpu = {"build_relax": 0.0, "terms": 0.0}
    items = 0
    for name in PROTEINS:
        mine = [r for r in rows if r["pdb_id"] == name]
        results, seconds = relaxed_terms(args.data / "structures" / f"{name.lower()}.pdb",
                                         {r["mutation"]: r["mutation"] for r in mine})
        items += len(results)
        for stage, value in seconds.items():
            cpu[stage] += value
        reference, reference_energy = results["wild_type"]
        for row in mine:
            terms, energy = results[row["mutation"]]
            values = mutation_features(terms, reference, f"A:{row['mutation'][1:-1]}")
            features.append([values[f] for f in FEATURES])
            observed.append(float(row["ddg_exp_kcal_mol"]))
            premps.append(float(row["premps_cv4_kcal_mol"]))
            vacuum.append((energy - reference_energy) / KCAL)
            protein.append(name)
        print(f"{name}: {len(mine)} mutations relaxed and described", file=sys.stderr)

    x, y, p = np.array(features), np.array(observed), np.array(protein)
    columns = {f"{METHOD} (held out)": held_out(x, y, p), "PremPS (published, CV)": np.array(premps),
               "vacuum energy_change": np.array(vacuum)}
    print(f"\n{len(y)} mutations; ddG kcal/mol, positive = destabilising; "
          f"{np.mean(y > 0):.0%} destabilising in experiment")
    print(f"{'method':<44}{'set':>6}{'n':>5}{'pearson':>9}{'spearman':>9}{'sign':>7}{'MAE':>7}")
    for label, predicted in columns.items():
        for name in (*PROTEINS, "all"):
            mask = np.ones(len(y), dtype=bool) if name == "all" else p == name
            r, rho, sign, mae = scores(predicted[mask], y[mask])
            print(f"{label:<44}{name:>6}{mask.sum():>5}{r:>9.2f}{rho:>9.2f}{sign:>7.2f}{mae:>7.2f}")
    print(f"\nCPU seconds per item (one thread, {items} items incl. 3 wild types): build + relax "
          f"{cpu['build_relax'] / items:.2f} s (the pipeline's existing work), stability_terms "
          f"{cpu['terms'] / items:.2f} s; estimate_ddg on the client: microseconds")
    if args.fit:
        weights = fit_weights(x, y)
        print("weights fitted on all mutations (in-sample; for workbench.stability.WEIGHTS):")
        print("  " + ", ".join(f'"{k}": {v:.4f}' for k, v in weights.items()))


if __name__ == "__main__":
    main()
