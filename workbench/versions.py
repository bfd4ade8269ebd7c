"""Versions of the packages that change a batch's numbers, for reports and methods sections.

Read from installed distributions' metadata (:mod:`importlib.metadata`), so
nothing heavy (torch, transformers) is imported to learn its version.

Examples
--------
>>> versions = package_versions()
>>> "numpy" in versions and all(isinstance(v, str) and v for v in versions.values())
True
"""

from __future__ import annotations

from importlib import metadata

__all__ = ["RESULT_PACKAGES", "package_versions"]

RESULT_PACKAGES: dict[str, str] = {
    "workbench": "protein-workbench",
    "numpy": "numpy",
    "scipy": "scipy",
    "openmm": "openmm",
    "pdbfixer": "pdbfixer",
    "gemmi": "gemmi",
    "biopython": "biopython",
    "numba": "numba",
    "torch": "torch",
    "transformers": "transformers",
    "dask": "dask",
    "distributed": "distributed",
    "pandas": "pandas",
    "pyarrow": "pyarrow",
}
"""Package label (as reported) to distribution name, for every package whose version can change results."""


def package_versions() -> dict[str, str]:
    """The installed versions of :data:`RESULT_PACKAGES`.

    Returns
    -------
    dict of str to str
        Label to version string, in :data:`RESULT_PACKAGES` order. Packages
        that are not installed (torch and transformers without the ``esmfold``
        extra) are left out, so no value is None.
    """
    versions: dict[str, str] = {}
    for label, distribution in RESULT_PACKAGES.items():
        version = _version(label, distribution)
        if version:
            versions[label] = version
    return versions


def _version(label: str, distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        pass
    if label == "workbench":  # a source checkout that is not installed
        from workbench import __version__

        return str(__version__)
    return None
