"""Control characters in text that comes from outside: found, named and escaped in one place.

NUL (U+0000) cannot be stored in PostgreSQL's ``text`` and the other C0 / C1
control characters have no business in a record id, a job name or an owner.
Where such text enters (FASTA headers, :meth:`workbench.jobs.JobStore.submit`) it
is refused, naming the character; free text the store records from elsewhere
(an item's error, a job's failure reason) is stored with the characters escaped.
"""

from __future__ import annotations

import re

#: C0 controls, DEL and C1 controls (tab, line feed and carriage return included).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: The same, less tab, line feed and carriage return: what free text (a message) may not hold.
_CONTROL_IN_FREE_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def control_character(text: str, *, allow_whitespace: bool = False) -> str | None:
    r"""The first control character of ``text`` described for a message (``"U+0000 (NUL)"``), or None.

    Parameters
    ----------
    text : str
    allow_whitespace : bool
        Accept tab, line feed and carriage return.

    Examples
    --------
    >>> control_character("ab\x00c")
    'U+0000 (NUL)'
    >>> control_character("a\tb", allow_whitespace=True) is None
    True
    """
    pattern = _CONTROL_IN_FREE_TEXT if allow_whitespace else CONTROL_CHARACTERS
    match = pattern.search(text)
    if match is None:
        return None
    code = ord(match.group())
    return f"U+{code:04X} (NUL)" if code == 0 else f"U+{code:04X}"


def escape_control_characters(text: str, *, keep_whitespace: bool = False) -> str:
    r"""``text`` with each control character written as a Python escape (``\x00``).

    Examples
    --------
    >>> escape_control_characters("bad\x00id")
    'bad\\x00id'
    """
    pattern = _CONTROL_IN_FREE_TEXT if keep_whitespace else CONTROL_CHARACTERS
    return pattern.sub(lambda match: f"\\x{ord(match.group()):02x}", text)
