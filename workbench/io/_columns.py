"""Numbers and labels of many text fields at once, as numpy arrays.

The readers hand fields of atom records to these functions as a character
matrix, one row per record and one column per character (``uint8``, blanks
as spaces). Checking and converting the common forms (``-12.345``, ``7``,
``CA``) is done with whole-column operations; the few rows in another form
(an exponent, a blank inside the field, a hybrid-36 residue number) are left
for the caller to check one by one, so the rules stay those of Python's
``float`` and ``int`` while the usual file costs no Python per atom.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

_SPACE, _MINUS, _PLUS, _DOT, _ZERO, _NINE = 32, 45, 43, 46, 48, 57
# Rows copied and transposed at a time.
_BLOCK = 2048
# Digits of a mantissa stay exact in float64 up to 15 of them.
_MAX_DIGITS = 15


def char_matrix(values: list[str]) -> np.ndarray | None:
    """The characters of ``values`` as rows of a matrix, blank after each value's end.

    Parameters
    ----------
    values : list of str
        Texts of one field, one per record.

    Returns
    -------
    ndarray, shape=(n, width), dtype=uint8, column-major (Fortran) order, or None
        None if a value is not ASCII.
    """
    joined = "\n".join(values)
    if not joined.isascii():
        return None
    buffer = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
    breaks = np.flatnonzero(buffer == ord("\n"))
    if len(breaks) != max(len(values) - 1, 0):  # a value holds a line break: one at a time
        packed = np.array(values, dtype=np.bytes_)
        chars = packed.view(np.uint8).reshape(len(values), max(packed.dtype.itemsize, 1)).copy()
        chars[chars == 0] = _SPACE
        return chars
    starts = np.concatenate(([0], breaks + 1))[: len(values)]
    ends = np.append(breaks, len(buffer))[: len(values)]
    return fixed_width(buffer, starts, ends - starts, int((ends - starts).max(initial=1)))


def fixed_width(buffer: np.ndarray, starts: np.ndarray, lengths: np.ndarray, width: int) -> np.ndarray:
    """Characters ``0:width`` of the pieces ``buffer[start:start + length]``, blank past each piece.

    Parameters
    ----------
    buffer : ndarray, shape=(size,), dtype=uint8
    starts, lengths : ndarray, shape=(n,), dtype=int64
    width : int

    Returns
    -------
    ndarray, shape=(n, width), dtype=uint8, column-major (Fortran) order
        So that a field's columns are contiguous. The pieces are copied row
        by row (reading the buffer once, in order) and then transposed.
    """
    if len(buffer) < width:
        buffer = np.concatenate((buffer, np.full(width, _SPACE, dtype=np.uint8)))
    last = len(buffer) - width  # pieces starting after it are copied one by one below
    windows = np.lib.stride_tricks.sliding_window_view(buffer, width)
    transposed = np.empty((width, len(starts)), dtype=np.uint8)
    for first in range(0, len(starts), _BLOCK):  # blocks that stay in cache while transposed
        block = slice(first, first + _BLOCK)
        transposed[:, block] = windows[np.minimum(starts[block], last)].T
    for row in np.flatnonzero(starts > last).tolist():
        piece = buffer[starts[row]:starts[row] + lengths[row]]
        transposed[:, row] = _SPACE
        transposed[:len(piece), row] = piece
    for column in range(int(lengths.min(initial=width)), width):
        transposed[column, lengths <= column] = _SPACE
    return transposed.T


def parse_decimals(chars: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Read fields of the form ``[blanks][sign]digits[.digits][blanks]``.

    The value is the digits as one integer (at most 15 of them, exact in
    float64) divided by a power of ten: a single rounding, so it equals
    ``float(text)``. The work goes column by column over all rows at once.

    Parameters
    ----------
    chars : ndarray, shape=(n, width), dtype=uint8
        One field per row; column-major (Fortran) order spares a copy.

    Returns
    -------
    values : ndarray, shape=(n,), dtype=float64
        The numbers; NaN where ``ok`` is False.
    ok : ndarray, shape=(n,), dtype=bool
        Rows in that form. The others (blank, an exponent, ``nan``, more than
        15 digits, garbage) are for the caller to judge.
    """
    n, width = chars.shape
    columns = np.ascontiguousarray(chars.T)
    dots = np.flatnonzero(columns[:, 0] == _DOT) if n else np.zeros(0, dtype=np.int64)
    if n and len(dots) and (columns[-1] != _SPACE).all() and (columns[dots[0]] == _DOT).all():
        return _parse_group(columns, int(dots[0]))  # the usual fixed layout: one group
    end = np.zeros(n, dtype=np.uint8)  # one past the last filled column
    dot = np.full(n, width, dtype=np.uint8)  # the first dot
    for j in range(width):
        end = np.maximum(end, (columns[j] != _SPACE) * np.uint8(j + 1))
        dot = np.where((columns[j] == _DOT) & (dot == width), np.uint8(j), dot)
    dot = np.minimum(dot, end)  # no dot: the digits end where the field does
    values = np.full(n, np.nan)
    ok = np.zeros(n, dtype=bool)
    key = dot.astype(np.int64) * (width + 1) + end
    groups = np.flatnonzero(np.bincount(key)) if n and (key != key[0]).any() else np.unique(key[:1])
    for group in groups.tolist():
        rows = np.flatnonzero(key == group) if len(groups) > 1 else slice(None)
        group_dot, group_end = divmod(group, width + 1)
        values[rows], ok[rows] = _parse_group(columns[:group_end, rows], group_dot)
    return values, ok


def _parse_group(columns: np.ndarray, dot: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`parse_decimals` of rows (here columns of ``columns``) filled to the last and with a ``.`` at ``dot``."""
    end, n = columns.shape
    ok = np.full(n, end > 0)
    filled = np.zeros(n, dtype=bool)  # a sign or digit seen
    negative = np.zeros(n, dtype=bool)
    n_digits = np.zeros(n, dtype=np.uint8)
    exact = np.dtype(np.uint32 if end <= 9 else np.int64)  # the mantissa has fewer digits than characters
    mantissa = np.zeros(n, dtype=exact)
    ten = np.array(10, dtype=exact)
    for j in range(end):
        if j == dot:
            continue
        c = columns[j]
        d = c - np.uint8(_ZERO)  # wraps below '0'
        digit = d <= 9
        if j < dot:  # blanks, then at most one sign, then digits
            space, minus = c == _SPACE, c == _MINUS
            sign = minus | (c == _PLUS)
            ok &= (digit | space | sign) & ~((space | sign) & filled)
            negative |= minus
            filled |= ~space
        else:  # digits only after the dot
            ok &= digit
        n_digits += digit
        mantissa = mantissa * ten + d * digit
    ok &= (n_digits > 0) & (n_digits <= _MAX_DIGITS)
    values = mantissa / 10.0 ** max(end - dot - 1, 0)
    values[negative] *= -1
    values[~ok] = np.nan
    return values, ok


def finish_numbers(
    values: np.ndarray, ok: np.ndarray, texts: Callable[[int], str], *, blank: float | None,
    convert: Callable[[str], float] = float, unknown: tuple[str, ...] = (),
) -> int | None:
    """Judge the rows :func:`parse_decimals` left, one by one, in place.

    Parameters
    ----------
    values, ok : ndarray
        From :func:`parse_decimals`; updated for the rows judged here.
    texts : callable
        The text of row ``i``.
    blank : float, optional
        Value of a blank field; None if a blank is malformed.
    convert : callable
        The rule for the other forms (``float``; ``int`` for residue numbers).
    unknown : tuple of str
        Texts that stand for an unknown value (mmCIF ``?`` and ``.``): NaN, and accepted.

    Returns
    -------
    int or None
        The first row that is not a finite number, or None.
    """
    for row in np.flatnonzero(~ok).tolist():
        text = texts(row)
        if not text.strip() and blank is not None:
            number: float = blank
        elif text in unknown:
            number = np.nan
        else:
            try:
                number = convert(text)
            except ValueError:
                return row
            if not np.isfinite(number):
                return row
        values[row] = number
        ok[row] = True
    return None


def labels(chars: np.ndarray, clean: Callable[[str], str] = str.strip) -> np.ndarray:
    """The text of each row, cleaned, as a str array; each distinct text is cleaned once.

    Parameters
    ----------
    chars : ndarray, shape=(n, width), dtype=uint8
    clean : callable
        Applied to each distinct text (default: strip blanks).

    Returns
    -------
    ndarray, shape=(n,), dtype=str
    """
    codes, first = factorize(chars)
    texts = [clean(chars[i].tobytes().decode("ascii")) for i in first.tolist()]
    return np.array(texts or [""], dtype=str)[codes]


def factorize(chars: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Number the distinct rows of ``chars``.

    One column at a time: the codes so far and the column's byte make a
    number below ``n_codes * 256`` that a table renumbers, so the cost grows
    with the rows, not with a sort.

    Returns
    -------
    codes : ndarray, shape=(n,), dtype=intp
        Equal rows, equal codes, from 0.
    first : ndarray, shape=(n_distinct,), dtype=int64
        A row of each code.
    """
    n, width = chars.shape
    codes = np.zeros(n, dtype=np.intp)
    n_codes = 1
    for column in range(width):
        combined = codes * 256 + chars[:, column] if column else chars[:, column].astype(np.intp)
        if n_codes * 256 <= 2**22:
            codes, n_codes = _compact(combined, n_codes * 256)
        else:
            distinct, inverse = np.unique(combined, return_inverse=True)
            codes, n_codes = inverse.reshape(-1), len(distinct)
    first = np.zeros(n_codes if n else 0, dtype=np.intp)
    first[codes[::-1]] = np.arange(n - 1, -1, -1)
    return codes, first


def _compact(values: np.ndarray, size: int) -> tuple[np.ndarray, int]:
    """Renumber ``values`` (each below ``size``) as 0, 1, ... in increasing order; also how many there are."""
    table = np.zeros(size, dtype=np.intp)
    table[values] = 1
    used = np.flatnonzero(table)
    table[used] = np.arange(len(used))
    return table[values], max(len(used), 1)


def changes(*columns: np.ndarray) -> np.ndarray:
    """Where a row differs from the row before in any column; the first row counts as a change.

    Parameters
    ----------
    *columns : ndarray, shape=(n,) or (n, width)

    Returns
    -------
    ndarray, shape=(n,), dtype=bool
    """
    n = len(columns[0])
    changed = np.zeros(n, dtype=bool)
    if n:
        changed[0] = True
    for column in columns:
        for part in (column.T if column.ndim > 1 else (column,)):  # a character matrix: column by column
            changed[1:] |= part[1:] != part[:-1]
    return changed
