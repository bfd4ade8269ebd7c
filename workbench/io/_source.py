"""Turn a path, bytes or text into decoded text plus a name for error messages."""

from __future__ import annotations

import gzip
import os
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import StructureWarning, WorkbenchInputError

_GZIP_MAGIC = b"\x1f\x8b"
_BOM = "\ufeff"

Source = str | os.PathLike[str] | bytes


@dataclass(frozen=True)
class LoadedText:
    """Decoded text of an input, where it came from, and its suffix (``.gz`` stripped)."""

    text: str
    name: str
    suffix: str


def load_text(source: Source, error: type[WorkbenchInputError], *, what: str) -> LoadedText:
    """Read ``source`` (a path, raw bytes, or text holding a newline) as text.

    Gzip is recognised by its magic bytes, not its suffix. Binary data and
    corrupt gzip streams raise ``error``; bytes that are not UTF-8 are decoded
    as Latin-1 with a warning naming the first offending line, since PDB
    headers written by old programs carry such bytes and nothing in the atom
    records depends on them.

    Parameters
    ----------
    source : str, os.PathLike or bytes
        A file path, the file's bytes, or its text (any ``str`` with a newline).
    error : type
        Error class to raise (:class:`StructureFormatError` or :class:`SequenceFormatError`).
    what : str
        What the file should be, for messages (``"structure"``, ``"FASTA"``).

    Returns
    -------
    LoadedText
    """
    if isinstance(source, bytes):
        data, name, suffix = source, "<bytes>", ""
    elif isinstance(source, str) and ("\n" in source or "\r" in source):
        return LoadedText(text=source.removeprefix(_BOM), name="<text>", suffix="")
    else:
        path = Path(source)
        if path.is_char_device() or path.is_block_device():  # /dev/zero would be read forever
            raise error(f"a device, not a {what} file", source=str(path))
        data = path.read_bytes()  # missing files raise FileNotFoundError, as open() would
        name = str(path)
        suffixes = [s.lower() for s in path.suffixes]
        if suffixes and suffixes[-1] == ".gz":
            suffixes.pop()
        suffix = suffixes[-1] if suffixes else ""
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise error(f"corrupt gzip data ({exc})", source=name) from None
    if b"\x00" in data[:65536]:
        raise error(f"binary data, not a {what} text file", source=name)
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark, as Windows editors write, is dropped
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        warnings.warn(
            f"{name}, line {line}: bytes that are not UTF-8; read as Latin-1",
            StructureWarning,
            stacklevel=3,
        )
        text = data.decode("latin-1").removeprefix("\xef\xbb\xbf")
    return LoadedText(text=text, name=name, suffix=suffix)
