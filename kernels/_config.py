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

Nothing here runs at import time beyond creating the (lazy) dispatchers (numba
compiles a kernel on its first call) and one check that some cache folder is
writable (:func:`_ensure_cache_folder`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol, cast

import numba

#: LLVM fast-math flags used by every kernel (see the module docstring).
FASTMATH: frozenset[str] = frozenset({"nsz", "arcp", "contract", "reassoc"})
#: Write compiled code to numba's on-disk cache.
CACHE: bool = True
#: Below this much work (outer iterations x inner size) the serial variant is used.
PARALLEL_MIN_WORK: int = 200_000


class _NumbaSettings(Protocol):
    """The ``numba.config`` settings read or set here."""

    CACHE_DIR: str
    NUMBA_NUM_THREADS: int


# numba.config creates its settings at run time from the NUMBA_* environment variables
# (``globals()[name] = value`` in ``_EnvReloader.process_environ``), so type checkers see
# none of them. This is the same module object, typed with the two settings used here.
_numba_config = cast(_NumbaSettings, numba.config)


def _writable(folder: str) -> bool:
    """Whether numba could cache into ``folder`` (its own test: make it, write a temporary file)."""
    try:
        os.makedirs(folder, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:
        return False
    return True


def _ensure_cache_folder(in_tree: str | None = None, user_wide: str | None = None) -> str | None:
    """Point numba at a temporary cache folder when neither of its own is writable.

    Numba caches next to the source (``__pycache__``) or in the user's cache
    folder; a read-only shared install run by an account without a writable
    home has neither, and numba then refuses to compile at all ("no locator
    available"). A per-user folder under the temporary directory keeps the
    kernels working (and cached for that machine).

    Parameters
    ----------
    in_tree, user_wide : str, optional
        The two folders numba would try (default: this package's ``__pycache__``
        and numba's user cache folder).

    Returns
    -------
    str or None
        The folder set as ``numba.config.CACHE_DIR``, or None when nothing changed.
    """
    if _numba_config.CACHE_DIR:
        return None
    if in_tree is None:
        in_tree = os.path.join(os.path.dirname(os.path.abspath(__file__)), "__pycache__")
    if _writable(in_tree):  # the usual case: one makedirs and one temporary file at import
        return None
    if user_wide is None:
        from numba.misc.appdirs import AppDirs

        user_wide = AppDirs(appname="numba", appauthor=False).user_cache_dir
    if _writable(user_wide):
        return None
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    _numba_config.CACHE_DIR = os.path.join(tempfile.gettempdir(), f"workbench-numba-{uid}")
    return _numba_config.CACHE_DIR


_ensure_cache_folder()

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
    return _numba_config.NUMBA_NUM_THREADS > 1 and numba.get_num_threads() > 1
