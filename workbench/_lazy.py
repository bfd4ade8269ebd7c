"""Lazy re-exports for package ``__init__`` modules (PEP 562).

A package lists where each public name is defined; the defining module is
imported when the name is first looked up, so importing the package costs
nothing and ``from package import name`` imports only what ``name`` needs.

Where a public name equals a submodule's (``workbench.analysis.dssp`` is both
a function and the module defining it), the function wins, as it did when the
package imported it eagerly: importing the submodule does not rebind the
package attribute to the module (:class:`_LazyPackage`).
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    namespace: dict[str, Any], where: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module ``__getattr__`` and ``__dir__`` functions for names defined in other modules.

    Parameters
    ----------
    namespace : dict
        The package's ``globals()``; a name, once imported, is stored there
        (later look-ups do not call ``__getattr__``).
    where : mapping of str to str
        Public name -> the module that defines it.

    Returns
    -------
    getattr, dir : callables
        To assign to the package's ``__getattr__`` and ``__dir__``.
    """
    package = namespace["__name__"]
    sys.modules[package].__class__ = _LazyPackage
    namespace["_lazy_names"] = frozenset(where)

    def __getattr__(name: str) -> Any:
        try:
            module = where[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(where))

    return __getattr__, __dir__


class _LazyPackage(types.ModuleType):
    """A package whose lazily exported names are not overwritten by its submodules of the same name."""

    def __setattr__(self, name: str, value: Any) -> None:
        # the import system binds each loaded submodule on its package; a public function of that name stays
        if (isinstance(value, types.ModuleType) and name in self.__dict__.get("_lazy_names", ())
                and value.__name__ == f"{self.__name__}.{name}"):
            return
        super().__setattr__(name, value)
