"""FASTA reading: valid records, and a clear error naming the record and line for each bad one."""

from __future__ import annotations

import pytest

from workbench import SequenceFormatError, read_fasta, scan_fasta
from workbench.io import safe_name


def test_records_and_chains():
    text = ">mono first protein\nMKV\nLLA\n>complex\nmkv:GS*\n>sel\nACUOBZX\n"
    records = read_fasta(text)
    assert [r.id for r in records] == ["mono", "complex", "sel"]
    assert records[0].chains == ("MKVLLA",)
    assert records[0].description == "mono first protein"
    assert records[0].line == 1
    assert records[1].chains == ("MKV", "GS")  # lower case accepted, stop codon dropped
    assert records[1].sequence == "MKV:GS"
    assert records[1].length == 5
    assert records[2].line == 6


def test_windows_line_endings_and_blank_lines(tmp_path):
    path = tmp_path / "in.fasta"
    path.write_bytes(b">a\r\nMK\r\n\r\nVL\r\n>b\r\nGG\r\n")
    assert [r.chains for r in read_fasta(path)] == [("MKVL",), ("GG",)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"empty input: no FASTA records"),
        ("\n\n  \n", r"empty input"),
        ("MKV\n>a\nMK\n", r"line 1: expected a '>' header"),
        (">a\nMKV\n>b\nMKJV\n", r"line 4: record 'b': invalid residue 'J' at position 3 of chain 1"),
        (">a\nMK\nV-A\n", r"line 3: record 'a': invalid residue '-' at position 4 .*alignment gaps"),
        (">a\nMK1\n", r"invalid residue '1'"),
        (">a\nMK::GG\n", r"record 'a': chain 2 is empty"),
        (">a\nMK:\n", r"chain 2 is empty"),
        (">a\n\n>b\nMK\n", r"line 1: record 'a': empty sequence"),
        (">\nMK\n", r"record 1: empty id"),
        (">a\nMK\n>a\nGG\n", r"line 3: record 'a': id 'a' repeats the id of line 1"),
        (">dna\nATGGCTAGCTAGGATCCGATCGTAGATGC\n", r"record 'dna': chain 1 looks like a nucleotide sequence"),
        (">rna:x\nMKV:AUGGCUAGCUAGGAUCCGAUCGUAG\n", r"chain 2 looks like a nucleotide sequence"),
        (">...\nMK\n", r"no letters or digits usable in a file name"),
    ],
)
def test_bad_input_names_record_and_line(text, message):
    with pytest.raises(SequenceFormatError, match=message):
        read_fasta(text if "\n" in text else text.encode())


def test_length_limit():
    read_fasta(">a\n" + "A" * 50 + "\n", max_length=50)
    with pytest.raises(SequenceFormatError, match="51 residues, more than the limit of 50"):
        read_fasta(">a\n" + "A" * 25 + ":" + "G" * 26 + "\n", max_length=50)


def test_scan_keeps_good_records_and_collects_errors():
    records, errors = scan_fasta(">good1\nMKV\n>bad\nMK#\n>good2\nGG\n>good1\nAA\n")
    assert [r.id for r in records] == ["good1", "good2"]
    assert [e.line for e in errors] == [4, 7]
    assert all(isinstance(e, ValueError) for e in errors)


def test_binary_input_refused(tmp_path):
    path = tmp_path / "x.fa"
    path.write_bytes(b">a\nMK\x00\x01")
    with pytest.raises(SequenceFormatError, match=r"x.fa: binary data, not a FASTA text file"):
        read_fasta(path)


@pytest.mark.parametrize(
    ("record_id", "expected"),
    [
        ("sp|P69905|HBA_HUMAN", "sp_P69905_HBA_HUMAN"),
        ("../../etc/passwd", "etc_passwd"),
        ("/abs/path", "abs_path"),
        ("a..b", "a_b"),
        ("CON", "CON_"),
        ("nul.txt", "nul.txt_"),
        ("ok-name_1.2", "ok-name_1.2"),
        ("..", ""),
    ],
)
def test_safe_names(record_id, expected):
    name = safe_name(record_id)
    assert name == expected
    assert "/" not in name and "\\" not in name and not name.startswith(".")


def test_ids_become_safe_names():
    (record,) = read_fasta(">../../etc/passwd something\nMK\n")
    assert record.id == "../../etc/passwd"
    assert record.name == "etc_passwd"


def test_a_nul_in_a_header_fails_that_record_only():
    """2,002 records, a NUL in the id of record 2,001 (past the 64 KiB binary sniff): 2,001 records go on."""
    records = [f">seq{i} designed variant {i}\n{'MKTAYIAKQRQISFVKSHFSRQ' * 2}\n" for i in range(2002)]
    records[2000] = ">seq\x002000 variant\nMKTAYIAKQR\n"
    text = "".join(records)
    assert text.index("\x00") > 65536
    good, errors = scan_fasta(text.encode())
    assert len(good) == 2001 and "seq2000" not in {r.id for r in good}
    (error,) = errors
    assert str(error) == ("<bytes>, line 4001: record 'seq\\x002000': the header holds the control character "
                          "U+0000 (NUL); ids and descriptions must be printable text")
    assert error.record == "seq\\x002000" and "\x00" not in str(error)


@pytest.mark.parametrize("header", [">a\x07 bell", ">a escape\x1b[31m red", ">a\x7f", ">a desc\x85"])
def test_other_control_characters_in_headers(header):
    good, errors = scan_fasta(f">ok\nMKV\n{header}\nMKV\n>also ok\ttabbed description\nMKV\n")
    assert [r.id for r in good] == ["ok", "also"]
    assert len(errors) == 1 and "holds the control character U+" in str(errors[0])


def test_blank_lines_before_the_first_header_are_allowed():
    assert [r.chains for r in read_fasta("\n  \n>a\nMKV\n")] == [("MKV",)]


def test_a_non_ascii_letter_fails_its_record_only():
    """Biopython's parser (used until start-up work dropped it) raised UnicodeDecodeError for the whole file."""
    good, errors = scan_fasta(">a\nMKé\n>b\nMKV\n")
    assert [r.id for r in good] == ["b"]
    assert len(errors) == 1 and "record 'a': invalid residue 'É' at position 3" in str(errors[0])


@pytest.mark.parametrize("text", [
    ">a first  description \nMK V\tL\n\n>b\nGG\n",
    ">  spaced id here\nMK\n",
    ">x\u2003wide\u3000space\nMKV\n",
    ">sp|P1|X_HUMAN  some protein OS=Homo\nMKV\nLL*\n>c\nAC:DE\n",
])
def test_records_as_biopython_reads_them(text):
    """Ids, descriptions and sequences as Biopython's ``fasta`` parser gives them (the rules the parser follows)."""
    import io

    from Bio import SeqIO

    expected = [(r.id, r.description, str(r.seq).upper().rstrip("*")) for r in SeqIO.parse(io.StringIO(text), "fasta")]
    records = read_fasta(text)
    assert [(r.id, r.description, r.sequence) for r in records] == expected
