"""Read protein sequences from FASTA, validated for prediction.

A small parser reads the records with Biopython's rules for the ``fasta`` format
(the id is the header's first word, the description the whole header, spaces
and tabs in the sequence are dropped), without importing Biopython (whose
``SeqIO`` takes a fifth of a second to import); this module checks what a predictor needs: the
amino-acid alphabet (20 standard letters plus X, U, O, B, Z; lower case
accepted), ``:`` between the chains of a complex, length limits, unique
ids, each with a file-safe form, and headers without control characters (a NUL
in an id would fail the job store on PostgreSQL; the record fails instead, and
its error carries the id with the character escaped). Errors name the record and the line. Two ids
may share a file-safe form (``a`` and ``A``, ``x/y`` and ``x_y``): the results
folder gives each its own folder (:func:`workbench.results.record_folder_names`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workbench._text import control_character, escape_control_characters
from workbench.errors import SequenceFormatError
from workbench.io._source import Source, load_text

#: One-letter codes accepted in sequences: the 20 standard amino acids, X (unknown),
#: U (selenocysteine), O (pyrrolysine), B (Asx) and Z (Glx).
AMINO_ACID_ALPHABET = frozenset("ACDEFGHIKLMNPQRSTVWY" + "XUOBZ")
CHAIN_SEPARATOR = ":"
DEFAULT_MAX_LENGTH = 10_000
MAX_ID_LENGTH = 100

#: Dropped from sequence lines, as Biopython's ``fasta`` parser drops them.
_SEQUENCE_BLANKS = str.maketrans("", "", " \t\r\n")
_UNSAFE_RUN = re.compile(r"[^A-Za-z0-9_.-]+")
_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"COM{i}" for i in range(1, 10)} | {f"LPT{i}" for i in range(1, 10)}
)


@dataclass(frozen=True)
class SequenceRecord:
    """One validated FASTA record.

    Attributes
    ----------
    id : str
        The first word of the header, as written.
    name : str
        ``id`` made safe as a file name (letters, digits, ``_ . -``; no path
        separators, no leading dots); not necessarily unique (see the module docstring).
    chains : tuple of str
        Upper-case one-letter sequence of each chain (one for a monomer).
    description : str
        The full header line after ``>``.
    line : int
        Line number of the header in the source (1-based).
    """

    id: str
    name: str
    chains: tuple[str, ...]
    description: str = ""
    line: int = 0

    @property
    def sequence(self) -> str:
        """The chains joined with ``:``."""
        return CHAIN_SEPARATOR.join(self.chains)

    @property
    def length(self) -> int:
        """Total number of residues over all chains."""
        return sum(len(c) for c in self.chains)


def safe_name(record_id: str) -> str:
    """A file-name-safe form of ``record_id`` (may be empty when nothing usable is left).

    Examples
    --------
    >>> safe_name("sp|P69905|HBA_HUMAN")
    'sp_P69905_HBA_HUMAN'
    >>> safe_name("../../etc/passwd")
    'etc_passwd'
    """
    name = _UNSAFE_RUN.sub("_", record_id).replace("..", "_")
    name = re.sub(r"_+", "_", name).strip("._-")[:MAX_ID_LENGTH]
    if name.upper().split(".")[0] in _WINDOWS_RESERVED:
        name = f"{name}_"
    return name


def read_fasta(source: Source, *, max_length: int = DEFAULT_MAX_LENGTH) -> list[SequenceRecord]:
    r"""Read and validate every record of a FASTA file; raise at the first bad one.

    Parameters
    ----------
    source : str, os.PathLike or bytes
        A path, the file's bytes, or FASTA text (a ``str`` holding a newline).
    max_length : int
        Largest total number of residues accepted per record.

    Returns
    -------
    list of SequenceRecord

    Raises
    ------
    SequenceFormatError
        Naming the record, its line and the problem.

    Examples
    --------
    >>> [r.chains for r in read_fasta(">dimer\nMKV:gsa\n")]
    [('MKV', 'GSA')]
    """
    records, errors = scan_fasta(source, max_length=max_length)
    if errors:
        raise errors[0]
    return records


def scan_fasta(
    source: Source, *, max_length: int = DEFAULT_MAX_LENGTH
) -> tuple[list[SequenceRecord], list[SequenceFormatError]]:
    """Read a FASTA file, keeping the good records and one error per bad record.

    A batch uses this to go on with the good sequences and report the rest.
    Problems with the file as a whole (no records, binary data, text before
    the first header) are raised, not collected.

    Parameters
    ----------
    source : str, os.PathLike or bytes
    max_length : int

    Returns
    -------
    records : list of SequenceRecord
    errors : list of SequenceFormatError
    """
    loaded = load_text(source, SequenceFormatError, what="FASTA")
    text = loaded.text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    headers = [i for i, line in enumerate(lines) if line.startswith(">")]
    first_content = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first_content is None:
        raise SequenceFormatError("empty input: no FASTA records", source=loaded.name)
    if not headers or headers[0] != first_content:
        raise SequenceFormatError(
            "expected a '>' header line before any sequence", source=loaded.name, line=first_content + 1
        )
    records: list[SequenceRecord] = []
    errors: list[SequenceFormatError] = []
    seen: dict[str, SequenceRecord] = {}
    for k, header in enumerate(headers):
        next_header = headers[k + 1] if k + 1 < len(headers) else len(lines)
        body = lines[header + 1 : next_header]
        description = lines[header][1:].rstrip()
        words = description.split(None, 1)
        record_id = words[0] if words else ""
        label = f"record {record_id!r}" if record_id else f"record {k + 1}"
        try:
            record = _validate(record_id, description, "".join(body).translate(_SEQUENCE_BLANKS),
                               header, body, max_length, label, loaded.name, header_line=lines[header])
            clash = seen.get(record.id)
            if clash is not None:
                raise SequenceFormatError(f"{label}: id {record.id!r} repeats the id of line {clash.line}",
                                          source=loaded.name, line=header + 1, record=record.id)
        except SequenceFormatError as exc:
            errors.append(exc)
            continue
        seen[record.id] = record
        records.append(record)
    return records, errors


def _validate(
    record_id: str, description: str, raw: str, header: int, body: list[str],
    max_length: int, label: str, source: str, *, header_line: str = "",
) -> SequenceRecord:
    def fail(problem: str, line: int = header + 1) -> SequenceFormatError:
        # the id with its control characters escaped, so that it can be stored and shown
        return SequenceFormatError(f"{label}: {problem}", source=source, line=line,
                                   record=escape_control_characters(record_id))

    if not record_id:
        raise fail("empty id after '>'")
    # the raw line: the description has characters such as U+0085 stripped from its end
    control = control_character(record_id) or control_character(header_line or description, allow_whitespace=True)
    if control is not None:
        raise fail(f"the header holds the control character {control}; ids and descriptions must be printable text")
    name = safe_name(record_id)
    if not name:
        raise fail(f"id {record_id!r} has no letters or digits usable in a file name")
    sequence = raw.upper()
    if not sequence:
        raise fail("empty sequence")
    chains = sequence.split(CHAIN_SEPARATOR)
    for c, chain in enumerate(chains):
        chain = chain[:-1] if chain.endswith("*") else chain  # a translated stop codon
        chains[c] = chain
        if not chain:
            raise fail(f"chain {c + 1} is empty (stray ':'?)")
        for position, letter in enumerate(chain):
            if letter not in AMINO_ACID_ALPHABET:
                where = _line_of(body, c, position, header)
                hint = " (alignment gaps are not accepted)" if letter in "-." else ""
                raise fail(
                    f"invalid residue {letter!r} at position {position + 1} of chain {c + 1}{hint}; "
                    "allowed: the 20 standard amino acids and X, U, O, B, Z",
                    line=where,
                )
        if looks_like_nucleotides(chain):
            raise fail(f"chain {c + 1} looks like a nucleotide sequence ({len(chain)} letters, all A, C, G, T, U "
                       "or N); give the protein sequence (translate it first)")
    total = sum(len(chain) for chain in chains)
    if total > max_length:
        raise fail(f"{total} residues, more than the limit of {max_length}")
    return SequenceRecord(id=record_id, name=name, chains=tuple(chains),
                          description=description, line=header + 1)


NUCLEOTIDE_LETTERS = frozenset("ACGTUN")
MIN_NUCLEOTIDE_LENGTH = 20


def looks_like_nucleotides(chain: str) -> bool:
    """A chain of at least 20 letters, all A, C, G, T, U or N with at least three of the bases: DNA or RNA.

    Alanine, cysteine, glycine and threonine share those letters, but a real
    protein of 20 or more residues made of them alone (and no other amino
    acid) does not occur in practice: the odds for a random one are about
    (4/20)^20, some 10^-14. Homopolymers and two-letter repeats (poly-Ala,
    (GA)n linkers) stay proteins.

    Examples
    --------
    >>> looks_like_nucleotides("ATGGCTAGCTAGGATCCGATCGTAG"), looks_like_nucleotides("MKTAYIAKQRQISFVKSHFSRQ")
    (True, False)
    >>> looks_like_nucleotides("ACGT"), looks_like_nucleotides("A" * 30), looks_like_nucleotides("GA" * 15)
    (False, False, False)
    """
    letters = set(chain.upper())
    return (len(chain) >= MIN_NUCLEOTIDE_LENGTH and letters <= NUCLEOTIDE_LETTERS
            and len(letters & set("ACGTU")) >= 3)


def _line_of(body: list[str], chain: int, position: int, header: int) -> int:
    """1-based line number holding residue ``position`` of chain ``chain`` in a record body."""
    c, p = 0, 0
    for offset, line in enumerate(body):
        for letter in "".join(line.split()):
            if letter == CHAIN_SEPARATOR:
                c, p = c + 1, 0
                continue
            if c == chain and p == position:
                return header + 2 + offset
            p += 1
    return header + 1
