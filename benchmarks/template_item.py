"""CPU time of one point-mutant template item: one preparation (now) against two (the former composition).

Before the pipeline composed the steps, the template predictor completed each
model with the refinement's preparation (PDBFixer) and the pipeline's
refinement then prepared the completed model again. Now the predictor returns
the built model, and the pipeline prepares once and refines from that
preparation (:func:`workbench.pipelines.tasks.compose_item`). Both ways are
run here, on one thread, in the same process, on 1BHL N155H:

- ``twice``: ``prepare_for_refinement`` to complete the model, then
  ``refine(completed)``, which prepares again (the former composition);
- ``once``: ``compose_item``: ``prepare_for_refinement``, then
  ``refine(model, prepared=...)``.

Prints the CPU seconds of each (best of ``--repeats``), the ratio, and checks
the two give the same relaxed energy to within the rounding of a re-prepared model.

Usage::

    python benchmarks/template_item.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

from workbench.io.fasta import SequenceRecord
from workbench.pipelines.tasks import compose_item
from workbench.predict.template import TemplatePredictor, default_template
from workbench.refine import RefineConfig, prepare_for_refinement, refine
from workbench.request import BatchRequest


def _cpu(function) -> tuple[float, object]:
    start = time.process_time()
    value = function()
    return time.process_time() - start, value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    predictor = TemplatePredictor(default_template())
    wild, numbering = predictor.template_sequences[0], predictor._numbering["A"]
    i = numbering.index("155")
    record = SequenceRecord("N155H", "N155H", (wild[:i] + "H" + wild[i + 1:],))
    build_s, outcome = _cpu(lambda: predictor.predict([record])[0])
    prediction = outcome.prediction
    config = RefineConfig(threads=1)
    request = dataclasses.replace(BatchRequest.create("template"), refine=config)

    def twice():
        completed = prepare_for_refinement(prediction.structure, config).to_structure(hydrogens=False)
        return refine(completed, config)

    def once():
        return compose_item(prediction, request).refinement

    times: dict[str, list[float]] = {"twice": [], "once": []}
    energies: dict[str, float] = {}
    for _ in range(args.repeats):
        for name, function in (("twice", twice), ("once", once)):
            seconds, result = _cpu(function)
            times[name].append(seconds)
            energies[name] = result.energy_after
    best = {name: min(values) for name, values in times.items()}
    print(f"1BHL N155H, one thread, best of {args.repeats} (CPU seconds; building the model: {build_s:.2f} s)")
    print(f"  former composition, prepared twice : {best['twice']:6.2f} s   energy {energies['twice']:.1f} kJ/mol")
    print(f"  one preparation (compose_item)    : {best['once']:6.2f} s   energy {energies['once']:.1f} kJ/mol")
    print(f"  ratio twice / once                : {best['twice'] / best['once']:.2f}")
    print(f"  item CPU time with the build      : {build_s + best['twice']:.2f} s -> {build_s + best['once']:.2f} s")


if __name__ == "__main__":
    main()
