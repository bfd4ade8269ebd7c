"""ModelCIF writers side by side: gemmi (the workbench's format_mmcif) and python-modelcif.

Writes AlphaFold DB's AF-Q5VSL9 (837 residues, 6,718 atoms) with its B-factors as
pLDDT, then with a random PAE as well, once each, and prints the wall times and
sizes (the numbers quoted in ``workbench/io/modelcif.py``). python-modelcif is not
a dependency: ``pip install modelcif`` first.

    python benchmarks/modelcif_writers.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

import modelcif
import modelcif.dumper
import modelcif.model
import modelcif.qa_metric
import numpy as np

from workbench import read_structure
from workbench.io import ModelConfidence, format_mmcif


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    args = parser.parse_args()
    structure = read_structure(args.data / "predicted" / "AF-Q5VSL9-F1-model_v4.pdb")
    plddt = structure.b_factor[structure.residue_starts[:-1]].astype(np.float64)
    pae = np.random.default_rng(0).uniform(0, 31.75, (len(plddt), len(plddt)))

    for label, confidence in (("pLDDT", ModelConfidence(method="AF", software_name="AlphaFold", plddt=plddt)),
                              ("pLDDT+PAE", ModelConfidence(method="AF", software_name="AlphaFold", plddt=plddt,
                                                            pae=pae))):
        start = time.perf_counter()
        text = format_mmcif(structure, confidence=confidence)
        print(f"gemmi            {label:10s} {time.perf_counter() - start:7.3f} s  {len(text) / 1e6:6.2f} MB")
        start = time.perf_counter()
        text = python_modelcif(structure, plddt, pae if "PAE" in label else None)
        print(f"python-modelcif  {label:10s} {time.perf_counter() - start:7.3f} s  {len(text) / 1e6:6.2f} MB")


def python_modelcif(structure, plddt: np.ndarray, pae: np.ndarray | None) -> str:
    """The same model and metrics through python-modelcif's object model and dumper."""
    asym = modelcif.AsymUnit(modelcif.Entity(structure.sequences["A"]), details="A", id="A")
    software = modelcif.Software("AlphaFold", "other", "structure prediction", "package", "2")
    residues = structure.residues

    class Model(modelcif.model.AbInitioModel):
        def get_atoms(self):
            for k in range(len(residues)):
                for i in range(residues.start[k], residues.start[k + 1]):
                    x, y, z = structure.coords[i].tolist()
                    yield modelcif.model.Atom(asym_unit=asym, type_symbol=str(structure.element[i]), seq_id=k + 1,
                                              atom_id=str(structure.atom_name[i]), x=x, y=y, z=z, het=False,
                                              biso=float(structure.b_factor[i]), occupancy=1.0)

    class GlobalPLDDT(modelcif.qa_metric.Global, modelcif.qa_metric.PLDDT):
        """pLDDT"""

    class LocalPLDDT(modelcif.qa_metric.Local, modelcif.qa_metric.PLDDT):
        """pLDDT"""

    class PAE(modelcif.qa_metric.LocalPairwise, modelcif.qa_metric.PAE):
        """PAE"""

    for metric in (GlobalPLDDT, LocalPLDDT, PAE):
        metric.software = software
    model = Model(assembly=modelcif.Assembly([asym]), name="model")
    model.qa_metrics.append(GlobalPLDDT(float(plddt.mean())))
    model.qa_metrics.extend(LocalPLDDT(asym.residue(k + 1), float(v)) for k, v in enumerate(plddt))
    if pae is not None:
        n = len(plddt)
        model.qa_metrics.extend(PAE(asym.residue(i + 1), asym.residue(j + 1), float(pae[i, j]))
                                for i in range(n) for j in range(n))
    system = modelcif.System(title="model")
    system.model_groups.append(modelcif.model.ModelGroup([model]))
    out = io.StringIO()
    modelcif.dumper.write(out, [system])
    return out.getvalue()


if __name__ == "__main__":
    main()
