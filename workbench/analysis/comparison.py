"""One call for "how close is this model to that structure": pair residues, superpose, score.

:func:`compare` is what the ``workbench compare`` command and the web UI's
Compare view show: CA RMSD after superposition, TM-score and GDT-TS, and
all-heavy-atom lDDT. Residues are paired by sequence alignment by default
(:func:`~workbench.analysis.matching.match_residues`), since a prediction and
the crystal structure it models rarely share a numbering; ``pairing="numbering"``
keeps the TM-score program's rule (chain, residue number, insertion code).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from workbench.analysis.lddt import lddt
from workbench.analysis.matching import DEFAULT_MIN_IDENTITY, PAIRINGS, ChainMatch, Pairing, match_residues
from workbench.analysis.superpose import superpose
from workbench.analysis.tmscore import TMScore, tm_score
from workbench.structure import Structure


@dataclass(frozen=True)
class Comparison:
    """A model scored against a reference.

    Attributes
    ----------
    superposed : Structure
        The whole model (every atom, ligands included) moved onto the reference
        by the CA superposition of the paired residues, with its own numbering.
    rmsd : float
        CA RMSD of the paired residues after that superposition, Å.
    n_pairs : int
        Paired residues with a CA atom in both.
    tm : TMScore
        TM-score (normalised by the reference length), GDT-TS and GDT-HA.
    lddt : float
        All-heavy-atom lDDT, 15 Å inclusion radius.
    pairing : {"alignment", "numbering"}
    chains : tuple of ChainMatch
        The chain pairs and their sequence identity (empty when paired by numbering).
    """

    superposed: Structure
    rmsd: float
    n_pairs: int
    tm: TMScore
    lddt: float
    pairing: Pairing
    chains: tuple[ChainMatch, ...] = ()

    def to_dict(self) -> dict:
        """The scores as JSON-ready values (no coordinates); an undefined score is None, not NaN."""
        return _finite_or_none({
            "pairing": self.pairing,
            "rmsd_ca": self.rmsd,
            "n_pairs": self.n_pairs,
            "tm_score": self.tm.tm_score,
            "gdt_ts": self.tm.gdt_ts,
            "gdt_ha": self.tm.gdt_ha,
            "reference_length": self.tm.reference_length,
            "lddt": self.lddt,
            "chains": [
                {
                    "model_chain": c.model_chain,
                    "reference_chain": c.reference_chain,
                    "aligned": c.aligned,
                    "identical": c.identical,
                    "identity": c.identity,
                }
                for c in self.chains
            ],
        })


def compare(
    model: Structure,
    reference: Structure,
    *,
    pairing: Pairing = "alignment",
    min_identity: float = DEFAULT_MIN_IDENTITY,
) -> Comparison:
    """Superpose ``model`` onto ``reference`` and score it.

    Parameters
    ----------
    model, reference : Structure
        Only the first model of an ensemble is scored.
    pairing : {"alignment", "numbering"}
        Pair residues by aligning chain sequences (default) or by chain, residue
        number and insertion code.
    min_identity : float
        With ``pairing="alignment"``: the sequence identity below which chains are
        not paired (see :func:`~workbench.analysis.matching.match_residues`).

    Returns
    -------
    Comparison

    Raises
    ------
    ValueError
        For an unknown ``pairing``, when no chain pair reaches ``min_identity``,
        or when the two share no residue.

    Examples
    --------
    >>> from workbench.analysis import build_backbone
    >>> helix = build_backbone([-57.0] * 12, [-47.0] * 12)
    >>> result = compare(helix, helix.with_coords(helix.coords + 3.0))
    >>> round(result.rmsd, 6), result.n_pairs, round(result.tm.tm_score, 6)
    (0.0, 12, 1.0)
    """
    if pairing not in PAIRINGS:
        raise ValueError(f"pairing must be one of {PAIRINGS}, not {pairing!r}")
    chains: tuple[ChainMatch, ...] = ()
    paired = model
    if pairing == "alignment":
        match = match_residues(model, reference, min_identity=min_identity)
        paired, chains = match.model, match.chains
    _, fit = superpose(paired, reference, "CA")
    superposed = model.with_coords(fit.apply(model.coords))
    return Comparison(
        superposed=superposed,
        rmsd=fit.rmsd,
        n_pairs=fit.n_atoms,
        tm=tm_score(paired, reference),
        lddt=lddt(paired, reference, "heavy").score,
        pairing=pairing,
        chains=chains,
    )


def _finite_or_none(scores: dict) -> dict:
    # lDDT of a structure without contacts is NaN, which strict JSON parsers refuse.
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in scores.items()}
