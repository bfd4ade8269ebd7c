"""Readers and writers: structures (PDB, mmCIF with ModelCIF confidence), PAE JSON, sequences (FASTA)."""

from workbench.io.fasta import SequenceRecord, read_fasta, safe_name, scan_fasta
from workbench.io.modelcif import ModelConfidence, format_pae_json
from workbench.io.structure_reader import read_structure
from workbench.io.structure_writer import format_mmcif, format_pdb, write_structure

__all__ = [
    "ModelConfidence",
    "SequenceRecord",
    "format_mmcif",
    "format_pae_json",
    "format_pdb",
    "read_fasta",
    "read_structure",
    "safe_name",
    "scan_fasta",
    "write_structure",
]
