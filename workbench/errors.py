"""Errors and warnings raised at the edge, where files and sequences come in.

Every reader failure is one of the two error classes below, and both derive
from :class:`ValueError`, so ``except ValueError`` in a caller's script keeps
working. Messages name the source (file or record) and, where known, the line.
"""

from __future__ import annotations


class WorkbenchInputError(ValueError):
    """Base class of input errors: the message names the source and the line.

    Parameters
    ----------
    problem : str
        What is wrong, in words a user can act on.
    source : str, optional
        The file name, record id or ``"<text>"`` the problem was found in.
    line : int, optional
        1-based line number in the source, when one applies.
    """

    def __init__(self, problem: str, *, source: str | None = None, line: int | None = None):
        self.problem = problem
        self.source = source
        self.line = line
        where = source or "<input>"
        if line is not None:
            where = f"{where}, line {line}"
        super().__init__(f"{where}: {problem}")


class StructureFormatError(WorkbenchInputError):
    """A PDB or mmCIF file (or text) that cannot be read as a structure."""


class SequenceFormatError(WorkbenchInputError):
    """A FASTA file or sequence record that is not a valid protein sequence.

    ``record`` is the id of the offending record, when the problem is in one.
    """

    def __init__(self, problem: str, *, source: str | None = None, line: int | None = None,
                 record: str | None = None):
        self.record = record
        super().__init__(problem, source=source, line=line)


class StructureWarning(UserWarning):
    """Something in a structure file was ignored or repaired while reading."""


def one_line(exc: BaseException) -> str:
    """One line for a person: the path and the reason for file-system errors, the message for the rest."""
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])  # str(KeyError) would add quotes
    return str(exc) or type(exc).__name__
