"""protein-workbench: sequences in; refined, checked, viewable protein structures out.

The public API is re-exported here; nothing happens at import time beyond
importing numpy, gemmi and OpenMM.
"""

from workbench._version import __version__
from workbench.errors import SequenceFormatError, StructureFormatError, StructureWarning
from workbench.io import SequenceRecord, read_fasta, read_structure, scan_fasta, write_structure
from workbench.predict.api import predict  # `workbench.predict` is the function, as `workbench.refine`
from workbench.refine import RefineConfig, RefinementResult, refine  # `workbench.refine` is the function
from workbench.structure import MissingResidue, ResidueTable, Structure

__all__ = [
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
    "predict",
    "read_fasta",
    "read_structure",
    "refine",
    "run_batch",
    "scan_fasta",
    "write_structure",
]


def __getattr__(name: str):
    """``workbench.run_batch`` on first use, so importing workbench does not import Dask and pandas."""
    if name == "run_batch":
        from workbench.pipelines.batch import run_batch

        return run_batch
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")
