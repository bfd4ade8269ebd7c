"""The release ladder: which residues' restraints a relax round weakens or releases.

Pure functions on numpy arrays, with no OpenMM: the relax
(:mod:`workbench.refine.relax`) applies what they decide to its restraint force.

The rule, after each violation check:

1. every violating residue whose restraint is not yet free goes one step down
   :data:`RELEASE_STEPS` (full stiffness -> a tenth -> released);
2. when all violating residues are already free, their neighbours (residues
   within ``NEIGHBOUR_RELEASE`` Å, given by the caller) go one step down instead;
3. when nothing changes, the ladder is exhausted: nothing is left to release.

A released residue stays released (factors only go down), and the rounds stop
when nothing violates or ``max_rounds`` rounds have been run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["RELEASE_STEPS", "LadderStep", "release_ladder", "step_down"]

#: Restraint stiffness factors a violating residue steps through, one per round.
RELEASE_STEPS = (1.0, 0.1, 0.0)


@dataclass(frozen=True)
class LadderStep:
    """What one round of the ladder decided.

    Attributes
    ----------
    factor : ndarray, shape=(n_residues,), dtype=float64
        Restraint stiffness factor of each residue after the round (a new array).
    changed : ndarray, shape=(m,), dtype=int64
        Residues whose factor went down this round, in the order they were given.
    done : bool
        The rounds are over: nothing violates, or ``max_rounds`` was reached.
    """

    factor: np.ndarray
    changed: np.ndarray
    done: bool

    @property
    def exhausted(self) -> bool:
        """Residues still violate but neither they nor their neighbours have anything left to release."""
        return not self.done and self.changed.size == 0


def step_down(factor: np.ndarray, residues: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Move each residue's restraint factor one step down :data:`RELEASE_STEPS`.

    Parameters
    ----------
    factor : ndarray, shape=(n_residues,), dtype=float64
        Current factors, each one of :data:`RELEASE_STEPS`; not modified.
    residues : ndarray, shape=(m,), dtype=int64
        Residues to step down; residues already at 0 (released) stay there.

    Returns
    -------
    factor : ndarray, shape=(n_residues,), dtype=float64
        The new factors.
    changed : ndarray, shape=(k,), dtype=int64
        The residues whose factor changed.
    """
    new = np.array(factor, dtype=np.float64, copy=True)
    changed = []
    for r in np.asarray(residues, dtype=np.int64).tolist():
        if new[r] > 0.0:
            new[r] = RELEASE_STEPS[RELEASE_STEPS.index(new[r]) + 1]
            changed.append(r)
    return new, np.asarray(changed, dtype=np.int64)


def release_ladder(
    factor: np.ndarray,
    violating: np.ndarray,
    neighbours: Callable[[np.ndarray], np.ndarray],
    *,
    round_: int,
    max_rounds: int,
) -> LadderStep:
    """Decide the restraint factors for the next round from this round's violating residues.

    Parameters
    ----------
    factor : ndarray, shape=(n_residues,), dtype=float64
        Factors of the round just checked; not modified.
    violating : ndarray, shape=(m,), dtype=int64
        Residues that take part in a violation after this round's minimisation.
    neighbours : callable
        ``neighbours(residues) -> ndarray of int64``: the residues near the
        given ones (the relax uses heavy atoms within 6 Å). Called only when
        every violating residue is already released.
    round_ : int
        The round just checked, 1-based.
    max_rounds : int
        Bound on rounds.

    Returns
    -------
    LadderStep
        ``done`` when nothing violates or ``round_ >= max_rounds``;
        otherwise the new factors and the residues that changed (none:
        :attr:`LadderStep.exhausted`).
    """
    violating = np.asarray(violating, dtype=np.int64)
    if violating.size == 0 or round_ >= max_rounds:
        return LadderStep(np.array(factor, dtype=np.float64, copy=True), np.zeros(0, np.int64), done=True)
    new, changed = step_down(factor, violating)
    if not changed.size:
        new, changed = step_down(factor, np.asarray(neighbours(violating), dtype=np.int64))
    return LadderStep(new, changed, done=False)
