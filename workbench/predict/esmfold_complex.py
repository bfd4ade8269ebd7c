"""ESMFold inputs and outputs: chains joined for the model, split back into a Structure.

ESMFold folds one chain. A complex ``A:B`` is folded as ``A + G*25 + B`` (the
glycine linker of the ESMFold authors' ``infer``) with a jump of 512 in the
residue index at every chain break, so the trunk's relative-position embedding
(clipped at 32) sees the chains as unconnected. The linker is removed from
every output: atoms, pLDDT, PAE and pTM.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np
import torch
from transformers.models.esm.openfold_utils import residue_constants as rc

from workbench.predict.esmfold_options import DEFAULT_CHAIN_GAP, DEFAULT_LINKER
from workbench.structure import Structure

CHAIN_IDS = string.ascii_uppercase + string.ascii_lowercase + string.digits
#: One-letter codes ESMFold reads as themselves; any other accepted letter (U, O, B, Z) becomes X.
_ORDER = rc.restype_order_with_x
_X = _ORDER["X"]
_BACKBONE = ("N", "CA", "C", "O")


@dataclass(frozen=True)
class FoldInput:
    """One record as the model sees it.

    Attributes
    ----------
    aatype : ndarray, shape=(n_tokens,), dtype=int64
        AlphaFold residue indices (``restypes_with_x`` order), linker included.
    residue_index : ndarray, shape=(n_tokens,), dtype=int64
        Position ids with a gap at each chain break.
    keep : ndarray, shape=(n_tokens,), dtype=bool
        False on linker tokens.
    chain_index : ndarray, shape=(n_kept,), dtype=int32
        Chain of every kept token.
    chains : tuple of str
        The input chains (one-letter codes as given).
    """

    aatype: np.ndarray
    residue_index: np.ndarray
    keep: np.ndarray
    chain_index: np.ndarray
    chains: tuple[str, ...]

    @property
    def n_tokens(self) -> int:
        """Length the model folds, linker included."""
        return int(self.aatype.shape[0])


def encode_chains(chains: tuple[str, ...], linker: int = DEFAULT_LINKER, gap: int = DEFAULT_CHAIN_GAP) -> FoldInput:
    """Join ``chains`` for the model.

    Raises
    ------
    ValueError
        For no chains, an empty chain, a letter outside the amino-acid alphabet,
        or more chains than there are chain ids.
    """
    if not chains:
        raise ValueError("no sequence")
    if len(chains) > len(CHAIN_IDS):
        raise ValueError(f"{len(chains)} chains; at most {len(CHAIN_IDS)} are supported")
    aatype: list[int] = []
    residue_index: list[int] = []
    keep: list[bool] = []
    chain_index: list[int] = []
    position = 0
    for c, chain in enumerate(chains):
        if not chain:
            raise ValueError(f"chain {c + 1} is empty")
        bad = sorted({ch for ch in chain.upper() if not ch.isalpha()})
        if bad:
            raise ValueError(f"chain {c + 1} has characters that are not amino acids: {''.join(bad)!r}")
        if c:
            aatype += [_ORDER["G"]] * linker
            residue_index += list(range(position, position + linker))
            keep += [False] * linker
            position += linker + gap
        aatype += [_ORDER.get(ch, _X) for ch in chain.upper()]
        residue_index += list(range(position, position + len(chain)))
        keep += [True] * len(chain)
        chain_index += [c] * len(chain)
        position += len(chain)
    return FoldInput(
        aatype=np.asarray(aatype, dtype=np.int64),
        residue_index=np.asarray(residue_index, dtype=np.int64),
        keep=np.asarray(keep, dtype=bool),
        chain_index=np.asarray(chain_index, dtype=np.int32),
        chains=tuple(chains),
    )


def build_structure(fold: FoldInput, positions: np.ndarray, name: str = "") -> Structure:
    """Atoms of the kept residues from the model's atom14 positions.

    Parameters
    ----------
    fold : FoldInput
    positions : ndarray, shape=(n_tokens, 14, 3), dtype=float32
        Final structure-module positions (``output.positions[-1][b]``), in Å.
    name : str

    Returns
    -------
    Structure
        Chains ``A, B, ...``; residues numbered from 1 in each chain; B-factors 0
        (see :func:`workbench.predict.outputs.with_plddt`). Unknown residues
        (X, and U, O, B, Z read as X) are ``UNK`` with backbone atoms only.
    """
    kept = np.flatnonzero(fold.keep)
    coords, atom_name, res_name, res_id, chain_id = [], [], [], [], []
    counters = [0] * len(fold.chains)
    for k, token in enumerate(kept):
        aa = int(fold.aatype[token])
        chain = int(fold.chain_index[k])
        counters[chain] += 1
        three = "UNK" if aa == _X else rc.restype_1to3[rc.restypes[aa]]
        names = _BACKBONE if aa == _X else rc.restype_name_to_atom14_names[three]
        for slot, atom in enumerate(names):
            if atom:
                coords.append(positions[token, slot])
                atom_name.append(atom)
                res_name.append(three)
                res_id.append(counters[chain])
                chain_id.append(CHAIN_IDS[chain])
    n = len(atom_name)
    return Structure(
        coords=np.asarray(coords, dtype=np.float32).reshape(n, 3),
        atom_name=np.asarray(atom_name, dtype=str),
        element=np.asarray([a[0] for a in atom_name], dtype=str),
        res_name=np.asarray(res_name, dtype=str),
        res_id=np.asarray(res_id, dtype=np.int32),
        ins_code=np.full(n, ""),
        chain_id=np.asarray(chain_id, dtype=str),
        b_factor=np.zeros(n, dtype=np.float32),
        occupancy=np.ones(n, dtype=np.float32),
        hetero=np.zeros(n, dtype=bool),
        name=name,
    )


def tm_scores(ptm_logits: torch.Tensor, chain_index: np.ndarray, max_bin: int = 31) -> tuple[float, float | None]:
    """Predicted TM-score over the kept residues, and interface pTM for a complex.

    pTM follows transformers' ``compute_tm`` (AlphaFold2) on one unpadded
    sequence; ipTM is AlphaFold-Multimer's: only pairs in different chains count.

    Parameters
    ----------
    ptm_logits : Tensor, shape=(n, n, n_bins)
        Logits of the kept residues (linker and padding removed).
    chain_index : ndarray, shape=(n,)
    max_bin : int

    Returns
    -------
    ptm : float
    iptm : float or None
        None for a single chain.
    """
    logits = ptm_logits.float()
    n, n_bins = logits.shape[0], logits.shape[-1]
    boundaries = torch.linspace(0, max_bin, steps=n_bins - 1, device=logits.device)
    step = boundaries[1] - boundaries[0]
    centers = torch.cat([boundaries + step / 2, (boundaries[-1] + step * 1.5).unsqueeze(0)])
    d0 = 1.24 * (max(n, 19) - 15) ** (1.0 / 3) - 1.8
    term = (torch.softmax(logits, dim=-1) * (1.0 / (1 + centers**2 / d0**2))).sum(-1)  # (n, n)
    ptm = float(term.mean(dim=-1).max())
    if len(np.unique(chain_index)) < 2:
        return ptm, None
    chains = torch.as_tensor(chain_index, device=logits.device)
    pair = (chains[:, None] != chains[None, :]).float()
    per_row = (term * pair).sum(-1) / pair.sum(-1).clamp(min=1)
    return ptm, float(per_row.max())
