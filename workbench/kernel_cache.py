"""The compiled kernels on disk: where they are cached, compiling them ahead of use, saying when a run compiles.

The kernels (:mod:`workbench.kernels`) are numba functions compiled on first
use and cached on disk (``cache=True``; the folder is chosen by
:func:`workbench.kernels._config.cache_folder`). Compiling all of them takes
40-50 s (DSSP alone about half); loading them from the cache takes
milliseconds each. :func:`compile_kernels` (``workbench kernels compile``) fills
the cache ahead of use: at install time for the package's own ``__pycache__``
folders (a read-only install then seeds each user's cache from them), or
into a folder of the administrator's choice per node or per image.

Why a cache and not ahead-of-time compilation: numba's AOT compiler
(``numba.pycc``) is deprecated, needs a C compiler at install time, an explicit
type signature for every exported function, and cannot build the ``prange``
variants; the cache keeps one code path (the JIT functions the tests check),
and it is valid on every machine with the same source files, numba version
and CPU family (numba keys each entry by the source file's content hash and
the CPU name and features; ``NUMBA_CPU_NAME=generic`` makes a cache portable
across CPU models, at some speed).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

#: The kernel modules, in the order :func:`compile_kernels` compiles them.
KERNEL_MODULES = ("clashes", "dssp", "geometry", "lddt", "neighbors", "sasa", "superpose", "tmscore")

#: CPU seconds to compile each module's kernels into an empty cache (all of them: 47 s of CPU on this
#: project's shared 2-core machine; the first module also pays numba's one-off set-up), for the message
#: shown while it happens. ``benchmarks/startup.py --kernels --cold`` measures them again.
COMPILE_SECONDS: dict[str, float] = {
    "clashes": 6.0, "dssp": 15.0, "geometry": 1.5, "lddt": 1.5, "neighbors": 5.0, "sasa": 1.5,
    "superpose": 9.5, "tmscore": 7.5,
}


def compile_kernels(cache_dir: str | os.PathLike[str] | None = None, *,
                    progress: Callable[[str], None] | None = None) -> dict[str, float]:
    """Compile every kernel (serial and, with more than one thread, ``prange`` variants) into the cache.

    The kernels are compiled by running the public analysis functions on the
    template structure that ships with PDBFixer, so the cache holds exactly
    the type signatures :mod:`workbench.analysis` uses.

    Parameters
    ----------
    cache_dir : str or os.PathLike, optional
        Cache folder (numba's ``NUMBA_CACHE_DIR``). Default: the folder
        :func:`workbench.kernels._config.cache_folder` chooses. Must be given
        before any kernel module is imported in this process.
    progress : callable, optional
        Called with each module's name before it is compiled.

    Returns
    -------
    dict of str to float
        Seconds spent per kernel module (compiling, or loading what was cached).

    Raises
    ------
    RuntimeError
        When ``cache_dir`` is given after the kernels were imported (numba
        chooses a kernel's cache folder when the kernel is defined), or when a
        module's kernels left no cache behind.
    """
    from workbench.kernels import _config

    if cache_dir is not None:
        folder = os.path.abspath(os.fspath(cache_dir))
        loaded = [m for m in KERNEL_MODULES if f"workbench.kernels.{m}" in sys.modules]
        if loaded and not _config.cache_folder().startswith(folder + os.sep):
            raise RuntimeError(f"the kernel cache folder must be chosen before the kernels are imported "
                               f"({', '.join(loaded)} already are); run this in a new process")
        os.makedirs(folder, exist_ok=True)
        _config.set_cache_dir(folder)

    calls = _warm_up_calls()
    seconds: dict[str, float] = {}
    saved = _config.PARALLEL_MIN_WORK
    # the prange variants too where this machine would run them (more than one numba thread)
    thresholds = (sys.maxsize, 0) if _config.use_parallel(sys.maxsize) else (sys.maxsize,)
    try:
        for module in KERNEL_MODULES:
            if progress is not None:
                progress(module)
            t0 = time.perf_counter()
            for threshold in thresholds:
                _config.PARALLEL_MIN_WORK = threshold
                for call in calls[module]:
                    call()
            seconds[module] = time.perf_counter() - t0
    finally:
        _config.PARALLEL_MIN_WORK = saved
    cold = cache_status()["cold"]
    if cold:
        raise RuntimeError(f"no cache written for kernel module(s) {', '.join(cold)} in {_config.cache_folder()}")
    return seconds


def _warm_up_calls() -> dict[str, list[Callable[[], Any]]]:
    """Per kernel module, analysis calls that use its kernels (the signatures used in practice)."""
    import numpy as np

    from workbench import analysis
    from workbench.io.structure_reader import read_structure
    from workbench.predict.template import default_template

    structure = read_structure(default_template())
    frames = np.stack([structure.coords, structure.coords + np.float32(0.5)])
    return {
        "clashes": [lambda: analysis.clashes(structure)],
        "dssp": [lambda: analysis.dssp(structure), lambda: analysis.hydrogen_bonds(structure)],
        "geometry": [
            lambda: analysis.dihedrals(structure),
            lambda: analysis.radius_of_gyration(structure),
            lambda: analysis.geometry_deviations(structure),
            lambda: analysis.build_backbone([-57.0] * 12, [-47.0] * 12),
        ],
        "lddt": [lambda: analysis.lddt(structure, structure)],
        "neighbors": [
            lambda: analysis.contact_map(structure),
            lambda: analysis.distance_map(structure),
            lambda: analysis.contacts(structure.coords, 4.0),
        ],
        "sasa": [lambda: analysis.sasa(structure)],
        "superpose": [
            lambda: analysis.rmsd(structure, structure),
            lambda: analysis.superpose(structure, structure),
            lambda: analysis.rmsd_many(frames, structure.coords),
            lambda: analysis.rmsd_matrix(frames),
            lambda: analysis.superpose_many(frames, structure.coords),
        ],
        "tmscore": [lambda: analysis.tm_score(structure, structure)],
    }


def cache_status() -> dict[str, Any]:
    """Where the kernels are cached and which modules have nothing there yet.

    Returns
    -------
    dict
        ``folder`` (where this process reads and writes the cache), ``cold``
        (kernel modules without a cache index there: their first call
        compiles) and ``seconds`` (estimated compile time of the cold ones).
    """
    from workbench.kernels._config import cache_folder

    folder = cache_folder()
    cold = [m for m in KERNEL_MODULES if not _has_index(folder, m)]
    return {"folder": folder, "cold": cold, "seconds": sum(COMPILE_SECONDS[m] for m in cold)}


def _has_index(folder: str, module: str) -> bool:
    return any(Path(folder).glob(f"{module}.*.nbi"))


def announce_compilation(stream: IO[str] | None = None) -> None:
    """Say on ``stream`` (default stderr) when this process starts compiling a kernel module.

    Numba reports each compilation that the cache could not spare
    (``numba:compile`` events); the first one of each kernel module prints
    ``compiling kernels: dssp (first run only, about 15 s)``. A run whose
    kernels all load from the cache prints nothing. Installed once per process.
    """
    global _ANNOUNCING
    if _ANNOUNCING:
        return
    from numba.core import event

    announced: set[str] = set()

    class Listener(event.Listener):
        def on_start(self, ev: Any) -> None:
            dispatcher = (ev.data or {}).get("dispatcher")
            module = getattr(getattr(dispatcher, "py_func", None), "__module__", "") or ""
            name = module.rsplit(".", 1)[-1]
            if module.startswith("workbench.kernels.") and name not in announced:
                announced.add(name)
                seconds = COMPILE_SECONDS.get(name)
                about = f", about {seconds:.0f} s" if seconds else ""
                print(f"compiling kernels: {name} (first run only{about})", file=stream or sys.stderr, flush=True)

        def on_end(self, ev: Any) -> None:
            pass

    event.register("numba:compile", Listener())
    _ANNOUNCING = True


_ANNOUNCING = False
