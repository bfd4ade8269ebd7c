"""Readers and writers: structures (PDB, mmCIF) and sequences (FASTA)."""

from workbench.io.fasta import SequenceRecord, read_fasta, safe_name, scan_fasta
from workbench.io.structure_reader import read_structure
from workbench.io.structure_writer import format_mmcif, format_pdb, write_structure

__all__ = [
    "SequenceRecord",
    "format_mmcif",
    "format_pdb",
    "read_fasta",
    "read_structure",
    "safe_name",
    "scan_fasta",
    "write_structure",
]
