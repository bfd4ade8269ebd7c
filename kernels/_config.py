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
- ``cache=True``: compiled machine code is written next to the source, or, for
  a read-only install, under ``$WORKBENCH_HOME/kernel-cache`` seeded from what
  the install shipped (:func:`_ensure_cache_folder`), so only the first process
  pays the compile time (40-50 s for all kernels); ``workbench kernels
  compile`` pays it ahead of use (:mod:`workbench.kernel_cache`).
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
compiles a kernel on its first call) and the choice of the cache folder
(:func:`_ensure_cache_folder`: one check that the package's folder is writable;
only for a read-only install, numba's ``CACHE_DIR`` setting and a copy of the
shipped cache files). Numba chooses each kernel's cache folder when the
kernel is defined, so the choice cannot wait for the first call; this module
is imported only with the first kernel module, never by ``import workbench``.
"""

from __future__ import annotations

import os
import shutil
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


#: The package's own cache folder (numba's in-tree ``__pycache__``), filled at install time where it is writable.
IN_TREE: str = os.path.join(os.path.dirname(os.path.abspath(__file__)), "__pycache__")


def home_cache_folder() -> str:
    """``$WORKBENCH_HOME/kernel-cache`` (``~/.workbench/kernel-cache`` when ``WORKBENCH_HOME`` is unset).

    Read here rather than through ``workbench.config``: the kernels import nothing of the workbench.
    """
    home = os.environ.get("WORKBENCH_HOME") or os.path.join(os.path.expanduser("~"), ".workbench")
    return os.path.join(os.path.expanduser(home), "kernel-cache")


def cache_folder() -> str:
    """The folder holding the kernels' cache files (``*.nbi`` indexes, ``*.nbc`` code) in this process."""
    if _numba_config.CACHE_DIR:
        from numba.core.caching import _CacheLocator

        return os.path.join(_numba_config.CACHE_DIR, _CacheLocator.get_suitable_cache_subpath(__file__))
    return IN_TREE


def set_cache_dir(folder: str) -> None:
    """Cache kernels defined from now on in ``folder`` (numba's ``CACHE_DIR``; the kernels' files go to a subfolder).

    For ``workbench kernels compile --cache-dir``: it must run before the kernel
    modules are imported, since numba binds a kernel to its folder when the
    kernel is defined.
    """
    _numba_config.CACHE_DIR = os.path.abspath(folder)


def _seed_from(shipped: str, folder: str) -> int:
    """Copy the cache files an install shipped (``shipped``) into ``folder`` where missing; the number copied.

    Numba checks every entry on load (source content hash, numba version, CPU),
    so a copied entry that does not fit this machine is recompiled, not misused.
    """
    try:
        # code before indexes: a process reading the folder meanwhile never finds an index without its code
        names = sorted((n for n in os.listdir(shipped) if n.endswith((".nbi", ".nbc"))),
                       key=lambda n: n.endswith(".nbi"))
    except OSError:
        return 0
    copied = 0
    for name in names:
        target = os.path.join(folder, name)
        if os.path.exists(target):
            continue
        try:
            os.makedirs(folder, exist_ok=True)
            partial = f"{target}.{os.getpid()}.part"
            shutil.copyfile(os.path.join(shipped, name), partial)
            os.replace(partial, target)  # atomic: a concurrent process sees all of the file or none
        except OSError:
            continue
        copied += 1
    return copied


def _ensure_cache_folder(in_tree: str | None = None, home: str | None = None) -> str | None:
    """Choose the cache folder when numba's own choice would not work: a read-only install.

    The order, decided once when this module is imported (numba binds each
    kernel to a cache folder when the kernel is defined, so it cannot wait):

    1. ``NUMBA_CACHE_DIR`` when the user set it (never overridden);
    2. the package's ``__pycache__`` (numba's in-tree cache) when writable: a
       normal install, where ``workbench kernels compile`` at install time or
       the first run fills it;
    3. ``$WORKBENCH_HOME/kernel-cache`` (:func:`home_cache_folder`), seeded
       with the files a read-only install ships in its ``__pycache__``, so a
       cache compiled at install time serves every user of a read-only shared
       install (a shared ``WORKBENCH_HOME`` serves every node);
    4. a per-user folder under the temporary directory, when even that is read-only.

    Only numba's own setting (``numba.config.CACHE_DIR``) is changed, never the
    environment.

    Parameters
    ----------
    in_tree, home : str, optional
        The package's ``__pycache__`` (default :data:`IN_TREE`) and the
        per-user folder (default :func:`home_cache_folder`).

    Returns
    -------
    str or None
        The folder set as ``numba.config.CACHE_DIR``, or None when nothing changed.
    """
    if _numba_config.CACHE_DIR:
        return None
    in_tree = IN_TREE if in_tree is None else in_tree
    if _writable(in_tree):  # the usual case: one makedirs and one temporary file at import
        return None
    home = home_cache_folder() if home is None else home
    if not _writable(home):
        uid = os.getuid() if hasattr(os, "getuid") else "user"
        home = os.path.join(tempfile.gettempdir(), f"workbench-numba-{uid}")
    _numba_config.CACHE_DIR = home
    _seed_from(in_tree, cache_folder())
    return home


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
