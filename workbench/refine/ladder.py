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

Releasing is not always an improvement: a noisy model whose violations keep
coming back can lose its restraints residue after residue and drift away from
the input (a small protein at 0.3 Å of noise once ended 0.89 Å CA RMSD from the
true structure, against 0.45 for its input, after 8 rounds with 21 of 36
residues released). So every round is recorded (:class:`RoundRecord`) and the
relax returns the round that :func:`keep_best` picks, by this rule:

1. only rounds whose CA RMSD to the input is at most ``max_rmsd_ca`` compete;
2. among them, the fewest chirality violations (a D centre is never traded for
   fewer clashes), then the fewest violations of any kind;
3. ties go to the earliest round (the least released, the closest to the input);
4. when no round is within ``max_rmsd_ca``, the round closest to the input is kept.

The last round is kept whenever it is within the threshold and no earlier
round has fewer violations, so a relax that converges returns what it always did.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["RELEASE_STEPS", "LadderStep", "RoundRecord", "keep_best", "release_ladder", "step_down"]

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


@dataclass(frozen=True)
class RoundRecord:
    """One minimise-check round of the relax: what :func:`keep_best` chooses from.

    Attributes
    ----------
    round : int
        1-based round number.
    counts : dict of str to int
        Violations after the round's minimisation, by kind
        (:data:`workbench.refine.violations.KINDS`, chirality included).
    rmsd_ca : float
        CA RMSD (Å) of the round's model to the input, without superposition.
    energy : float
        Force-field energy of the round's model, kJ/mol (restraints excluded).
    restraint_energy : float
        Restraint energy of the round's model under the round's restraints, kJ/mol.
    n_weakened, n_released : int
        Residues whose restraints were weakened / released during the round.
    """

    round: int
    counts: dict[str, int] = field(default_factory=dict)
    rmsd_ca: float = 0.0
    energy: float = 0.0
    restraint_energy: float = 0.0
    n_weakened: int = 0
    n_released: int = 0

    @property
    def n_violations(self) -> int:
        """Violations of every kind."""
        return sum(self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {"round": self.round, "n_violations": self.n_violations, "violations": dict(self.counts),
                "rmsd_ca_angstrom": self.rmsd_ca, "energy_kj_mol": self.energy,
                "restraint_energy_kj_mol": self.restraint_energy, "weakened": self.n_weakened,
                "released": self.n_released}


def keep_best(rounds: Sequence[RoundRecord], max_rmsd_ca: float) -> tuple[int, str]:
    """The round a relax keeps, by the rule of the module docstring, and why in one sentence.

    Parameters
    ----------
    rounds : sequence of RoundRecord
        Every round run, in order; at least one.
    max_rmsd_ca : float
        CA RMSD to the input (Å) above which a round does not compete.

    Returns
    -------
    index : int
        Position of the kept round in ``rounds`` (0-based).
    reason : str
        One line naming the round and the rule that chose it.

    Examples
    --------
    >>> far = RoundRecord(2, {"clash": 0}, rmsd_ca=1.4)
    >>> keep_best([RoundRecord(1, {"clash": 2}, rmsd_ca=0.3), far], 1.0)[0]
    0
    """
    if not rounds:
        raise ValueError("keep_best needs at least one round")
    n = len(rounds)
    within = [k for k, r in enumerate(rounds) if math.isfinite(r.rmsd_ca) and r.rmsd_ca <= max_rmsd_ca]
    if not within:
        best = min(range(n), key=lambda k: (rounds[k].rmsd_ca if math.isfinite(rounds[k].rmsd_ca) else math.inf, k))
        kept = rounds[best]
        return best, (f"round {kept.round} of {n}: every round moved CA more than {max_rmsd_ca:g} Å from the "
                      f"input; kept the closest ({kept.rmsd_ca:.2f} Å, {_count(kept)})")

    def key(k: int) -> tuple[int, int, int]:
        return rounds[k].counts.get("chirality", 0), rounds[k].n_violations, k

    best = min(within, key=key)
    kept = rounds[best]
    if n == 1:
        return best, f"round 1 of 1, the only round ({_count(kept)} violation(s), {kept.rmsd_ca:.2f} Å from the input)"
    ties = sum(1 for k in within if key(k)[:2] == key(best)[:2])
    reason = (f"round {kept.round} of {n}: fewest violations ({_count(kept)}) among the {len(within)} round(s) "
              f"within {max_rmsd_ca:g} Å CA RMSD of the input")
    if ties > 1:
        reason += f"; the earliest of {ties} tied rounds"
    return best, reason


def _count(record: RoundRecord) -> str:
    chiral = record.counts.get("chirality", 0)
    return f"{record.n_violations}" + (f", {chiral} chirality" if chiral else "")
