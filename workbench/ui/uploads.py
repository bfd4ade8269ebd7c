"""Checks on what users paste and upload: size limits, FASTA validation, template storage.

A file's name from the browser never becomes part of a path: a template is
saved as ``$WORKBENCH_HOME/uploads/<user key>/<sha256 of its content>.<pdb|cif>``
(the user key a hash of the uploader's id, so each user's uploads are apart),
the suffix chosen from the parsed content, after
:func:`workbench.read_structure` accepted it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from workbench.errors import SequenceFormatError, StructureFormatError
from workbench.files import atomic_write_bytes
from workbench.io.fasta import SequenceRecord, scan_fasta
from workbench.io.structure_reader import read_structure
from workbench.state_folders import make_state_folder
from workbench.structure import Structure

MB = 1024 * 1024
#: Largest FASTA accepted (pasted or uploaded).
FASTA_LIMIT = 5 * MB
#: Largest template or structure upload (after gunzip).
STRUCTURE_LIMIT = 20 * MB


class UploadError(ValueError):
    """An upload that is too large or not what it should be; the message is for the user."""


@dataclass(frozen=True)
class FastaCheck:
    """Outcome of validating FASTA text.

    Attributes
    ----------
    records : list of SequenceRecord
        The valid records.
    errors : list of str
        One message per bad record, or one for the whole file; each names the record or line.
    """

    records: list[SequenceRecord] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when there is at least one record and no error (only then is a job queued)."""
        return bool(self.records) and not self.errors


def check_size(data: bytes | str, limit: int, what: str) -> bytes:
    """``data`` as bytes, or UploadError when it is larger than ``limit`` bytes."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > limit:
        raise UploadError(f"{what} is {len(raw) / MB:.1f} MB; the limit is {limit / MB:.0f} MB")
    return raw


def check_fasta(text: str | bytes) -> FastaCheck:
    r"""Validate FASTA before anything is queued.

    Parameters
    ----------
    text : str or bytes
        Pasted text or an uploaded file's bytes.

    Returns
    -------
    FastaCheck

    Examples
    --------
    >>> check_fasta(">a\nMKV\n>b\nMK1\n").errors[0].startswith("line 4: record 'b'")
    True
    >>> check_fasta("").errors
    ['no sequences: paste FASTA or upload a file']
    """
    if not text.strip():
        return FastaCheck(errors=["no sequences: paste FASTA or upload a file"])
    try:
        raw = check_size(text, FASTA_LIMIT, "the FASTA")
        records, errors = scan_fasta(raw)
    except (UploadError, SequenceFormatError) as exc:
        return FastaCheck(errors=[_message(exc)])
    return FastaCheck(records=records, errors=[_message(e) for e in errors])


def _message(exc: Exception) -> str:
    text = str(exc)
    for prefix in ("<bytes>: ", "<bytes>, "):
        text = text.removeprefix(prefix)
    return text.replace("<bytes>", "the input")


def _gunzip(raw: bytes, limit: int) -> bytes:
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
            data = stream.read(limit + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise UploadError(f"not a readable gzip file: {exc}") from None
    if len(data) > limit:
        raise UploadError(f"the structure is larger than {limit / MB:.0f} MB unpacked")
    return data


def parse_structure(data: bytes) -> tuple[Structure, str]:
    """Read an uploaded PDB or mmCIF (optionally gzipped) into a Structure.

    Returns
    -------
    structure : Structure
    suffix : {"pdb", "cif"}
        The format found in the content.

    Raises
    ------
    UploadError
        Too large, or not a readable structure (the reader's message).
    """
    raw = _gunzip(check_size(data, STRUCTURE_LIMIT, "the structure"), STRUCTURE_LIMIT)
    try:
        structure = read_structure(raw)
    except StructureFormatError as exc:
        raise UploadError(_message(exc)) from None
    if structure.n_atoms == 0:
        raise UploadError("the structure has no atoms")
    head = raw[:4096].lstrip().lower()
    suffix = "cif" if head.startswith(b"data_") or b"_atom_site." in raw[:200_000] else "pdb"
    return structure, suffix


def user_key(user_id: str) -> str:
    """The folder name of a user's uploads: 16 hex digits of the SHA-256 of their id (never the id itself).

    Examples
    --------
    >>> len(user_key("alice@lab.org")), user_key("a") == user_key("b")
    (16, False)
    """
    return hashlib.sha256(user_id.encode("utf-8")).hexdigest()[:16]


def save_template(data: bytes, home: Path, owner: str | None = None) -> Path:
    """Validate an uploaded template and store it under ``home/uploads/`` by content hash.

    Parameters
    ----------
    data : bytes
        The uploaded file (PDB or mmCIF, optionally gzipped).
    home : Path
        ``$WORKBENCH_HOME``.
    owner : str, optional
        The uploader's user id: the file goes to their own ``uploads/<user key>/`` folder.

    Returns
    -------
    Path
        ``home/uploads/[<user key>/]<sha256>.<pdb|cif>`` (written once; the same content maps to the same file).
    """
    _, suffix = parse_structure(data)
    raw = _gunzip(data, STRUCTURE_LIMIT)
    digest = hashlib.sha256(raw).hexdigest()
    folder = home / "uploads" / (user_key(owner) if owner else "")
    path = folder / f"{digest}.{suffix}"
    if not path.is_file():
        make_state_folder(path.parent)
        atomic_write_bytes(path, raw)
    return path


def default_template() -> Path:
    """The template when none is uploaded: the template predictor's default (PDBFixer's copy of 1BHL)."""
    from workbench.predict.template import TemplateOptions

    return Path(TemplateOptions().template)
