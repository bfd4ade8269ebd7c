"""Size limits at the readers: gzip bombs, oversized files and structures with too many atoms.

Each input is made here: a gzip of zeros that expands far past the limit, a
plain file one byte over it, a structure one atom over the atom limit.
"""

from __future__ import annotations

import gzip
import tracemalloc
from pathlib import Path

import pytest

from workbench import StructureFormatError, read_structure
from workbench.cli import main
from workbench.config import DEFAULT_MAX_ATOMS, DEFAULT_MAX_INPUT_BYTES, max_atoms, max_input_bytes
from workbench.errors import SequenceFormatError
from workbench.io.fasta import read_fasta

MiB = 1024**2
ATOM = "ATOM  {serial:5d}  CA  GLY A{res:4d}    {x:8.3f}   0.000   0.000  1.00 50.00           C\n"


def gzip_bomb(path: Path, expanded: int, head: bytes = b"") -> Path:
    """A gzip of ``head`` then zeros, ``expanded`` bytes once decompressed (about 1/1000 of that on disk)."""
    zeros = b"\0" * MiB
    with gzip.open(path, "wb", compresslevel=9) as stream:
        stream.write(head)
        for _ in range((expanded - len(head)) // MiB):
            stream.write(zeros)
    return path


def pdb_text(n_atoms: int) -> str:
    return "".join(ATOM.format(serial=i + 1, res=i + 1, x=3.8 * i) for i in range(n_atoms)) + "END\n"


def test_defaults_and_environment(monkeypatch):
    monkeypatch.delenv("WORKBENCH_MAX_INPUT_BYTES", raising=False)
    monkeypatch.delenv("WORKBENCH_MAX_ATOMS", raising=False)
    assert max_input_bytes() == DEFAULT_MAX_INPUT_BYTES == 512 * MiB
    assert max_atoms() == DEFAULT_MAX_ATOMS == 2_000_000
    monkeypatch.setenv("WORKBENCH_MAX_INPUT_BYTES", "1_000")
    monkeypatch.setenv("WORKBENCH_MAX_ATOMS", "50")
    assert (max_input_bytes(), max_atoms()) == (1000, 50)
    for bad in ("lots", "0", "-5"):
        monkeypatch.setenv("WORKBENCH_MAX_INPUT_BYTES", bad)
        with pytest.raises(ValueError, match="WORKBENCH_MAX_INPUT_BYTES"):
            max_input_bytes()


def test_gzip_bomb_stops_at_the_limit_without_expanding(tmp_path, monkeypatch):
    """64 MiB of zeros in a 64 KB .pdb.gz against a 1 MiB limit: refused, having held about the limit in memory."""
    bomb = gzip_bomb(tmp_path / "bomb.pdb.gz", 64 * MiB, head=pdb_text(3).encode())
    assert bomb.stat().st_size < MiB // 4
    monkeypatch.setenv("WORKBENCH_MAX_INPUT_BYTES", str(MiB))
    tracemalloc.start()
    try:
        with pytest.raises(StructureFormatError) as caught:
            read_structure(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(caught.value)
    assert message.startswith(f"{bomb}: ") and "\n" not in message
    assert "limit of 1 MiB after decompression" in message and "WORKBENCH_MAX_INPUT_BYTES" in message
    assert peak < 8 * MiB, f"{peak / MiB:.1f} MiB held while refusing a bomb of 64 MiB against a 1 MiB limit"


def test_the_argument_overrides_the_environment(tmp_path, monkeypatch):
    bomb = gzip_bomb(tmp_path / "bomb.cif.gz", 4 * MiB)
    monkeypatch.setenv("WORKBENCH_MAX_INPUT_BYTES", str(64 * MiB))
    with pytest.raises(StructureFormatError, match="limit of 2 MiB after decompression"):
        read_structure(bomb, max_bytes=2 * MiB)
    with pytest.raises(StructureFormatError, match="limit of 1 MiB after decompression"):
        read_structure(bomb.read_bytes(), max_bytes=MiB)  # bytes are capped the same way


def test_plain_file_one_byte_over_the_limit(tmp_path):
    text = pdb_text(4)
    path = tmp_path / "four.pdb"
    path.write_text(text)
    assert read_structure(path, max_bytes=len(text)).n_atoms == 4  # at the limit: read
    with pytest.raises(StructureFormatError) as caught:
        read_structure(path, max_bytes=len(text) - 1)
    assert str(caught.value) == (f"{path}: larger than the input limit of {len(text) - 1} bytes "
                                 "(raise it with WORKBENCH_MAX_INPUT_BYTES or max_bytes=)")
    with pytest.raises(StructureFormatError, match="<text>: larger than the input limit"):
        read_structure(text, max_bytes=10)


def test_fasta_gzip_bomb_is_a_sequence_format_error(tmp_path, monkeypatch):
    bomb = gzip_bomb(tmp_path / "seqs.fasta.gz", 8 * MiB, head=b">a\nMKV\n>b\n")
    monkeypatch.setenv("WORKBENCH_MAX_INPUT_BYTES", str(MiB))
    with pytest.raises(SequenceFormatError, match=r"seqs\.fasta\.gz: larger than the input limit of 1 MiB"):
        read_fasta(bomb)


def test_atom_limit(tmp_path, monkeypatch):
    path = tmp_path / "chain.pdb"
    path.write_text(pdb_text(5))
    assert read_structure(path, max_atoms=5).n_atoms == 5
    with pytest.raises(StructureFormatError) as caught:
        read_structure(path, max_atoms=4)
    assert str(caught.value) == (f"{path}: 5 atom records, more than the limit of 4 "
                                 "(raise it with WORKBENCH_MAX_ATOMS or max_atoms=)")
    monkeypatch.setenv("WORKBENCH_MAX_ATOMS", "4")
    with pytest.raises(StructureFormatError, match="5 atom records, more than the limit of 4"):
        read_structure(path)


def test_atom_limit_counts_mmcif_rows(shared_data):
    path = shared_data / "structures" / "1ake.cif"
    with pytest.raises(StructureFormatError, match="3,816 atom records, more than the limit of 3,000"):
        read_structure(path, max_atoms=3000)


def test_workbench_info_refuses_a_bomb_in_one_line(tmp_path, monkeypatch, capsys):
    bomb = gzip_bomb(tmp_path / "big.pdb.gz", 4 * MiB, head=pdb_text(3).encode())
    monkeypatch.setenv("WORKBENCH_MAX_INPUT_BYTES", str(MiB))
    assert main(["info", str(bomb)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"{bomb}: larger than the input limit of 1 MiB" in err
