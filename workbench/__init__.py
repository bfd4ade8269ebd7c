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
    "scan_fasta",
    "write_structure",
]
