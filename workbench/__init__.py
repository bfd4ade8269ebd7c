"""protein-workbench: sequences in; refined, checked, viewable protein structures out.

The public API is re-exported here; nothing happens at import time beyond
importing numpy and gemmi.
"""

from workbench._version import __version__
from workbench.errors import SequenceFormatError, StructureFormatError, StructureWarning
from workbench.io import SequenceRecord, read_fasta, read_structure, scan_fasta, write_structure
from workbench.structure import MissingResidue, ResidueTable, Structure

__all__ = [
    "MissingResidue",
    "ResidueTable",
    "SequenceFormatError",
    "SequenceRecord",
    "Structure",
    "StructureFormatError",
    "StructureWarning",
    "__version__",
    "read_fasta",
    "read_structure",
    "scan_fasta",
    "write_structure",
]
