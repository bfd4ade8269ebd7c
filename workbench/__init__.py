"""protein-workbench: sequences in; refined, checked, viewable protein structures out.

The public API is re-exported here; nothing happens at import time beyond
importing numpy, gemmi and OpenMM. The subpackages keep their own names:
``workbench.refine.refine(structure)``, ``workbench.predict.predict(fasta)``.
"""

from workbench._version import __version__
from workbench.errors import SequenceFormatError, StructureFormatError, StructureWarning
from workbench.io import SequenceRecord, read_fasta, read_structure, scan_fasta, write_structure
from workbench.refine import RefineConfig, RefinementResult
from workbench.structure import MissingResidue, ResidueTable, Structure

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


def __getattr__(name: str) -> object:
    """``workbench.run_batch``, ``open_results`` and ``BatchRequest`` on first use.

    So that importing workbench does not import Dask and pandas.
    """
    if name == "run_batch":
        from workbench.pipelines.batch import run_batch

        return run_batch
    if name == "open_results":
        from workbench.results import open_results

        return open_results
    if name == "BatchRequest":
        from workbench.request import BatchRequest

        return BatchRequest
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")
