"""Turn a path, bytes or text into decoded text plus a name for error messages.

Every input is capped in size after decompression (:func:`workbench.config.max_input_bytes`,
``$WORKBENCH_MAX_INPUT_BYTES``, 512 MiB by default): files are read, and gzip streams
decompressed, in pieces that stop one byte past the limit, so a 3 MB gzip bomb costs
at most the limit in memory before it is refused.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

from workbench.config import format_bytes, max_input_bytes
from workbench.errors import StructureWarning, WorkbenchInputError

_GZIP_MAGIC = b"\x1f\x8b"
_BOM = "\ufeff"
#: Bytes read (or decompressed) at a time.
_CHUNK = 1024**2

Source = str | os.PathLike[str] | bytes


@dataclass(frozen=True)
class LoadedText:
    """Decoded text of an input, where it came from, and its suffix (``.gz`` stripped)."""

    text: str
    name: str
    suffix: str


def load_text(source: Source, error: type[WorkbenchInputError], *, what: str,
              max_bytes: int | None = None) -> LoadedText:
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
    max_bytes : int, optional
        Largest input accepted, in bytes after decompression (characters for
        text); default :func:`workbench.config.max_input_bytes`.

    Returns
    -------
    LoadedText

    Raises
    ------
    WorkbenchInputError
        Of class ``error``: binary data, corrupt gzip, or an input over ``max_bytes``
        (one line naming the file and the limit).
    """
    limit = max_input_bytes() if max_bytes is None else max_bytes
    if isinstance(source, bytes):
        name, suffix = "<bytes>", ""
        data = _read_capped(io.BufferedReader(io.BytesIO(source)), error, name, limit)
    elif isinstance(source, str) and ("\n" in source or "\r" in source):
        if len(source) > limit:
            raise _too_large(error, "<text>", limit, decompressed=False)
        return LoadedText(text=source.removeprefix(_BOM), name="<text>", suffix="")
    else:
        path = Path(source)
        if path.is_char_device() or path.is_block_device():  # /dev/zero would be read forever
            raise error(f"a device, not a {what} file", source=str(path))
        name = str(path)
        with path.open("rb") as handle:  # missing files raise FileNotFoundError, as open() would
            data = _read_capped(handle, error, name, limit)
        suffixes = [s.lower() for s in path.suffixes]
        if suffixes and suffixes[-1] == ".gz":
            suffixes.pop()
        suffix = suffixes[-1] if suffixes else ""
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


def _read_capped(handle: io.BufferedReader, error: type[WorkbenchInputError], name: str,
                 limit: int) -> bytearray:
    """The bytes of ``handle``, gunzipped when they start with gzip's magic; at most ``limit`` of them.

    Reads (and decompresses) in pieces of at most :data:`_CHUNK` bytes and stops
    one byte past ``limit``, so memory stays bounded by the limit whatever the
    input claims or expands to. ``handle`` is only read forwards (a pipe works too).
    """
    compressed = handle.peek(2)[:2] == _GZIP_MAGIC
    data = bytearray()
    try:
        with gzip.GzipFile(fileobj=handle, mode="rb") if compressed else contextlib.nullcontext(handle) as stream:
            while len(data) <= limit:  # concatenated gzip members read as one stream
                piece = stream.read(min(_CHUNK, limit + 1 - len(data)))
                if not piece:
                    break
                data += piece
    except (OSError, EOFError, zlib.error) as exc:
        if not compressed:
            raise
        raise error(f"corrupt gzip data ({exc})", source=name) from None
    if len(data) > limit:
        raise _too_large(error, name, limit, decompressed=compressed)
    return data


def _too_large(error: type[WorkbenchInputError], name: str, limit: int, *, decompressed: bool) -> WorkbenchInputError:
    """The one-line refusal of an input over the size limit."""
    how = " after decompression" if decompressed else ""
    return error(
        f"larger than the input limit of {format_bytes(limit)}{how} "
        "(raise it with WORKBENCH_MAX_INPUT_BYTES or max_bytes=)",
        source=name,
    )
