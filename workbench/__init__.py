"""protein-workbench: sequences in; refined, checked, viewable protein structures out.

The public API is re-exported here, lazily (PEP 562): ``import workbench``
imports nothing but the version, and ``from workbench import read_structure``
imports only what that name needs (gemmi and numpy, not OpenMM, numba or
Dask), so the command line starts quickly. The subpackages keep their own
names: ``workbench.refine.refine(structure)``, ``workbench.predict.predict(fasta)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench._lazy import lazy_exports
from workbench._version import __version__

if TYPE_CHECKING:  # the names below, for type checkers and editors; at run time see __getattr__
    from workbench.errors import SequenceFormatError, StructureFormatError, StructureWarning
    from workbench.io.fasta import SequenceRecord, read_fasta, scan_fasta
    from workbench.io.structure_reader import read_structure
    from workbench.io.structure_writer import write_structure
    from workbench.pipelines.batch import run_batch
    from workbench.refine.result import RefinementResult
    from workbench.refine.settings import RefineConfig
    from workbench.request import BatchRequest
    from workbench.results import open_results
    from workbench.structure import MissingResidue, ResidueTable, Structure

#: Where each public name is defined: imported on first use.
_LAZY: dict[str, str] = {
    "BatchRequest": "workbench.request",
    "MissingResidue": "workbench.structure",
    "RefineConfig": "workbench.refine.settings",
    "RefinementResult": "workbench.refine.result",
    "ResidueTable": "workbench.structure",
    "SequenceFormatError": "workbench.errors",
    "SequenceRecord": "workbench.io.fasta",
    "Structure": "workbench.structure",
    "StructureFormatError": "workbench.errors",
    "StructureWarning": "workbench.errors",
    "open_results": "workbench.results",
    "read_fasta": "workbench.io.fasta",
    "read_structure": "workbench.io.structure_reader",
    "run_batch": "workbench.pipelines.batch",
    "scan_fasta": "workbench.io.fasta",
    "write_structure": "workbench.io.structure_writer",
}

__all__ = [
    "BatchRequest",
    "MissingResidue",
    "RefineConfig",
    "RefinementResult",
    "ResidueTable",
    "SequenceFormatError",
    "SequenceRecord",
    "Structure",
    "StructureFormatError",
    "StructureWarning",
    "__version__",
    "open_results",
    "read_fasta",
    "read_structure",
    "run_batch",
    "scan_fasta",
    "write_structure",
]


__getattr__, __dir__ = lazy_exports(globals(), _LAZY)
