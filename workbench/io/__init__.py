"""Readers and writers: structures (PDB, mmCIF with ModelCIF confidence), PAE JSON, sequences (FASTA).

The names below are exported lazily (:mod:`workbench._lazy`): importing one
reader, or :mod:`workbench.io._source` alone, does not import the others (the
ModelCIF writer brings numpy and python-modelcif into ``workbench submit``).
"""

from workbench._lazy import lazy_exports

_LAZY = {
    "SequenceRecord": "workbench.io.fasta",
    "read_fasta": "workbench.io.fasta",
    "safe_name": "workbench.io.fasta",
    "scan_fasta": "workbench.io.fasta",
    "ModelConfidence": "workbench.io.modelcif",
    "format_pae_json": "workbench.io.modelcif",
    "read_structure": "workbench.io.structure_reader",
    "format_mmcif": "workbench.io.structure_writer",
    "format_pdb": "workbench.io.structure_writer",
    "write_structure": "workbench.io.structure_writer",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_exports(globals(), _LAZY)
