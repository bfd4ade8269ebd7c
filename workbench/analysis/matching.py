"""Pair the residues of two structures by sequence alignment instead of by residue number.

The scores in :mod:`workbench.analysis` pair atoms by chain, residue number and
insertion code, the TM-score program's rule. A prediction numbered from 1 and
the crystal structure it models (numbered as in UniProt, with a missing tag or
loop) share no numbering, so :func:`match_residues` aligns their chain
sequences (:mod:`workbench.alignment`: Biopython's ``PairwiseAligner`` with
EMBOSS needle's defaults and free end gaps) and gives the model's aligned
residues the reference's chain, number and insertion code. The result feeds
every score unchanged::

    matched = match_residues(model, reference)
    tm_score(matched.model, reference)

Chains are paired greedily by alignment score, so a complex whose chains were
lettered differently still pairs chain to chain. Ties, such as the identical
chains of a homo-oligomer, are broken by chain order: there is no structural
search over chain permutations (MM-align's multimer mode does that). Only
amino-acid residues take part; ligands, water and nucleic acids are dropped
from ``matched.model``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import numpy as np

from workbench.alignment import aligned_pairs
from workbench.residues import is_amino_acid, one_letter_code
from workbench.structure import Structure

#: Smallest sequence identity (identical pairs over the shorter chain) at which two chains are paired.
DEFAULT_MIN_IDENTITY = 0.3
#: How :func:`workbench.analysis.compare` pairs residues: by sequence alignment or by chain and number.
Pairing = Literal["alignment", "numbering"]
PAIRINGS: tuple[Pairing, ...] = ("alignment", "numbering")


@dataclass(frozen=True)
class ChainMatch:
    """How one model chain was paired with one reference chain.

    Attributes
    ----------
    model_chain, reference_chain : str
    aligned : int
        Residue pairs (aligned columns without a gap).
    identical : int
        Pairs with the same one-letter code.
    model_length, reference_length : int
        Amino-acid residues of each chain.
    """

    model_chain: str
    reference_chain: str
    aligned: int
    identical: int
    model_length: int
    reference_length: int

    @property
    def identity(self) -> float:
        """Identical pairs over the shorter chain's residues.

        Dividing by the shorter chain rather than by the aligned pairs keeps a short
        chance alignment of unrelated chains (7 of 21 pairs for ubiquitin against
        crambin) from counting as 33% identical.
        """
        shorter = min(self.model_length, self.reference_length)
        return self.identical / shorter if shorter else 0.0


@dataclass(frozen=True)
class ResidueMatch:
    """A model renumbered onto a reference.

    Attributes
    ----------
    model : Structure
        The model's aligned amino-acid residues, coordinates unchanged, with the
        chain identifier, residue number and insertion code of their reference
        partner.
    chains : tuple of ChainMatch
        One per paired chain, in reference chain order.
    model_residues, reference_residues : ndarray, shape=(n_pairs,), dtype=int64
        Paired residue indices (into ``model.residues`` of the original model
        and ``reference.residues``), in reference order.
    """

    model: Structure
    chains: tuple[ChainMatch, ...]
    model_residues: np.ndarray
    reference_residues: np.ndarray

    @property
    def n_pairs(self) -> int:
        """Paired residues over all chains."""
        return len(self.reference_residues)


def match_residues(
    model: Structure, reference: Structure, *, min_identity: float = DEFAULT_MIN_IDENTITY
) -> ResidueMatch:
    """Pair the model's residues with the reference's by aligning chain sequences.

    Parameters
    ----------
    model, reference : Structure
        Only the first model of an ensemble is used for the residue list (the
        atoms of every model are kept).
    min_identity : float
        Two chains are paired only when at least this fraction of the shorter
        chain's residues are aligned to identical residues (0.3 by default:
        homologues, not unrelated chains).

    Returns
    -------
    ResidueMatch

    Raises
    ------
    ValueError
        When either structure has no amino-acid residue, or no chain pair reaches
        ``min_identity``.

    """
    if not 0.0 <= min_identity <= 1.0:
        raise ValueError(f"min_identity must be between 0 and 1, not {min_identity!r}")
    model_chains = _chain_residues(model, "model")
    reference_chains = _chain_residues(reference, "reference")
    model_sequences = {chain: _sequence(model, residues) for chain, residues in model_chains.items()}
    candidates = []
    for r_chain, r_residues in reference_chains.items():
        r_seq = _sequence(reference, r_residues)
        for m_chain, m_residues in model_chains.items():
            m_seq = model_sequences[m_chain]
            pairs, score = aligned_pairs(m_seq, r_seq)
            identical = sum(m_seq[i] == r_seq[j] for i, j in pairs.tolist())
            match = ChainMatch(m_chain, r_chain, len(pairs), identical, len(m_seq), len(r_seq))
            if match.aligned and match.identity >= min_identity:
                candidates.append((score, match, m_residues[pairs[:, 0]], r_residues[pairs[:, 1]]))
    candidates.sort(key=lambda c: -c[0])
    used_model: set[str] = set()
    used_reference: set[str] = set()
    chosen = []
    for _, match, m_idx, r_idx in candidates:
        if match.model_chain in used_model or match.reference_chain in used_reference:
            continue
        used_model.add(match.model_chain)
        used_reference.add(match.reference_chain)
        chosen.append((match, m_idx, r_idx))
    if not chosen:
        raise ValueError(
            f"no chain of the model (chains {list(model_chains)}) aligns with a chain of the reference "
            f"(chains {list(reference_chains)}) at {min_identity:.0%} sequence identity or more"
        )
    reference_order = {chain: k for k, chain in enumerate(reference_chains)}
    chosen.sort(key=lambda c: reference_order[c[0].reference_chain])
    model_residues = np.concatenate([m for _, m, _ in chosen]).astype(np.int64)
    reference_residues = np.concatenate([r for _, _, r in chosen]).astype(np.int64)
    renumbered = _renumber(model, reference, model_residues, reference_residues)
    return ResidueMatch(renumbered, tuple(c[0] for c in chosen), model_residues, reference_residues)


def _chain_residues(structure: Structure, what: str) -> dict[str, np.ndarray]:
    """Amino-acid residue indices of each chain, in chain order of first appearance."""
    residues = structure.residues
    amino = np.array([is_amino_acid(name) for name in residues.res_name], dtype=bool)
    if not amino.any():
        raise ValueError(f"the {what} has no amino-acid residue to align")
    chains: dict[str, np.ndarray] = {}
    for chain in dict.fromkeys(residues.chain_id[amino]):
        chains[str(chain)] = np.flatnonzero(amino & (residues.chain_id == chain))
    return chains


def _sequence(structure: Structure, residues: np.ndarray) -> str:
    names = structure.residues.res_name[residues]
    return "".join(one_letter_code(str(name)) or "X" for name in names)


def _renumber(
    model: Structure, reference: Structure, model_residues: np.ndarray, reference_residues: np.ndarray
) -> Structure:
    """The model's atoms in ``model_residues``, labelled as their partners in ``reference_residues``."""
    partner = np.full(len(model.residues), -1, dtype=np.int64)
    partner[model_residues] = reference_residues
    atom_partner = partner[model.residue_index]
    kept = model.select(atom_partner >= 0)
    atom_partner = atom_partner[atom_partner >= 0]
    target = reference.residues
    return _relabel(
        kept,
        chain_id=target.chain_id[atom_partner],
        res_id=target.res_id[atom_partner],
        ins_code=target.ins_code[atom_partner],
    )


def _relabel(structure: Structure, chain_id: np.ndarray, res_id: np.ndarray, ins_code: np.ndarray) -> Structure:
    return dataclasses.replace(structure, missing_residues=(), chain_id=chain_id, res_id=res_id, ins_code=ins_code)
