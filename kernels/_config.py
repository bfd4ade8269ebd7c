"""Numba settings for every kernel, decided in one place.

All kernels are compiled through :func:`jit` (or :func:`jit_variants` where a
``prange`` loop pays off), so the choices below apply everywhere:

- ``fastmath``: the LLVM flags ``nsz``, ``arcp``, ``contract`` and ``reassoc``
  (sign of zero ignored, reciprocals, fused multiply-add, reassociated sums, so
  reductions vectorise). ``nnan`` and ``ninf`` stay off: the kernels must keep
  IEEE semantics for NaN, which the wrappers in :mod:`workbench.analysis` refuse
  before calling and the plain-numpy references rely on. ``afn`` (approximate
  ``sqrt``/``acos``) stays off too: results must match MDTraj and US-align to
  their printed precision.
- ``cache=True``: compiled machine code is written next to the source (or to
  numba's user cache when that folder is read-only), so only the first process
  on a machine pays the compile time.
- ``error_model="numpy"``: division by zero gives inf/NaN instead of raising,
  which removes a branch from every division in the inner loops; the wrappers
  check their inputs instead.
- ``parallel``: each kernel that has independent outer iterations (frames, atoms)
  is compiled twice from one Python function, a serial variant and a ``prange``
  variant; :func:`use_parallel` picks one per call from the problem size and
  numba's thread count (``NUMBA_NUM_THREADS``), and the environment variable
  ``WORKBENCH_NUMBA_PARALLEL=0`` forces the serial variants. It is read at call
  time, never at import.

Nothing here runs at import time beyond creating the (lazy) dispatchers: numba
compiles a kernel on its first call.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, NamedTuple

import numba

#: LLVM fast-math flags used by every kernel (see the module docstring).
FASTMATH: frozenset[str] = frozenset({"nsz", "arcp", "contract", "reassoc"})
#: Write compiled code to numba's on-disk cache.
CACHE: bool = True
#: Below this much work (outer iterations x inner size) the serial variant is used.
PARALLEL_MIN_WORK: int = 200_000

_OPTIONS: dict[str, Any] = {
    "fastmath": set(FASTMATH),
    "cache": CACHE,
    "error_model": "numpy",
    "nogil": True,
}


def jit(function: Callable | None = None, *, parallel: bool = False) -> Any:
    """Compile ``function`` with the project's numba settings.

    Parameters
    ----------
    function : callable, optional
        The Python function; when omitted, a decorator is returned.
    parallel : bool
        Compile with ``parallel=True`` (``numba.prange`` loops run on threads).

    Returns
    -------
    numba dispatcher or decorator
    """

    def decorate(fn: Callable) -> Any:
        return numba.njit(parallel=parallel, **_OPTIONS)(fn)

    return decorate if function is None else decorate(function)


class Variants(NamedTuple):
    """A serial and a ``prange`` variant compiled from one Python function."""

    serial: Any
    parallel: Any

    def pick(self, work: int) -> Any:
        """The variant to use for ``work`` units of work (see :func:`use_parallel`)."""
        return self.parallel if use_parallel(work) else self.serial


def jit_variants(function: Callable) -> Variants:
    """Compile ``function`` twice: serial (``prange`` acts as ``range``) and parallel.

    Both are lazy: a variant is compiled on its first call only.
    """
    return Variants(jit(function), jit(function, parallel=True))


def use_parallel(work: int) -> bool:
    """Whether a kernel with ``work`` units of work should run its ``prange`` variant.

    True only when parallel kernels are allowed (``WORKBENCH_NUMBA_PARALLEL`` is not
    ``0``), numba may use more than one thread, and the work is large enough to
    repay the thread start-up.
    """
    if os.environ.get("WORKBENCH_NUMBA_PARALLEL", "1") == "0" or work < PARALLEL_MIN_WORK:
        return False
    return numba.config.NUMBA_NUM_THREADS > 1 and numba.get_num_threads() > 1
